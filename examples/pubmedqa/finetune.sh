#!/usr/bin/env bash
# The worked example of docs/training.md: fine-tune on PubMedQA (question -> abstract) and
# measure retrieval on its held-out half before and after. Not a benchmark of speed.
#
#   bash examples/pubmedqa/finetune.sh [BUILD_DIR] [SHARED_DIR]
#
# Data: the BEIR-layout PubMedQA-PQAL set in SHARED_DIR/data/datasets/pubmedqa-pqal (1,000
# question/abstract pairs, MIT licence; its qrels split them 500 train / 500 test). The base model
# is created here with random weights (no downloads); with a real model, pass its directory to
# `embtune train --model` instead.
set -euo pipefail
build=${1:-build}
shared=${2:-../shared}
bin="$build/embtune"
data="$shared/data/datasets/pubmedqa-pqal"
out=pubmedqa-out
mkdir -p "$out"

echo "== 1. (anchor, positive) rows from the BEIR files: train.jsonl and test.jsonl"
python3 - "$data" "$out" <<'PY'
import json, sys
data, out = sys.argv[1], sys.argv[2]
queries = {j["_id"]: j["text"] for j in map(json.loads, open(f"{data}/queries.jsonl"))}
corpus = {j["_id"]: (j.get("title", "") + " " + j["text"]).strip() for j in map(json.loads, open(f"{data}/corpus.jsonl"))}
for split in ("train", "test"):
    rows = [line.rstrip("\n").split("\t") for line in open(f"{data}/qrels/{split}.tsv")][1:]
    with open(f"{out}/{split}.jsonl", "w") as f:
        for qid, cid, _ in rows:
            f.write(json.dumps({"anchor": queries[qid], "positive": corpus[cid]}) + "\n")
PY
wc -l "$out/train.jsonl" "$out/test.jsonl"

echo "== 2. a base model: the tiny preset with all-MiniLM-L6-v2's tokenizer, random weights"
"$bin" init --config tiny --tokenizer "$shared/data/tokenizers/sentence-transformers__all-MiniLM-L6-v2" \
  --out "$out/base" --seed 0 --force --quiet

echo "== 3. train 4 epochs with MultipleNegativesRankingLoss, watching the held-out half; then the"
echo "      test report: base model vs tuned model vs BM25 on the BEIR test split, with 95% intervals"
rm -rf "$out/tuned"
"$bin" train --model "$out/base" --train "$out/train.jsonl" --eval "$out/test.jsonl" --out "$out/tuned" \
  --epochs 4 --batch-size 32 --lr 1e-3 --warmup 0.1 --seed 0 --test "$data" --test-split test

echo "== 4. before and after (from the model card, $out/tuned/README.md)"
sed -n "/| metric/,/^$/p" "$out/tuned/README.md"
echo "The whole comparison, with the queries that got worse: $out/tuned/test_report/report.html"
