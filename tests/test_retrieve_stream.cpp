// dense_run fed the corpus block by block (from memory or streamed from corpus.jsonl, with and
// without the embedding cache) against one search over the whole embedded corpus.
// Not the search kernel itself (test_dense_search.cpp) nor metric values (test_trec_eval.cpp).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "eval/beir.h"
#include "eval/retrieve.h"
#include "test_util.h"

namespace embtune {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kWords = {"apple", "banana", "cherry", "durian", "elder", "fig", "grape", "note"};

// 53 distinct documents (a prime count, so no block size divides it) and 12 queries.
void write_beir(const std::string& dir) {
  std::string corpus, queries, qrels = "query-id\tcorpus-id\tscore\n";
  for (int i = 0; i < 53; i++) {
    std::string text = kWords[i % 8] + " " + kWords[(i * 3 + 1) % 8];
    if (i % 4 == 0) text += " " + kWords[(i / 4) % 8];
    text += " " + std::to_string(i);  // no two documents alike, so no exact ties
    corpus += nlohmann::json({{"_id", "doc" + std::to_string(i)}, {"title", i % 5 ? "" : "fruit"}, {"text", text}}).dump() + "\n";
  }
  for (int i = 0; i < 12; i++) {
    queries += nlohmann::json({{"_id", "q" + std::to_string(i)}, {"text", kWords[i % 8] + " " + kWords[(i + 5) % 8]}}).dump() + "\n";
    qrels += "q" + std::to_string(i) + "\tdoc" + std::to_string(i * 4) + "\t1\n";
  }
  fs::create_directories(dir + "/qrels");
  test::write_text(dir + "/corpus.jsonl", corpus);
  test::write_text(dir + "/queries.jsonl", queries);
  test::write_text(dir + "/qrels/test.tsv", qrels);
}

struct Fixture {
  test::TempDir tmp;
  std::unique_ptr<SentenceEncoder> enc;
  BeirData data;
  DenseRunOptions opt;

  Fixture() {
    write_beir(tmp.file("data"));
    EXPECT_EQ(test::make_tiny_word_model(tmp.file("model"), kWords), "");
    EXPECT_TRUE(SentenceEncoder::load(tmp.file("model"), &enc).ok());
    EXPECT_TRUE(beir_read(tmp.file("data"), "test", &data).ok());
    opt.query.has_prompt_text = opt.corpus.has_prompt_text = true;
    opt.search.k = 10;
  }

  // One embedding of the whole corpus and one search: what dense_run did before streaming.
  TrecRun whole_corpus_run() const {
    std::vector<float> q, c;
    EXPECT_TRUE(enc->embed(data.query_texts, opt.query, &q).ok());
    EXPECT_TRUE(enc->embed(data.doc_texts, opt.corpus, &c).ok());
    const DenseHits hits = dense_search(q.data(), static_cast<int64_t>(data.query_ids.size()), c.data(),
                                        static_cast<int64_t>(data.doc_ids.size()), enc->dim(), opt.search);
    TrecRun run;
    for (size_t i = 0; i < data.query_ids.size(); i++) {
      run.query_order.push_back(data.query_ids[i]);
      for (auto [row, score] : hits[i]) run.docs[data.query_ids[i]].push_back({data.doc_ids[row], score});
    }
    return run;
  }
};

// Same queries, same documents in the same order; scores equal to float rounding of the
// embedding (a block is embedded in other batches than the whole corpus).
void expect_same_run(const TrecRun& a, const TrecRun& b, double tol) {
  ASSERT_EQ(a.query_order, b.query_order);
  for (const std::string& q : a.query_order) {
    const auto& x = a.docs.at(q);
    const auto& y = b.docs.at(q);
    ASSERT_EQ(x.size(), y.size()) << q;
    for (size_t i = 0; i < x.size(); i++) {
      EXPECT_EQ(x[i].docid, y[i].docid) << q << " rank " << i;
      if (tol == 0) {
        EXPECT_EQ(x[i].score, y[i].score) << q << " rank " << i;
      } else {
        EXPECT_NEAR(x[i].score, y[i].score, tol) << q << " rank " << i;
      }
    }
  }
}

TEST(RetrieveStream, BlocksGiveTheWholeCorpusResults) {
  Fixture f;
  const TrecRun whole = f.whole_corpus_run();
  for (int64_t block : {1, 7, 16, 53, 1000}) {
    f.opt.corpus_block_docs = block;
    TrecRun run;
    ASSERT_TRUE(dense_run(*f.enc, f.data, f.opt, &run).ok());
    SCOPED_TRACE("block " + std::to_string(block));
    // One block holding the whole corpus is embedded in the same batches: bit-identical.
    expect_same_run(whole, run, block >= 53 ? 0 : 1e-6);
  }
}

TEST(RetrieveStream, CorpusReadFromDiskMatchesTheLoadedTexts) {
  Fixture f;
  f.opt.corpus_block_docs = 7;
  TrecRun in_memory, streamed;
  ASSERT_TRUE(dense_run(*f.enc, f.data, f.opt, &in_memory).ok());
  BeirData ids_only;
  BeirReadOptions ro;
  ro.load_doc_texts = false;
  ASSERT_TRUE(beir_read(f.tmp.file("data"), "test", ro, &ids_only).ok());
  EXPECT_TRUE(ids_only.doc_texts.empty());
  EXPECT_EQ(ids_only.doc_ids, f.data.doc_ids);
  EXPECT_FALSE(ids_only.has_doc_texts());
  std::vector<int64_t> progress;
  f.opt.corpus.progress = [&](int64_t done, int64_t total) {
    EXPECT_EQ(total, 53);
    progress.push_back(done);
  };
  ASSERT_TRUE(dense_run(*f.enc, ids_only, f.opt, &streamed).ok());
  expect_same_run(in_memory, streamed, 0);
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back(), 53);
  EXPECT_TRUE(std::is_sorted(progress.begin(), progress.end()));

