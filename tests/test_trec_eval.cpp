// `embtune eval` and src/eval/trec.h: hand-worked cases, random runs against the independent Python
// scorer (tests/reference/trec_eval_ref.py), both qrels formats, and bad input failing cleanly.
// Not a test of the trainer's cosine metrics (test_eval_metrics.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "eval/trec.h"
#include "test_util.h"

namespace embtune {
namespace {

using test::run_command;
using test::sh_quote;

std::string bin() { return sh_quote(test::embtune_bin()); }

std::string last_line(const std::string& out) {
  size_t end = out.find_last_not_of('\n');
  if (end == std::string::npos) return "";
  size_t start = out.rfind('\n', end);
  return out.substr(start == std::string::npos ? 0 : start + 1, end - (start == std::string::npos ? 0 : start + 1) + 1);
}

// Runs `embtune eval --json` and parses the last line; fails the test on a non-zero exit.
nlohmann::json eval_json(const std::string& run, const std::string& qrels, const std::string& extra = "") {
  auto r = run_command(bin() + " eval --run " + sh_quote(run) + " --qrels " + sh_quote(qrels) + " --json " + extra);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  if (r.exit_code != 0) return nlohmann::json::object();
  return nlohmann::json::parse(last_line(r.out));
}

nlohmann::json reference_json(const std::string& run, const std::string& qrels, const std::string& extra = "") {
  auto r = run_command("python3 " + sh_quote(test::source_dir() + "/tests/reference/trec_eval_ref.py") + " " +
                       sh_quote(run) + " " + sh_quote(qrels) + " " + extra);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  if (r.exit_code != 0) return nlohmann::json::object();
  return nlohmann::json::parse(last_line(r.out));
}

void expect_same_metrics(const nlohmann::json& got, const nlohmann::json& want, const std::string& what) {
  ASSERT_FALSE(want.empty()) << what;
  EXPECT_EQ(got.size(), want.size()) << what;
  for (auto& [key, value] : want.items()) {
    ASSERT_TRUE(got.contains(key)) << what << ": " << key;
    EXPECT_NEAR(got[key].get<double>(), value.get<double>(), 1e-9) << what << ": " << key;
  }
}

// q1, the worked case. Scores: d2 2.0, d3 2.0 (tie), d1 1.0, d4 0.5; the rank column says
// otherwise and is ignored. The tie goes to the larger docid, so the order is d3 d2 d1 d4.
// Grades: d1 2, d2 1, d3 0, d5 1 (d5 not retrieved), d4 unjudged; 3 relevant documents.
// q2 judges its only document 0: no relevant document. q3 is judged but absent from the run.
// q4 is in the run but not the qrels.
const char* kRun =
    "q1 Q0 d1 1 1.0 tag\n"
    "q1 Q0 d2 2 2.0 tag\n"
    "q1 Q0 d3 3 2.0 tag\n"
    "q1 Q0 d4 4 0.5 tag\n"
    "q2 Q0 d7 1 1.0 tag\n"
    "q4 Q0 d1 1 1.0 tag\n";
const char* kTrecQrels =
    "q1 0 d1 2\n"
    "q1 0 d2 1\n"
    "q1 0 d3 0\n"
    "q1 0 d5 1\n"
    "q2 0 d7 0\n"
    "q3 0 d9 1\n";
const char* kBeirQrels =
    "query-id\tcorpus-id\tscore\n"
    "q1\td1\t2\n"
    "q1\td2\t1\n"
    "q1\td3\t0\n"
    "q1\td5\t1\n"
    "q2\td7\t0\n"
    "q3\td9\t1\n";

// Ranked grades of q1: d3 0, d2 1, d1 2, d4 unjudged.
// k = 3: relevant at ranks 2 and 3. DCG = 1/log2(3) + 2/log2(4); ideal DCG from grades 2, 1, 1 =
// 2 + 1/log2(3) + 1/log2(4). MRR 1/2. AP = (1/2 + 2/3) / 3 = 7/18. Recall 2/3, P 2/3.
// k = 10 (past the 4 retrieved): the same sums; P = 2/10, as trec_eval divides by k regardless.
const double kDcg = 1 / std::log2(3.0) + 1.0, kIdcg = 2 + 1 / std::log2(3.0) + 0.5;

TEST(TrecEval, WorkedQueryWithTiesAndGrades) {
  const std::vector<int64_t> ranked = {0, 1, 2, 0}, judged = {2, 1, 0, 1};
  TrecQueryMetrics at1 = trec_score_query(ranked, judged, 1);
  EXPECT_EQ(at1.ndcg, 0);
  EXPECT_EQ(at1.mrr, 0);
  EXPECT_EQ(at1.accuracy, 0);
  TrecQueryMetrics at3 = trec_score_query(ranked, judged, 3);
  EXPECT_NEAR(at3.ndcg, kDcg / kIdcg, 1e-12);
  EXPECT_NEAR(at3.mrr, 0.5, 1e-12);
  EXPECT_NEAR(at3.map, 7.0 / 18, 1e-12);
  EXPECT_NEAR(at3.recall, 2.0 / 3, 1e-12);
  EXPECT_NEAR(at3.precision, 2.0 / 3, 1e-12);
  EXPECT_EQ(at3.accuracy, 1);
  TrecQueryMetrics at10 = trec_score_query(ranked, judged, 10);
  EXPECT_NEAR(at10.ndcg, kDcg / kIdcg, 1e-12);
  EXPECT_NEAR(at10.map, 7.0 / 18, 1e-12);
  EXPECT_NEAR(at10.recall, 2.0 / 3, 1e-12);
  EXPECT_NEAR(at10.precision, 0.2, 1e-12);
}

TEST(TrecEval, TiesBreakByDescendingDocid) {
  std::vector<ScoredDoc> docs = {{"a", 1.0}, {"c", 1.0}, {"b", 2.0}, {"B", 1.0}};
  trec_rank_documents(&docs);
  // "b" leads on score; among the 1.0 ties, descending bytes: "c" > "a" > "B".
  ASSERT_EQ(docs.size(), 4u);
  EXPECT_EQ(docs[0].docid, "b");
  EXPECT_EQ(docs[1].docid, "c");
  EXPECT_EQ(docs[2].docid, "a");
  EXPECT_EQ(docs[3].docid, "B");
}

TEST(TrecEval, NoRelevantDocumentScoresZero) {
  TrecQueryMetrics m = trec_score_query({0}, {0}, 10);
  EXPECT_EQ(m.ndcg, 0);
  EXPECT_EQ(m.map, 0);
  EXPECT_EQ(m.recall, 0);
  EXPECT_EQ(m.precision, 0);
}

// Without --complete the means run over q1 and q2 (q2 contributing zeros); with it, over q1, q2, q3.
TEST(TrecEval, WorkedRunThroughCliBothFormatsWithAndWithoutComplete) {
  test::TempDir tmp;
  test::write_text(tmp.file("run.trec"), kRun);
  test::write_text(tmp.file("qrels.trec"), kTrecQrels);
  test::write_text(tmp.file("qrels.tsv"), kBeirQrels);
  for (const char* qrels : {"qrels.trec", "qrels.tsv"}) {
    for (bool complete : {false, true}) {
      const double n = complete ? 3 : 2;
      nlohmann::json j = eval_json(tmp.file("run.trec"), tmp.file(qrels), std::string("--k 1,3,10") +
                                                                              (complete ? " --complete" : ""));
      const std::string what = std::string(qrels) + (complete ? " --complete" : "");
      EXPECT_EQ(j["queries"].get<int>(), n) << what;
      EXPECT_NEAR(j["ndcg@1"].get<double>(), 0, 1e-12) << what;
      EXPECT_NEAR(j["ndcg@3"].get<double>(), kDcg / kIdcg / n, 1e-12) << what;
      EXPECT_NEAR(j["ndcg@10"].get<double>(), kDcg / kIdcg / n, 1e-12) << what;
      EXPECT_NEAR(j["mrr@10"].get<double>(), 0.5 / n, 1e-12) << what;
      EXPECT_NEAR(j["map@10"].get<double>(), 7.0 / 18 / n, 1e-12) << what;
      EXPECT_NEAR(j["recall@3"].get<double>(), 2.0 / 3 / n, 1e-12) << what;
      EXPECT_NEAR(j["precision@10"].get<double>(), 0.2 / n, 1e-12) << what;
      EXPECT_NEAR(j["accuracy@1"].get<double>(), 0, 1e-12) << what;
      EXPECT_NEAR(j["accuracy@3"].get<double>(), 1 / n, 1e-12) << what;
      expect_same_metrics(j, reference_json(tmp.file("run.trec"), tmp.file(qrels),
                                            std::string("--k 1,3,10") + (complete ? " --complete" : "")),
                          what);
    }
  }
}

TEST(TrecEval, TableAndMissingQueryCountsOnStderr) {
  test::TempDir tmp;
  test::write_text(tmp.file("run.trec"), kRun);
  test::write_text(tmp.file("qrels.trec"), kTrecQrels);
  auto r = run_command(bin() + " eval --run " + sh_quote(tmp.file("run.trec")) + " --qrels " +
                       sh_quote(tmp.file("qrels.trec")) + " 2>" + sh_quote(tmp.file("err.txt")));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("ndcg"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("@100"), std::string::npos) << r.out;
  const std::string err = test::read_text(tmp.file("err.txt"));
  EXPECT_NE(err.find("1 run queries have no qrels"), std::string::npos) << err;
  EXPECT_NE(err.find("1 qrels queries are missing from the run"), std::string::npos) << err;
}

// Random runs with many tied scores, graded qrels, queries on one side only and queries without a
// relevant document, scored by embtune and by the Python reference.
TEST(TrecEval, RandomRunsMatchPythonReference) {
  test::TempDir tmp;
  std::mt19937 rng(7);
  std::string run, trec_qrels, beir_qrels = "query-id\tcorpus-id\tscore\n";
  for (int q = 0; q < 300; q++) {
    std::string qid = "q";
    qid += std::to_string(q);
    const int kind = static_cast<int>(rng() % 10);  // 0: run only, 1: qrels only, else both
    std::set<int> retrieved;
    const int n_ret = 1 + static_cast<int>(rng() % 40);
    while (static_cast<int>(retrieved.size()) < n_ret) retrieved.insert(static_cast<int>(rng() % 120));
    if (kind != 1) {
      int rank = 1;
      for (int d : retrieved) {
        // One decimal in [-1, 2]: ties are common.
        char score[16];
        std::snprintf(score, sizeof score, "%.1f", static_cast<int>(rng() % 31) / 10.0 - 1.0);
        run += qid + " Q0 doc" + std::to_string(d) + " " + std::to_string(rank++) + " " + score + " rnd\n";
      }
    }
    if (kind != 0) {
      std::set<int> judged;
      const int n_judged = 1 + static_cast<int>(rng() % 15);
      // Half the judgments hit retrieved documents, half any document (mostly unretrieved ones).
      for (int i = 0; i < n_judged; i++) {
        const int any_doc = static_cast<int>(rng() % 120);
        judged.insert(rng() % 2 ? *std::next(retrieved.begin(), rng() % retrieved.size()) : any_doc);
      }
      const bool none_relevant = rng() % 8 == 0;
      for (int d : judged) {
        const int grade = none_relevant ? 0 : static_cast<int>(rng() % 4);
        trec_qrels += qid + " 0 doc" + std::to_string(d) + " " + std::to_string(grade) + "\n";
        beir_qrels += qid + "\tdoc" + std::to_string(d) + "\t" + std::to_string(grade) + "\n";
      }
    }
  }
  test::write_text(tmp.file("run.trec"), run);
  test::write_text(tmp.file("qrels.trec"), trec_qrels);
  test::write_text(tmp.file("qrels.tsv"), beir_qrels);
  for (const char* qrels : {"qrels.trec", "qrels.tsv"}) {
    for (const char* extra : {"--k 1,3,5,10,100", "--k 1,2,7,20 --complete"}) {
      nlohmann::json got = eval_json(tmp.file("run.trec"), tmp.file(qrels), extra);
      nlohmann::json want = reference_json(tmp.file("run.trec"), tmp.file(qrels), extra);
      expect_same_metrics(got, want, std::string(qrels) + " " + extra);
      EXPECT_GT(got["queries"].get<int>(), 200);
    }
  }
}

// Each bad input exits non-zero with "<file>:<line>:" (or "<file>:" for an empty file).
TEST(TrecEval, BadInputNamesFileAndLine) {
  test::TempDir tmp;
  test::write_text(tmp.file("good_run"), "q1 Q0 d1 1 1.0 t\n");
  test::write_text(tmp.file("good_qrels"), "q1 0 d1 1\n");
  struct Case {
    const char* name;
    bool is_run;
    const char* content;
    const char* expect;  // after the path
  };
  const Case cases[] = {
      {"run_columns", true, "q1 Q0 d1 1 1.0 t\nq1 Q0 d2 2 0.5\n", ":2: expected 6 columns"},
      {"run_score", true, "q1 Q0 d1 1 high t\n", ":1: score `high` is not a finite number"},
      {"run_empty", true, "\n \n", ": the file is empty"},
      {"run_duplicate", true, "q1 Q0 d1 1 1.0 t\n\nq1 Q0 d1 2 0.5 t\n", ":3: document d1 is retrieved twice"},
      {"qrels_format", false, "q1 0 d1 1 extra\n", ":1: unknown qrels format"},
      {"qrels_grade", false, "query-id\tcorpus-id\tscore\nq1\td1\t1.5\n",
       ":2: relevance grade `1.5` is not an integer"},
      {"qrels_columns", false, "q1 0 d1 1\nq1 d2 1\n", ":2: expected 4 columns"},
      {"qrels_duplicate", false, "q1 0 d1 1\nq1 0 d2 0\nq1 0 d1 2\n", ":3: query q1 judges document d1 twice"},
      {"qrels_empty", false, "", ": the file is empty"},
  };
  for (const Case& c : cases) {
    const std::string path = tmp.file(c.name);
    test::write_text(path, c.content);
    const std::string run = c.is_run ? path : tmp.file("good_run");
    const std::string qrels = c.is_run ? tmp.file("good_qrels") : path;
    auto r = run_command(bin() + " eval --json --run " + sh_quote(run) + " --qrels " + sh_quote(qrels));
    EXPECT_NE(r.exit_code, 0) << c.name;
    EXPECT_NE(r.out.find(path + c.expect), std::string::npos) << c.name << ": " << r.out;
  }
  // Disjoint query ids: nothing to average.
  test::write_text(tmp.file("other_qrels"), "q9 0 d1 1\n");
  auto r = run_command(bin() + " eval --run " + sh_quote(tmp.file("good_run")) + " --qrels " +
                       sh_quote(tmp.file("other_qrels")));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("no query is in both"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace embtune
