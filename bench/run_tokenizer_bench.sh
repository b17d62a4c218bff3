#!/usr/bin/env bash
# Tokenizer encoding throughput, embtune (`embtune bench tokenize`) against Hugging Face tokenizers
# (the npm binding, bench/tokenizer_bench_peer.js) side by side in one run: WordPiece, byte-level
# BPE, Llama-style BPE and Unigram, on English prose and on a multilingual file, at 1 and 2 threads.
# Not a parity test (tests/test_tokenizer_parity.cpp is): it only flags token counts or ids that differ.
#
# Usage: bench/run_tokenizer_bench.sh [BUILD_DIR]
#   REPEAT=R timed passes over each file (default 2), BATCH=B lines per batch call (default 256),
#   THREADS="1 2" the thread counts, EMBTUNE_NODE_PATH the peer's node_modules (default
#   build/npm/node_modules, where scripts/setup.sh installs tokenizers@0.23.2).
set -euo pipefail
build=${1:-build}
repeat=${REPEAT:-2}
batch=${BATCH:-256}
thread_counts=${THREADS:-1 2}
here=$(cd "$(dirname "$0")/.." && pwd)
data="$here/../shared/data"
export NODE_PATH=${EMBTUNE_NODE_PATH:-$here/build/npm/node_modules}
[[ -x "$here/$build/embtune" ]] || { echo "bench: $here/$build/embtune not found (build it first)" >&2; exit 1; }
[[ -d "$data" ]] || { echo "bench: $data not found (the shared data sits beside the repository)" >&2; exit 1; }
node -e "require('tokenizers')" 2>/dev/null ||
  { echo "bench: node cannot load tokenizers from $NODE_PATH (scripts/setup.sh installs it)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# English prose: the PubMedQA abstracts, one a line; a text holding a line break, or starting with
# '"', is written as a JSON string, which both sides decode. The multilingual file goes as it is.
python3 - "$data/datasets/pubmedqa-pqal/corpus.jsonl" "$work/english.txt" <<'PY'
import json, sys
with open(sys.argv[1], encoding="utf-8") as f, open(sys.argv[2], "w", encoding="utf-8") as out:
    for line in f:
        t = json.loads(line)["text"]
        out.write((json.dumps(t, ensure_ascii=False) if "\n" in t or "\r" in t or t.startswith('"') else t) + "\n")
PY
cp "$here/tests/data/tokenizer_corpus.txt" "$work/multilingual.txt"

tokenizers=(
  "wordpiece:$data/tokenizers/BAAI__bge-small-en-v1.5/tokenizer.json"
  "bytelevel-bpe:$data/tokenizers-extra/FacebookAI__roberta-base/tokenizer.json"
  "llama-bpe:$data/tokenizers-extra/mistralai__Mistral-7B-v0.1/tokenizer.json"
  "unigram:$data/tokenizers-extra/google-t5__t5-small/tokenizer.json"
)
echo "tokenizer bench: repeat $repeat, batch $batch, threads ${thread_counts// /,}; $(nproc) cores, load average" \
  "$(cut -d' ' -f1-3 /proc/loadavg)"
# Each embtune run is followed at once by the peer's on the same file and thread count, so that
# both see the same load on a shared machine.
for entry in "${tokenizers[@]}"; do
  name=${entry%%:*}
  path=${entry#*:}
  for corpus in english multilingual; do
    for t in $thread_counts; do
      echo "  $name, $corpus, $t thread(s)" >&2
      "$here/$build/embtune" --threads "$t" bench tokenize --tokenizer "$path" --input "$work/$corpus.txt" \
        --repeat "$repeat" --batch "$batch" --json | tail -n 1 |
        sed "s/^{/{\"side\":\"embtune\",\"name\":\"$name\",\"corpus\":\"$corpus\",/" >> "$work/results.jsonl"
      node "$here/bench/tokenizer_bench_peer.js" "$path" "$work/$corpus.txt" --repeat "$repeat" --batch "$batch" \
        --threads "$t" | sed "s/^{/{\"side\":\"hf\",\"name\":\"$name\",\"corpus\":\"$corpus\",/" >> "$work/results.jsonl"
    done
  done
done

python3 - "$work/results.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
# embtune prints one object per run, its encode loop (one thread only) nested under "encode".
results = {}
for r in rows:
    key = (r["name"], r["corpus"], r["threads"])
    if r["side"] == "embtune":
        results[key + ("batch", "embtune")] = r
        if "encode" in r:
            results[key + ("encode", "embtune")] = {**r, **r["encode"]}
    else:
        results[key + ("batch" if r["mode"] == "encodeBatch" else "encode", "hf")] = r

print(f"{'tokenizer':<14}{'corpus':<13}{'thr':>3} {'mode':<7}{'embtune MB/s':>13}{'HF MB/s':>9}"
      f"{'embtune texts/s':>16}{'HF texts/s':>11}{'ratio':>7}{'cpu ratio':>10}{'tokens embtune':>15}{'tokens HF':>11}")
mismatches = []
seen = sorted({k[:4] for k in results}, key=lambda k: ([r["name"] for r in rows].index(k[0]), k[1], k[2], k[3] != "encode"))
for name, corpus, threads, mode in seen:
    e, h = results.get((name, corpus, threads, mode, "embtune")), results.get((name, corpus, threads, mode, "hf"))
    if not e or not h:
        continue
    # cpu ratio: HF's CPU seconds over embtune's for the same work, less sensitive to other load.
    flag = ""
    if e["tokens"] != h["tokens"] or e["ids_hash"] != h["ids_hash"] or e["texts"] != h["texts"] or e["bytes"] != h["bytes"]:
        flag = "  DIFFERENT: " + ("token counts" if e["tokens"] != h["tokens"] else "ids" if e["ids_hash"] != h["ids_hash"]
                                  else "texts read")
        mismatches.append((name, corpus))
    if "tokens_mismatch" in e or "tokens_mismatch" in h:
        flag += "  (passes disagree)"
    print(f"{name:<14}{corpus:<13}{threads:>3} {mode:<7}{e['mb_per_s']:>13.2f}{h['mb_per_s']:>9.2f}"
          f"{e['texts_per_s']:>16.0f}{h['texts_per_s']:>11.0f}{e['mb_per_s'] / h['mb_per_s']:>7.2f}"
          f"{h['cpu_seconds'] / e['cpu_seconds']:>10.2f}{e['tokens']:>15}{h['tokens']:>11}{flag}")
print("ratio: embtune MB/s over HF's (wall clock); cpu ratio: HF's CPU seconds over embtune's for the same passes."
      " mode encode: one text a call (one thread); batch: encode_batch / encodeBatch.")
if mismatches:
    print("tokenizer bench: the two sides did not tokenize alike for " +
          ", ".join(sorted({f"{n} ({c})" for n, c in mismatches})) + ": the comparison is not like for like", file=sys.stderr)
    sys.exit(1)
PY
