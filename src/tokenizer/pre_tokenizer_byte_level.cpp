// The "ByteLevel" pre-tokenizer (GPT-2, RoBERTa): optionally a leading space, the GPT-2 word
// regex, then every UTF-8 byte of a word becomes one printable character (GPT-2's
// bytes_to_unicode), aligned to the original character the byte belongs to.
// Not the ByteLevel post-processor or decoder: trim_offsets is read elsewhere, if at all.
#include <array>
#include <nlohmann/json.hpp>

#include "core/utf8.h"
#include "tokenizer/json_fields.h"
#include "tokenizer/onig_regex.h"
#include "tokenizer/pre_tokenizer.h"

namespace embtune {
namespace {

constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// GPT-2's bytes_to_unicode: printable bytes map to themselves, the others to U+0100 onwards.
std::array<char32_t, 256> make_byte_chars() {
  std::array<char32_t, 256> chars{};
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    chars[b] = printable ? static_cast<char32_t>(b) : next++;
  }
  return chars;
}

const std::array<char32_t, 256>& byte_chars() {
  static const std::array<char32_t, 256> chars = make_byte_chars();
  return chars;
}

class ByteLevelPreTokenizer : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, std::unique_ptr<OnigRegex> regex)
      : add_prefix_space_(add_prefix_space), regex_(std::move(regex)) {}

  void pre_tokenize(PreTokenizedString* s) const override {
    rewrite_splits(s, [this](const AlignedChar* chars, size_t n, std::vector<AlignedChar>* text,
                             std::vector<Split>* words) {
      thread_local std::vector<AlignedChar> piece;
      thread_local std::vector<CharRange> matches;
      thread_local std::vector<Split> piece_words;
      piece.clear();
      // The prepended space takes the range of the first character (HF's prepend).
      if (add_prefix_space_ && chars[0].c != ' ') piece.push_back({' ', chars[0].begin, chars[0].end});
      piece.insert(piece.end(), chars, chars + n);
      piece_words.clear();
      const uint32_t m = static_cast<uint32_t>(piece.size());
      if (regex_) {
        find_regex_matches(*regex_, piece.data(), m, &matches);
        split_at_matches(0, m, matches, SplitBehavior::kIsolated, false, &piece_words);
      } else {
        piece_words.push_back({0, m, -1});
      }
      const std::array<char32_t, 256>& map = byte_chars();
      std::string bytes;
      for (const Split& w : piece_words) {
        const uint32_t begin = static_cast<uint32_t>(text->size());
        for (uint32_t i = w.begin; i < w.end; ++i) {
          bytes.clear();
          utf8_append(piece[i].c, &bytes);
          for (unsigned char b : bytes) text->push_back({map[b], piece[i].begin, piece[i].end});
        }
        words->push_back({begin, static_cast<uint32_t>(text->size()), -1});
      }
    });
  }

  std::string describe() const override {
    std::string d = "ByteLevel(";
    d += add_prefix_space_ ? "prefix space" : "no prefix space";
    return d + (regex_ ? ", GPT-2 regex)" : ")");
  }

 private:
  bool add_prefix_space_;
  std::unique_ptr<OnigRegex> regex_;  // null when use_regex is false
};

}  // namespace

Status make_byte_level_pre_tokenizer(const nlohmann::json& j, std::unique_ptr<PreTokenizer>* out) {
  bool add_prefix_space = true, use_regex = true, trim_offsets = true;
  ET_RETURN_IF_ERROR(json_read_bool(j, "add_prefix_space", &add_prefix_space));
  ET_RETURN_IF_ERROR(json_read_bool(j, "use_regex", &use_regex));
  ET_RETURN_IF_ERROR(json_read_bool(j, "trim_offsets", &trim_offsets));
  std::unique_ptr<OnigRegex> regex;
  if (use_regex) ET_RETURN_IF_ERROR(OnigRegex::compile(kGpt2Pattern, &regex));
  *out = std::make_unique<ByteLevelPreTokenizer>(add_prefix_space, std::move(regex));
  return Status();
}

}  // namespace embtune
