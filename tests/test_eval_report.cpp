// `embtune eval --data` comparing systems end to end: the comparison table, --report's
// report.json and report.html, --baseline and the other comparison flags, and the --json line
// left as it was. Not the statistics themselves (test_compare.cpp).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace embtune {
namespace {

using test::last_json_line;

namespace fs = std::filesystem;
using test::sh_quote;

// Ten documents, each with one word of its own; query i asks for document i's word, and q3's
// text needs escaping in HTML.
void write_beir(const std::string& dir) {
  const char* words[] = {"apple", "banana", "cherry", "durian", "elder", "fig", "grape", "hazel", "iris", "juniper"};
  std::string corpus, queries, qrels = "query-id\tcorpus-id\tscore\n";
  for (int i = 0; i < 10; i++) {
    corpus += nlohmann::json({{"_id", "d" + std::to_string(i)}, {"title", "fruit"}, {"text", std::string("the ") + words[i] + " note"}}).dump() + "\n";
    const std::string text = std::string(i == 3 ? "<script>x</script> & " : "where is ") + words[i];
    queries += nlohmann::json({{"_id", "q" + std::to_string(i)}, {"text", text}}).dump() + "\n";
    if (i < 8) qrels += "q" + std::to_string(i) + "\td" + std::to_string(i) + "\t" + std::to_string(1 + i % 2) + "\n";
  }
  fs::create_directories(dir + "/qrels");
  test::write_text(dir + "/corpus.jsonl", corpus);
  test::write_text(dir + "/queries.jsonl", queries);
  test::write_text(dir + "/qrels/test.tsv", qrels);
}

// A BEIR folder and two tiny models, "base" and "tuned", that know different words.
class EvalReport : public ::testing::Test {
 protected:
  void SetUp() override {
    write_beir(tmp.file("data"));
    ASSERT_EQ(test::make_tiny_word_model(tmp.file("base"), {"apple", "banana", "fruit", "note"}), "");
    ASSERT_EQ(test::make_tiny_word_model(tmp.file("tuned"), {"cherry", "durian", "elder", "fig", "grape", "where"}), "");
  }
  // `embtune eval --data DATA --model base --model tuned --bm25 <extra> --quiet`.
  test::CommandResult eval(const std::string& extra) {
    return test::run_command(sh_quote(test::embtune_bin()) + " eval --data " + sh_quote(tmp.file("data")) + " --model " +
                             sh_quote(tmp.file("base")) + " --model " + sh_quote(tmp.file("tuned")) + " --bm25 " + extra +
                             " --quiet");
  }
  test::TempDir tmp;
};

TEST_F(EvalReport, TwoModelsAndBm25WriteBothReports) {
  const std::string dir = tmp.file("out/report");
  auto r = eval("--k 1,10,100 --report " + sh_quote(dir));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("differences to the baseline base"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("win/tie/loss"), std::string::npos) << r.out;

  const nlohmann::json j = nlohmann::json::parse(test::read_text(dir + "/report.json"));
  EXPECT_EQ(j["baseline"], "base");
  EXPECT_EQ(j["queries"], 8);
  EXPECT_EQ(j["metrics"], (std::vector<std::string>{"ndcg@10", "mrr@10", "map@100", "recall@100"}));
  ASSERT_EQ(j["systems"].size(), 3u);
  EXPECT_EQ(j["systems"][2]["name"], "bm25");
  EXPECT_DOUBLE_EQ(j["systems"][2]["metrics"]["ndcg@10"]["mean"].get<double>(), 1.0);
  ASSERT_EQ(j["differences"].size(), 2u);
  EXPECT_EQ(j["differences"][0]["system"], "tuned");
  EXPECT_EQ(j["differences"][1]["system"], "bm25");
  for (const auto& d : j["differences"]) {
    EXPECT_EQ(d["baseline"], "base");
    for (const char* m : {"ndcg@10", "mrr@10", "map@100", "recall@100"}) {
      const auto& md = d["metrics"][m];
      const double p = md["p_value"].get<double>();
      EXPECT_GT(p, 0.0);
      EXPECT_LE(p, 1.0);
      EXPECT_TRUE(md["p_exact"].get<bool>()) << "8 queries: 256 sign patterns, enumerated";
      EXPECT_EQ(md["wins"].get<int>() + md["ties"].get<int>() + md["losses"].get<int>(), 8);
      EXPECT_LE(md["ci"][0].get<double>(), md["ci"][1].get<double>());
    }
    EXPECT_EQ(d["worse_queries"].size(), d["worse_queries_total"].get<size_t>());
  }
  // The means in the report are those of --json.
  auto js = eval("--k 1,10,100 --json");
  ASSERT_EQ(js.exit_code, 0) << js.out;
  const nlohmann::json means = last_json_line(js.out);
  EXPECT_EQ(j["systems"][0]["metrics"]["ndcg@10"]["mean"].get<double>(), means["base"]["ndcg@10"].get<double>());
  EXPECT_EQ(j["systems"][1]["metrics"]["mrr@10"]["mean"].get<double>(), means["tuned"]["mrr@10"].get<double>());

  const std::string html = test::read_text(dir + "/report.html");
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("<style>"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  for (const char* external : {"http:", "https:", "src=", "href=", "url("}) EXPECT_EQ(html.find(external), std::string::npos) << external;
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(r.out.find("\"baseline\""), std::string::npos) << "report.json is not printed";

  // The same seed gives the same report, byte for byte.
  const std::string again = tmp.file("again");
  ASSERT_EQ(eval("--k 1,10,100 --report " + sh_quote(again)).exit_code, 0);
  EXPECT_EQ(test::read_text(again + "/report.json"), test::read_text(dir + "/report.json"));
}

TEST_F(EvalReport, JsonLineKeepsItsShape) {
  auto r = eval("--json --report " + sh_quote(tmp.file("rep")) + " --baseline bm25 --compare-metrics ndcg@10,recall@100");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const nlohmann::json j = last_json_line(r.out);
  ASSERT_EQ(j.size(), 3u) << j.dump();
  for (const char* system : {"base", "tuned", "bm25"}) ASSERT_TRUE(j[system].contains("ndcg@10")) << system;
  EXPECT_EQ(r.out.find("win/tie/loss"), std::string::npos) << "no human table with --json";
  const nlohmann::json rep = nlohmann::json::parse(test::read_text(tmp.file("rep/report.json")));
  EXPECT_EQ(rep["baseline"], "bm25");
  EXPECT_EQ(rep["metrics"], (std::vector<std::string>{"ndcg@10", "recall@100"}));
  ASSERT_EQ(rep["differences"].size(), 2u);
  EXPECT_EQ(rep["differences"][0]["system"], "base");
}

TEST_F(EvalReport, OneSystemReportHasNoDifferences) {
  auto r = test::run_command(sh_quote(test::embtune_bin()) + " eval --data " + sh_quote(tmp.file("data")) +
                             " --bm25 --json --report " + sh_quote(tmp.file("one")) + " --bootstrap 200 --seed 7");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(last_json_line(r.out).contains("ndcg@10")) << "one system: its metrics at the top level";
  const nlohmann::json rep = nlohmann::json::parse(test::read_text(tmp.file("one/report.json")));
  EXPECT_EQ(rep["systems"].size(), 1u);
  EXPECT_TRUE(rep["differences"].empty());
  EXPECT_EQ(rep["bootstrap_resamples"], 200);
  EXPECT_EQ(rep["seed"], 7);
  EXPECT_NE(test::read_text(tmp.file("one/report.html")).find("<svg"), std::string::npos);
}

TEST_F(EvalReport, BadComparisonFlagsFailBeforeAnyOutput) {
  struct Case {
    std::string extra, needle;
  } cases[] = {
      {"--baseline nope", "nope"},
      {"--compare-metrics ndcg@7", "ndcg@7"},
      {"--k 1,3", "--k"},
      {"--bootstrap 0", "bootstrap"},
  };
  for (const Case& c : cases) {
    auto r = eval(c.extra + " --report " + sh_quote(tmp.file("bad")));
    EXPECT_NE(r.exit_code, 0) << c.extra << "\n" << r.out;
    EXPECT_NE(r.out.find(c.needle), std::string::npos) << c.extra << "\n" << r.out;
    EXPECT_FALSE(fs::exists(tmp.file("bad"))) << c.extra;
  }
  // The comparison flags belong to --data, and have no effect on --json alone.
  test::write_text(tmp.file("run.trec"), "q0 Q0 d0 1 1.0 t\n");
  auto r = test::run_command(sh_quote(test::embtune_bin()) + " eval --run " + sh_quote(tmp.file("run.trec")) + " --qrels " +
                             sh_quote(tmp.file("data/qrels/test.tsv")) + " --report " + sh_quote(tmp.file("bad")));
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("--data"), std::string::npos) << r.out;
  r = eval("--json --seed 3");
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("--report"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace embtune
