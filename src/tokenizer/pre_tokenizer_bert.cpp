// The "BertPreTokenizer": splits on whitespace (dropped) and isolates each punctuation character.
// Not a normalizer: it never changes characters, only where words begin and end.
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/unicode.h"

namespace embtune {
namespace {

class BertPreTokenizer : public PreTokenizer {
 public:
  void pre_tokenize(PreTokenizedString* s) const override {
    thread_local std::vector<Split> words;  // swapped with s->splits: both buffers get reused
    words.clear();
    const std::vector<AlignedChar>& chars = s->text.chars;
    for (const Split& split : s->splits) {
      if (split.id >= 0) {
        words.push_back(split);
        continue;
      }
      uint32_t word_begin = split.begin;
      for (uint32_t i = split.begin; i < split.end; ++i) {
        char32_t c = chars[i].c;
        if (is_whitespace(c)) {
          if (word_begin < i) words.push_back({word_begin, i, -1});
          word_begin = i + 1;
        } else if (is_bert_punctuation(c)) {
          if (word_begin < i) words.push_back({word_begin, i, -1});
          words.push_back({i, i + 1, -1});
          word_begin = i + 1;
        }
      }
      if (word_begin < split.end) words.push_back({word_begin, split.end, -1});
    }
    s->splits.swap(words);
  }

  std::string describe() const override { return "BertPreTokenizer"; }
};

}  // namespace

std::unique_ptr<PreTokenizer> make_bert_pre_tokenizer() {
  return std::make_unique<BertPreTokenizer>();
}

}  // namespace embtune
