// Building runs from models and BM25.
// Not scoring: trec_evaluate() scores what these return.
#include "eval/retrieve.h"

#include <algorithm>
#include <cstdio>
#include <memory>

#include "core/file.h"

namespace embtune {

namespace {

// Opens the caches of the query and the corpus options under cache_dir: one object when both
// resolve to the same fingerprint (same prompt), so a large corpus is indexed once. Leaves both
// empty without a cache.
Status open_caches(const SentenceEncoder& encoder, const DenseRunOptions& opt, std::shared_ptr<EmbedCache>* query,
                   std::shared_ptr<EmbedCache>* corpus) {
  if (opt.cache_dir.empty()) return Status::ok_status();
  Hash128 query_fp, corpus_fp;
  ET_RETURN_IF_ERROR(embed_fingerprint(encoder, opt.query, &query_fp).wrap("queries"));
  ET_RETURN_IF_ERROR(embed_fingerprint(encoder, opt.corpus, &corpus_fp).wrap("corpus"));
  std::unique_ptr<EmbedCache> c;
  ET_RETURN_IF_ERROR(EmbedCache::open(opt.cache_dir, corpus_fp, encoder.dim(), &c));
  *corpus = std::move(c);
  if (query_fp == corpus_fp) {
    *query = *corpus;
    return Status::ok_status();
  }
  ET_RETURN_IF_ERROR(EmbedCache::open(opt.cache_dir, query_fp, encoder.dim(), &c));
  *query = std::move(c);
  return Status::ok_status();
}

}  // namespace

Status similarity_for_model(const SentenceEncoder& encoder, const std::string& choice, Similarity* out) {
  const std::string& model_fn = encoder.files().similarity_fn_name;
  const std::string name = choice != "auto" ? choice : model_fn.empty() ? "cosine" : model_fn;
  if (name == "cosine") *out = Similarity::Cosine;
  else if (name == "dot") *out = Similarity::Dot;
  else if (choice == "auto")
    return make_error("%s: similarity_fn_name \"%s\" is not an exact-search similarity here; give --similarity cosine or dot",
                      encoder.files().dir.c_str(), model_fn.c_str());
  else return make_error("--similarity %s: expected auto, cosine or dot", choice.c_str());
  return Status::ok_status();
}

Status dense_run(const SentenceEncoder& encoder, const BeirData& data, const DenseRunOptions& opt, TrecRun* out,
                 DenseRunStats* stats) {
  const int64_t D = encoder.dim(), Q = static_cast<int64_t>(data.query_ids.size());
  const int64_t M = static_cast<int64_t>(data.doc_ids.size()), block = std::max<int64_t>(1, opt.corpus_block_docs);
  DenseRunStats counts;
  std::shared_ptr<EmbedCache> query_cache, corpus_cache;
  ET_RETURN_IF_ERROR(open_caches(encoder, opt, &query_cache, &corpus_cache));
  std::vector<float> q;  // (Q, D)
  ET_RETURN_IF_ERROR(
      embed_with_cache(encoder, data.query_texts, opt.query, query_cache.get(), &q, &counts.queries).wrap("queries"));
  DenseTopK top(q.data(), Q, D, opt.search);

  const bool in_memory = data.has_doc_texts();
  BeirCorpusReader reader;
  if (!in_memory) {
    ET_CHECK(!data.corpus_path.empty());
    ET_RETURN_IF_ERROR(reader.open(data.corpus_path));
  }
  std::vector<std::string> ids, texts, more_ids, more_texts;
  std::vector<float> c;  // (block, D)
  for (int64_t b0 = 0; b0 < M; b0 += block) {
    const int64_t n = std::min(block, M - b0);
    if (in_memory) {
      texts.assign(data.doc_texts.begin() + b0, data.doc_texts.begin() + b0 + n);
    } else {
      ET_RETURN_IF_ERROR(reader.next(n, &ids, &texts));
      for (int64_t i = 0; i < n; i++)
        if (i >= static_cast<int64_t>(ids.size()) || ids[i] != data.doc_ids[b0 + i])
          return make_error("%s: changed since it was read (document %lld is no longer \"%s\"; run again)",
                            data.corpus_path.c_str(), (long long)(b0 + i + 1), data.doc_ids[b0 + i].c_str());
    }
    EmbedOptions eo = opt.corpus;
    int64_t reported = b0;
    if (opt.corpus.progress)
      eo.progress = [&](int64_t done, int64_t) { opt.corpus.progress(reported = b0 + done, M); };
    ET_RETURN_IF_ERROR(embed_with_cache(encoder, texts, eo, corpus_cache.get(), &c, &counts.corpus).wrap("corpus"));
    top.add(c.data(), n);
    if (opt.corpus.progress && reported != b0 + n) opt.corpus.progress(b0 + n, M);
  }
  if (!in_memory) {
    ET_RETURN_IF_ERROR(reader.next(1, &more_ids, &more_texts));
    if (!more_ids.empty())
      return make_error("%s: changed since it was read (more than %lld documents now; run again)",
                        data.corpus_path.c_str(), (long long)M);
  }
  const DenseHits hits = top.finish();
  *out = TrecRun();
  for (int64_t i = 0; i < Q; i++) {
    out->query_order.push_back(data.query_ids[i]);
    auto& docs = out->docs[data.query_ids[i]];
    for (auto [row, score] : hits[i]) docs.push_back({data.doc_ids[row], score});
  }
  if (stats) *stats = counts;
  return Status::ok_status();
}

TrecRun bm25_run(const BeirData& data, const Bm25Options& opt, int64_t k) {
  ET_CHECK(data.has_doc_texts());
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
