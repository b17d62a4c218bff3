// The "Sequence" pre-tokenizer: runs its "pretokenizers" one after the other on the words the
// previous one produced. Not a place for any cutting rule of its own.
#include <nlohmann/json.hpp>

#include "tokenizer/pre_tokenizer.h"

namespace embtune {
namespace {

class SequencePreTokenizer : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> stages)
      : stages_(std::move(stages)) {}

  void pre_tokenize(PreTokenizedString* s) const override {
    for (const auto& stage : stages_) stage->pre_tokenize(s);
  }

  std::string describe() const override {
    std::string d = "Sequence(";
    for (size_t i = 0; i < stages_.size(); ++i) d += (i ? ", " : "") + stages_[i]->describe();
    return d + ")";
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> stages_;
};

}  // namespace

Status make_sequence_pre_tokenizer(const nlohmann::json& j, std::unique_ptr<PreTokenizer>* out) {
  if (!j.contains("pretokenizers") || !j.at("pretokenizers").is_array()) {
    return make_error("\"pretokenizers\" must be an array");
  }
  std::vector<std::unique_ptr<PreTokenizer>> stages;
  for (size_t i = 0; i < j.at("pretokenizers").size(); ++i) {
    std::unique_ptr<PreTokenizer> stage;
    Status st = pre_tokenizer_from_json(j.at("pretokenizers").at(i), &stage);
    if (!st.ok()) return st.wrap("pretokenizers[" + std::to_string(i) + "]");
    if (stage) stages.push_back(std::move(stage));
  }
  *out = std::make_unique<SequencePreTokenizer>(std::move(stages));
  return Status();
}

}  // namespace embtune
