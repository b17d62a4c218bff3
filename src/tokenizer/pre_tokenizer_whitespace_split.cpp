// The "WhitespaceSplit" pre-tokenizer: splits on Unicode whitespace, which it drops.
// Not "Whitespace" (pre_tokenizer_whitespace.cpp), which also separates punctuation from words.
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/unicode.h"

namespace embtune {
namespace {

class WhitespaceSplitPreTokenizer : public PreTokenizer {
 public:
  void pre_tokenize(PreTokenizedString* s) const override {
    split_at_chars(s, is_whitespace, SplitBehavior::kRemoved, false);
  }

  std::string describe() const override { return "WhitespaceSplit"; }
};

}  // namespace

std::unique_ptr<PreTokenizer> make_whitespace_split_pre_tokenizer() {
  return std::make_unique<WhitespaceSplitPreTokenizer>();
}

}  // namespace embtune
