// The "BPEDecoder" (original BPE, e.g. CLIP's "</w>"): the end-of-word suffix becomes a space in
// every token but the last, where it is removed. Not the BPE model, and not the ByteLevel decoder
// most BPE tokenizers use.
#include <nlohmann/json.hpp>

#include "tokenizer/decoder.h"
#include "tokenizer/json_fields.h"

namespace embtune {
namespace {

class BpeDecoder : public Decoder {
 public:
  explicit BpeDecoder(std::string suffix) : suffix_(std::move(suffix)) {}

  Status decode_chain(std::vector<std::string>* tokens) const override {
    for (size_t i = 0; i < tokens->size(); ++i) {
      std::string& t = (*tokens)[i];
      t = rust_str_replace(t, suffix_, i + 1 == tokens->size() ? "" : " ");
    }
    return Status();
  }

  std::string describe() const override { return "BPEDecoder(" + suffix_ + ")"; }

 private:
  std::string suffix_;
};

}  // namespace

Status bpe_decoder_from_json(const nlohmann::json& j, std::unique_ptr<Decoder>* out) {
  std::string suffix = "</w>";
  ET_RETURN_IF_ERROR(json_read_string(j, "suffix", &suffix).wrap("BPEDecoder"));
  *out = std::make_unique<BpeDecoder>(suffix);
  return Status();
}

}  // namespace embtune
