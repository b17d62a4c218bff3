// A retrieval test set in BEIR layout: corpus.jsonl, queries.jsonl and qrels/<split>.tsv, read
// and checked; corpus.jsonl can also be read in blocks, for corpora whose text does not fit in
// memory. Not scoring (trec.h) and not retrieval (retrieve.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/file.h"
#include "core/status.h"
#include "eval/trec.h"
#include "model/sentence_encoder.h"

namespace embtune {

// A corpus line's document as BEIR's dense models encode it: title + " " + text, stripped of
// surrounding whitespace; "text" must be a string, "title" is optional (null means absent). The
// one reading of {"text", "title"?} lines: BEIR corpus.jsonl, eval's --extra-corpus, mine's
// --corpus. Json is nlohmann::json or nlohmann::ordered_json.
template <class Json>
Status corpus_document_text(const Json& j, const std::string& path, size_t line, std::string* out) {
  auto t = j.find("text");
  if (t == j.end() || !t->is_string())
    return make_error("%s: line %zu: no \"text\" string (corpus lines are {\"text\", \"title\"?})", path.c_str(), line);
  std::string title;
  auto ti = j.find("title");
  if (ti != j.end() && !ti->is_null()) {
    if (!ti->is_string()) return make_error("%s: line %zu: \"title\" must be a string", path.c_str(), line);
    title = ti->template get<std::string>();
  }
  *out = strip_unicode_whitespace(title + " " + t->template get<std::string>());
  return Status::ok_status();
}

struct BeirData {
  std::vector<std::string> doc_ids;    // corpus order
  std::vector<std::string> doc_texts;  // corpus order; empty when read without texts (see corpus_path)
  std::vector<std::string> query_ids, query_texts;  // the queries the split's qrels judge, file order
  Qrels qrels;
  int64_t unknown_qrels_docs = 0;     // judged documents absent from the corpus (kept: they count as relevant)
  int64_t unknown_qrels_queries = 0;  // judged queries absent from queries.jsonl (an error)
  // corpus.jsonl when the data came from a BEIR folder (BeirCorpusReader reads the texts from it
  // when doc_texts is empty); "" for data built in memory.
  std::string corpus_path;

  bool has_doc_texts() const { return doc_texts.size() == doc_ids.size(); }
};

struct BeirReadOptions {
  // false: check every document but keep only the ids (doc_texts stays empty), for corpora whose
  // text does not fit in memory; dense_run then streams the texts from corpus_path. BM25 needs
  // the texts in memory.
  bool load_doc_texts = true;
};

// dir/corpus.jsonl ({"_id", "title"?, "text"}), dir/queries.jsonl ({"_id", "text"}) and
// dir/qrels/<split>.tsv. A document's text is title + " " + text, stripped, as BEIR's dense
// models encode it. Errors name the file and line: invalid JSON or UTF-8, a missing or
// non-string "_id" / "text", a duplicate id, an empty corpus, a judged query with no text or
// absent from queries.jsonl. Judged documents absent from the corpus are counted, not dropped.
Status beir_read(const std::string& dir, const std::string& split, const BeirReadOptions& opt, BeirData* out);
Status beir_read(const std::string& dir, const std::string& split, BeirData* out);

// corpus.jsonl read front to back in blocks of documents from the memory-mapped file, with
// beir_read's checks per line (not the duplicate-id check, which needs every id: beir_read does it).
//   BeirCorpusReader r;
//   ET_RETURN_IF_ERROR(r.open(path));
//   for (;;) { ET_RETURN_IF_ERROR(r.next(16384, &ids, &texts)); if (ids.empty()) break; ... }
class BeirCorpusReader {
 public:
  Status open(const std::string& path);
  // Replaces ids and texts with the next documents, max_docs of them unless the file ends
  // first; none at the end. Texts are title + " " + text, stripped (as beir_read's doc_texts);
  // lines, when given, receives each document's line number.
  Status next(int64_t max_docs, std::vector<std::string>* ids, std::vector<std::string>* texts,
              std::vector<size_t>* lines = nullptr);

 private:
  MappedFile file_;
  size_t pos_ = 0, line_ = 0;
};

}  // namespace embtune
