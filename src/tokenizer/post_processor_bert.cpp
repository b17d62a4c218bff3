// "BertProcessing": [CLS] $A [SEP] with type ids 0, pairs [CLS] $A [SEP] $B [SEP] with type ids 1
// from $B on (what BertTokenizerFast builds from vocab.txt).
// Not TemplateProcessing: no configurable pieces or type ids.
#include <nlohmann/json.hpp>

#include "tokenizer/post_processor.h"

namespace embtune {
namespace {

class BertProcessing : public PostProcessor {
 public:
  BertProcessing(std::pair<std::string, int32_t> cls, std::pair<std::string, int32_t> sep)
      : cls_(std::move(cls)),
        sep_(std::move(sep)),
        prefix_{{cls_.second, 0}},
        suffix_{{sep_.second, 0}},
        pair_suffix_{{sep_.second, 1}} {}

  int added_tokens(bool is_pair) const override { return is_pair ? 3 : 2; }

  void process(Encoding* enc, bool add_special_tokens) const override {
    encoding_wrap(enc, add_special_tokens, prefix_, 0, suffix_);
  }

  // The texts keep their type ids (0 for A, 1 for B); B gets only the closing [SEP], type id 1.
  Status process_encodings(std::vector<Encoding>* encs, bool add_special_tokens) const override {
    if (!add_special_tokens) return Status();
    for (size_t i = 0; i < encs->size(); ++i) {
      const std::vector<AddedSpecial>& prefix = i == 0 ? prefix_ : no_prefix_;
      const std::vector<AddedSpecial>& suffix = i == 0 ? suffix_ : pair_suffix_;
      Encoding& e = (*encs)[i];
      encoding_add_specials(&e, prefix, suffix);
      for (Encoding& o : e.overflowing) encoding_add_specials(&o, prefix, suffix);
    }
    return Status();
  }

  std::string describe() const override {
    return "BertProcessing(" + cls_.first + " $A " + sep_.first + ")";
  }

 private:
  std::pair<std::string, int32_t> cls_, sep_;
  std::vector<AddedSpecial> prefix_, suffix_, pair_suffix_, no_prefix_;
};

Status read_token_pair(const nlohmann::json& j, const char* key,
                       std::pair<std::string, int32_t>* out) {
  if (!j.contains(key)) return make_error("BertProcessing needs \"%s\": [token, id]", key);
  const nlohmann::json& v = j.at(key);
  if (!v.is_array() || v.size() != 2 || !v[0].is_string() || !v[1].is_number_integer()) {
    return make_error("BertProcessing \"%s\" must be [token, id]", key);
  }
  *out = {v[0].get<std::string>(), v[1].get<int32_t>()};
  return Status();
}

}  // namespace

std::unique_ptr<PostProcessor> make_bert_processing(std::pair<std::string, int32_t> cls,
                                                    std::pair<std::string, int32_t> sep) {
  return std::make_unique<BertProcessing>(std::move(cls), std::move(sep));
}

Status bert_processing_from_json(const nlohmann::json& j, std::unique_ptr<PostProcessor>* out) {
  std::pair<std::string, int32_t> cls, sep;
  ET_RETURN_IF_ERROR(read_token_pair(j, "cls", &cls));
  ET_RETURN_IF_ERROR(read_token_pair(j, "sep", &sep));
  *out = make_bert_processing(std::move(cls), std::move(sep));
  return Status();
}

}  // namespace embtune
