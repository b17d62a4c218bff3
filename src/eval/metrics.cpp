// Retrieval metrics and correlations for the trainer's evaluation sets: exact search by dense_search
// and trec.h's per-query measures. Not BEIR retrieval or runs (eval/retrieve.h).
#include "eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "eval/dense_search.h"
#include "eval/trec.h"

namespace embtune {

namespace {

std::vector<double> ranks_of(const std::vector<double>& x) {
  std::vector<size_t> idx(x.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return x[a] < x[b]; });
  std::vector<double> r(x.size());
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    while (j + 1 < idx.size() && x[idx[j + 1]] == x[idx[i]]) j++;
    const double mean_rank = (i + j) / 2.0 + 1.0;
    for (size_t t = i; t <= j; t++) r[idx[t]] = mean_rank;
    i = j + 1;
  }
  return r;
}

}  // namespace

std::map<std::string, double> retrieval_metrics(const float* queries, int64_t Q, const float* docs, int64_t M,
                                                int64_t D, const std::vector<std::vector<int64_t>>& relevant,
                                                const std::vector<int>& ks) {
  std::map<std::string, double> sums;
  if (ks.empty()) return sums;
  DenseSearchOptions search;
  search.k = *std::max_element(ks.begin(), ks.end());
  const DenseHits top = dense_search(queries, Q, docs, M, D, search);
  int64_t counted = 0;
  for (int64_t i = 0; i < Q; i++) {
    if (relevant[i].empty()) continue;
    counted++;
    const std::set<int64_t> rel(relevant[i].begin(), relevant[i].end());
    std::vector<int64_t> ranked_grades;
    for (const auto& [row, score] : top[i]) ranked_grades.push_back(rel.count(row) ? 1 : 0);
    const std::vector<int64_t> judged_grades(rel.size(), 1);
    for (int k : ks) {
      const TrecQueryMetrics m = trec_score_query(ranked_grades, judged_grades, k);
      sums[trec_metric_key("ndcg", k)] += m.ndcg;
      sums[trec_metric_key("mrr", k)] += m.mrr;
      sums[trec_metric_key("map", k)] += m.map;
      sums[trec_metric_key("recall", k)] += m.recall;
      sums[trec_metric_key("precision", k)] += m.precision;
      sums[trec_metric_key("accuracy", k)] += m.accuracy;
    }
  }
  for (auto& [name, v] : sums) v = counted ? v / counted : 0;
  return sums;
}

double pearson_correlation(const std::vector<double>& x, const std::vector<double>& y) {
  const size_t n = x.size();
  if (n == 0 || y.size() != n) return 0;
  const double mx = std::accumulate(x.begin(), x.end(), 0.0) / n, my = std::accumulate(y.begin(), y.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  return sxx > 0 && syy > 0 ? sxy / std::sqrt(sxx * syy) : 0;
}

double spearman_correlation(const std::vector<double>& x, const std::vector<double>& y) {
  return pearson_correlation(ranks_of(x), ranks_of(y));
}

std::vector<double> pairwise_cosine(const float* a, const float* b, int64_t n, int64_t D) {
  std::vector<double> out(n);
  for (int64_t i = 0; i < n; i++) {
    double ab = 0, aa = 0, bb = 0;
    for (int64_t d = 0; d < D; d++) {
      ab += static_cast<double>(a[i * D + d]) * b[i * D + d];
      aa += static_cast<double>(a[i * D + d]) * a[i * D + d];
      bb += static_cast<double>(b[i * D + d]) * b[i * D + d];
    }
    out[i] = ab / std::max(std::sqrt(aa) * std::sqrt(bb), 1e-12);
  }
  return out;
}

}  // namespace embtune
