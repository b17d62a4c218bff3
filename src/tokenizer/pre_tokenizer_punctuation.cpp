// The "Punctuation" pre-tokenizer: cuts at each punctuation character (ASCII punctuation or a P*
// category), which the "behavior" field keeps alone (default), drops or glues to a neighbour.
// Not "BertPreTokenizer": it leaves whitespace where it is.
#include <nlohmann/json.hpp>

#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/unicode.h"

namespace embtune {
namespace {

class PunctuationPreTokenizer : public PreTokenizer {
 public:
  explicit PunctuationPreTokenizer(SplitBehavior behavior) : behavior_(behavior) {}

  void pre_tokenize(PreTokenizedString* s) const override {
    split_at_chars(s, is_bert_punctuation, behavior_, false);
  }

  std::string describe() const override {
    return std::string("Punctuation(") + split_behavior_name(behavior_) + ")";
  }

 private:
  SplitBehavior behavior_;
};

}  // namespace

Status make_punctuation_pre_tokenizer(const nlohmann::json& j, std::unique_ptr<PreTokenizer>* out) {
  SplitBehavior behavior = SplitBehavior::kIsolated;
  ET_RETURN_IF_ERROR(split_behavior_from_json(j, "behavior", &behavior));
  *out = std::make_unique<PunctuationPreTokenizer>(behavior);
  return Status();
}

}  // namespace embtune
