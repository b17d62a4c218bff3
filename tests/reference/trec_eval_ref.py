#!/usr/bin/python3
"""Independent scorer of TREC runs for tests/test_trec_eval.cpp, written from trec_eval's definitions
(form_res_rels.c, m_ndcg_cut.c, m_map_cut.c, m_P.c, m_recall.c) in plain Python 3. Not a port of
src/eval/trec.cpp and not a validator: it assumes well-formed input.

Usage: trec_eval_ref.py RUN QRELS --k 1,3,10 [--complete]
Prints one JSON object: "ndcg@k", "mrr@k", "map@k", "recall@k", "precision@k", "accuracy@k" for each k,
and "queries".
"""
import argparse
import json
import math


def read_run(path):
    run = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            cols = line.split()
            if cols:
                run.setdefault(cols[0], []).append((cols[2], float(cols[4])))
    return run


def read_qrels(path):
    qrels = {}
    with open(path, encoding="utf-8") as f:
        rows = [line.split() for line in f if line.split()]
    if len(rows[0]) == 3:
        try:
            int(rows[0][2])
        except ValueError:
            rows = rows[1:]  # BEIR header
        triples = [(r[0], r[1], int(r[2])) for r in rows]
    else:
        triples = [(r[0], r[2], int(r[3])) for r in rows]
    for qid, docid, grade in triples:
        qrels.setdefault(qid, {})[docid] = grade
    return qrels


def ranking(docs):
    # trec_eval's comp_sim_docno: score descending, then docno descending (strcmp(p2, p1)). Two stable
    # sorts: the secondary key first. Python compares str by code point, which for UTF-8 is byte order.
    by_docid = sorted(docs, key=lambda d: d[0], reverse=True)
    return [d for d in sorted(by_docid, key=lambda d: d[1], reverse=True)]


def score_query(ranked_docids, judgments, k):
    relevant = {d for d, g in judgments.items() if g >= 1}
    top = ranked_docids[:k]
    hits = [i for i, d in enumerate(top) if d in relevant]  # 0-based ranks of relevant docs in top k
    dcg = sum(judgments[top[i]] / math.log2(i + 2) for i in hits)
    ideal_gains = sorted((g for g in judgments.values() if g >= 1), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal_gains))
    n_rel = len(relevant)
    return {
        "ndcg": dcg / idcg if idcg > 0 else 0.0,
        "mrr": 1.0 / (hits[0] + 1) if hits else 0.0,
        "map": sum((j + 1) / (i + 1) for j, i in enumerate(hits)) / n_rel if n_rel else 0.0,
        "recall": len(hits) / n_rel if n_rel else 0.0,
        "precision": len(hits) / k,
        "accuracy": 1.0 if hits else 0.0,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("qrels")
    ap.add_argument("--k", default="1,3,5,10,100")
    ap.add_argument("--complete", action="store_true")
    args = ap.parse_args()
    ks = sorted({int(x) for x in args.k.split(",")})
    run, qrels = read_run(args.run), read_qrels(args.qrels)
    scored = [q for q in run if q in qrels]
    missing = [q for q in qrels if q not in run]
    n = len(scored) + (len(missing) if args.complete else 0)
    out = {}
    for k in ks:
        totals = {}
        for q in scored:
            ranked = [d for d, _ in ranking(run[q])]
            for name, v in score_query(ranked, qrels[q], k).items():
                totals[name] = totals.get(name, 0.0) + v
        for name in ("ndcg", "mrr", "map", "recall", "precision", "accuracy"):
            out[f"{name}@{k}"] = totals.get(name, 0.0) / n
    out["queries"] = n
    print(json.dumps(out))


if __name__ == "__main__":
    main()
