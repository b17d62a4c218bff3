#!/usr/bin/env bash
# Hard-negative mining at scale: 10,000 queries over a 100,000-passage corpus with a random-weight
# all-MiniLM-L6-v2-shaped model (its real tokenizer), timed twice: cold (every text embedded) and
# warm (embeddings from the cache, so only search and filters run). Not a test: nothing is asserted.
#
# Usage: bench/run_mine_bench.sh [BUILD_DIR] [QUERIES] [PASSAGES]   (THREADS=N to pin threads)
set -euo pipefail
build=${1:-build}
queries=${2:-10000}
passages=${3:-100000}
here=$(cd "$(dirname "$0")/.." && pwd)
tok="$here/../shared/data/tokenizers/sentence-transformers__all-MiniLM-L6-v2"
threads=${THREADS:-$(nproc)}
[[ -d "$tok" ]] || { echo "bench: $tok not found (the shared data sits beside the repository)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$here/$build/embtune" init --config minilm-l6 --tokenizer "$tok" --out "$work/model" --seed 0 --quiet
# Passages of 12–48 whole words of the tokenizer's vocabulary (about 16–64 tokens); each query is
# 4–10 words of its positive passage plus two others, so retrieval has something to find.
python3 - "$tok/vocab.txt" "$work" "$queries" "$passages" <<'PY'
import json, random, sys
vocab_path, work, nq, npass = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
words = [w.strip() for w in open(vocab_path) if w.strip().isalpha() and w.strip().islower() and len(w.strip()) > 2]
rng = random.Random(0)
corpus = [" ".join(rng.choice(words) for _ in range(rng.randint(12, 48))) for _ in range(npass)]
with open(f"{work}/corpus.jsonl", "w") as f:
    for i, t in enumerate(corpus):
        f.write(json.dumps({"_id": f"d{i}", "text": t}) + "\n")
with open(f"{work}/pairs.jsonl", "w") as f:
    for q in range(nq):
        p = corpus[rng.randrange(npass)].split()
        query = rng.sample(p, min(len(p), rng.randint(4, 10))) + [rng.choice(words), rng.choice(words)]
        f.write(json.dumps({"anchor": " ".join(query), "positive": " ".join(p)}) + "\n")
PY
echo "mine: $queries queries x $passages passages, all-MiniLM-L6-v2 shape (random weights), threads $threads"
for run in cold warm; do
  /usr/bin/time -v -o "$work/time-$run.txt" "$here/$build/embtune" --threads "$threads" --quiet mine \
    --model "$work/model" --input "$work/pairs.jsonl" --corpus "$work/corpus.jsonl" --out "$work/mined.jsonl" \
    --num-negatives 5 --cache-dir "$work/cache" --json > "$work/report-$run.json"
  rss=$(awk -F': ' '/Maximum resident/ {printf "%.0f", $2 / 1024}' "$work/time-$run.txt")
  wall=$(awk -F': ' '/Elapsed \(wall/ {print $2}' "$work/time-$run.txt")
  python3 - "$run" "$work/report-$run.json" "$rss" "$wall" <<'PY'
import json, sys
run, path, rss, wall = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
r = json.loads(open(path).read().strip().splitlines()[-1])
s = r["seconds"]
print(f"{run}: wall {wall}, embed {s['embed']:.1f} s, search {s['search']:.2f} s, filter {s['filter']:.2f} s, "
      f"peak RSS {rss} MB")
PY
done
