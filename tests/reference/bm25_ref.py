#!/usr/bin/env python3
"""An independent BM25 scorer for tests/test_bm25.cpp, written from Lucene's BM25Similarity
(idf = ln(1 + (N - n + 0.5) / (n + 0.5)); tf / (tf + k1 (1 - b + b |d| / avgdl)), summed over the
query's terms) with exact document lengths. ASCII analysis only: lowercase, [a-z0-9]+ runs,
Lucene's English stop words dropped. Not a search engine.

Usage: bm25_ref.py IN.json OUT.json. IN: {"docs": [...], "queries": [...], "k1": x, "b": x}.
OUT: {"scores": [[score of query i for doc j, ...], ...]}.
"""
import json
import math
import re
import sys
from collections import Counter

STOP = set("a an and are as at be but by for if in into is it no not of on or such that the their then "
           "there these they this to was will with".split())


def analyze(text):
    return [t for t in re.findall(r"[a-z0-9]+", text.lower()) if t not in STOP]


def main():
    spec = json.load(open(sys.argv[1]))
    k1, b = spec["k1"], spec["b"]
    docs = [analyze(d) for d in spec["docs"]]
    n_docs = len(docs)
    avgdl = sum(len(d) for d in docs) / n_docs
    tfs = [Counter(d) for d in docs]
    df = Counter(t for tf in tfs for t in tf)
    scores = []
    for q in spec["queries"]:
        row = []
        for d, tf in zip(docs, tfs):
            s = 0.0
            for t in analyze(q):
                if t in tf:
                    idf = math.log(1 + (n_docs - df[t] + 0.5) / (df[t] + 0.5))
                    s += idf * tf[t] / (tf[t] + k1 * (1 - b + b * len(d) / avgdl))
            row.append(s)
        scores.append(row)
    json.dump({"scores": scores}, open(sys.argv[2], "w"))


main()
