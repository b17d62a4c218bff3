// Reading BEIR folders, whole or (corpus.jsonl) in blocks.
// Not a downloader: the folder is on disk.
#include "eval/beir.h"

#include <cstring>
#include <nlohmann/json.hpp>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "core/file.h"
#include "core/strings.h"
#include "core/utf8.h"
#include "model/sentence_encoder.h"

namespace embtune {

namespace {

// One line of a JSONL file as a JSON object; *blank = true (and nothing parsed) for a blank line.
Status parse_object_line(const std::string& path, size_t line, std::string_view text, nlohmann::json* j, bool* blank) {
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  *blank = is_blank(text);
  if (*blank) return Status::ok_status();
  size_t bad = 0;
  if (!utf8_valid(text, &bad)) return make_error("%s: line %zu: invalid UTF-8 at byte %zu", path.c_str(), line, bad);
  try {
    *j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return make_error("%s: line %zu: not JSON: %s", path.c_str(), line, e.what());
  }
  if (!j->is_object()) return make_error("%s: line %zu: expected a JSON object", path.c_str(), line);
  return Status::ok_status();
}

// Calls row(line_number, object) for every non-blank line of a JSONL file.
template <class F>
Status read_jsonl_objects(const std::string& path, F&& row) {
  std::string data;
  ET_RETURN_IF_ERROR(read_file(path, &data));
  size_t line = 0;
  nlohmann::json j;
  for (size_t pos = 0; pos < data.size();) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string::npos) nl = data.size();
    const std::string_view text(data.data() + pos, nl - pos);
    pos = nl + 1;
    line++;
    bool blank = false;
    ET_RETURN_IF_ERROR(parse_object_line(path, line, text, &j, &blank));
    if (!blank) ET_RETURN_IF_ERROR(row(line, j));
  }
  return Status::ok_status();
}

Status string_field(const nlohmann::json& j, const char* key, const std::string& path, size_t line, bool required,
                    std::string* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) return make_error("%s: line %zu: no \"%s\"", path.c_str(), line, key);
    out->clear();
    return Status::ok_status();
  }
  if (it->is_number_integer()) *out = std::to_string(it->get<int64_t>());  // BEIR ids are sometimes numbers
  else if (it->is_string()) *out = it->get<std::string>();
  else return make_error("%s: line %zu: \"%s\" must be a string", path.c_str(), line, key);
  return Status::ok_status();
}

}  // namespace

Status beir_read(const std::string& dir, const std::string& split, const BeirReadOptions& opt, BeirData* out) {
  *out = BeirData();
  const std::string corpus = dir + "/corpus.jsonl", queries = dir + "/queries.jsonl";
  const std::string qrels = dir + "/qrels/" + split + ".tsv";
  out->corpus_path = corpus;
  std::unordered_set<std::string> doc_seen;
  BeirCorpusReader reader;
  ET_RETURN_IF_ERROR(reader.open(corpus));
  std::vector<std::string> ids, texts;
  std::vector<size_t> lines;
  for (;;) {
    ET_RETURN_IF_ERROR(reader.next(65536, &ids, &texts, &lines));
    if (ids.empty()) break;
    for (size_t i = 0; i < ids.size(); i++) {
      if (!doc_seen.insert(ids[i]).second)
        return make_error("%s: line %zu: duplicate _id \"%s\"", corpus.c_str(), lines[i], ids[i].c_str());
      out->doc_ids.push_back(std::move(ids[i]));
      if (opt.load_doc_texts) out->doc_texts.push_back(std::move(texts[i]));
    }
  }
  if (out->doc_ids.empty()) return make_error("%s: the corpus is empty", corpus.c_str());
  ET_RETURN_IF_ERROR(qrels_read(qrels, &out->qrels));
  std::unordered_map<std::string, std::string> query_text;
  std::vector<std::string> query_file_order;
  ET_RETURN_IF_ERROR(read_jsonl_objects(queries, [&](size_t line, const nlohmann::json& j) -> Status {
    std::string id, text;
    ET_RETURN_IF_ERROR(string_field(j, "_id", queries, line, true, &id));
    ET_RETURN_IF_ERROR(string_field(j, "text", queries, line, true, &text));
    if (query_text.count(id)) return make_error("%s: line %zu: duplicate _id \"%s\"", queries.c_str(), line, id.c_str());
    if (out->qrels.grades.count(id) && is_blank(text))
      return make_error("%s: line %zu: query \"%s\" has no text", queries.c_str(), line, id.c_str());
    query_text[id] = text;
    query_file_order.push_back(id);
    return Status::ok_status();
  }));
  for (const std::string& q : out->qrels.query_order) {
    if (!query_text.count(q)) out->unknown_qrels_queries++;
    for (auto& [doc, grade] : out->qrels.grades.at(q))
      if (!doc_seen.count(doc)) out->unknown_qrels_docs++;
  }
  if (out->unknown_qrels_queries > 0)
    return make_error("%s: %lld judged queries are not in %s (the first: \"%s\")", qrels.c_str(),
                      (long long)out->unknown_qrels_queries, queries.c_str(), [&] {
                        for (const std::string& q : out->qrels.query_order)
                          if (!query_text.count(q)) return q;
                        return std::string();
                      }().c_str());
  for (const std::string& q : query_file_order)
    if (out->qrels.grades.count(q)) {
      out->query_ids.push_back(q);
      out->query_texts.push_back(query_text[q]);
    }
  return Status::ok_status();
}

Status beir_read(const std::string& dir, const std::string& split, BeirData* out) {
  return beir_read(dir, split, BeirReadOptions(), out);
}

Status BeirCorpusReader::open(const std::string& path) {
  pos_ = line_ = 0;
  return file_.open(path);
}

Status BeirCorpusReader::next(int64_t max_docs, std::vector<std::string>* ids, std::vector<std::string>* texts,
                              std::vector<size_t>* lines) {
  ids->clear();
  texts->clear();
  if (lines) lines->clear();
  const std::string& path = file_.path();
  const char* data = reinterpret_cast<const char*>(file_.data());
  const size_t size = file_.size();
  nlohmann::json j;
  std::string id, text;
  while (pos_ < size && static_cast<int64_t>(ids->size()) < max_docs) {
    const char* nl = static_cast<const char*>(std::memchr(data + pos_, '\n', size - pos_));
    const size_t end = nl ? static_cast<size_t>(nl - data) : size;
    const std::string_view row(data + pos_, end - pos_);
    pos_ = end + 1;
    line_++;
    bool blank = false;
    ET_RETURN_IF_ERROR(parse_object_line(path, line_, row, &j, &blank));
    if (blank) continue;
    ET_RETURN_IF_ERROR(string_field(j, "_id", path, line_, true, &id));
    ET_RETURN_IF_ERROR(corpus_document_text(j, path, line_, &text));
    ids->push_back(id);
    texts->push_back(std::move(text));
    if (lines) lines->push_back(line_);
  }
  return Status::ok_status();
}

}  // namespace embtune
