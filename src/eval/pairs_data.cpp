// Reading (query, positive…) JSONL and an extra corpus into a BEIR-shaped evaluation set.
// Not validation of training data: rows may mix column sets, and negatives are skipped.
#include "eval/pairs_data.h"

#include <nlohmann/json.hpp>
#include <string_view>
#include <unordered_map>

#include "core/file.h"
#include "core/strings.h"
#include "core/utf8.h"
#include "model/sentence_encoder.h"

namespace embtune {

namespace {

// Calls row(line_number, object) for every non-blank line (for_each_text_line); objects keep their key order.
template <class F>
Status for_each_jsonl_object(const std::string& path, F&& row) {
  return for_each_text_line(path, [&](size_t line, std::string_view text) -> Status {
    nlohmann::ordered_json j;
    try {
      j = nlohmann::ordered_json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      return make_error("%s: line %zu: not JSON: %s", path.c_str(), line, e.what());
    }
    if (!j.is_object()) return make_error("%s: line %zu: expected a JSON object", path.c_str(), line);
    return row(line, j);
  });
}

bool is_score_field(const std::string& k) { return k == "score" || k == "label"; }

// A text field: a non-empty string once stripped.
Status text_value(const nlohmann::ordered_json& v, const std::string& path, size_t line, const std::string& field,
                  std::string* out) {
  if (!v.is_string()) return make_error("%s: line %zu: \"%s\" must be a string", path.c_str(), line, field.c_str());
  *out = strip_unicode_whitespace(v.get<std::string>());
  if (out->empty()) return make_error("%s: line %zu: \"%s\" is empty", path.c_str(), line, field.c_str());
  return Status::ok_status();
}

// The query and positives of one pairs row, by the rules in pairs_data.h.
Status pairs_row(const nlohmann::ordered_json& j, const std::string& path, size_t line, std::string* query,
                 std::vector<std::string>* positives) {
  std::string query_field;
  if (j.contains("anchor")) query_field = "anchor";
  else if (j.contains("query")) query_field = "query";
  else
    for (auto it = j.begin(); it != j.end() && query_field.empty(); ++it)
      if (!is_score_field(it.key())) query_field = it.key();
  if (query_field.empty())
    return make_error("%s: line %zu: no query (a \"query\" or \"anchor\" field, or a first text field)", path.c_str(), line);
  ET_RETURN_IF_ERROR(text_value(j[query_field], path, line, query_field, query));

  positives->clear();
  auto add_list = [&](const std::string& field) -> Status {
    const auto& v = j[field];
    if (v.is_string()) {
      positives->emplace_back();
      return text_value(v, path, line, field, &positives->back());
    }
    if (!v.is_array() || v.empty())
      return make_error("%s: line %zu: \"%s\" must be a string or a non-empty list of strings", path.c_str(), line,
                        field.c_str());
    for (const auto& p : v) {
      positives->emplace_back();
      ET_RETURN_IF_ERROR(text_value(p, path, line, field, &positives->back()));
    }
    return Status::ok_status();
  };
  bool named = false;
  for (const char* field : {"positive", "positives"})
    if (j.contains(field)) {
      ET_RETURN_IF_ERROR(add_list(field));
      named = true;
    }
  if (!named) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string& k = it.key();
      if (k == query_field || is_score_field(k) || k.rfind("negative", 0) == 0) continue;
      positives->emplace_back();
      ET_RETURN_IF_ERROR(text_value(it.value(), path, line, k, &positives->back()));
      break;
    }
  }
  if (positives->empty())
    return make_error("%s: line %zu: no positive (a \"positive\" or \"positives\" field, or a second text field)",
                      path.c_str(), line);
  return Status::ok_status();
}

}  // namespace

Status pairs_read(const std::string& pairs_jsonl, const std::string& extra_corpus, BeirData* out) {
  *out = BeirData();
  std::unordered_map<std::string, size_t> doc_row, query_row;  // text -> index
  auto add_doc = [&](std::string text) -> size_t {
    auto [it, is_new] = doc_row.emplace(text, out->doc_ids.size());
    if (is_new) {
      out->doc_ids.push_back("d" + std::to_string(out->doc_ids.size()));
      out->doc_texts.push_back(std::move(text));
    }
    return it->second;
  };
  std::string query;
  std::vector<std::string> positives;
  ET_RETURN_IF_ERROR(for_each_jsonl_object(pairs_jsonl, [&](size_t line, const nlohmann::ordered_json& j) -> Status {
    ET_RETURN_IF_ERROR(pairs_row(j, pairs_jsonl, line, &query, &positives));
    auto [it, is_new] = query_row.emplace(query, out->query_ids.size());
    if (is_new) {
      out->query_ids.push_back("q" + std::to_string(out->query_ids.size()));
      out->query_texts.push_back(query);
      out->qrels.query_order.push_back(out->query_ids.back());
    }
    auto& grades = out->qrels.grades[out->query_ids[it->second]];
    for (std::string& p : positives) grades[out->doc_ids[add_doc(std::move(p))]] = 1;
    return Status::ok_status();
  }));
  if (out->query_ids.empty())
    return make_error("%s: no pairs (expected one JSON object per line, e.g. {\"query\": ..., \"positive\": ...})",
                      pairs_jsonl.c_str());
  if (extra_corpus.empty()) return Status::ok_status();
  return for_each_jsonl_object(extra_corpus, [&](size_t line, const nlohmann::ordered_json& j) -> Status {
    std::string doc;
    ET_RETURN_IF_ERROR(corpus_document_text(j, extra_corpus, line, &doc));
    add_doc(std::move(doc));
    return Status::ok_status();
  });
}

}  // namespace embtune
