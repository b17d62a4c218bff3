#!/usr/bin/env bash
# `make demo`: the end-to-end job embtune can do today, on files in this repository only:
# build a vocabulary, create a model, embed the sample texts, print nearest neighbours.
# Not the final demo: the training issues replace the random model with a fine-tuned one.
set -euo pipefail
build=${1:-build}
bin="$build/embtune"
out=demo-out
rm -rf "$out"
mkdir -p "$out"

echo "== 1. a WordPiece vocabulary of the sample texts (examples/sentences.txt)"
# Special tokens, every word of the samples, and single characters (plain and ## continuation)
# so that any English text tokenizes; embtune train-tokenizer will replace this step.
{
  printf '[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n'
  tr 'A-Z' 'a-z' < examples/sentences.txt | tr -c 'a-z0-9\n' ' ' | tr ' ' '\n' | grep -v '^$' | sort -u
  for c in {a..z} {0..9} . , "'" '!' '?' ';' ':' '-' '(' ')'; do printf '%s\n' "$c"; done
  for c in {a..z} {0..9}; do printf '##%s\n' "$c"; done
} | awk '!seen[$0]++' > "$out/vocab.txt"
echo "   $(wc -l < "$out/vocab.txt") tokens"

echo "== 2. embtune init: a model directory with the all-MiniLM-L6-v2 shape and random weights"
"$bin" init --config minilm-l6 --tokenizer "$out/vocab.txt" --out "$out/model" --seed 0 \
  --prompt "query=query: " --prompt "passage=passage: "
"$bin" info --model "$out/model"

echo "== 3. embtune embed: the samples to $out/embeddings.npy and $out/embeddings.jsonl"
"$bin" embed --model "$out/model" --input examples/sentences.txt --output "$out/embeddings.npy"
"$bin" embed --model "$out/model" --input examples/sentences.txt --output "$out/embeddings.jsonl" --quiet

echo "== 4. embtune neighbors: each sample's three nearest neighbours (random weights: expect little sense yet)"
"$bin" neighbors --model "$out/model" --input examples/sentences.txt --k 3 --quiet > "$out/neighbors.txt"
head -n 24 "$out/neighbors.txt"
echo "   ... (all $(wc -l < examples/sentences.txt) samples: $out/neighbors.txt)"
echo "demo: done; outputs in $out/"
