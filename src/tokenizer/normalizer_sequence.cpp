// The "Sequence" normalizer: applies its "normalizers" in order.
// Not a parallel composition: each normalizer sees the previous one's output.
#include <nlohmann/json.hpp>
#include <vector>

#include "tokenizer/normalizer.h"

namespace embtune {
namespace {

class SequenceNormalizer : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps)
      : steps_(std::move(steps)) {}

  void normalize(NormalizedString* s) const override {
    for (const auto& step : steps_) step->normalize(s);
  }

  std::string describe() const override {
    std::string d = "Sequence[";
    for (size_t i = 0; i < steps_.size(); ++i) d += (i ? ", " : "") + steps_[i]->describe();
    return d + "]";
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

}  // namespace

Status sequence_normalizer_from_json(const nlohmann::json& j, std::unique_ptr<Normalizer>* out) {
  if (!j.contains("normalizers") || !j.at("normalizers").is_array()) {
    return make_error("Sequence normalizer needs a \"normalizers\" array");
  }
  std::vector<std::unique_ptr<Normalizer>> steps;
  size_t index = 0;
  for (const nlohmann::json& item : j.at("normalizers")) {
    std::unique_ptr<Normalizer> step;
    Status st = normalizer_from_json(item, &step);
    if (!st.ok()) return st.wrap("normalizers[" + std::to_string(index) + "]");
    if (step) steps.push_back(std::move(step));
    ++index;
  }
  *out = std::make_unique<SequenceNormalizer>(std::move(steps));
  return Status();
}

}  // namespace embtune
