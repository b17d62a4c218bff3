// The "CharDelimiterSplit" pre-tokenizer: splits on one delimiter character, which it drops.
// Not "Split": no patterns, no other behaviors.
#include <nlohmann/json.hpp>

#include "core/utf8.h"
#include "tokenizer/json_fields.h"
#include "tokenizer/pre_tokenizer.h"

namespace embtune {
namespace {

class CharDelimiterSplitPreTokenizer : public PreTokenizer {
 public:
  explicit CharDelimiterSplitPreTokenizer(char32_t delimiter) : delimiter_(delimiter) {}

  void pre_tokenize(PreTokenizedString* s) const override {
    const char32_t d = delimiter_;
    split_at_chars(s, [d](char32_t c) { return c == d; }, SplitBehavior::kRemoved, false);
  }

  std::string describe() const override {
    std::string d = "CharDelimiterSplit(";
    utf8_append(delimiter_, &d);
    return d + ")";
  }

 private:
  char32_t delimiter_;
};

}  // namespace

Status make_char_delimiter_split_pre_tokenizer(const nlohmann::json& j,
                                               std::unique_ptr<PreTokenizer>* out) {
  std::string delimiter;
  ET_RETURN_IF_ERROR(json_read_string(j, "delimiter", &delimiter));
  std::vector<char32_t> cps;
  size_t bad = 0;
  if (!utf8_decode(delimiter, &cps, &bad) || cps.size() != 1) {
    return make_error("\"delimiter\": \"%s\" is not one character", delimiter.c_str());
  }
  *out = std::make_unique<CharDelimiterSplitPreTokenizer>(cps[0]);
  return Status();
}

}  // namespace embtune
