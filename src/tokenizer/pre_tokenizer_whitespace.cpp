// The "Whitespace" pre-tokenizer: keeps the runs of HF's \w+|[^\w\s]+ (word characters, or
// characters that are neither word nor space) and drops the whitespace between them.
// Not "WhitespaceSplit", which keeps punctuation glued to words (pre_tokenizer_whitespace_split).
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/unicode.h"

namespace embtune {
namespace {

class WhitespacePreTokenizer : public PreTokenizer {
 public:
  void pre_tokenize(PreTokenizedString* s) const override {
    thread_local std::vector<Split> words;  // swapped with s->splits: both buffers get reused
    words.clear();
    const std::vector<AlignedChar>& chars = s->text.chars;
    // 0 whitespace, 1 word, 2 other: a word is a maximal run of one class other than 0.
    auto kind = [](char32_t c) { return is_word_char(c) ? 1 : is_whitespace(c) ? 0 : 2; };
    for (const Split& split : s->splits) {
      if (split.id >= 0) {
        words.push_back(split);
        continue;
      }
      uint32_t i = split.begin;
      while (i < split.end) {
        const int k = kind(chars[i].c);
        uint32_t j = i + 1;
        while (j < split.end && kind(chars[j].c) == k) ++j;
        if (k != 0) words.push_back({i, j, -1});
        i = j;
      }
    }
    s->splits.swap(words);
  }

  std::string describe() const override { return "Whitespace"; }
};

}  // namespace

std::unique_ptr<PreTokenizer> make_whitespace_pre_tokenizer() {
  return std::make_unique<WhitespacePreTokenizer>();
}

}  // namespace embtune
