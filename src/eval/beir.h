// A retrieval test set in BEIR layout: corpus.jsonl, queries.jsonl and qrels/<split>.tsv, read
// and checked. Not scoring (trec.h) and not retrieval (retrieve.h).
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "eval/trec.h"

namespace embtune {

struct BeirData {
  std::vector<std::string> doc_ids, doc_texts;      // corpus order
  std::vector<std::string> query_ids, query_texts;  // the queries the split's qrels judge, file order
  Qrels qrels;
  int64_t unknown_qrels_docs = 0;     // judged documents absent from the corpus (kept: they count as relevant)
  int64_t unknown_qrels_queries = 0;  // judged queries absent from queries.jsonl (an error)
};

// dir/corpus.jsonl ({"_id", "title"?, "text"}), dir/queries.jsonl ({"_id", "text"}) and
// dir/qrels/<split>.tsv. A document's text is title + " " + text, stripped, as BEIR's dense
// models encode it. Errors name the file and line: invalid JSON or UTF-8, a missing or
// non-string "_id" / "text", a duplicate id, an empty corpus, a judged query with no text or
// absent from queries.jsonl. Judged documents absent from the corpus are counted, not dropped.
Status beir_read(const std::string& dir, const std::string& split, BeirData* out);

}  // namespace embtune
