// The "Sequence" post-processor: its "processors" applied one after another, as HF chains them.
// Not a post-processor of its own: it adds what its parts add.
#include <nlohmann/json.hpp>

#include "tokenizer/post_processor.h"

namespace embtune {
namespace {

class SequenceProcessing : public PostProcessor {
 public:
  explicit SequenceProcessing(std::vector<std::unique_ptr<PostProcessor>> parts)
      : parts_(std::move(parts)) {}

  int added_tokens(bool is_pair) const override {
    int n = 0;
    for (const auto& p : parts_) n += p->added_tokens(is_pair);
    return n;
  }

  Status process_encodings(std::vector<Encoding>* encs, bool add_special_tokens) const override {
    for (const auto& p : parts_) ET_RETURN_IF_ERROR(p->process_encodings(encs, add_special_tokens));
    return Status();
  }

  void process(Encoding* enc, bool add_special_tokens) const override {
    for (const auto& p : parts_) p->process(enc, add_special_tokens);
  }

  bool trims_offsets(bool* add_prefix_space) const override {
    for (const auto& p : parts_) {
      if (p->trims_offsets(add_prefix_space)) return true;
    }
    return false;
  }
  void attach_model(const Model& model) override {
    for (const auto& p : parts_) p->attach_model(model);
  }

  std::string describe() const override {
    std::string d = "Sequence(";
    for (size_t i = 0; i < parts_.size(); ++i) d += (i ? ", " : "") + parts_[i]->describe();
    return d + ")";
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> parts_;
};

}  // namespace

Status sequence_processing_from_json(const nlohmann::json& j,
                                     std::unique_ptr<PostProcessor>* out) {
  if (!j.contains("processors") || !j.at("processors").is_array()) {
    return make_error("post_processor Sequence needs a \"processors\" array");
  }
  std::vector<std::unique_ptr<PostProcessor>> parts;
  for (size_t i = 0; i < j.at("processors").size(); ++i) {
    std::unique_ptr<PostProcessor> p;
    Status st = post_processor_from_json(j.at("processors")[i], &p);
    if (!st.ok()) {
      return make_error("post_processor Sequence processor %zu: %s", i, st.message().c_str());
    }
    if (p) parts.push_back(std::move(p));
  }
  *out = std::make_unique<SequenceProcessing>(std::move(parts));
  return Status();
}

}  // namespace embtune
