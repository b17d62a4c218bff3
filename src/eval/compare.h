// Paired comparison of retrieval systems on the same queries: bootstrap intervals, randomisation
// tests, wins and losses, the table and report.json. Not scoring (trec.h) nor HTML (report_html.h).
//
// Usage:
//   std::vector<CompareSystem> systems = {{"base", &base_result, &base_run}, {"bm25", &bm25_result, &bm25_run}};
//   ComparisonReport report;
//   ET_RETURN_IF_ERROR(compare_systems(systems, qrels, query_texts, CompareOptions{}, &report));
//   report_print_table(stdout, report);
//   ET_RETURN_IF_ERROR(report_write(report, "out/"));  // out/report.json, out/report.html
//
// Every random draw comes from SplitMix64 seeded with CompareOptions::seed, so a report is a
// function of its inputs; tests/reference/compare_ref.py re-implements the draws bit for bit.
#pragma once

#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "eval/trec.h"

namespace embtune {

// Vigna's splitmix64: state += 0x9e3779b97f4a7c15, then the mix of Stafford's variant 13.
// Small, fast and easy to replicate exactly in any language; not for cryptography.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next();
  // next() % n, n > 0. The modulo bias is below n / 2^64: nothing for query counts.
  uint64_t below(uint64_t n);

 private:
  uint64_t state_;
};

// A closed interval [low, high].
struct Interval {
  double low = 0, high = 0;
};

// numpy.percentile's default ("linear"): with the values sorted ascending x[0..m-1] and
// h = (m − 1) · q, the value x[⌊h⌋] + (h − ⌊h⌋) · (x[⌊h⌋+1] − x[⌊h⌋]). q in [0, 1], m ≥ 1.
double percentile_linear(const std::vector<double>& sorted, double q);

// Bootstrap means of several series of equal length n ≥ 1, all resampled with the SAME query
// indices: for each of `resamples` resamples, n indices i_1..i_n drawn as rng.below(n) from one
// SplitMix64(seed), and for each series s the mean (Σ_j s[i_j], summed in draw order) / n.
// Returns one vector of `resamples` means per series (in resample order, unsorted).
std::vector<std::vector<double>> bootstrap_means(const std::vector<const std::vector<double>*>& series,
                                                 int64_t resamples, uint64_t seed);

// The percentile interval of bootstrap means: the (1 − confidence)/2 and 1 − (1 − confidence)/2
// percentiles (percentile_linear) of `means`.
Interval bootstrap_interval(std::vector<double> means, double confidence);

// The paired randomisation (sign-flip) test of mean(a − b) = 0, two-sided. With d_i = a_i − b_i
// and S = Σ d_i, a sign pattern counts when |Σ ±d_i| ≥ |S| − 1e-9 · Σ|d_i| (the tolerance keeps
// rounding from deciding ties). When 2^n ≤ trials every pattern is enumerated and
// p = count / 2^n (exact). Otherwise each trial draws one rng.next() per query, in query order,
// from SplitMix64(seed), flips d_i when its top bit is 1, and p = (count + 1) / (trials + 1).
struct RandomisationResult {
  double p_value = 1;
  bool exact = false;
};
RandomisationResult randomisation_test(const std::vector<double>& a, const std::vector<double>& b, int64_t trials,
                                       uint64_t seed);

struct CompareOptions {
  int baseline = 0;                  // index of the baseline system
  std::vector<std::string> metrics;  // keys like "ndcg@10"; empty: kDefaultCompareMetrics that exist
  int64_t resamples = 1000;          // bootstrap resamples
  int64_t trials = 10000;            // randomisation trials
  uint64_t seed = 42;
  double confidence = 0.95;
  int64_t worst = 10;                // worse queries listed per system
};

// The metrics compared when none are asked for, in this order, those the results hold.
extern const std::vector<std::string> kDefaultCompareMetrics;

