#!/usr/bin/env python3
"""Writes the starter model's card (README.md) over the one `embtune train` wrote.

The card says what the model is, its data and licence, the recipe and its timing, and then keeps
train's own card from "## Training" on (hyperparameters, validation before/after, the held-out
test table against BM25). Called by scripts/starter/make_starter.sh; not a general card writer.
"""
import argparse
import json
import os
import sys

TEMPLATE = """---
library_name: sentence-transformers
pipeline_tag: sentence-similarity
language: en
license: other
tags:
- sentence-transformers
- sentence-similarity
- feature-extraction
- embtune
---

# embtune-starter

A small general-purpose English sentence-embedding model (BERT, {layers} layers, hidden {hidden},
{heads} heads, an uncased WordPiece vocabulary of {vocab} tokens, at most {max_len} tokens, mean
pooling, unit-length embeddings, {dim} dimensions, f16 weights, {params:.1f} M parameters), made by
embtune alone, from random weights, on a CPU. It is embtune's default where no model hub is
reachable, and the base model of `make demo`. It is not a substitute for all-MiniLM-L6-v2 or
bge-small: it has seen only dictionary text, and a few minutes of training.

## Data

WordNet 3.0 (Princeton University; Debian package `wordnet-base`, under the WordNet 3.0 licence,
a permissive BSD-style licence that asks for its copyright notice to be kept: see the package's
copyright file). One document per synset: its lemmas and its gloss (definition and usage
examples). The members of WordNet's computing topic domains (computer science, programming,
computer, internet) are left out, so that the demo's domain (FOLDOC, computing) is unseen.
`embtune pairs --methods title-body,ict` made (lemmas → definition and examples) and (one
sentence of a gloss → the rest) pairs, {pairs} in all; `embtune prepare` split them by synset into
train / validation / test ({train} / {validation} / {test} rows). The vocabulary was learnt from the
same text with `embtune train-tokenizer`.

## Licence

The weights and vocabulary are derived from WordNet, whose licence asks that this notice and
disclaimer go with every copy: WordNet 3.0 Copyright 2006 by Princeton University. All rights
reserved. THIS SOFTWARE AND DATABASE IS PROVIDED "AS IS" AND PRINCETON UNIVERSITY MAKES NO
REPRESENTATIONS OR WARRANTIES, EXPRESS OR IMPLIED. BY WAY OF EXAMPLE, BUT NOT LIMITATION,
PRINCETON UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES OF MERCHANTABILITY OR FITNESS FOR ANY
PARTICULAR PURPOSE OR THAT THE USE OF THE LICENSED SOFTWARE, DATABASE OR DOCUMENTATION WILL NOT
INFRINGE ANY THIRD PARTY PATENTS, COPYRIGHTS, TRADEMARKS OR OTHER RIGHTS. The name of Princeton
University or Princeton may not be used in advertising or publicity pertaining to distribution of
the software and/or database. The embtune code that made it is the project's own.

## Recipe

```sh
make build && bash scripts/starter/make_starter.sh build models/embtune-starter
```

Training took {train_min:.0f} min (the whole recipe {recipe_min:.0f} min), `--precision {precision}`,
{threads} threads of an {cpu}. The test table below is the held-out WordNet test split retrieved
by the random initial weights (`base`), this model (`tuned`) and BM25, over the split's passages.
Against BM25 as the baseline (`test_report_vs_bm25/`), this model's nDCG@10 differs by
{bm25_diff:+.4f} (95% bootstrap interval [{bm25_lo:+.4f}, {bm25_hi:+.4f}]; better on {wins}
queries, worse on {losses}, tied on {ties}).

"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--train-seconds", type=float, required=True)
    ap.add_argument("--recipe-seconds", type=float, required=True)
    a = ap.parse_args()
    readme = os.path.join(a.model, "README.md")
    try:
        cfg = json.load(open(os.path.join(a.model, "config.json")))
        st = json.load(open(os.path.join(a.model, "sentence_bert_config.json")))
        args = json.load(open(os.path.join(a.model, "embtune_train.json")))
        prep = json.load(open(os.path.join(a.model, "prepare_report.json")))
        auto = open(readme, encoding="utf-8").read()
        vs_bm25 = json.load(open(os.path.join(a.model, "test_report_vs_bm25", "report.json")))
        d = [x for x in vs_bm25["differences"] if x["baseline"] == "bm25"][0]["metrics"]["ndcg@10"]
    except (OSError, ValueError, KeyError, IndexError) as e:
        print(f"model_card.py: {a.model}: {e}", file=sys.stderr)
        return 1
    cut = auto.find("## Training")
    if cut < 0:
        print(f"model_card.py: {readme}: no '## Training' section (not written by embtune train?)", file=sys.stderr)
        return 1
    h, v, layers, inter = cfg["hidden_size"], cfg["vocab_size"], cfg["num_hidden_layers"], cfg["intermediate_size"]
    params = (v + cfg["max_position_embeddings"] + cfg["type_vocab_size"] + 2) * h + layers * (
        4 * h * h + 4 * h + 2 * h * inter + inter + h + 4 * h)
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    splits = prep["splits"]
    card = TEMPLATE.format(layers=layers, hidden=h, heads=cfg["num_attention_heads"], vocab=v,
                           max_len=st.get("max_seq_length", "?"), dim=h, params=params / 1e6,
                           pairs=prep["rows_written"], train=splits["train"]["rows"],
                           validation=splits["validation"]["rows"], test=splits["test"]["rows"],
                           train_min=a.train_seconds / 60, recipe_min=a.recipe_seconds / 60,
                           precision=args.get("precision", "?"), threads=os.cpu_count(), cpu=cpu,
                           bm25_diff=d["mean"], bm25_lo=d["ci"][0], bm25_hi=d["ci"][1], wins=d["wins"],
                           losses=d["losses"], ties=d["ties"])
    tmp = readme + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(card + auto[cut:])
    os.replace(tmp, readme)
    return 0


if __name__ == "__main__":
    sys.exit(main())
