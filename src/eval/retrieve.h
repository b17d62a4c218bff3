// Retrieval runs over a BEIR set: a sentence-transformers model (embed queries and corpus, exact
// top-k) or BM25, written as a TREC run that trec.h scores. Not the comparison between systems.
#pragma once

#include <string>

#include "core/status.h"
#include "eval/beir.h"
#include "eval/bm25.h"
#include "eval/dense_search.h"
#include "eval/trec.h"
#include "model/sentence_encoder.h"

namespace embtune {

struct DenseRunOptions {
  EmbedOptions query;   // prompt of the queries (name or text)
  EmbedOptions corpus;  // prompt of the documents
  DenseSearchOptions search;
};

// Embeds data's queries and corpus with `encoder` and retrieves the top k of each query.
Status dense_run(const SentenceEncoder& encoder, const BeirData& data, const DenseRunOptions& opt, TrecRun* out);
// BM25 over data's corpus, the top k of each query.
TrecRun bm25_run(const BeirData& data, const Bm25Options& opt, int64_t k);

// The run as TREC lines: `qid Q0 docid rank score tag`.
Status trec_run_write(const std::string& path, const TrecRun& run, const std::string& tag);

}  // namespace embtune
