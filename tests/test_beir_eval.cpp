// BEIR folders read and checked, and retrieval runs (BM25 and a model) scored end to end.
// Not the metric definitions (test_trec_eval.cpp) or search against brute force (test_dense_search.cpp).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "eval/beir.h"
#include "eval/retrieve.h"
#include "test_util.h"

namespace embtune {
namespace {

using test::last_json_line;

namespace fs = std::filesystem;

// Ten documents, each with one word of its own; query i asks for document i's word.
void write_beir(const std::string& dir) {
  const char* words[] = {"apple", "banana", "cherry", "durian", "elder", "fig", "grape", "hazel", "iris", "juniper"};
  std::string corpus, queries, qrels = "query-id\tcorpus-id\tscore\n";
  for (int i = 0; i < 10; i++) {
    corpus += nlohmann::json({{"_id", "d" + std::to_string(i)}, {"title", "fruit"}, {"text", std::string("the ") + words[i] + " note"}}).dump() + "\n";
    queries += nlohmann::json({{"_id", "q" + std::to_string(i)}, {"text", std::string("where is ") + words[i]}}).dump() + "\n";
    if (i < 8) qrels += "q" + std::to_string(i) + "\td" + std::to_string(i) + "\t" + std::to_string(1 + i % 2) + "\n";
  }
  fs::create_directories(dir + "/qrels");
  test::write_text(dir + "/corpus.jsonl", corpus);
  test::write_text(dir + "/queries.jsonl", queries);
  test::write_text(dir + "/qrels/test.tsv", qrels);
}

TEST(Beir, ReadsTheJudgedQueriesAndTitledDocuments) {
  test::TempDir tmp;
  write_beir(tmp.path());
  BeirData d;
  ASSERT_TRUE(beir_read(tmp.path(), "test", &d).ok());
  EXPECT_EQ(d.doc_ids.size(), 10u);
  EXPECT_EQ(d.doc_texts[0], "fruit the apple note");
  EXPECT_EQ(d.query_ids.size(), 8u) << "only the queries the split judges";
  EXPECT_EQ(d.unknown_qrels_docs, 0);
}

TEST(Beir, Bm25FindsEachQuerysDocument) {
  test::TempDir tmp;
  write_beir(tmp.path());
  BeirData d;
  ASSERT_TRUE(beir_read(tmp.path(), "test", &d).ok());
  const TrecRun run = bm25_run(d, Bm25Options(), 10);
  TrecEvalResult r;
  ASSERT_TRUE(trec_evaluate(run, d.qrels, TrecEvalOptions(), &r).ok());
  EXPECT_EQ(r.queries, 8);
  EXPECT_DOUBLE_EQ(r.means.at("ndcg@10"), 1.0);
  EXPECT_DOUBLE_EQ(r.means.at("accuracy@1"), 1.0);
  // The written run reads back and scores the same.
  ASSERT_TRUE(trec_run_write(tmp.file("bm25.trec"), run, "bm25").ok());
  TrecRun back;
  ASSERT_TRUE(trec_run_read(tmp.file("bm25.trec"), &back).ok());
  TrecEvalResult r2;
  ASSERT_TRUE(trec_evaluate(back, d.qrels, TrecEvalOptions(), &r2).ok());
  EXPECT_EQ(r.means, r2.means);
}

TEST(Beir, DenseRunOfAModelScores) {
  test::TempDir tmp;
  write_beir(tmp.file("data"));
  ASSERT_EQ(test::make_tiny_word_model(tmp.file("model"), {"apple", "banana", "cherry", "fruit", "note"}), "");
  std::unique_ptr<SentenceEncoder> enc;
  ASSERT_TRUE(SentenceEncoder::load(tmp.file("model"), &enc).ok());
  BeirData d;
  ASSERT_TRUE(beir_read(tmp.file("data"), "test", &d).ok());
  DenseRunOptions opt;
  opt.query.has_prompt_text = opt.corpus.has_prompt_text = true;
  opt.search.k = 5;
  TrecRun run;
  ASSERT_TRUE(dense_run(*enc, d, opt, &run).ok());
  ASSERT_EQ(run.query_order.size(), 8u);
  for (const auto& q : run.query_order) EXPECT_EQ(run.docs.at(q).size(), 5u);
  TrecEvalResult r;
  ASSERT_TRUE(trec_evaluate(run, d.qrels, TrecEvalOptions(), &r).ok());
  EXPECT_GE(r.means.at("ndcg@10"), 0.0);
  EXPECT_LE(r.means.at("ndcg@10"), 1.0);
}

TEST(Beir, EvalCommandComparesSystemsAndWritesRuns) {
  test::TempDir tmp;
  write_beir(tmp.file("data"));
  ASSERT_EQ(test::make_tiny_word_model(tmp.file("model"), {"apple", "banana", "cherry", "fruit", "note"}), "");
  const std::string bin = test::sh_quote(test::embtune_bin()), data = test::sh_quote(tmp.file("data"));
  auto r = test::run_command(bin + " eval --data " + data + " --model " + test::sh_quote(tmp.file("model")) +
                             " --bm25 --k 1,10,100 --json --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto j = last_json_line(r.out);
  for (const char* system : {"model", "bm25"})
    for (const char* key : {"ndcg@10", "mrr@10", "map@100", "recall@100"}) ASSERT_TRUE(j[system].contains(key)) << system << key;
  EXPECT_DOUBLE_EQ(j["bm25"]["ndcg@10"].get<double>(), 1.0);
  // One system: the metrics at the top level, and its run written in TREC format scores the same.
  r = test::run_command(bin + " eval --data " + data + " --bm25 --json --write-run " + test::sh_quote(tmp.file("run.trec")));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto one = last_json_line(r.out);
  auto r2 = test::run_command(bin + " eval --run " + test::sh_quote(tmp.file("run.trec")) + " --qrels " +
                              test::sh_quote(tmp.file("data/qrels/test.tsv")) + " --json");
  ASSERT_EQ(r2.exit_code, 0) << r2.out;
  EXPECT_EQ(one, last_json_line(r2.out));
  r = test::run_command(bin + " eval --data " + data + " --json");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("--model"), std::string::npos) << r.out;

  // --similarity: dot products of this unnormalised model rank otherwise than cosine; a model
  // whose similarity_fn_name is "dot" gets dot products by default; euclidean needs a choice.
  const std::string model = test::sh_quote(tmp.file("model"));
  nlohmann::json modules = nlohmann::json::parse(test::read_text(tmp.file("model/modules.json")));
  modules.erase(2);  // Normalize: without it dot products are not cosines
  test::write_text(tmp.file("model/modules.json"), modules.dump());
  auto run_with = [&](const std::string& flags) {
    auto res = test::run_command(bin + " eval --data " + data + " --model " + model + " --no-cache --quiet " + flags);
    EXPECT_EQ(res.exit_code, 0) << res.out;
    return test::read_text(tmp.file("run.trec"));
  };
  const std::string cosine = run_with("--write-run " + test::sh_quote(tmp.file("run.trec")));
  const std::string dot = run_with("--similarity dot --write-run " + test::sh_quote(tmp.file("run.trec")));
  EXPECT_NE(cosine, dot);
  const std::string st_config = tmp.file("model/config_sentence_transformers.json");
  nlohmann::json st = nlohmann::json::parse(test::read_text(st_config));
  st["similarity_fn_name"] = "dot";
  test::write_text(st_config, st.dump());
  EXPECT_EQ(run_with("--write-run " + test::sh_quote(tmp.file("run.trec"))), dot);
  st["similarity_fn_name"] = "euclidean";
  test::write_text(st_config, st.dump());
  r = test::run_command(bin + " eval --data " + data + " --model " + model + " --no-cache --quiet --json");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("euclidean"), std::string::npos) << r.out;
}

TEST(Beir, BadFoldersAreRefusedByFileAndLine) {
  struct Case {
    const char* file;
    const char* content;
    std::vector<std::string> needles;
  } cases[] = {
      {"corpus.jsonl", "{\"_id\": \"d0\", \"text\": \"a\"}\n{\"_id\": \"d0\", \"text\": \"b\"}\n", {"corpus.jsonl", "line 2", "duplicate"}},
      {"corpus.jsonl", "\n", {"corpus.jsonl", "empty"}},
      {"corpus.jsonl", "{\"_id\": \"d0\"}\n", {"corpus.jsonl", "line 1", "text"}},
      {"queries.jsonl", "{\"_id\": \"q0\", \"text\": \"  \"}\n", {"queries.jsonl", "line 1", "no text"}},
      {"queries.jsonl", "{\"_id\": \"q1\", \"text\": \"x\"}\n", {"test.tsv", "not in", "q0"}},
      {"queries.jsonl", "{\"_id\": \"q0\", \"text\": \"x\"\n", {"queries.jsonl", "line 1", "JSON"}},
  };
  for (const Case& c : cases) {
    test::TempDir tmp;
    write_beir(tmp.path());
    test::write_text(tmp.file(c.file), c.content);
    BeirData d;
    Status s = beir_read(tmp.path(), "test", &d);
    ASSERT_FALSE(s.ok()) << c.file << ": " << c.content;
    for (const std::string& n : c.needles) EXPECT_NE(s.message().find(n), std::string::npos) << s.message();
  }
  // A judged document missing from the corpus is counted and kept (it still counts as relevant).
  test::TempDir tmp;
  write_beir(tmp.path());
  test::write_text(tmp.file("qrels/test.tsv"), "query-id\tcorpus-id\tscore\nq0\td0\t1\nq0\tgone\t1\n");
  BeirData d;
  ASSERT_TRUE(beir_read(tmp.path(), "test", &d).ok());
  EXPECT_EQ(d.unknown_qrels_docs, 1);
  TrecEvalResult r;
  ASSERT_TRUE(trec_evaluate(bm25_run(d, Bm25Options(), 10), d.qrels, TrecEvalOptions(), &r).ok());
  EXPECT_DOUBLE_EQ(r.means.at("recall@10"), 0.5);
}

}  // namespace
}  // namespace embtune
