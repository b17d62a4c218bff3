#!/usr/bin/env bash
# `make demo`: embtune's whole promise on a machine without network. A generic embedding model
# (the starter model, models/embtune-starter: trained on WordNet definitions) meets a domain it has
# not seen (computing: FOLDOC, Debian's dict-foldoc), is fine-tuned on that domain's (term ->
# definition) pairs, and is compared with itself and with BM25 on held-out terms, with 95%
# confidence intervals. Outputs in demo-out/ (report.html, the tuned model, the data).
#
#   bash scripts/demo.sh [BUILD_DIR]            (make demo runs it after set-up and build)
#
# Environment: MODEL (default models/embtune-starter; any model directory or hub id),
# DEMO_OUT (default demo-out), FOLDOC_DIR (default /usr/share/dictd), DEMO_QUICK=1 (a few
# hundred pairs and a few dozen steps: the test's mode, not a meaningful result).
# Not a benchmark and not the README's flow with a downloaded model (same commands, other --model).
set -euo pipefail
build=${1:-build}
bin="$build/embtune"
model=${MODEL:-models/embtune-starter}
out=${DEMO_OUT:-demo-out}
dict_dir=${FOLDOC_DIR:-/usr/share/dictd}
quick=${DEMO_QUICK:-0}
here=$(cd "$(dirname "$0")" && pwd)

fail() { echo "demo: error: $*" >&2; exit 1; }
[[ -x "$bin" ]] || fail "$bin not found: build embtune first (make build, or pass the build folder)"
if [[ ! -e "$model" && -z "${MODEL:-}" ]]; then
  fail "the starter model $model is missing (the repository ships it; scripts/starter/make_starter.sh \
remakes it), or run with MODEL=DIR, a sentence-transformers model directory, or MODEL=org/name with internet"
fi
[[ -f "$dict_dir/foldoc.index" && -f "$dict_dir/foldoc.dict.dz" ]] ||
  fail "FOLDOC not found in $dict_dir (install Debian's dict-foldoc: apt-get install dict-foldoc, or run make demo)"
command -v python3 >/dev/null || fail "python3 not found (apt-get install python3)"

# Sizes and hyperparameters (docs/demo.md says why and how long each step takes).
if [[ $quick == 1 ]]; then
  limit=600 split=0.7,0.1,0.2 length=(--max-steps 12) length_text="12 steps" batch=16 eval_steps=0 max_words=48
else
  limit=0 split=0.9,0.04,0.06 length=(--max-steps 200) length_text="200 steps" batch=32 eval_steps=100 max_words=64
fi
case "$out" in ""|/|.|..) fail "DEMO_OUT=$out: refusing to delete it";; esac

rm -rf "$out"
mkdir -p "$out"
t_all=$SECONDS
step_start=0
step() { step_start=$SECONDS; echo; echo "== $*"; }
done_step() { echo "   ($((SECONDS - step_start)) s)"; }

step "1. FOLDOC, the Free On-line Dictionary of Computing (dict-foldoc, GFDL) -> $out/docs.jsonl"
echo "   one document per entry: the headword (and each alias) as title, the cleaned definition as text"
python3 "$here/data/foldoc.py" --dict-dir "$dict_dir" --out "$out/docs.jsonl" --corpus "$out/corpus.jsonl" \
  --aliases --max-words "$max_words" --limit "$limit"
echo "   $(wc -l < "$out/docs.jsonl") documents, $(wc -l < "$out/corpus.jsonl") distinct definitions (the retrieval corpus)"
done_step

step "2. embtune pairs: (term -> definition) pairs from the documents' titles and bodies"
"$bin" pairs --docs "$out/docs.jsonl" --methods title-body --min-query-words 1 --min-passage-words 10 \
  --max-passage-words 256 --with-source --out "$out/pairs.jsonl" --quiet --json > "$out/pairs_summary.json"
echo "   $(wc -l < "$out/pairs.jsonl") pairs"
done_step

step "3. embtune prepare: checks, de-duplication and a grouped train / validation / test split ($split)"
echo "   rows sharing a definition (a term and its aliases) or near-duplicate texts stay in one split"
"$bin" prepare --input "$out/pairs.jsonl" --out "$out/data" --split "$split" --seed 0 --model "$model" \
  --json > "$out/prepare_summary.json"
done_step

step "4. embtune mine: one hard negative per training pair, found by the starter model"
echo "   among the training definitions only, so no validation or test text enters training; ranks"
echo "   0-2 are skipped (likely near-synonyms: 'Ada 95' for 'Ada'), one of ranks 3-29 is drawn"
"$bin" mine --model "$model" --input "$out/data/train.jsonl" --out "$out/train-mined-all.jsonl" \
  --num-negatives 1 --range-min 3 --range-max 30 --sampling-strategy random --seed 0 \
  --cache-dir "$out/cache" --json > "$out/mine_summary.json"
