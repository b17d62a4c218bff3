// The "Replace" normalizer: every match of {"String": s} (literally) or {"Regex": r} (Oniguruma)
// becomes "content", aligned as HF's NormalizedString::replace does it. Not a regex substitution:
// "content" is literal ($1 is not expanded, as in HF tokenizers 0.23).
#include <nlohmann/json.hpp>

#include "core/utf8.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/onig_regex.h"

namespace embtune {
namespace {

class ReplaceNormalizer : public Normalizer {
 public:
  ReplaceNormalizer(std::unique_ptr<OnigRegex> regex, std::string pattern_desc,
                    std::vector<char32_t> content)
      : regex_(std::move(regex)),
        pattern_desc_(std::move(pattern_desc)),
        content_(std::move(content)) {}

  void normalize(NormalizedString* s) const override {
    std::string text;
    std::vector<uint32_t> char_at_byte;  // char index of each byte, plus one entry for the end
    text.reserve(s->chars.size());
    char_at_byte.reserve(s->chars.size() + 1);
    for (size_t i = 0; i < s->chars.size(); ++i) {
      size_t before = text.size();
      utf8_append(s->chars[i].c, &text);
      char_at_byte.insert(char_at_byte.end(), text.size() - before, static_cast<uint32_t>(i));
    }
    char_at_byte.push_back(static_cast<uint32_t>(s->chars.size()));
    std::vector<std::pair<size_t, size_t>> matches;
    regex_->find_all(text, &matches);
    if (matches.empty()) return;

    // Each replacement character takes the range of the last matched character, or of the
    // character before an empty match (HF: a character inserted after the removed ones).
    std::vector<AlignedChar> result;
    result.reserve(s->chars.size());
    size_t pos = 0;
    for (const auto& [b, e] : matches) {
      const size_t cb = char_at_byte[b];
      const size_t ce = char_at_byte[e];
      result.insert(result.end(), s->chars.begin() + static_cast<std::ptrdiff_t>(pos),
                    s->chars.begin() + static_cast<std::ptrdiff_t>(cb));
      uint32_t begin, end;
      if (ce > 0) {
        begin = s->chars[ce - 1].begin;
        end = s->chars[ce - 1].end;
      } else {
        begin = end = s->chars.empty() ? 0 : s->chars.front().begin;  // HF's (0, 0)
      }
      for (char32_t c : content_) result.push_back({c, begin, end});
      pos = ce;
    }
    result.insert(result.end(), s->chars.begin() + static_cast<std::ptrdiff_t>(pos),
                  s->chars.end());
    s->chars.swap(result);
  }

  std::string describe() const override { return "Replace(" + pattern_desc_ + ")"; }

 private:
  std::unique_ptr<OnigRegex> regex_;
  std::string pattern_desc_;
  std::vector<char32_t> content_;
};

}  // namespace

Status replace_normalizer_from_json(const nlohmann::json& j, std::unique_ptr<Normalizer>* out) {
  if (!j.contains("pattern") || !j.at("pattern").is_object()) {
    return make_error(
        "Replace normalizer: \"pattern\" must be an object {\"String\": ...} or {\"Regex\": ...}");
  }
  if (!j.contains("content") || !j.at("content").is_string()) {
    return make_error("Replace normalizer: \"content\" must be a string");
  }
  std::string desc;
  std::unique_ptr<OnigRegex> regex;
  ET_RETURN_IF_ERROR(compile_pattern_json(j.at("pattern"), "Replace normalizer", &regex, &desc));
  const std::string content = j.at("content").get<std::string>();
  std::vector<char32_t> content_chars;
  size_t bad = 0;
  if (!utf8_decode(content, &content_chars, &bad)) {
    return make_error("Replace normalizer: \"content\" is not valid UTF-8 at byte %zu", bad);
  }
  *out = std::make_unique<ReplaceNormalizer>(std::move(regex), desc, std::move(content_chars));
  return Status();
}

}  // namespace embtune
