// Paired bootstrap, randomisation test, wins and losses between systems, the terminal table and
// report.json. Not the HTML page (report_html.cpp) and not the per-query scores (trec.cpp).
#include "eval/compare.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <system_error>

#include "core/file.h"
#include "eval/report_html.h"

namespace embtune {

const std::vector<std::string> kDefaultCompareMetrics = {"ndcg@10", "mrr@10", "map@100", "recall@100"};

uint64_t SplitMix64::next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t SplitMix64::below(uint64_t n) {
  ET_CHECK(n > 0);
  return next() % n;
}

double percentile_linear(const std::vector<double>& sorted, double q) {
  ET_CHECK(!sorted.empty() && q >= 0 && q <= 1);
  const double h = static_cast<double>(sorted.size() - 1) * q;
  const size_t lo = static_cast<size_t>(std::floor(h));
  if (lo + 1 >= sorted.size()) return sorted.back();
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[lo + 1] - sorted[lo]);
}

std::vector<std::vector<double>> bootstrap_means(const std::vector<const std::vector<double>*>& series,
                                                 int64_t resamples, uint64_t seed) {
  ET_CHECK(!series.empty() && resamples > 0);
  const size_t n = series[0]->size();
  ET_CHECK(n > 0);
  for (const auto* s : series) ET_CHECK(s->size() == n);
  std::vector<std::vector<double>> means(series.size(), std::vector<double>(static_cast<size_t>(resamples)));
  std::vector<size_t> idx(n);  // (n) the query positions of one resample, in draw order
  SplitMix64 rng(seed);
  for (int64_t r = 0; r < resamples; r++) {
    for (size_t j = 0; j < n; j++) idx[j] = static_cast<size_t>(rng.below(n));
    for (size_t s = 0; s < series.size(); s++) {
      const std::vector<double>& v = *series[s];
      double sum = 0;
      for (size_t j = 0; j < n; j++) sum += v[idx[j]];
      means[s][static_cast<size_t>(r)] = sum / static_cast<double>(n);
    }
  }
  return means;
}

Interval bootstrap_interval(std::vector<double> means, double confidence) {
  std::sort(means.begin(), means.end());
  const double tail = (1 - confidence) / 2;
  return Interval{percentile_linear(means, tail), percentile_linear(means, 1 - tail)};
}

RandomisationResult randomisation_test(const std::vector<double>& a, const std::vector<double>& b, int64_t trials,
                                       uint64_t seed) {
  ET_CHECK(a.size() == b.size() && !a.empty() && trials > 0);
  const size_t n = a.size();
  std::vector<double> d(n);  // (n) paired differences
  double observed = 0, abs_sum = 0;
  for (size_t i = 0; i < n; i++) {
    d[i] = a[i] - b[i];
    observed += d[i];
    abs_sum += std::fabs(d[i]);
  }
  const double threshold = std::fabs(observed) - 1e-9 * abs_sum;
  RandomisationResult r;
  int64_t count = 0;
  if (n < 63 && (int64_t{1} << n) <= trials) {
    const uint64_t patterns = uint64_t{1} << n;
    for (uint64_t mask = 0; mask < patterns; mask++) {
      double sum = 0;
      for (size_t i = 0; i < n; i++) sum += (mask >> i) & 1 ? -d[i] : d[i];
      if (std::fabs(sum) >= threshold) count++;
    }
    r.exact = true;
    r.p_value = static_cast<double>(count) / static_cast<double>(patterns);
    return r;
  }
  SplitMix64 rng(seed);
  for (int64_t t = 0; t < trials; t++) {
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += rng.next() >> 63 ? -d[i] : d[i];
    if (std::fabs(sum) >= threshold) count++;
  }
  r.p_value = static_cast<double>(count + 1) / static_cast<double>(trials + 1);
  return r;
}

Status compare_pick_metrics(const std::vector<std::string>& requested, const std::vector<std::string>& available,
                            std::vector<std::string>* out) {
  out->clear();
  auto has = [&](const std::string& m) { return std::find(available.begin(), available.end(), m) != available.end(); };
  auto listing = [&]() {
    std::string s;
    for (const std::string& m : available) s += (s.empty() ? "" : ", ") + m;
    return s;
  };
  for (const std::string& m : requested) {
    if (!has(m))
      return make_error("unknown metric `%s` to compare (available: %s; the cutoffs come from --k)", m.c_str(),
                        listing().c_str());
    if (std::find(out->begin(), out->end(), m) == out->end()) out->push_back(m);
  }
  if (!requested.empty()) return Status::ok_status();
  for (const std::string& m : kDefaultCompareMetrics)
    if (has(m)) out->push_back(m);
  if (out->empty())
    return make_error("none of the default metrics to compare (ndcg@10, mrr@10, map@100, recall@100) was scored; "
                      "add cutoffs 10 and 100 to --k or name metrics to compare");
  return Status::ok_status();
}

