// The pre-tokenizer factory: maps tokenizer.json "type" tags to pre_tokenizer_<type>.cpp, and the
// split-at-matches logic they share (HF's NormalizedString::split). Not any one pre-tokenizer.
#include "tokenizer/pre_tokenizer.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/utf8.h"
#include "tokenizer/json_fields.h"
#include "tokenizer/onig_regex.h"

namespace embtune {

namespace {
constexpr const char* kSupported =
    "BertPreTokenizer, ByteLevel, CharDelimiterSplit, Digits, Metaspace, Punctuation, Sequence, "
    "Split, Whitespace, WhitespaceSplit";

const char* const kBehaviorNames[] = {"Removed", "Isolated", "MergedWithPrevious",
                                      "MergedWithNext", "Contiguous"};
}  // namespace

Status pre_tokenizer_from_json(const nlohmann::json& j, std::unique_ptr<PreTokenizer>* out) {
  out->reset();
  if (j.is_null()) return Status();
  std::string type;
  ET_RETURN_IF_ERROR(json_read_type(j, "pre_tokenizer", &type));
  Status st;
  if (type == "BertPreTokenizer") {
    *out = make_bert_pre_tokenizer();
  } else if (type == "Whitespace") {
    *out = make_whitespace_pre_tokenizer();
  } else if (type == "Digits") {
    st = make_digits_pre_tokenizer(j, out);
  } else if (type == "WhitespaceSplit") {
    *out = make_whitespace_split_pre_tokenizer();
  } else if (type == "Punctuation") {
    st = make_punctuation_pre_tokenizer(j, out);
  } else if (type == "Metaspace") {
    st = make_metaspace_pre_tokenizer(j, out);
  } else if (type == "ByteLevel") {
    st = make_byte_level_pre_tokenizer(j, out);
  } else if (type == "Split") {
    st = make_split_pre_tokenizer(j, out);
  } else if (type == "CharDelimiterSplit") {
    st = make_char_delimiter_split_pre_tokenizer(j, out);
  } else if (type == "Sequence") {
    st = make_sequence_pre_tokenizer(j, out);
  } else {
    return make_error("pre_tokenizer type \"%s\" is not supported (supported: %s)", type.c_str(),
                      kSupported);
  }
  if (!st.ok()) return st.wrap("pre_tokenizer " + type);
  return Status();
}

Status split_behavior_from_json(const nlohmann::json& j, const char* key, SplitBehavior* out) {
  std::string name = split_behavior_name(*out);
  ET_RETURN_IF_ERROR(json_read_string(j, key, &name));
  for (int b = 0; b < 5; ++b) {
    if (name == kBehaviorNames[b]) {
      *out = static_cast<SplitBehavior>(b);
      return Status();
    }
  }
  return make_error("\"%s\": \"%s\" is not a split behavior (Removed, Isolated, "
                    "MergedWithPrevious, MergedWithNext or Contiguous)",
                    key, name.c_str());
}

const char* split_behavior_name(SplitBehavior b) { return kBehaviorNames[static_cast<int>(b)]; }

void split_at_matches(uint32_t begin, uint32_t end, const std::vector<CharRange>& matches,
                      SplitBehavior behavior, bool invert, std::vector<Split>* words) {
  struct Piece {
    uint32_t begin, end;
    bool is_match;
  };
  thread_local std::vector<Piece> pieces, merged;
  pieces.clear();
  uint32_t prev = begin;
  for (const CharRange& m : matches) {
    if (prev < m.first) pieces.push_back({prev, m.first, invert});
    pieces.push_back({m.first, m.second, !invert});
    prev = m.second;
  }
  if (prev < end) pieces.push_back({prev, end, invert});

  merged.clear();
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::kRemoved:
      for (const Piece& p : pieces) {
        if (!p.is_match) merged.push_back(p);
      }
      break;
    case SplitBehavior::kIsolated:
      merged = pieces;
      break;
    case SplitBehavior::kMergedWithPrevious:
      for (const Piece& p : pieces) {
        if (p.is_match && !previous_match && !merged.empty())
          merged.back().end = p.end;
        else
          merged.push_back(p);
        previous_match = p.is_match;
      }
      break;
    case SplitBehavior::kMergedWithNext:
      for (size_t k = pieces.size(); k-- > 0;) {
        const Piece& p = pieces[k];
        if (p.is_match && !previous_match && !merged.empty())
          merged.back().begin = p.begin;
        else
          merged.push_back(p);
        previous_match = p.is_match;
      }
      std::reverse(merged.begin(), merged.end());
      break;
    case SplitBehavior::kContiguous:
      for (const Piece& p : pieces) {
        if (p.is_match == previous_match && !merged.empty())
          merged.back().end = p.end;
        else
          merged.push_back(p);
        previous_match = p.is_match;
      }
      break;
  }
  for (const Piece& p : merged) {
    if (p.begin < p.end) words->push_back({p.begin, p.end, -1});
  }
}

void find_regex_matches(const OnigRegex& regex, const AlignedChar* chars, size_t n,
                        std::vector<CharRange>* matches) {
  thread_local std::string text;
  thread_local std::vector<uint32_t> char_at;  // char_at[byte] = index of the char it starts
  thread_local std::vector<std::pair<size_t, size_t>> bytes;
  text.clear();
  char_at.clear();
  for (size_t i = 0; i < n; ++i) {
    utf8_append(chars[i].c, &text);
    char_at.resize(text.size(), static_cast<uint32_t>(i));
  }
  char_at.push_back(static_cast<uint32_t>(n));
  bytes.clear();
  regex.find_all(text, &bytes);
  matches->clear();
  for (const auto& [b, e] : bytes) {
    if (b < e) matches->emplace_back(char_at[b], char_at[e]);
  }
}

}  // namespace embtune
