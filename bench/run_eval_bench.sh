#!/usr/bin/env bash
# Evaluation at retrieval scale with embtune: synthetic docs and queries embedded by a random-weight
# model (all-MiniLM-L6-v2 shape by default), then exact cosine top-k over every doc, the time split
# into embedding and search; beside it, the same search (random embeddings, same sizes) in PyTorch.
# Not a test: it prints figures; nothing is asserted.
#
# Usage: bench/run_eval_bench.sh [BUILD_DIR] [-- flags, e.g. --docs 20000 or --search-only]
set -euo pipefail
source "$(dirname "$0")/common.sh"
default_flags=(--docs 100000 --queries 1000 --doc-min 16 --doc-max 64 --query-min 8 --query-max 24 --k 100 --seed 0)
bench_setup default_flags "$@"

ours_json=$("$here/$build/embtune" --threads "$threads" bench eval --model "$model" "${flags[@]}" --json | tail -n 1)
# sentence-transformers' util.semantic_search, reduced to its work: normalise, one product per
# corpus chunk, torch.topk per chunk, then a top-k of the chunks' winners.
torch_json=$(/usr/bin/python3 - "$threads" "${HIDDEN:-384}" "${flags[@]}" <<'PY' | tail -n 1
import argparse, json, sys, time
import torch
threads, dim = int(sys.argv[1]), int(sys.argv[2])
p = argparse.ArgumentParser()
for name, default in (("--docs", 100000), ("--queries", 1000), ("--k", 100), ("--seed", 0)):
    p.add_argument(name, type=int, default=default)
a, _ = p.parse_known_args(sys.argv[3:])
torch.set_num_threads(threads)
g = torch.Generator().manual_seed(a.seed)
docs, queries = torch.randn(a.docs, dim, generator=g), torch.randn(a.queries, dim, generator=g)
t0 = time.perf_counter()
q = torch.nn.functional.normalize(queries, dim=1)
best_s = best_i = None
for b0 in range(0, a.docs, 16384):
    s = q @ torch.nn.functional.normalize(docs[b0:b0 + 16384], dim=1).T
    v, i = torch.topk(s, min(a.k, s.shape[1]), dim=1)
    i += b0
    if best_s is not None:
        v, j = torch.topk(torch.cat([best_s, v], 1), min(a.k, best_s.shape[1] + v.shape[1]), dim=1)
        i = torch.gather(torch.cat([best_i, i], 1), 1, j)
    best_s, best_i = v, i
dt = time.perf_counter() - t0
print(json.dumps({"search_s": dt, "search_gflops": 2.0 * a.queries * a.docs * dim / dt / 1e9, "threads": threads}))
PY
)
echo "embtune fp32: $ours_json"
echo "pytorch fp32 search (random embeddings): $torch_json"
/usr/bin/python3 - "$ours_json" "$torch_json" <<'PY'
import json, sys
o, t = json.loads(sys.argv[1]), json.loads(sys.argv[2])
if not o["search_only"]:
    print(f"embedding: docs {o['embed_docs_s']:.1f} s ({o['docs_per_s']:.0f} docs/s, {o['doc_tokens_per_s']:.0f} tokens/s), "
          f"queries {o['embed_queries_s']:.2f} s")
print(f"search {o['queries']} x {o['docs']} x {o['dim']}, k {o['k']}: embtune {o['search_s']:.2f} s, "
      f"{o['search_gflops']:.0f} GFLOP/s = {100 * o['search_fraction_of_matmul']:.0f}% of the {o['matmul_gflops']:.0f} "
      f"GFLOP/s matmul rate; PyTorch {t['search_s']:.2f} s ({t['search_gflops']:.0f} GFLOP/s); peak RSS {o['peak_rss_mb']:.0f} MB")
PY
