// The "Digits" pre-tokenizer: separates numeric characters (Rust char::is_numeric: categories Nd,
// Nl, No) from the rest, as runs or, with individual_digits, one by one.
// Not a number parser: "3.5" gives "3", ".", "5".
#include <nlohmann/json.hpp>

#include "tokenizer/json_fields.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/unicode.h"
#include "tokenizer/unicode_tables.h"

namespace embtune {
namespace {

// Rust's char::is_numeric as HF's build has it (unicode_tables.h): newer than utf8proc's tables.
bool is_numeric(char32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  return codepoint_in(hf_numeric, c);
}

class DigitsPreTokenizer : public PreTokenizer {
 public:
  explicit DigitsPreTokenizer(bool individual_digits) : individual_digits_(individual_digits) {}

  void pre_tokenize(PreTokenizedString* s) const override {
    split_at_chars(s, is_numeric,
                   individual_digits_ ? SplitBehavior::kIsolated : SplitBehavior::kContiguous,
                   false);
  }

  std::string describe() const override {
    return individual_digits_ ? "Digits(individual)" : "Digits";
  }

 private:
  bool individual_digits_;
};

}  // namespace

Status make_digits_pre_tokenizer(const nlohmann::json& j, std::unique_ptr<PreTokenizer>* out) {
  bool individual = false;
  ET_RETURN_IF_ERROR(json_read_bool(j, "individual_digits", &individual));
  *out = std::make_unique<DigitsPreTokenizer>(individual);
  return Status();
}

}  // namespace embtune
