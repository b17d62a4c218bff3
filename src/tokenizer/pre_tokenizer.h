// The pre-tokenizer stage (tokenizer.json "pre_tokenizer"): cuts normalized text into words.
// An interface, one implementation per "type" in pre_tokenizer_<type>.cpp, and the factory.
// Not the model: words are turned into tokens by model_<type>.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "tokenizer/normalized_string.h"

namespace embtune {

// A piece of PreTokenizedString::text: characters [begin, end). `id` >= 0 marks an added token
// already resolved (stages leave it alone); -1 a piece still to be split and tokenized.
struct Split {
  uint32_t begin;
  uint32_t end;
  int32_t id;
};

struct PreTokenizedString {
  NormalizedString text;
  std::vector<Split> splits;  // in text order, non-empty
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces every split with id -1 by the words it contains (possibly none).
  virtual void pre_tokenize(PreTokenizedString* s) const = 0;
  virtual std::string describe() const = 0;
};

// Builds the pre-tokenizer a tokenizer.json object describes; a null `j` gives a null *out.
Status pre_tokenizer_from_json(const nlohmann::json& j, std::unique_ptr<PreTokenizer>* out);

// What becomes of the matches of a pattern when a split is cut at them (HF's
// SplitDelimiterBehavior): dropped, alone, glued to the piece before or after, or glued to the
// adjacent matches.
enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

// Reads j[key] ("Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous").
Status split_behavior_from_json(const nlohmann::json& j, const char* key, SplitBehavior* out);
const char* split_behavior_name(SplitBehavior b);

// A character range [begin, end) of PreTokenizedString::text.
using CharRange = std::pair<uint32_t, uint32_t>;

// Cuts characters [begin, end) at `matches` (sorted, disjoint, non-empty, inside it) as HF's
// NormalizedString::split does, `invert` swapping matches and the text between them; appends the
// non-empty pieces to *words as splits with id -1.
void split_at_matches(uint32_t begin, uint32_t end, const std::vector<CharRange>& matches,
                      SplitBehavior behavior, bool invert, std::vector<Split>* words);

class OnigRegex;

// The matches of `regex` in chars[0, n), as character ranges of it (empty matches left out).
void find_regex_matches(const OnigRegex& regex, const AlignedChar* chars, size_t n,
                        std::vector<CharRange>* matches);

// Cuts every split with id -1 at the characters for which is_match(c) holds, each such character
// being one match; added tokens pass through.
template <class IsMatch>
void split_at_chars(PreTokenizedString* s, IsMatch is_match, SplitBehavior behavior, bool invert) {
  thread_local std::vector<Split> words;  // swapped with s->splits: both buffers get reused
  thread_local std::vector<CharRange> matches;
  words.clear();
  for (const Split& split : s->splits) {
    if (split.id >= 0) {
      words.push_back(split);
      continue;
    }
    matches.clear();
    for (uint32_t i = split.begin; i < split.end; ++i) {
      if (is_match(s->text.chars[i].c)) matches.emplace_back(i, i + 1);
    }
    split_at_matches(split.begin, split.end, matches, behavior, invert, &words);
  }
  s->splits.swap(words);
}

// For stages that change characters: calls rewrite(chars, n, text, words) for every split with
// id -1, which appends the split's new characters to *text (a std::vector<AlignedChar>) and its
// words, as ranges of *text, to *words. Added tokens are copied through unchanged.
template <class Rewrite>
void rewrite_splits(PreTokenizedString* s, Rewrite rewrite) {
  std::vector<AlignedChar> text;
  text.reserve(s->text.chars.size() + s->text.chars.size() / 2 + 4);
  std::vector<Split> words;
  words.reserve(s->splits.size());
  for (const Split& split : s->splits) {
    const AlignedChar* chars = s->text.chars.data() + split.begin;
    const size_t n = split.end - split.begin;
    if (split.id >= 0) {
      const uint32_t base = static_cast<uint32_t>(text.size());
      text.insert(text.end(), chars, chars + n);
      words.push_back({base, base + static_cast<uint32_t>(n), split.id});
      continue;
    }
    rewrite(chars, n, &text, &words);
  }
  s->text.chars.swap(text);
  s->splits.swap(words);
}

std::unique_ptr<PreTokenizer> make_bert_pre_tokenizer();
std::unique_ptr<PreTokenizer> make_whitespace_pre_tokenizer();
std::unique_ptr<PreTokenizer> make_whitespace_split_pre_tokenizer();
// Each reads the options of its tokenizer.json object `j`.
Status make_punctuation_pre_tokenizer(const nlohmann::json& j, std::unique_ptr<PreTokenizer>* out);
Status make_digits_pre_tokenizer(const nlohmann::json& j, std::unique_ptr<PreTokenizer>* out);
Status make_metaspace_pre_tokenizer(const nlohmann::json& j, std::unique_ptr<PreTokenizer>* out);
Status make_byte_level_pre_tokenizer(const nlohmann::json& j, std::unique_ptr<PreTokenizer>* out);
Status make_split_pre_tokenizer(const nlohmann::json& j, std::unique_ptr<PreTokenizer>* out);
Status make_char_delimiter_split_pre_tokenizer(const nlohmann::json& j,
                                               std::unique_ptr<PreTokenizer>* out);
Status make_sequence_pre_tokenizer(const nlohmann::json& j, std::unique_ptr<PreTokenizer>* out);

}  // namespace embtune
