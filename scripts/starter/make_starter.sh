#!/usr/bin/env bash
# The recipe of embtune's starter model (models/embtune-starter): a small general-purpose English
# embedding model made by embtune alone from WordNet 3.0 (Debian package wordnet-base).
#
#   1. WordNet synsets -> JSONL documents (scripts/starter/wordnet.py; computing domain left out)
#   2. embtune train-tokenizer: an uncased WordPiece vocabulary of the same text
#   3. embtune pairs: (lemmas -> definition and examples) and (one sentence -> the rest) pairs
#   4. embtune prepare: a grouped train / validation / test split (test: the held-out set of the card)
#   5. embtune init: BERT, 4 layers, hidden 256, 4 heads, random weights
#   6. embtune train: MultipleNegativesRankingLoss, one epoch, weights written in f16, then the test
#      split retrieved by the random model, the trained model and BM25 (OUT/test_report/)
#
# Usage: scripts/starter/make_starter.sh [BUILD_DIR] [OUT_DIR]
#   BUILD_DIR  where embtune was built (default build); OUT_DIR default models/embtune-starter.
#   STARTER_QUICK=1  a reduced run (200 synsets per part of speech, 5 steps) for the test that keeps
#                    this script from rotting; WORK=DIR keeps the intermediate files there.
# OUT_DIR is replaced only at the end, when every step has succeeded.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build}
out=${2:-models/embtune-starter}
bin="$build/embtune"
[[ -x "$bin" ]] || { echo "make_starter: $bin not found (build embtune first: make build)" >&2; exit 1; }
wordnet=${WORDNET_DIR:-/usr/share/wordnet}
[[ -f "$wordnet/data.noun" ]] || { echo "make_starter: $wordnet/data.noun not found: install the Debian package wordnet-base" >&2; exit 1; }

quick=${STARTER_QUICK:-0}
work=${WORK:-$(mktemp -d)}
[[ -n "${WORK:-}" ]] || trap 'rm -rf "$work"' EXIT
mkdir -p "$work"

# Hyperparameters (the model card repeats them).
vocab_size=16384 layers=4 hidden=256 heads=4 inter=1024 positions=256 max_len=128
batch=128 lr=5e-4 warmup=0.1 epochs=1 seed=0 split=0.94,0.03,0.03
limit=0 steps_flag=()
if [[ "$quick" == 1 ]]; then
  vocab_size=2000 limit=200 split=0.8,0.1,0.1 batch=16
  steps_flag=(--max-steps 5)
fi

t0=$SECONDS
step() { echo "== $1 [$((SECONDS - t0)) s]"; }

step "1/6 WordNet synsets -> documents ($wordnet)"
python3 "$here/scripts/starter/wordnet.py" --wordnet-dir "$wordnet" --limit "$limit" \
  --out "$work/docs.jsonl" --sentences "$work/sentences.txt"

step "2/6 embtune train-tokenizer: WordPiece, $vocab_size tokens, uncased"
"$bin" train-tokenizer --input "$work/sentences.txt" --out "$work/tokenizer" --vocab-size "$vocab_size"

step "3/6 embtune pairs: lemmas -> definition, sentence -> rest (inverse cloze)"
"$bin" pairs --docs "$work/docs.jsonl" --out "$work/pairs.jsonl" --methods title-body,ict \
  --ict-sentence random --seed "$seed" --min-query-words 1 --min-passage-words 3 --with-source

step "4/6 embtune prepare: grouped split $split"
rm -rf "$work/data"
"$bin" prepare --input "$work/pairs.jsonl" --out "$work/data" --split "$split" --seed "$seed"

step "5/6 embtune init: BERT $layers layers, hidden $hidden, $heads heads, random weights"
cat > "$work/config.json" <<EOF
{"architectures": ["BertModel"], "model_type": "bert", "hidden_size": $hidden, "num_hidden_layers": $layers,
 "num_attention_heads": $heads, "intermediate_size": $inter, "vocab_size": $vocab_size,
 "max_position_embeddings": $positions, "type_vocab_size": 2, "layer_norm_eps": 1e-12, "hidden_act": "gelu",
 "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02,
 "pad_token_id": 0, "position_embedding_type": "absolute"}
EOF
"$bin" init --config "$work/config.json" --tokenizer "$work/tokenizer" --out "$work/init" --seed "$seed" \
  --max-seq-length "$max_len" --force

train_t0=$SECONDS
step "6/6 embtune train: MNRL, batch $batch, lr $lr, $epochs epoch(s); then the held-out test split"
rm -rf "$work/model" "$work/model.checkpoints"
"$bin" train --model "$work/init" --train "$work/data/train.jsonl" --eval "$work/data/validation.jsonl" \
  --test "$work/data/test.jsonl" --out "$work/model" --loss mnrl --batch-size "$batch" --lr "$lr" \
  --warmup "$warmup" --epochs "$epochs" --dropout 0 --weight-decay 0.01 --seed "$seed" --save-dtype f16 \
  --save-steps "${SAVE_STEPS:-0}" ${steps_flag[@]+"${steps_flag[@]}"}

cp "$work/data/prepare_report.json" "$work/model/prepare_report.json"
# The same test split with BM25 as the baseline: the interval of (this model - BM25), for the card.
"$bin" eval --pairs "$work/data/test.jsonl" --model "$work/model" --bm25 --baseline bm25 --no-cache \
  --report "$work/model/test_report_vs_bm25"
# Paths relative to the work folder, so that nothing of the machine that ran the recipe is recorded.
sed -i "s|$work/||g" "$work/model/embtune_train.json" "$work/model/prepare_report.json"
python3 "$here/scripts/starter/model_card.py" --model "$work/model" --train-seconds $((SECONDS - train_t0)) \
  --recipe-seconds $((SECONDS - t0))
rm -rf "$out.tmp"
cp -r "$work/model" "$out.tmp"
rm -rf "$out"
mv "$out.tmp" "$out"
step "done: $out"