# The validation rows get a negative the same way, from the validation definitions only, so that
# the validation loss counts a hard negative as training does (plain pairs would be accepted too).
"$bin" --quiet mine --model "$model" --input "$out/data/validation.jsonl" --out "$out/validation-mined-all.jsonl" \
  --num-negatives 1 --range-min 3 --range-max 30 --sampling-strategy random --seed 0 \
  --cache-dir "$out/cache" --json > "$out/mine_validation_summary.json"
# The trainer wants the same columns on every row: a row the filters left without a negative
# (rare: fewer than 4 other definitions near it) is left out.
keep_with_negative() {
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8") if line.strip()]
kept = [r for r in rows if "negative_1" in r]
with open(sys.argv[2], "w", encoding="utf-8") as f:
    for r in kept:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(f"   {len(kept)} of {len(rows)} {sys.argv[3]} pairs with a hard negative"
      + (f" ({len(rows) - len(kept)} without one left out)" if len(kept) < len(rows) else ""))
if not kept:
    sys.exit(f"demo: error: mining found no hard negative for the {sys.argv[3]} pairs")
PY
}
keep_with_negative "$out/train-mined-all.jsonl" "$out/train-mined.jsonl" training
keep_with_negative "$out/validation-mined-all.jsonl" "$out/validation-mined.jsonl" validation
done_step

step "5. embtune train: MultipleNegativesRankingLoss, $length_text in batches of $batch pairs; then the test set"
echo "   the test report retrieves every test term over all $(wc -l < "$out/corpus.jsonl") definitions with the"
echo "   starter model, the tuned model and BM25, and compares them with 95% bootstrap intervals"
"$bin" train --model "$model" --train "$out/train-mined.jsonl" --eval "$out/validation-mined.jsonl" \
  --test "$out/data/test.jsonl" --test-corpus "$out/corpus.jsonl" --out "$out/tuned" \
  "${length[@]}" --batch-size "$batch" --lr 2e-4 --warmup 0.1 --eval-steps "$eval_steps" --seed 0
done_step

step "6. the result: nDCG@10 on $(wc -l < "$out/data/test.jsonl") held-out test terms"
cp "$out/tuned/test_report/report.json" "$out/tuned/test_report/report.html" "$out/"
python3 - "$out/report.json" "$out/data/test.jsonl" <<'PY'
import json, re, sys
r = json.load(open(sys.argv[1]))
m = "ndcg@10"
systems = {s["name"]: s["metrics"][m] for s in r["systems"]}
print(f"   {'system':<14} {'nDCG@10':>8}   95% CI")
for name, label in (("base", "starter model"), ("tuned", "tuned model"), ("bm25", "BM25")):
    if name in systems:
        s = systems[name]
        print(f"   {label:<14} {s['mean']:8.3f}   [{s['ci'][0]:.3f}, {s['ci'][1]:.3f}]")
print()
print(f"   difference from the starter model (paired over {r['queries']} queries):")
for d in r["differences"]:
    x = d["metrics"][m]
    label = {"tuned": "tuned model", "bm25": "BM25"}.get(d["system"], d["system"])
    print(f"   {label:<14} {x['mean']:+8.3f}   [{x['ci'][0]:+.3f}, {x['ci'][1]:+.3f}]  p = {x['p_value']:.4f}"
          f"  ({x['wins']} better, {x['ties']} same, {x['losses']} worse)")
diff = {d["system"]: d["metrics"][m] for d in r["differences"]}
t = diff.get("tuned")
if t:
    if t["ci"][0] > 0:
        print("   => fine-tuning helped: the whole 95% interval of the gain is above zero")
    elif t["ci"][1] < 0:
        print("   => fine-tuning hurt: the whole 95% interval is below zero")
    else:
        print("   => no clear effect: the 95% interval of the difference contains zero")
    tuned, bm25 = systems.get("tuned"), systems.get("bm25")
    if tuned and bm25:
        if tuned["ci"][0] > bm25["ci"][1]:
            print("   => the tuned model beats BM25 (the intervals do not overlap)")
        elif tuned["ci"][1] < bm25["ci"][0]:
            print("   => BM25 is still better than the tuned model (the intervals do not overlap)")
        else:
            print("   => the tuned model and BM25 are level within their intervals")
        words = lambda t: set(re.findall(r"\w+", t.lower()))
        rows = [json.loads(line) for line in open(sys.argv[2], encoding="utf-8") if line.strip()]
        inside = sum(words(x["anchor"]) <= words(x["positive"]) for x in rows)
        print(f"      (word overlap is BM25's strength: {inside} of {len(rows)} test terms appear word for word"
              " in their definition)")
PY
echo "   the whole comparison: $out/report.html (and $out/report.json); the tuned model: $out/tuned"
done_step
echo
echo "demo: done in $((SECONDS - t_all)) s; outputs in $out/"
