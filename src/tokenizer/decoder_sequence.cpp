// The "Sequence" decoder: each decoder's decode_chain runs on the previous one's output (Llama:
// Replace, ByteFallback, Fuse, Strip). Not a join: the last decoder's tokens are concatenated by
// the caller.
#include <nlohmann/json.hpp>

#include "tokenizer/decoder.h"

namespace embtune {
namespace {

class SequenceDecoder : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> decoders)
      : decoders_(std::move(decoders)) {}

  Status decode_chain(std::vector<std::string>* tokens) const override {
    for (const auto& d : decoders_) ET_RETURN_IF_ERROR(d->decode_chain(tokens));
    return Status();
  }

  std::string describe() const override {
    std::string d = "Sequence(";
    for (size_t i = 0; i < decoders_.size(); ++i) {
      if (i > 0) d += ", ";
      d += decoders_[i]->describe();
    }
    return d + ")";
  }

 private:
  std::vector<std::unique_ptr<Decoder>> decoders_;
};

}  // namespace

Status sequence_decoder_from_json(const nlohmann::json& j, std::unique_ptr<Decoder>* out) {
  if (!j.contains("decoders") || !j.at("decoders").is_array()) {
    return make_error("Sequence decoder: \"decoders\" must be an array");
  }
  std::vector<std::unique_ptr<Decoder>> decoders;
  size_t index = 0;
  for (const nlohmann::json& item : j.at("decoders")) {
    std::unique_ptr<Decoder> d;
    Status st = item.is_null() ? make_error("decoder must be an object") : decoder_from_json(item, &d);
    if (!st.ok()) return st.wrap("Sequence decoder: decoders[" + std::to_string(index) + "]");
    decoders.push_back(std::move(d));
    ++index;
  }
  *out = std::make_unique<SequenceDecoder>(std::move(decoders));
  return Status();
}

}  // namespace embtune
