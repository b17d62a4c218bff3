// Building runs from models and BM25.
// Not scoring: trec_evaluate() scores what these return.
#include "eval/retrieve.h"

#include <cstdio>

#include "core/file.h"

namespace embtune {

Status dense_run(const SentenceEncoder& encoder, const BeirData& data, const DenseRunOptions& opt, TrecRun* out) {
  std::vector<float> q, c;
  ET_RETURN_IF_ERROR(encoder.embed(data.query_texts, opt.query, &q).wrap("queries"));
  ET_RETURN_IF_ERROR(encoder.embed(data.doc_texts, opt.corpus, &c).wrap("corpus"));
  const int64_t D = encoder.dim();
  const auto hits = dense_search(q.data(), static_cast<int64_t>(data.query_ids.size()), c.data(),
                                 static_cast<int64_t>(data.doc_ids.size()), D, opt.search);
  *out = TrecRun();
  for (size_t i = 0; i < data.query_ids.size(); i++) {
    out->query_order.push_back(data.query_ids[i]);
    auto& docs = out->docs[data.query_ids[i]];
    for (auto [row, score] : hits[i]) docs.push_back({data.doc_ids[row], score});
  }
  return Status::ok_status();
}

TrecRun bm25_run(const BeirData& data, const Bm25Options& opt, int64_t k) {
  const Bm25Index index(data.doc_texts, opt);
  TrecRun run;
  for (size_t i = 0; i < data.query_ids.size(); i++) {
    run.query_order.push_back(data.query_ids[i]);
    auto& docs = run.docs[data.query_ids[i]];
    for (auto [row, score] : index.search(data.query_texts[i], k)) docs.push_back({data.doc_ids[row], score});
  }
  return run;
}

Status trec_run_write(const std::string& path, const TrecRun& run, const std::string& tag) {
  AtomicFile f;
  ET_RETURN_IF_ERROR(f.open(path));
  char buf[64];
  for (const std::string& q : run.query_order) {
    std::vector<ScoredDoc> docs = run.docs.at(q);
    trec_rank_documents(&docs);
    for (size_t r = 0; r < docs.size(); r++) {
      std::snprintf(buf, sizeof buf, " %zu %.9g ", r + 1, docs[r].score);
      ET_RETURN_IF_ERROR(f.write(q + " Q0 " + docs[r].docid + buf + tag + "\n"));
    }
  }
  return f.commit();
}

}  // namespace embtune