// The metrics to compare: `requested` (each must be in `available`, else an error listing them),
// or, when empty, kDefaultCompareMetrics present in `available` (an error when none is).
Status compare_pick_metrics(const std::vector<std::string>& requested, const std::vector<std::string>& available,
                            std::vector<std::string>* out);

// One system to compare; the pointers must outlive compare_systems().
struct CompareSystem {
  std::string name;
  const TrecEvalResult* result = nullptr;  // its scores (query_ids, per_query, means)
  const TrecRun* run = nullptr;            // its run, for the ranks of the first relevant documents
};

struct MetricSummary {
  double mean = 0;  // TrecEvalResult::means, as `embtune eval` prints it
  Interval ci;      // bootstrap percentile interval of the mean
};

struct MetricDifference {
  double mean = 0;  // mean over queries of system − baseline
  Interval ci;      // bootstrap percentile interval of that mean
  double p_value = 1;
  bool exact = false;  // p from every sign pattern rather than sampled trials
  int64_t wins = 0, ties = 0, losses = 0;  // queries where system > / = / < baseline (exact comparison)
};

// A query the system scores lower than the baseline on the primary metric.
struct WorseQuery {
  std::string query_id, text;                // text "" when unknown
  double baseline_value = 0, system_value = 0;
  // 1-based rank of the first relevant document (grade > 0) in each run ranked as trec_eval ranks
  // (trec_rank_documents), over the whole run, not cut at k; 0 when none was retrieved.
  int64_t baseline_rank = 0, system_rank = 0;
};

struct SystemComparison {
  std::string name;
  std::vector<MetricSummary> metrics;  // parallel to ComparisonReport::metrics
  // The rest is empty for the baseline.
  std::vector<MetricDifference> differences;  // parallel to ComparisonReport::metrics
  std::vector<double> primary_differences;    // system − baseline per query, query order, first metric
  std::vector<WorseQuery> worse;              // worst first (largest drop; ties in query order), ≤ worst
  int64_t worse_total = 0;                    // all queries worse on the primary metric
};

struct ComparisonReport {
  std::vector<std::string> metrics;    // the first is the primary metric
  std::vector<std::string> query_ids;  // the baseline's order
  int baseline = 0;
  int64_t resamples = 0, trials = 0;
  uint64_t seed = 0;
  double confidence = 0;
  std::vector<SystemComparison> systems;  // input order
};

// Compares every system with the baseline, query by query. Errors: no system, a baseline index out
// of range, a metric the results lack (compare_pick_metrics), options out of range, or systems
// scored on different query sets (a paired comparison needs every query in every system: score
// the runs with TrecEvalOptions::complete, or on runs that cover the same queries).
Status compare_systems(const std::vector<CompareSystem>& systems, const Qrels& qrels,
                       const std::unordered_map<std::string, std::string>& query_texts, const CompareOptions& options,
                       ComparisonReport* out);

// Systems × metrics with intervals, the differences with interval, p and win/tie/loss, then the
// worse queries; 4 decimals. Query texts are cut to one line of at most 60 bytes.
void report_print_table(std::FILE* f, const ComparisonReport& report);

// {"baseline", "metrics", "queries", "confidence", "bootstrap_resamples", "permutation_trials",
//  "seed", "systems": [{"name", "metrics": {key: {"mean", "ci": [low, high]}}}],
//  "differences": [{"system", "baseline", "metrics": {key: {"mean", "ci", "p_value", "p_exact",
//  "wins", "ties", "losses"}}, "worse_queries": [{"query_id", "text", "baseline", "system",
//  "baseline_rank", "system_rank"}], "worse_queries_total"}]}
nlohmann::json report_to_json(const ComparisonReport& report);

// Creates `dir` (and its parents) and writes dir/report.json and dir/report.html, each atomically;
// both are written to temporaries before either is renamed.
Status report_write(const ComparisonReport& report, const std::string& dir);

}  // namespace embtune
