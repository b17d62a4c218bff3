// src/eval/compare.h and report_html.h: the RNG, bootstrap and randomisation test against the
// independent Python reference (tests/reference/compare_ref.py), hand-made wins, losses and ranks,
// the report's JSON and HTML, and bad input. Not the CLI (test_eval_report.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <random>

#include "eval/compare.h"
#include "eval/report_html.h"
#include "test_util.h"

namespace embtune {
namespace {

// A TrecEvalResult holding one metric's per-query values, as trec_evaluate would fill it.
TrecEvalResult result_of(const std::vector<std::string>& qids, const std::string& metric, const std::vector<double>& v) {
  TrecEvalResult r;
  r.query_ids = qids;
  r.queries = static_cast<int64_t>(qids.size());
  r.per_query[metric] = v;
  double sum = 0;
  for (double x : v) sum += x;
  r.means[metric] = sum / static_cast<double>(v.size());
  return r;
}

std::vector<std::string> query_ids(size_t n) {
  std::vector<std::string> q;
  for (size_t i = 0; i < n; i++) q.push_back("q" + std::to_string(i));
  return q;
}

TEST(Compare, SplitMix64MatchesThePublishedSequence) {
  // The first outputs of Vigna's splitmix64.c from state 0.
  SplitMix64 rng(0);
  EXPECT_EQ(rng.next(), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(rng.next(), 0x6e789e6aa1b965f4ULL);
  EXPECT_EQ(rng.next(), 0x06c45d188009454fULL);
}

TEST(Compare, PercentileIsNumpysLinear) {
  // numpy.percentile([1, 2, 3, 4], [0, 2.5, 50, 97.5, 100]) = [1, 1.075, 2.5, 3.925, 4].
  const std::vector<double> x = {1, 2, 3, 4};
  EXPECT_DOUBLE_EQ(percentile_linear(x, 0), 1);
  EXPECT_DOUBLE_EQ(percentile_linear(x, 0.025), 1.075);
  EXPECT_DOUBLE_EQ(percentile_linear(x, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(percentile_linear(x, 0.975), 3.925);
  EXPECT_DOUBLE_EQ(percentile_linear(x, 1), 4);
  EXPECT_DOUBLE_EQ(percentile_linear({7}, 0.3), 7);
}

TEST(Compare, AgreesWithThePythonReference) {
  struct Case {
    std::vector<double> a, b;
  };
  std::mt19937 gen(7);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<Case> cases;
  for (size_t n : {1, 2, 5, 12, 40, 200}) {
    Case c;
    for (size_t i = 0; i < n; i++) {
      c.a.push_back(u(gen));
      c.b.push_back(u(gen));
    }
    cases.push_back(c);
  }
  // Coarse values: many tied queries and tied bootstrap means.
  Case coarse;
  for (int i = 0; i < 60; i++) {
    coarse.a.push_back(std::floor(u(gen) * 3) / 2);
    coarse.b.push_back(std::floor(u(gen) * 3) / 2);
  }
  cases.push_back(coarse);
  // Every difference equal (0.25), and identical systems (every difference 0).
  Case shifted, same;
  for (int i = 0; i < 30; i++) {
    const double v = std::floor(u(gen) * 4) / 4;
    shifted.b.push_back(v);
    shifted.a.push_back(v + 0.25);
    same.a.push_back(u(gen));
  }
  same.b = same.a;
  cases.push_back(shifted);
  cases.push_back(same);

  const int64_t resamples = 500, trials = 2000;
  const uint64_t seed = 20260427;
  const double confidence = 0.9;
  nlohmann::json spec = {{"resamples", resamples}, {"trials", trials}, {"seed", seed}, {"confidence", confidence}};
  for (const Case& c : cases) spec["cases"].push_back({{"a", c.a}, {"b", c.b}});
  test::TempDir tmp;
  test::write_text(tmp.file("spec.json"), spec.dump());
  auto r = test::run_command("python3 " + test::sh_quote(test::source_dir() + "/tests/reference/compare_ref.py") + " " +
                             test::sh_quote(tmp.file("spec.json")));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const nlohmann::json want = nlohmann::json::parse(r.out);

  SplitMix64 rng(seed);
  for (const auto& draw : want["first_draws"]) EXPECT_EQ(std::to_string(rng.next()), draw.get<std::string>());
  ASSERT_EQ(want["cases"].size(), cases.size());
  double worst = 0;
  for (size_t c = 0; c < cases.size(); c++) {
    const Case& cs = cases[c];
    const auto& w = want["cases"][c];
    const size_t n = cs.a.size();
    std::vector<double> diff(n);
    for (size_t i = 0; i < n; i++) diff[i] = cs.a[i] - cs.b[i];
    auto boot = bootstrap_means({&cs.a, &cs.b, &diff}, resamples, seed);
    const Interval got[3] = {bootstrap_interval(boot[0], confidence), bootstrap_interval(boot[1], confidence),
                             bootstrap_interval(boot[2], confidence)};
    const char* keys[3] = {"ci_a", "ci_b", "ci_diff"};
    for (int k = 0; k < 3; k++) {
      EXPECT_NEAR(got[k].low, w[keys[k]][0].get<double>(), 1e-12) << "case " << c << " " << keys[k];
      EXPECT_NEAR(got[k].high, w[keys[k]][1].get<double>(), 1e-12) << "case " << c << " " << keys[k];
      worst = std::max({worst, std::fabs(got[k].low - w[keys[k]][0].get<double>()),
                        std::fabs(got[k].high - w[keys[k]][1].get<double>())});
    }
    const RandomisationResult rt = randomisation_test(cs.a, cs.b, trials, seed);
    EXPECT_EQ(rt.p_value, w["p_value"].get<double>()) << "case " << c;
    EXPECT_EQ(rt.exact, w["exact"].get<bool>()) << "case " << c;

    // compare_systems gives the same numbers: system "a" against the baseline "b".
    const auto qids = query_ids(n);
    const TrecEvalResult rb = result_of(qids, "ndcg@10", cs.b), ra = result_of(qids, "ndcg@10", cs.a);
    const TrecRun run;
    ComparisonReport report;
    CompareOptions opt;
    opt.resamples = resamples;
    opt.trials = trials;
    opt.seed = seed;
    opt.confidence = confidence;
    ASSERT_TRUE(compare_systems({{"b", &rb, &run}, {"a", &ra, &run}}, Qrels(), {}, opt, &report).ok());
    EXPECT_NEAR(report.systems[0].metrics[0].ci.low, w["ci_b"][0].get<double>(), 1e-12);
    EXPECT_NEAR(report.systems[1].metrics[0].ci.high, w["ci_a"][1].get<double>(), 1e-12);
    EXPECT_NEAR(report.systems[1].differences[0].ci.low, w["ci_diff"][0].get<double>(), 1e-12);
    EXPECT_EQ(report.systems[1].differences[0].p_value, w["p_value"].get<double>());
  }
  std::printf("largest interval difference to the reference: %g\n", worst);
  // The cases took both paths of the randomisation test: n = 1, 2, 5 enumerate, n = 12 samples.
  for (size_t c = 0; c < 4; c++) EXPECT_EQ(want["cases"][c]["exact"].get<bool>(), c < 3) << "case " << c;
}

TEST(Compare, ExactRandomisationPValueByHand) {
  // d = 0.1, 0.2, 0.3, 0.4: |Σ ±d_i| ≥ 1.0 only with every sign equal, 2 of 16 patterns.
  const std::vector<double> a = {0.1, 0.2, 0.3, 0.4}, b = {0, 0, 0, 0};
  RandomisationResult r = randomisation_test(a, b, 10000, 1);
  EXPECT_TRUE(r.exact);
  EXPECT_DOUBLE_EQ(r.p_value, 2.0 / 16);
  // d = 1, 1, 1, -1: observed |2| is matched by 10 of 16 patterns (sums ±2 or ±4).
  // (Built element by element: GCC 12 at -O3 -march=sapphirerapids passed {1, 1, 1, 1} for the
  // constant {1, 1, 1, 0} here, braced or named.)
  std::vector<double> three_ones(4, 1.0), last_one(4, 0.0);
  three_ones[3] = 0.0;
  last_one[3] = 1.0;
  r = randomisation_test(three_ones, last_one, 16, 1);
  EXPECT_TRUE(r.exact);
  EXPECT_DOUBLE_EQ(r.p_value, 10.0 / 16);
  // With fewer trials than patterns it samples, and the sampled p is near the exact one.
  r = randomisation_test(a, b, 15, 1);
  EXPECT_FALSE(r.exact);
  std::vector<double> big_a, big_b;
  for (int i = 0; i < 16; i++) {
    big_a.push_back(0.05 * (i % 5));
    big_b.push_back(0.03 * (i % 7));
  }
  const RandomisationResult exact = randomisation_test(big_a, big_b, 1 << 16, 3);
  const RandomisationResult sampled = randomisation_test(big_a, big_b, 20000, 3);
  ASSERT_TRUE(exact.exact);
  ASSERT_FALSE(sampled.exact);
  EXPECT_NEAR(sampled.p_value, exact.p_value, 0.02);
}

TEST(Compare, IntervalsHoldTheObservedMean) {
  std::mt19937 gen(11);
  std::uniform_real_distribution<double> u(0, 1);
  for (size_t n : {20, 100, 500}) {
    std::vector<double> a(n), b(n);
    for (size_t i = 0; i < n; i++) {
      a[i] = u(gen);
      b[i] = u(gen) * 0.8;
    }
    const auto qids = query_ids(n);
    const TrecEvalResult ra = result_of(qids, "mrr@10", a), rb = result_of(qids, "mrr@10", b);
    const TrecRun run;
    ComparisonReport report;
    ASSERT_TRUE(compare_systems({{"a", &ra, &run}, {"b", &rb, &run}}, Qrels(), {}, CompareOptions(), &report).ok());
    EXPECT_EQ(report.metrics, std::vector<std::string>{"mrr@10"}) << "the defaults that exist";
    for (const SystemComparison& s : report.systems) {
      EXPECT_LE(s.metrics[0].ci.low, s.metrics[0].mean);
      EXPECT_GE(s.metrics[0].ci.high, s.metrics[0].mean);
    }
    const MetricDifference& d = report.systems[1].differences[0];
    EXPECT_NEAR(d.mean, report.systems[1].metrics[0].mean - report.systems[0].metrics[0].mean, 1e-12);
    EXPECT_LE(d.ci.low, d.mean);
    EXPECT_GE(d.ci.high, d.mean);
    EXPECT_EQ(d.wins + d.ties + d.losses, static_cast<int64_t>(n));
  }
}

TEST(Compare, IdenticalSystemsDifferByNothing) {
  std::mt19937 gen(5);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<double> v(50);
  for (double& x : v) x = u(gen);
  const auto qids = query_ids(v.size());
  const TrecEvalResult r = result_of(qids, "ndcg@10", v);
  const TrecRun run;
  ComparisonReport report;
  ASSERT_TRUE(compare_systems({{"x", &r, &run}, {"y", &r, &run}}, Qrels(), {}, CompareOptions(), &report).ok());
  const MetricDifference& d = report.systems[1].differences[0];
  EXPECT_EQ(d.mean, 0.0);
  EXPECT_EQ(d.ci.low, 0.0);
  EXPECT_EQ(d.ci.high, 0.0);
  EXPECT_EQ(d.p_value, 1.0);
  EXPECT_EQ(d.ties, 50);
  EXPECT_EQ(report.systems[1].worse_total, 0);
}

// Four queries, one relevant document each. Baseline A: q1 d1 at rank 1, q2 d2 at rank 2, q3 d3
// at rank 1, q4 d4 at rank 1. System B: q1 has x and d1 tied at 2.0, and trec_eval ranks the larger
// docid first, so d1 is at rank 2; q2 d2 at rank 1; q3 retrieves no relevant document; q4 as A.
struct HandMade {
  Qrels qrels;
  TrecRun run_a, run_b;
  TrecEvalResult a, b;
  std::unordered_map<std::string, std::string> texts = {
      {"q1", "first query"}, {"q2", "second"}, {"q3", "<script>alert(1)</script> & \"quoted\" caf\xC3\xA9 \xE6\xBC\xA2"}, {"q4", "fourth"}};
  HandMade() {
    for (const char* q : {"q1", "q2", "q3", "q4"}) {
      qrels.query_order.push_back(q);
      qrels.grades[q][std::string("d") + q[1]] = 1;
    }
    auto add = [](TrecRun* run, const std::string& q, std::vector<ScoredDoc> docs) {
      run->query_order.push_back(q);
      run->docs[q] = std::move(docs);
    };
    add(&run_a, "q1", {{"d1", 3.0}, {"x", 2.0}});
    add(&run_a, "q2", {{"y", 3.0}, {"d2", 2.0}});
    add(&run_a, "q3", {{"d3", 1.0}});
    add(&run_a, "q4", {{"d4", 1.0}});
    add(&run_b, "q4", {{"d4", 1.0}});  // another query order: the comparison aligns by id
    add(&run_b, "q1", {{"d1", 2.0}, {"x", 2.0}});
    add(&run_b, "q2", {{"d2", 3.0}, {"y", 2.0}});
    add(&run_b, "q3", {{"z", 1.0}});
    TrecEvalOptions opt;
    opt.ks = {10, 100};
    ET_CHECK(trec_evaluate(run_a, qrels, opt, &a).ok());
    ET_CHECK(trec_evaluate(run_b, qrels, opt, &b).ok());
  }
};

TEST(Compare, WinsLossesAndWorseQueriesByHand) {
  HandMade h;
  CompareOptions opt;
  opt.metrics = {"mrr@10", "recall@100"};
  ComparisonReport report;
  ASSERT_TRUE(compare_systems({{"A", &h.a, &h.run_a}, {"B", &h.b, &h.run_b}}, h.qrels, h.texts, opt, &report).ok());
  ASSERT_EQ(report.query_ids, (std::vector<std::string>{"q1", "q2", "q3", "q4"}));
  const SystemComparison& b = report.systems[1];
  // mrr@10 per query: A 1, 0.5, 1, 1; B 0.5, 1, 0, 1.
  EXPECT_DOUBLE_EQ(report.systems[0].metrics[0].mean, 0.875);
  EXPECT_DOUBLE_EQ(b.metrics[0].mean, 0.625);
  EXPECT_DOUBLE_EQ(b.differences[0].mean, -0.25);
  EXPECT_EQ(b.differences[0].wins, 1);
  EXPECT_EQ(b.differences[0].ties, 1);
  EXPECT_EQ(b.differences[0].losses, 2);
  EXPECT_TRUE(b.differences[0].exact);
  // recall@100: A finds all four; B misses q3.
  EXPECT_EQ(b.differences[1].losses, 1);
  EXPECT_EQ(b.differences[1].ties, 3);
  EXPECT_EQ(b.primary_differences, (std::vector<double>{-0.5, 0.5, -1, 0}));
  ASSERT_EQ(b.worse_total, 2);
  ASSERT_EQ(b.worse.size(), 2u);
  EXPECT_EQ(b.worse[0].query_id, "q3");
  EXPECT_EQ(b.worse[0].text, h.texts["q3"]);
  EXPECT_EQ(b.worse[0].baseline_value, 1.0);
  EXPECT_EQ(b.worse[0].system_value, 0.0);
  EXPECT_EQ(b.worse[0].baseline_rank, 1);
  EXPECT_EQ(b.worse[0].system_rank, 0);
  EXPECT_EQ(b.worse[1].query_id, "q1");
  EXPECT_EQ(b.worse[1].baseline_rank, 1);
  EXPECT_EQ(b.worse[1].system_rank, 2);
  // --worst 1 keeps the worst one; the total still counts both.
  opt.worst = 1;
  ASSERT_TRUE(compare_systems({{"A", &h.a, &h.run_a}, {"B", &h.b, &h.run_b}}, h.qrels, h.texts, opt, &report).ok());
  ASSERT_EQ(report.systems[1].worse.size(), 1u);
  EXPECT_EQ(report.systems[1].worse_total, 2);
  // The baseline may be any system: B as baseline sees A win where B lost.
  opt.baseline = 1;
  ASSERT_TRUE(compare_systems({{"A", &h.a, &h.run_a}, {"B", &h.b, &h.run_b}}, h.qrels, h.texts, opt, &report).ok());
  EXPECT_TRUE(report.systems[1].differences.empty());
  EXPECT_EQ(report.systems[0].differences[0].wins, 2);
  EXPECT_EQ(report.systems[0].worse_total, 1);
  EXPECT_EQ(report.systems[0].worse[0].query_id, "q2");
  EXPECT_EQ(report.systems[0].worse[0].baseline_rank, 1);
  EXPECT_EQ(report.systems[0].worse[0].system_rank, 2);
}

TEST(Compare, JsonAndHtmlReports) {
  HandMade h;
  ComparisonReport report;
  ASSERT_TRUE(compare_systems({{"A", &h.a, &h.run_a}, {"B <b>", &h.b, &h.run_b}}, h.qrels, h.texts, CompareOptions(),
                              &report)
                  .ok());
  EXPECT_EQ(report.metrics, (std::vector<std::string>{"ndcg@10", "mrr@10", "map@100", "recall@100"}));
  const nlohmann::json j = nlohmann::json::parse(report_to_json(report).dump());
  EXPECT_EQ(j["baseline"], "A");
  EXPECT_EQ(j["queries"], 4);
  EXPECT_EQ(j["seed"], 42);
  EXPECT_EQ(j["bootstrap_resamples"], 1000);
  EXPECT_EQ(j["permutation_trials"], 10000);
  EXPECT_EQ(j["confidence"], 0.95);
  ASSERT_EQ(j["systems"].size(), 2u);
  EXPECT_EQ(j["systems"][1]["name"], "B <b>");
  for (const char* m : {"ndcg@10", "mrr@10", "map@100", "recall@100"}) {
    EXPECT_EQ(j["systems"][0]["metrics"][m]["ci"].size(), 2u);
    const auto& d = j["differences"][0]["metrics"][m];
    for (const char* key : {"mean", "ci", "p_value", "p_exact", "wins", "ties", "losses"}) EXPECT_TRUE(d.contains(key)) << m << key;
  }
  ASSERT_EQ(j["differences"].size(), 1u);
  EXPECT_EQ(j["differences"][0]["system"], "B <b>");
  EXPECT_EQ(j["differences"][0]["metrics"]["mrr@10"]["mean"].get<double>(), -0.25);
  EXPECT_EQ(j["differences"][0]["worse_queries_total"], 2);
  EXPECT_EQ(j["differences"][0]["worse_queries"][0]["query_id"], "q3");
  EXPECT_EQ(j["differences"][0]["worse_queries"][0]["text"], h.texts["q3"]);
  EXPECT_EQ(j["differences"][0]["worse_queries"][0]["system_rank"], 0);

  const std::string html = report_html(report);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot; caf\xC3\xA9 \xE6\xBC\xA2"), std::string::npos);
  EXPECT_NE(html.find("B &lt;b&gt;"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<b>"), html.find("<b>A</b>")) << "only the page's own markup is unescaped";
  for (const char* external : {"http:", "https:", "src=", "href=", "url("}) EXPECT_EQ(html.find(external), std::string::npos) << external;
  EXPECT_EQ(html_escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");

  // Both files appear together, in a folder created on the way.
  test::TempDir tmp;
  ASSERT_TRUE(report_write(report, tmp.file("a/b")).ok());
  EXPECT_EQ(nlohmann::json::parse(test::read_text(tmp.file("a/b/report.json"))), j);
  EXPECT_EQ(test::read_text(tmp.file("a/b/report.html")), html);
  std::FILE* devnull = std::fopen("/dev/null", "w");
  report_print_table(devnull, report);
  std::fclose(devnull);
}

TEST(Compare, OneSystemIsReportedAlone) {
  HandMade h;
  ComparisonReport report;
  ASSERT_TRUE(compare_systems({{"A", &h.a, &h.run_a}}, h.qrels, h.texts, CompareOptions(), &report).ok());
  ASSERT_EQ(report.systems.size(), 1u);
  EXPECT_TRUE(report.systems[0].differences.empty());
  const nlohmann::json j = report_to_json(report);
  EXPECT_TRUE(j["differences"].empty());
  EXPECT_NE(report_html(report).find("<svg"), std::string::npos);
}

TEST(Compare, BadInputIsRefused) {
  HandMade h;
  ComparisonReport report;
  Status s = compare_systems({}, h.qrels, h.texts, CompareOptions(), &report);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("no system"), std::string::npos) << s.message();

  CompareOptions opt;
  opt.metrics = {"ndcg@7"};
  s = compare_systems({{"A", &h.a, &h.run_a}, {"B", &h.b, &h.run_b}}, h.qrels, h.texts, opt, &report);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("ndcg@7"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("ndcg@10"), std::string::npos) << "lists what exists: " << s.message();

  opt = CompareOptions();
  opt.baseline = 2;
  s = compare_systems({{"A", &h.a, &h.run_a}, {"B", &h.b, &h.run_b}}, h.qrels, h.texts, opt, &report);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("baseline"), std::string::npos) << s.message();

  // B scored on another query set: one query fewer, then one query renamed.
  TrecEvalResult fewer = h.b;
  fewer.query_ids.pop_back();
  for (auto& [key, values] : fewer.per_query) values.pop_back();
  s = compare_systems({{"A", &h.a, &h.run_a}, {"B", &fewer, &h.run_b}}, h.qrels, h.texts, CompareOptions(), &report);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("same queries"), std::string::npos) << s.message();
  TrecEvalResult renamed = h.b;
  renamed.query_ids[0] = "q9";
  s = compare_systems({{"A", &h.a, &h.run_a}, {"B", &renamed, &h.run_b}}, h.qrels, h.texts, CompareOptions(), &report);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("B has no score for query"), std::string::npos) << s.message();

  // No default metric scored (cutoffs 1 and 3 only).
  std::vector<std::string> picked;
  s = compare_pick_metrics({}, {"ndcg@1", "ndcg@3"}, &picked);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("--k"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace embtune
