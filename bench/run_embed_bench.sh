#!/usr/bin/env bash
# Embedding throughput of embtune and of the PyTorch reference, side by side in one run, on the
# same random-weight model (all-MiniLM-L6-v2 shape by default) and the same flags.
# Not a test: it prints figures and their ratio; nothing is asserted.
#
# Usage: bench/run_embed_bench.sh [BUILD_DIR] [-- extra flags for both, e.g. --batch 64 --steps 4]
set -euo pipefail
source "$(dirname "$0")/common.sh"
default_flags=(--batch 64 --steps 4 --min 16 --max 128 --seed 0)
bench_setup default_flags "$@"

torch_json=$(/usr/bin/python3 "$ref" bench-embed "$model" --threads "$threads" "${flags[@]}" | tail -n 1)
ours_json=$(OMP_NUM_THREADS=$threads "$here/$build/embtune" bench embed --model "$model" "${flags[@]}" \
  --precision fp32 --json | tail -n 1)
echo "pytorch fp32: $torch_json"
echo "embtune fp32: $ours_json"
# Where the CPU has bf16, embtune's bf16 inference too (against the same PyTorch fp32 run).
bf16_json=null
if grep -qE 'avx512_bf16|amx_bf16' /proc/cpuinfo; then
  bf16_json=$(OMP_NUM_THREADS=$threads "$here/$build/embtune" bench embed --model "$model" "${flags[@]}" \
    --precision bf16 --json | tail -n 1)
  echo "embtune bf16: $bf16_json"
fi
/usr/bin/python3 - "$torch_json" "$ours_json" "$bf16_json" <<'PY'
import json, sys
t = json.loads(sys.argv[1])
for name, raw in (("fp32", sys.argv[2]), ("bf16", sys.argv[3])):
    o = json.loads(raw)
    if o is None:
        continue
    print(f"ratio embtune {name}/pytorch fp32: sentences/s x{o['sentences_per_s'] / t['sentences_per_s']:.2f}, "
          f"tokens/s x{o['tokens_per_s'] / t['tokens_per_s']:.2f}; peak RSS {o['peak_rss_mb']:.0f} MB vs {t['peak_rss_mb']:.0f} MB; "
          f"embtune MFU {100 * o['mfu']:.0f}% of the {o['matmul_gflops']:.0f} GFLOP/s {name} matmul rate")
PY
