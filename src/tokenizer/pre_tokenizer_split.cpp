// The "Split" pre-tokenizer: cuts at the matches of a literal string or an Oniguruma regex, the
// matches treated per "behavior", the roles of matches and gaps swapped by "invert".
// Not a regex engine: regexes are compiled and run by onig_regex.cpp.
#include <nlohmann/json.hpp>

#include "core/utf8.h"
#include "tokenizer/json_fields.h"
#include "tokenizer/onig_regex.h"
#include "tokenizer/pre_tokenizer.h"

namespace embtune {
namespace {

class SplitPreTokenizer : public PreTokenizer {
 public:
  SplitPreTokenizer(std::string pattern, std::vector<char32_t> literal,
                    std::unique_ptr<OnigRegex> regex, SplitBehavior behavior, bool invert)
      : pattern_(std::move(pattern)),
        literal_(std::move(literal)),
        regex_(std::move(regex)),
        behavior_(behavior),
        invert_(invert) {}

  void pre_tokenize(PreTokenizedString* s) const override {
    thread_local std::vector<Split> words;  // swapped with s->splits: both buffers get reused
    thread_local std::vector<CharRange> matches;
    words.clear();
    const std::vector<AlignedChar>& chars = s->text.chars;
    for (const Split& split : s->splits) {
      if (split.id >= 0) {
        words.push_back(split);
        continue;
      }
      if (regex_) {
        find_regex_matches(*regex_, chars.data() + split.begin, split.end - split.begin, &matches);
        for (CharRange& m : matches) {
          m.first += split.begin;
          m.second += split.begin;
        }
      } else {
        find_literal(chars, split.begin, split.end, &matches);
      }
      split_at_matches(split.begin, split.end, matches, behavior_, invert_, &words);
    }
    s->splits.swap(words);
  }

  std::string describe() const override {
    return std::string("Split(") + (regex_ ? "regex " : "string ") + nlohmann::json(pattern_).dump() +
           ", " + split_behavior_name(behavior_) + (invert_ ? ", inverted)" : ")");
  }

 private:
  // Leftmost non-overlapping occurrences of literal_ in chars [begin, end).
  void find_literal(const std::vector<AlignedChar>& chars, uint32_t begin, uint32_t end,
                    std::vector<CharRange>* matches) const {
    matches->clear();
    const uint32_t n = static_cast<uint32_t>(literal_.size());
    if (n == 0) return;
    uint32_t i = begin;
    while (i + n <= end) {
      uint32_t k = 0;
      while (k < n && chars[i + k].c == literal_[k]) ++k;
      if (k == n) {
        matches->emplace_back(i, i + n);
        i += n;
      } else {
        ++i;
      }
    }
  }

  std::string pattern_;
  std::vector<char32_t> literal_;     // the String pattern, when regex_ is null
  std::unique_ptr<OnigRegex> regex_;  // the Regex pattern
  SplitBehavior behavior_;
  bool invert_;
};

}  // namespace

Status make_split_pre_tokenizer(const nlohmann::json& j, std::unique_ptr<PreTokenizer>* out) {
  if (!j.contains("pattern") || !j.at("pattern").is_object()) {
    return make_error("\"pattern\" must be an object {\"String\": ...} or {\"Regex\": ...}");
  }
  const nlohmann::json& p = j.at("pattern");
  std::string pattern;
  std::vector<char32_t> literal;
  std::unique_ptr<OnigRegex> regex;
  if (p.contains("Regex") && p.at("Regex").is_string()) {
    pattern = p.at("Regex").get<std::string>();
    Status st = OnigRegex::compile(pattern, &regex);
    if (!st.ok()) return st.wrap("pattern Regex \"" + pattern + "\"");
  } else if (p.contains("String") && p.at("String").is_string()) {
    pattern = p.at("String").get<std::string>();
    size_t bad = 0;
    if (!utf8_decode(pattern, &literal, &bad)) {
      return make_error("pattern String: invalid UTF-8 at byte %zu", bad);
    }
  } else {
    return make_error("\"pattern\" must hold a \"String\" or a \"Regex\" string");
  }
  SplitBehavior behavior = SplitBehavior::kRemoved;
  bool invert = false;
  ET_RETURN_IF_ERROR(split_behavior_from_json(j, "behavior", &behavior));
  ET_RETURN_IF_ERROR(json_read_bool(j, "invert", &invert));
  *out = std::make_unique<SplitPreTokenizer>(std::move(pattern), std::move(literal),
                                             std::move(regex), behavior, invert);
  return Status();
}

}  // namespace embtune