  // corpus.jsonl changed between beir_read and the run: refused, not misattributed.
  std::string corpus = test::read_text(f.tmp.file("data/corpus.jsonl"));
  test::write_text(f.tmp.file("data/corpus.jsonl"), corpus.substr(corpus.find('\n') + 1));
  Status s = dense_run(*f.enc, ids_only, f.opt, &streamed);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("corpus.jsonl"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("changed"), std::string::npos) << s.message();
}

TEST(RetrieveStream, SecondRunHitsTheCacheWithIdenticalResults) {
  Fixture f;
  f.opt.corpus_block_docs = 16;
  TrecRun plain, first, second;
  ASSERT_TRUE(dense_run(*f.enc, f.data, f.opt, &plain).ok());
  f.opt.cache_dir = f.tmp.file("cache");
  DenseRunStats st;
  ASSERT_TRUE(dense_run(*f.enc, f.data, f.opt, &first, &st).ok());
  EXPECT_EQ(st.corpus.hits, 0);
  EXPECT_EQ(st.corpus.misses, 53);
  EXPECT_EQ(st.queries.misses, 8) << "12 queries, 8 distinct texts, each embedded once";
  auto folders = [&] {
    int n = 0;
    for (const auto& e : fs::directory_iterator(f.opt.cache_dir)) n += e.is_directory();
    return n;
  };
  EXPECT_EQ(folders(), 1) << "queries and documents without prompts share one fingerprint";
  // Not bit-identical: texts embedded once per distinct text are packed in other batches.
  expect_same_run(plain, first, 1e-6);
  int corpus_progress = 0;
  f.opt.corpus.progress = [&](int64_t, int64_t) { corpus_progress++; };
  ASSERT_TRUE(dense_run(*f.enc, f.data, f.opt, &second, &st).ok());
  EXPECT_EQ(st.corpus.hits, 53);
  EXPECT_EQ(st.corpus.misses, 0);
  EXPECT_EQ(st.queries.hits, 12);
  EXPECT_EQ(st.queries.misses, 0);
  EXPECT_EQ(corpus_progress, 4) << "once per block, nothing embedded";
  expect_same_run(first, second, 0);
  // Another corpus prompt is another key: nothing of the first runs is reused for the corpus.
  f.opt.corpus.prompt_text = "passage: ";
  ASSERT_TRUE(dense_run(*f.enc, f.data, f.opt, &second, &st).ok());
  EXPECT_EQ(st.corpus.misses, 53);
  EXPECT_EQ(st.queries.hits, 12);
  EXPECT_EQ(folders(), 2);
}

}  // namespace
}  // namespace embtune
