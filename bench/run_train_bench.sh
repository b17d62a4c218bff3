#!/usr/bin/env bash
# Training throughput (MNRL, AdamW, fp32) of embtune and of the PyTorch reference, side by side in
# one run, on the same random-weight model (all-MiniLM-L6-v2 shape by default) and the same flags.
# Not a test: it prints figures and their ratios; nothing is asserted.
#
# Usage: bench/run_train_bench.sh [BUILD_DIR] [-- flags for both, e.g. --batch 32 --steps 5 --pmax 256]
set -euo pipefail
source "$(dirname "$0")/common.sh"
default_flags=(--batch 32 --steps 5 --qmin 8 --qmax 24 --pmin 64 --pmax 256 --seed 0)  # torch_bert.py bench's
bench_setup default_flags "$@"

# One after the other, never together: each gets every thread.
torch_json=$(/usr/bin/python3 "$ref" bench "$model" --threads "$threads" "${flags[@]}" | tail -n 1)
ours_json=$("$here/$build/embtune" --threads "$threads" bench train --model "$model" "${flags[@]}" --json | tail -n 1)
echo "pytorch fp32: $torch_json"
echo "embtune fp32: $ours_json"
/usr/bin/python3 - "$torch_json" "$ours_json" <<'PY'
import json, sys
t, o = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"ratio embtune/pytorch: pairs/s x{o['pairs_per_s'] / t['pairs_per_s']:.2f}, "
      f"tokens/s x{o['tokens_per_s'] / t['tokens_per_s']:.2f}, s/step (median) {o['s_per_step_median']:.2f} vs "
      f"{t['s_per_step_median']:.2f}; peak RSS {o['peak_rss_mb']:.0f} MB vs {t['peak_rss_mb']:.0f} MB "
      f"(x{o['peak_rss_mb'] / t['peak_rss_mb']:.2f})")
print(f"embtune MFU {100 * o['mfu']:.0f}%: {o['achieved_gflops']:.1f} GFLOP/s ({o['gflop_per_step']:.0f} GFLOP/step) "
      f"of the {o['matmul_gflops']:.0f} GFLOP/s fp32 matmul rate")
PY
