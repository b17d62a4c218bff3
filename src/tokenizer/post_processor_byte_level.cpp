// The "ByteLevel" post-processor: adds no tokens; with trim_offsets, token offsets skip the
// spaces the token starts or ends with. Not the ByteLevel pre-tokenizer or decoder.
#include <nlohmann/json.hpp>

#include "tokenizer/json_fields.h"
#include "tokenizer/post_processor.h"

namespace embtune {
namespace {

class ByteLevelProcessing : public PostProcessor {
 public:
  ByteLevelProcessing(bool trim_offsets, bool add_prefix_space)
      : trim_offsets_(trim_offsets), add_prefix_space_(add_prefix_space) {}

  int added_tokens(bool) const override { return 0; }

  Status process_encodings(std::vector<Encoding>* encs, bool) const override {
    if (!trim_offsets_ || model_ == nullptr) return Status();
    for (Encoding& e : *encs) {
      encoding_trim_offsets(&e, *model_, add_prefix_space_);
      for (Encoding& o : e.overflowing) encoding_trim_offsets(&o, *model_, add_prefix_space_);
    }
    return Status();
  }

  void process(Encoding* enc, bool add_special_tokens) const override {
    if (trim_offsets_ && model_ != nullptr) encoding_trim_offsets(enc, *model_, add_prefix_space_);
    encoding_wrap(enc, add_special_tokens, {}, 0, {});
  }

  void attach_model(const Model& model) override { model_ = &model; }
  bool trims_offsets(bool* add_prefix_space) const override {
    *add_prefix_space = add_prefix_space_;
    return trim_offsets_;
  }

  std::string describe() const override {
    return trim_offsets_ ? "ByteLevel(trim_offsets)" : "ByteLevel";
  }

 private:
  bool trim_offsets_, add_prefix_space_;
  const Model* model_ = nullptr;
};

}  // namespace

Status byte_level_processing_from_json(const nlohmann::json& j,
                                       std::unique_ptr<PostProcessor>* out) {
  bool trim_offsets = true, add_prefix_space = true;  // HF's defaults
  ET_RETURN_IF_ERROR(json_read_bool(j, "trim_offsets", &trim_offsets));
  ET_RETURN_IF_ERROR(json_read_bool(j, "add_prefix_space", &add_prefix_space));
  *out = std::make_unique<ByteLevelProcessing>(trim_offsets, add_prefix_space);
  return Status();
}

}  // namespace embtune
