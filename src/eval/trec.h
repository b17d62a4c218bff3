// trec_eval in miniature: reads a TREC run and BEIR or TREC qrels, and scores the run with
// trec_eval's definitions (ndcg_cut, map_cut, recall, P) plus MRR@k and accuracy@k.
// Not retrieval (no models, no BM25) and not the trainer's cosine metrics (eval/metrics.h).
//
// Usage:
//   TrecRun run;  Qrels qrels;
//   ET_RETURN_IF_ERROR(trec_run_read("run.trec", &run));
//   ET_RETURN_IF_ERROR(qrels_read("test.tsv", &qrels));
//   TrecEvalResult r;
//   ET_RETURN_IF_ERROR(trec_evaluate(run, qrels, TrecEvalOptions{}, &r));
//   r.means["ndcg@10"];
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/status.h"

namespace embtune {

struct ScoredDoc {
  std::string docid;
  double score = 0;  // trec_eval parses the score column as a double (atof)
};

// A run: each query's retrieved documents in file order. The rank column is read and then ignored,
// as trec_eval ignores it; trec_rank_documents orders them.
struct TrecRun {
  std::vector<std::string> query_order;  // first appearance in the file
  std::unordered_map<std::string, std::vector<ScoredDoc>> docs;
};

// Graded judgments: query -> document -> grade. Grades are integers; > 0 means relevant.
struct Qrels {
  std::vector<std::string> query_order;
  std::unordered_map<std::string, std::unordered_map<std::string, int64_t>> grades;
};

// `qid Q0 docid rank score tag`, whitespace-separated, exactly six columns. Errors name the file
// and line: wrong column count, a non-numeric or non-finite score, a docid repeated for a query
// (trec_eval refuses those too), an empty file.
Status trec_run_read(const std::string& path, TrecRun* out);

// BEIR qrels (`query-id corpus-id score`, a header line, tab- or space-separated) or TREC qrels
// (`qid iter docid rel`, no header), told apart by the column count of the first line. A
// (query, document) pair judged twice is an error naming the line, as in trec_eval.
Status qrels_read(const std::string& path, Qrels* out);

// Sorts documents the way trec_eval's form_res_rels does (comp_sim_docno): score descending, ties
// by docid in descending byte order (strcmp(p2, p1)).
void trec_rank_documents(std::vector<ScoredDoc>* docs);

// Per-query values for one cutoff k. `ranked_grades`: grades of the retrieved documents in rank
// order (0 for unjudged); `judged_grades`: every grade the qrels hold for the query.
struct TrecQueryMetrics {
  double ndcg = 0, mrr = 0, map = 0, recall = 0, precision = 0, accuracy = 0;
};
TrecQueryMetrics trec_score_query(const std::vector<int64_t>& ranked_grades, const std::vector<int64_t>& judged_grades,
                                  int k);

struct TrecEvalOptions {
  std::vector<int> ks = {1, 3, 5, 10, 100};
  // Like trec_eval -c: qrels queries absent from the run count as zeros in every mean.
  bool complete = false;
};

// "ndcg" and 10 give "ndcg@10": the keys of TrecEvalResult::means and of `embtune eval --json`.
std::string trec_metric_key(const std::string& measure, int k);

struct TrecEvalResult {
  // "ndcg@k", "mrr@k", "map@k", "recall@k", "precision@k", "accuracy@k" for every k.
  std::map<std::string, double> means;
  int64_t queries = 0;                     // how many queries the means average over
  int64_t run_queries_without_qrels = 0;   // skipped, as trec_eval skips them
  int64_t qrels_queries_without_run = 0;   // skipped, or zeros under `complete`
  // The queries averaged over, in run order (then, under `complete`, the missing qrels queries
  // in qrels order), and each measure's value per query in that order: what paired comparisons
  // between systems (eval/compare.h) resample.
  std::vector<std::string> query_ids;
  std::map<std::string, std::vector<double>> per_query;
};

// Scores every query present in both the run and the qrels (and, under `complete`, every qrels
// query) and averages. Queries whose judgments hold no relevant document are scored (all zeros) and
// counted, as trec_eval does. Fails when no query is left to average.
Status trec_evaluate(const TrecRun& run, const Qrels& qrels, const TrecEvalOptions& options, TrecEvalResult* out);

}  // namespace embtune