namespace {

// 1-based rank of the query's first relevant document in `run`, as trec_eval ranks; 0 if none.
int64_t first_relevant_rank(const TrecRun& run, const Qrels& qrels, const std::string& qid) {
  auto docs_it = run.docs.find(qid);
  auto judged = qrels.grades.find(qid);
  if (docs_it == run.docs.end() || judged == qrels.grades.end()) return 0;
  std::vector<ScoredDoc> docs = docs_it->second;
  trec_rank_documents(&docs);
  for (size_t r = 0; r < docs.size(); r++) {
    auto g = judged->second.find(docs[r].docid);
    if (g != judged->second.end() && g->second > 0) return static_cast<int64_t>(r) + 1;
  }
  return 0;
}

}  // namespace

Status compare_systems(const std::vector<CompareSystem>& systems, const Qrels& qrels,
                       const std::unordered_map<std::string, std::string>& query_texts, const CompareOptions& options,
                       ComparisonReport* out) {
  *out = ComparisonReport{};
  if (systems.empty()) return make_error("no system to compare");
  if (options.baseline < 0 || options.baseline >= static_cast<int>(systems.size()))
    return make_error("baseline %d is out of range: there are %zu systems", options.baseline, systems.size());
  if (options.resamples < 1) return make_error("bootstrap resamples must be at least 1, got %lld", static_cast<long long>(options.resamples));
  if (options.trials < 1) return make_error("permutation trials must be at least 1, got %lld", static_cast<long long>(options.trials));
  if (!(options.confidence > 0 && options.confidence < 1))
    return make_error("confidence must be strictly between 0 and 1, got %g", options.confidence);
  if (options.worst < 0) return make_error("the number of worse queries to list cannot be negative");
  for (const CompareSystem& s : systems) ET_CHECK(s.result != nullptr && s.run != nullptr);

  const CompareSystem& base = systems[static_cast<size_t>(options.baseline)];
  std::vector<std::string> available;
  for (const auto& [key, values] : base.result->per_query) available.push_back(key);
  ET_RETURN_IF_ERROR(compare_pick_metrics(options.metrics, available, &out->metrics));
  const std::vector<std::string>& qids = base.result->query_ids;
  const size_t n = qids.size();
  if (n == 0) return make_error("%s: no query was scored", base.name.c_str());

  // aligned[s][m]: system s's values of metric m in the baseline's query order.
  std::vector<std::vector<std::vector<double>>> aligned(systems.size());
  for (size_t s = 0; s < systems.size(); s++) {
    const TrecEvalResult& r = *systems[s].result;
    if (r.query_ids.size() != n)
      return make_error("%s scores %zu queries and the baseline %s scores %zu: a paired comparison needs the same "
                        "queries in every system (score the runs with --complete)",
                        systems[s].name.c_str(), r.query_ids.size(), base.name.c_str(), n);
    std::unordered_map<std::string, size_t> position;
    for (size_t i = 0; i < n; i++) position.emplace(r.query_ids[i], i);
    std::vector<size_t> order(n);  // (n) index into r's per-query values of each baseline query
    for (size_t i = 0; i < n; i++) {
      auto it = position.find(qids[i]);
      if (it == position.end())
        return make_error("%s has no score for query %s, which the baseline %s has: a paired comparison needs the "
                          "same queries in every system (score the runs with --complete)",
                          systems[s].name.c_str(), qids[i].c_str(), base.name.c_str());
      order[i] = it->second;
    }
    for (const std::string& m : out->metrics) {
      auto values = r.per_query.find(m);
      if (values == r.per_query.end())
        return make_error("%s was not scored on %s (were both scored with the same --k?)", systems[s].name.c_str(),
                          m.c_str());
      ET_CHECK(values->second.size() == n);
      std::vector<double> v(n);
      for (size_t i = 0; i < n; i++) v[i] = values->second[order[i]];
      aligned[s].push_back(std::move(v));
    }
  }

  out->query_ids = qids;
  out->baseline = options.baseline;
  out->resamples = options.resamples;
  out->trials = options.trials;
  out->seed = options.seed;
  out->confidence = options.confidence;
  const size_t metric_count = out->metrics.size();
  const size_t b = static_cast<size_t>(options.baseline);

  // diffs[s][m]: system − baseline per query (empty for the baseline).
  std::vector<std::vector<std::vector<double>>> diffs(systems.size());
  std::vector<const std::vector<double>*> series;  // every system's values, then every difference
  for (size_t s = 0; s < systems.size(); s++)
    for (size_t m = 0; m < metric_count; m++) series.push_back(&aligned[s][m]);
  for (size_t s = 0; s < systems.size(); s++) {
    if (s == b) continue;
    for (size_t m = 0; m < metric_count; m++) {
      std::vector<double> d(n);
      for (size_t i = 0; i < n; i++) d[i] = aligned[s][m][i] - aligned[b][m][i];
      diffs[s].push_back(std::move(d));
    }
  }
  for (size_t s = 0; s < systems.size(); s++)
    for (const auto& d : diffs[s]) series.push_back(&d);
  std::vector<std::vector<double>> boot = bootstrap_means(series, options.resamples, options.seed);

  size_t next_series = 0;
  for (size_t s = 0; s < systems.size(); s++) {
    SystemComparison sc;
    sc.name = systems[s].name;
    const TrecEvalResult& r = *systems[s].result;
    for (size_t m = 0; m < metric_count; m++) {
      double sum = 0;  // in the system's own query order, as trec_evaluate sums
      for (double v : r.per_query.at(out->metrics[m])) sum += v;
      sc.metrics.push_back(MetricSummary{sum / static_cast<double>(n),
                                         bootstrap_interval(std::move(boot[next_series++]), options.confidence)});
    }
    out->systems.push_back(std::move(sc));
  }
  for (size_t s = 0; s < systems.size(); s++) {
    if (s == b) continue;
    SystemComparison& sc = out->systems[s];
    for (size_t m = 0; m < metric_count; m++) {
      const std::vector<double>& d = diffs[s][m];
      MetricDifference md;
      double sum = 0;
      for (size_t i = 0; i < n; i++) {
        sum += d[i];
        const double sv = aligned[s][m][i], bv = aligned[b][m][i];
        if (sv > bv) md.wins++;
        else if (sv < bv) md.losses++;
        else md.ties++;
      }
      md.mean = sum / static_cast<double>(n);
      md.ci = bootstrap_interval(std::move(boot[next_series++]), options.confidence);
      const RandomisationResult rt = randomisation_test(aligned[s][m], aligned[b][m], options.trials, options.seed);
      md.p_value = rt.p_value;
      md.exact = rt.exact;
      sc.differences.push_back(md);
    }
    sc.primary_differences = diffs[s][0];
    std::vector<size_t> worse;
    for (size_t i = 0; i < n; i++)
      if (diffs[s][0][i] < 0) worse.push_back(i);
    std::stable_sort(worse.begin(), worse.end(), [&](size_t x, size_t y) { return diffs[s][0][x] < diffs[s][0][y]; });
    sc.worse_total = static_cast<int64_t>(worse.size());
    if (static_cast<int64_t>(worse.size()) > options.worst) worse.resize(static_cast<size_t>(options.worst));
    for (size_t i : worse) {
      WorseQuery w;
      w.query_id = qids[i];
      auto text = query_texts.find(qids[i]);
      if (text != query_texts.end()) w.text = text->second;
      w.baseline_value = aligned[b][0][i];
      w.system_value = aligned[s][0][i];
      w.baseline_rank = first_relevant_rank(*systems[b].run, qrels, qids[i]);
      w.system_rank = first_relevant_rank(*systems[s].run, qrels, qids[i]);
      sc.worse.push_back(std::move(w));
    }
  }
  return Status::ok_status();
}

