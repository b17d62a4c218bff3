// The "Fuse" decoder: all tokens joined into one, so that later decoders of a Sequence see the
// whole text. Not a separator: nothing is inserted between the tokens.
#include <nlohmann/json.hpp>

#include "tokenizer/decoder.h"

namespace embtune {
namespace {

class FuseDecoder : public Decoder {
 public:
  Status decode_chain(std::vector<std::string>* tokens) const override {
    std::string joined;
    for (const std::string& t : *tokens) joined += t;
    tokens->assign(1, std::move(joined));
    return Status();
  }

  std::string describe() const override { return "Fuse"; }
};

}  // namespace

Status fuse_decoder_from_json(const nlohmann::json&, std::unique_ptr<Decoder>* out) {
  *out = std::make_unique<FuseDecoder>();
  return Status();
}

}  // namespace embtune
