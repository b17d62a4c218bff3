// Retrieval runs over a BEIR set: a sentence-transformers model (embed queries and corpus block by
// block, exact top-k, embeddings cached on disk) or BM25, written as a TREC run that trec.h
// scores. Not the comparison between systems.
#pragma once

#include <string>

#include "core/status.h"
#include "eval/beir.h"
#include "eval/bm25.h"
#include "eval/dense_search.h"
#include "eval/embed_cache.h"
#include "eval/trec.h"
#include "model/sentence_encoder.h"

namespace embtune {

struct DenseRunOptions {
  EmbedOptions query;   // prompt of the queries (name or text); progress over the queries
  EmbedOptions corpus;  // prompt of the documents; progress called with (documents done, corpus size)
  DenseSearchOptions search;
  // Root of the embedding cache (embed_cache.h), e.g. embed_cache_default_dir(); "" for none.
  std::string cache_dir;
  // Documents embedded and searched at a time: peak memory holds one block of texts and of
  // embeddings, not the corpus (16,384 x 384 floats is 25 MB).
  int64_t corpus_block_docs = 16384;
};

struct DenseRunStats {
  EmbedCacheStats queries, corpus;
};

// The similarity of exact search: "cosine" or "dot", or "auto" for the model's
// similarity_fn_name (config_sentence_transformers.json; cosine when absent). Euclidean and
// Manhattan models are refused: give --similarity cosine or dot.
Status similarity_for_model(const SentenceEncoder& encoder, const std::string& choice, Similarity* out);

// Embeds data's queries, then its corpus one block at a time (texts from data.doc_texts, or read
// from data.corpus_path when the texts were not loaded), feeding each block to the exact search;
// the top k of each query come out in the same order, with the same scores, as one search over
// the whole corpus. With opt.cache_dir, rows held by the cache are not embedded again and new ones
// are stored. Errors: embedding (an unknown prompt), the cache (a damaged shard, an unwritable
// folder), corpus.jsonl changed since beir_read.
Status dense_run(const SentenceEncoder& encoder, const BeirData& data, const DenseRunOptions& opt, TrecRun* out,
                 DenseRunStats* stats = nullptr);
// BM25 over data's corpus, the top k of each query. Needs the texts in memory
// (data.has_doc_texts(): beir_read with load_doc_texts, or pairs_read).
TrecRun bm25_run(const BeirData& data, const Bm25Options& opt, int64_t k);

// The run as TREC lines: `qid Q0 docid rank score tag`.
Status trec_run_write(const std::string& path, const TrecRun& run, const std::string& tag);

}  // namespace embtune