namespace {

// One line of at most `max_bytes` bytes, cut on a UTF-8 character boundary, "…" when cut.
std::string one_line(const std::string& text, size_t max_bytes) {
  std::string s;
  for (char c : text) s += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  if (s.size() <= max_bytes) return s;
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) cut--;
  return s.substr(0, cut) + "\xE2\x80\xA6";
}

std::string rank_text(int64_t rank) { return rank > 0 ? std::to_string(rank) : "none"; }

}  // namespace

void report_print_table(std::FILE* f, const ComparisonReport& report) {
  const int pct = static_cast<int>(std::lround(report.confidence * 100));
  const std::string& base = report.systems[static_cast<size_t>(report.baseline)].name;
  std::fprintf(f, "== comparison over %zu queries: %d%% bootstrap intervals (%lld resamples), seed %llu\n",
               report.query_ids.size(), pct, static_cast<long long>(report.resamples),
               static_cast<unsigned long long>(report.seed));
  std::fprintf(f, "%-16s %-14s %9s  %s\n", "system", "metric", "mean", (std::to_string(pct) + "% interval").c_str());
  for (const SystemComparison& s : report.systems)
    for (size_t m = 0; m < report.metrics.size(); m++) {
      const MetricSummary& ms = s.metrics[m];
      std::fprintf(f, "%-16s %-14s %9.4f  [%.4f, %.4f]\n", s.name.c_str(), report.metrics[m].c_str(), ms.mean,
                   ms.ci.low, ms.ci.high);
    }
  if (report.systems.size() < 2) return;
  std::fprintf(f, "\n== differences to the baseline %s: system - baseline, paired randomisation test (%lld trials)\n",
               base.c_str(), static_cast<long long>(report.trials));
  std::fprintf(f, "%-16s %-14s %9s  %-18s   %8s  %s\n", "system", "metric", "diff", (std::to_string(pct) + "% interval").c_str(),
               "p", "win/tie/loss");
  for (const SystemComparison& s : report.systems)
    for (size_t m = 0; m < s.differences.size(); m++) {
      const MetricDifference& d = s.differences[m];
      std::fprintf(f, "%-16s %-14s %+9.4f  [%+.4f, %+.4f]   %8.4f%s %lld/%lld/%lld\n", s.name.c_str(),
                   report.metrics[m].c_str(), d.mean, d.ci.low, d.ci.high, d.p_value, d.exact ? "*" : " ",
                   static_cast<long long>(d.wins), static_cast<long long>(d.ties), static_cast<long long>(d.losses));
    }
  std::fprintf(f, "(p marked * is exact: every sign pattern enumerated)\n");
  for (const SystemComparison& s : report.systems) {
    if (s.differences.empty()) continue;
    std::fprintf(f, "\n== %s: %lld of %zu queries worse than %s on %s%s\n", s.name.c_str(),
                 static_cast<long long>(s.worse_total), report.query_ids.size(), base.c_str(), report.metrics[0].c_str(),
                 s.worse_total > static_cast<int64_t>(s.worse.size()) ? " (worst listed)" : "");
    if (s.worse.empty()) continue;
    std::fprintf(f, "%-12s %9s %9s %10s %10s  %s\n", "query", "baseline", "system", "rank base", "rank sys", "text");
    for (const WorseQuery& w : s.worse)
      std::fprintf(f, "%-12s %9.4f %9.4f %10s %10s  %s\n", w.query_id.c_str(), w.baseline_value, w.system_value,
                   rank_text(w.baseline_rank).c_str(), rank_text(w.system_rank).c_str(), one_line(w.text, 60).c_str());
  }
}

