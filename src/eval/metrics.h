// Evaluation metrics on embeddings: cosine retrieval (dense_search.h) scored per query with
// trec.h's measures and binary gains, and rank correlations (Spearman, Pearson) as
// sentence-transformers' evaluators report them. Not BM25 and not reports.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace embtune {

// queries (Q, D) and docs (M, D): rows L2-normalised inside, ranked by cosine similarity (ties:
// the lower document index first). relevant[q]: the relevant documents of query q (binary
// relevance). For every k in ks: "ndcg@k", "mrr@k", "map@k", "recall@k", "precision@k",
// "accuracy@k" (trec_score_query's definitions), each the mean over queries with at least one
// relevant document.
std::map<std::string, double> retrieval_metrics(const float* queries, int64_t Q, const float* docs, int64_t M,
                                                int64_t D, const std::vector<std::vector<int64_t>>& relevant,
                                                const std::vector<int>& ks);

// Pearson correlation of x and y; Spearman's is Pearson's on ranks (ties get their mean rank, as
// scipy.stats.spearmanr). Both 0 when either input is constant.
double pearson_correlation(const std::vector<double>& x, const std::vector<double>& y);
double spearman_correlation(const std::vector<double>& x, const std::vector<double>& y);

// Cosine similarity of rows a_i and b_i (n rows of D).
std::vector<double> pairwise_cosine(const float* a, const float* b, int64_t n, int64_t D);

}  // namespace embtune
