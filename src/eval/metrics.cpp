// Retrieval metrics and correlations. Exact (brute-force) search: the evaluation sets of
// training runs are small; large corpora belong to the eval command's index.
#include "eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

namespace embtune {

namespace {

std::vector<float> normalized_rows(const float* x, int64_t n, int64_t D) {
  std::vector<float> y(x, x + n * D);
  for (int64_t i = 0; i < n; i++) {
    double s = 0;
    for (int64_t d = 0; d < D; d++) s += static_cast<double>(y[i * D + d]) * y[i * D + d];
    const double inv = 1.0 / std::max(std::sqrt(s), 1e-12);
    for (int64_t d = 0; d < D; d++) y[i * D + d] = static_cast<float>(y[i * D + d] * inv);
  }
  return y;
}

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
  const std::vector<float> q = normalized_rows(queries, Q, D), d = normalized_rows(docs, M, D);
  const int kmax = ks.empty() ? 0 : *std::max_element(ks.begin(), ks.end());
  std::map<std::string, double> sums;
  int64_t counted = 0;
  std::vector<std::vector<int64_t>> top(Q);
#pragma omp parallel for schedule(dynamic, 16)
  for (int64_t i = 0; i < Q; i++) {
    std::vector<std::pair<float, int64_t>> scored(M);
    for (int64_t j = 0; j < M; j++) {
      float s = 0;
      for (int64_t c = 0; c < D; c++) s += q[i * D + c] * d[j * D + c];
      scored[j] = {-s, j};
    }
    const int64_t keep = std::min<int64_t>(kmax, M);
    std::partial_sort(scored.begin(), scored.begin() + keep, scored.end());
    for (int64_t t = 0; t < keep; t++) top[i].push_back(scored[t].second);
  }
  for (int64_t i = 0; i < Q; i++) {
    if (relevant[i].empty()) continue;
    counted++;
    const std::set<int64_t> rel(relevant[i].begin(), relevant[i].end());
    for (int k : ks) {
      double dcg = 0, idcg = 0, rr = 0;
      int64_t hits = 0;
      for (int64_t t = 0; t < std::min<int64_t>(k, static_cast<int64_t>(top[i].size())); t++) {
        if (!rel.count(top[i][t])) continue;
        hits++;
        dcg += 1.0 / std::log2(t + 2.0);
        if (rr == 0) rr = 1.0 / (t + 1.0);
      }
      for (int64_t t = 0; t < std::min<int64_t>(k, static_cast<int64_t>(rel.size())); t++) idcg += 1.0 / std::log2(t + 2.0);
      const std::string at = "@" + std::to_string(k);
      sums["ndcg" + at] += idcg > 0 ? dcg / idcg : 0;
      sums["mrr" + at] += rr;
      sums["recall" + at] += static_cast<double>(hits) / rel.size();
      sums["accuracy" + at] += hits > 0 ? 1 : 0;
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
