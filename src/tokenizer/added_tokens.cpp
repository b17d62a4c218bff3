// Registration and leftmost-longest matching of added tokens, as HF's AddedVocabulary does it.
// Not tokenization: the pipeline in tokenizer.cpp decides what to do with the matches.
#include "tokenizer/added_tokens.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "tokenizer/json_fields.h"
#include "tokenizer/model.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/unicode.h"

namespace embtune {

Status added_tokens_from_json(const nlohmann::json& j, std::vector<AddedToken>* out) {
  out->clear();
  if (j.is_null()) return Status();
  if (!j.is_array()) return make_error("\"added_tokens\" must be an array");
  size_t index = 0;
  for (const nlohmann::json& item : j) {
    AddedToken t;
    Status st;
    if (!item.is_object() || !item.contains("content") || !item.at("content").is_string()) {
      st = make_error("needs a string \"content\"");
    }
    if (st.ok()) st = json_read_string(item, "content", &t.content);
    if (st.ok()) st = json_read_bool(item, "single_word", &t.single_word);
    if (st.ok()) st = json_read_bool(item, "lstrip", &t.lstrip);
    if (st.ok()) st = json_read_bool(item, "rstrip", &t.rstrip);
    if (st.ok()) st = json_read_bool(item, "normalized", &t.normalized);
    if (st.ok()) st = json_read_bool(item, "special", &t.special);
    if (!st.ok()) return st.wrap("added_tokens[" + std::to_string(index) + "]");
    out->push_back(std::move(t));
    ++index;
  }
  return Status();
}

void AddedVocabulary::build(const std::vector<AddedToken>& tokens, const Model& model,
                            const Normalizer* normalizer) {
  for (const AddedToken& t : tokens) {
    if (t.content.empty() || content_to_id_.count(t.content)) continue;
    int32_t id = model.token_to_id(t.content);
    if (id < 0) {
      // HF: after the model's vocabulary, or after the largest added id already past it.
      id = static_cast<int32_t>(model.vocab_size());
      for (const Entry& e : tokens_) {
        if (e.id >= static_cast<int32_t>(model.vocab_size())) id = std::max(id, e.id + 1);
      }
      ++new_tokens_;
    }
    content_to_id_[t.content] = id;
    id_to_entry_[id] = tokens_.size();
    tokens_.push_back({t, id});
  }
  // HF matches special tokens first, then the others; with leftmost-longest the order only
  // matters for identical patterns: contents that normalize alike ("Hello" and "HELLO" under
  // Lowercase). Of those HF (npm 0.23.2) matches one or the other from one process to the next;
  // here the last one listed wins.
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const AddedToken& t = tokens_[i].token;
    std::vector<char32_t> cps;
    size_t bad = 0;
    if (!utf8_decode(t.content, &cps, &bad)) continue;  // JSON strings are valid UTF-8
    if (!t.normalized) {
      raw_.add(std::u32string(cps.begin(), cps.end()), i);
      continue;
    }
    NormalizedString s;
    s.assign_original(cps, 0, cps.size());
    if (normalizer) normalizer->normalize(&s);
    std::u32string pattern;
    for (const AlignedChar& a : s.chars) pattern.push_back(a.c);
    if (!pattern.empty()) normalized_.add(pattern, i);
  }
}

int32_t AddedVocabulary::token_to_id(std::string_view content) const {
  auto it = content_to_id_.find(std::string(content));
  return it == content_to_id_.end() ? -1 : it->second;
}

const std::string* AddedVocabulary::id_to_token(int32_t id) const {
  auto it = id_to_entry_.find(id);
  return it == id_to_entry_.end() ? nullptr : &tokens_[it->second].token.content;
}

bool AddedVocabulary::is_special(std::string_view content) const {
  auto it = content_to_id_.find(std::string(content));
  return it != content_to_id_.end() && tokens_[id_to_entry_.at(it->second)].token.special;
}

uint32_t AddedVocabulary::Matcher::child(uint32_t node, char32_t c) const {
  if (node == 0 && c < 0x80) return root_ascii_[c];
  const auto& children = nodes_[node].children;
  auto it = std::lower_bound(
      children.begin(), children.end(), c,
      [](const std::pair<char32_t, uint32_t>& e, char32_t v) { return e.first < v; });
  return it != children.end() && it->first == c ? it->second : 0;
}

void AddedVocabulary::Matcher::add(const std::u32string& pattern, size_t entry) {
  uint32_t node = 0;
  for (char32_t c : pattern) {
    uint32_t next = child(node, c);
    if (next == 0) {
      next = static_cast<uint32_t>(nodes_.size());
      nodes_.emplace_back();
      auto& children = nodes_[node].children;
      auto it = std::lower_bound(
          children.begin(), children.end(), c,
          [](const std::pair<char32_t, uint32_t>& e, char32_t v) { return e.first < v; });
      children.insert(it, {c, next});
      if (node == 0 && c < 0x80) root_ascii_[c] = next;
    }
    node = next;
  }
  nodes_[node].entry = static_cast<int64_t>(entry);
}

void AddedVocabulary::Matcher::find(std::span<const char32_t> text,
                                    const std::vector<Entry>& entries,
                                    std::vector<AddedTokenMatch>* out) const {
  const size_t n = text.size();
  size_t split_start = 0;  // end of the previous accepted match (HF's start_offset)
  size_t i = 0;
  while (i < n) {
    // The longest pattern starting at i.
    int64_t found = -1;
    size_t found_end = i;
    uint32_t node = child(0, text[i]);
    for (size_t j = i + 1; node != 0; ++j) {
      if (nodes_[node].entry >= 0) {
        found = nodes_[node].entry;
        found_end = j;
      }
      if (j == n) break;
      node = child(node, text[j]);
    }
    if (found < 0) {
      ++i;
      continue;
    }
    size_t start = i;
    size_t stop = found_end;
    i = stop;  // the search resumes after the match, even when the match is then rejected
    const Entry& e = entries[found];
    if (e.token.single_word) {
      const bool word_before = start > 0 && is_word_char(text[start - 1]);
      const bool word_after = stop < n && is_word_char(text[stop]);
      if (word_before || word_after) continue;
    }
    if (e.token.lstrip) {
      size_t s = start;
      while (s > 0 && is_whitespace(text[s - 1])) --s;
      start = std::max(s, split_start);
    }
    if (e.token.rstrip) {
      while (stop < n && is_whitespace(text[stop])) ++stop;
    }
    out->push_back({static_cast<uint32_t>(start), static_cast<uint32_t>(stop), e.id});
    split_start = stop;
  }
}

}  // namespace embtune
