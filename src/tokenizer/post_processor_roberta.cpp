// "RobertaProcessing": <s> $A </s>, pairs <s> $A </s> </s> $B </s>, every type id 0, offsets
// trimmed of spaces when trim_offsets. Not TemplateProcessing: no configurable pieces.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "tokenizer/json_fields.h"
#include "tokenizer/post_processor.h"

namespace embtune {
namespace {

class RobertaProcessing : public PostProcessor {
 public:
  RobertaProcessing(std::pair<std::string, int32_t> cls, std::pair<std::string, int32_t> sep,
                    bool trim_offsets, bool add_prefix_space)
      : cls_(std::move(cls)),
        sep_(std::move(sep)),
        trim_offsets_(trim_offsets),
        add_prefix_space_(add_prefix_space),
        prefix_{{cls_.second, 0}},
        suffix_{{sep_.second, 0}} {}

  int added_tokens(bool is_pair) const override { return is_pair ? 4 : 2; }

  // As HF: the type ids of the texts become 0, but those of the overflowing windows only when the
  // special tokens are added (without them, windows of text B keep type id 1).
  Status process_encodings(std::vector<Encoding>* encs, bool add_special_tokens) const override {
    for (Encoding& e : *encs) {
      if (trim_offsets_ && model_ != nullptr) {
        encoding_trim_offsets(&e, *model_, add_prefix_space_);
        for (Encoding& o : e.overflowing) encoding_trim_offsets(&o, *model_, add_prefix_space_);
      }
      std::fill(e.type_ids.begin(), e.type_ids.end(), 0);
    }
    if (!add_special_tokens) return Status();
    for (size_t i = 0; i < encs->size(); ++i) {
      const std::vector<AddedSpecial>& prefix = i == 0 ? prefix_ : suffix_;
      Encoding& e = (*encs)[i];
      encoding_add_specials(&e, prefix, suffix_);
      for (Encoding& o : e.overflowing) encoding_wrap(&o, true, prefix, 0, suffix_);
    }
    return Status();
  }

  void process(Encoding* enc, bool add_special_tokens) const override {
    if (trim_offsets_ && model_ != nullptr) encoding_trim_offsets(enc, *model_, add_prefix_space_);
    encoding_wrap(enc, add_special_tokens, prefix_, 0, suffix_);
  }

  void attach_model(const Model& model) override { model_ = &model; }
  bool trims_offsets(bool* add_prefix_space) const override {
    *add_prefix_space = add_prefix_space_;
    return trim_offsets_;
  }

  std::string describe() const override {
    return "RobertaProcessing(" + cls_.first + " $A " + sep_.first +
           (trim_offsets_ ? ", trim_offsets)" : ")");
  }

 private:
  std::pair<std::string, int32_t> cls_, sep_;
  bool trim_offsets_, add_prefix_space_;
  std::vector<AddedSpecial> prefix_, suffix_;
  const Model* model_ = nullptr;
};

// `*out` keeps its default when `key` is absent.
Status read_token_pair(const nlohmann::json& j, const char* key,
                       std::pair<std::string, int32_t>* out) {
  if (!j.contains(key)) return Status();
  const nlohmann::json& v = j.at(key);
  if (!v.is_array() || v.size() != 2 || !v[0].is_string() || !v[1].is_number_integer()) {
    return make_error("RobertaProcessing \"%s\" must be [token, id]", key);
  }
  *out = {v[0].get<std::string>(), v[1].get<int32_t>()};
  return Status();
}

}  // namespace

Status roberta_processing_from_json(const nlohmann::json& j, std::unique_ptr<PostProcessor>* out) {
  std::pair<std::string, int32_t> cls{"<s>", 0}, sep{"</s>", 2};  // HF's defaults
  bool trim_offsets = true, add_prefix_space = true;
  ET_RETURN_IF_ERROR(read_token_pair(j, "cls", &cls));
  ET_RETURN_IF_ERROR(read_token_pair(j, "sep", &sep));
  ET_RETURN_IF_ERROR(json_read_bool(j, "trim_offsets", &trim_offsets));
  ET_RETURN_IF_ERROR(json_read_bool(j, "add_prefix_space", &add_prefix_space));
  *out = std::make_unique<RobertaProcessing>(std::move(cls), std::move(sep), trim_offsets,
                                             add_prefix_space);
  return Status();
}

}  // namespace embtune
