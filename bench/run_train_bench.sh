#!/usr/bin/env bash
# Training throughput (MNRL, AdamW) of embtune and of the PyTorch reference, side by side in one
# run, on the same random-weight model (all-MiniLM-L6-v2 shape by default) and the same flags:
# fp32 against PyTorch fp32 and, where the CPU has bf16 (AVX512-BF16 or AMX), embtune bf16 against
# PyTorch's bf16 autocast. Not a test: it prints figures and their ratios; nothing is asserted.
#
# Usage: bench/run_train_bench.sh [BUILD_DIR] [-- flags for both, e.g. --batch 32 --steps 5 --pmax 256]
#   PRECISION=fp32|bf16|both (default: both where the CPU has bf16, else fp32)
#   REPEATS=n (default 1): n rounds, each PyTorch then embtune, and the median of the ratios; on a
#   shared machine whose speed drifts, several alternated rounds say more than one.
set -euo pipefail
source "$(dirname "$0")/common.sh"
default_flags=(--batch 32 --steps 5 --qmin 8 --qmax 24 --pmin 64 --pmax 256 --seed 0)  # torch_bert.py bench's
bench_setup default_flags "$@"

has_bf16=0
grep -qE 'avx512_bf16|amx_bf16' /proc/cpuinfo && has_bf16=1
precision=${PRECISION:-$([[ $has_bf16 == 1 ]] && echo both || echo fp32)}
case $precision in
  fp32) precisions=(fp32) ;;
  bf16) precisions=(bf16) ;;
  both) precisions=(fp32 bf16) ;;
  *) echo "bench: PRECISION must be fp32, bf16 or both, not '$precision'" >&2; exit 1 ;;
esac
repeats=${REPEATS:-1}
results="$work/results.jsonl"
for ((r = 1; r <= repeats; r++)); do
  for p in "${precisions[@]}"; do
    torch_flags=()
    [[ $p == bf16 ]] && torch_flags=(--bf16)
    # One after the other, never together: each gets every thread.
    torch_json=$(/usr/bin/python3 "$ref" bench "$model" --threads "$threads" "${flags[@]}" "${torch_flags[@]}" | tail -n 1)
    ours_json=$("$here/$build/embtune" --threads "$threads" bench train --model "$model" "${flags[@]}" \
      --precision "$p" --json | tail -n 1)
    echo "round $r pytorch $p: $torch_json"
    echo "round $r embtune $p: $ours_json"
    echo "{\"precision\": \"$p\", \"torch\": $torch_json, \"ours\": $ours_json}" >>"$results"
  done
done
/usr/bin/python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for p in ("fp32", "bf16"):
    rs = [r for r in rows if r["precision"] == p]
    if not rs:
        continue
    ratios = []
    for i, r in enumerate(rs, 1):
        t, o = r["torch"], r["ours"]
        ratio = o["tokens_per_s"] / t["tokens_per_s"]
        ratios.append(ratio)
        print(f"{p} round {i}: embtune {o['tokens_per_s']:.0f} tokens/s ({o['pairs_per_s']:.2f} pairs/s), "
              f"pytorch {t['tokens_per_s']:.0f} tokens/s ({t['pairs_per_s']:.2f} pairs/s): x{ratio:.2f}; "
              f"peak RSS {o['peak_rss_mb']:.0f} MB vs {t['peak_rss_mb']:.0f} MB (x{o['peak_rss_mb'] / t['peak_rss_mb']:.2f}); "
              f"embtune MFU {100 * o['mfu']:.0f}% ({o['achieved_gflops']:.0f} GFLOP/s of the {o['matmul_gflops']:.0f} "
              f"GFLOP/s {p} matmul rate, {o['gflop_per_step']:.0f} GFLOP/step)")
    if len(ratios) > 1:
        print(f"{p}: median ratio of {len(ratios)} rounds x{statistics.median(ratios):.2f} "
              f"(min x{min(ratios):.2f}, max x{max(ratios):.2f})")
PY