nlohmann::json report_to_json(const ComparisonReport& report) {
  using nlohmann::json;
  const std::string& base = report.systems[static_cast<size_t>(report.baseline)].name;
  json j;
  j["baseline"] = base;
  j["metrics"] = report.metrics;
  j["queries"] = report.query_ids.size();
  j["confidence"] = report.confidence;
  j["bootstrap_resamples"] = report.resamples;
  j["permutation_trials"] = report.trials;
  j["seed"] = report.seed;
  j["systems"] = json::array();
  j["differences"] = json::array();
  for (const SystemComparison& s : report.systems) {
    json metrics = json::object();
    for (size_t m = 0; m < report.metrics.size(); m++)
      metrics[report.metrics[m]] = {{"mean", s.metrics[m].mean}, {"ci", {s.metrics[m].ci.low, s.metrics[m].ci.high}}};
    j["systems"].push_back({{"name", s.name}, {"metrics", metrics}});
    if (s.differences.empty()) continue;
    json diffs = json::object();
    for (size_t m = 0; m < report.metrics.size(); m++) {
      const MetricDifference& d = s.differences[m];
      diffs[report.metrics[m]] = {{"mean", d.mean},     {"ci", {d.ci.low, d.ci.high}}, {"p_value", d.p_value},
                                  {"p_exact", d.exact}, {"wins", d.wins},              {"ties", d.ties},
                                  {"losses", d.losses}};
    }
    json worse = json::array();
    for (const WorseQuery& w : s.worse)
      worse.push_back({{"query_id", w.query_id},
                       {"text", w.text},
                       {"baseline", w.baseline_value},
                       {"system", w.system_value},
                       {"baseline_rank", w.baseline_rank},
                       {"system_rank", w.system_rank}});
    j["differences"].push_back({{"system", s.name},
                                {"baseline", base},
                                {"metrics", diffs},
                                {"worse_queries", worse},
                                {"worse_queries_total", s.worse_total}});
  }
  return j;
}

Status report_write(const ComparisonReport& report, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !dir_exists(dir))
    return make_error("%s: cannot create the report directory (%s)", dir.c_str(),
                      ec ? ec.message().c_str() : "not a directory");
  // The dump replaces invalid UTF-8 instead of throwing, so no exception leaves this module.
  const std::string json_text = report_to_json(report).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  AtomicFile json_file, html_file;
  ET_RETURN_IF_ERROR(json_file.open(path_join(dir, "report.json")));
  ET_RETURN_IF_ERROR(json_file.write(json_text));
  ET_RETURN_IF_ERROR(html_file.open(path_join(dir, "report.html")));
  ET_RETURN_IF_ERROR(html_file.write(report_html(report)));
  ET_RETURN_IF_ERROR(json_file.commit());
  return html_file.commit();
}

}  // namespace embtune
