// The "CTC" decoder (wav2vec2-style character models): repeated consecutive tokens collapse to
// one, the pad token is removed from each, and with "cleanup" each token also gets
// wordpiece_cleanup and the word delimiter turned into a space; tokens left empty are dropped.
// Not a beam search or any use of model scores: it only rewrites the token strings.
#include <nlohmann/json.hpp>

#include "tokenizer/decoder.h"
#include "tokenizer/json_fields.h"

namespace embtune {
namespace {

class CtcDecoder : public Decoder {
 public:
  CtcDecoder(std::string pad_token, std::string word_delimiter_token, bool cleanup)
      : pad_token_(std::move(pad_token)),
        word_delimiter_token_(std::move(word_delimiter_token)),
        cleanup_(cleanup) {}

  Status decode_chain(std::vector<std::string>* tokens) const override {
    std::vector<std::string> out;
    out.reserve(tokens->size());
    for (size_t i = 0; i < tokens->size(); ++i) {
      const std::string& t = (*tokens)[i];
      if (i > 0 && t == (*tokens)[i - 1]) continue;  // itertools' dedup
      std::string r = rust_str_replace(t, pad_token_, "");
      if (cleanup_) r = rust_str_replace(wordpiece_cleanup(std::move(r)), word_delimiter_token_, " ");
      if (!r.empty()) out.push_back(std::move(r));
    }
    tokens->swap(out);
    return Status();
  }

  std::string describe() const override {
    return "CTC(" + pad_token_ + ", " + word_delimiter_token_ + (cleanup_ ? ", cleanup)" : ")");
  }

 private:
  std::string pad_token_;
  std::string word_delimiter_token_;
  bool cleanup_;
};

}  // namespace

Status ctc_decoder_from_json(const nlohmann::json& j, std::unique_ptr<Decoder>* out) {
  std::string pad_token = "<pad>", word_delimiter_token = "|";
  bool cleanup = true;
  ET_RETURN_IF_ERROR(json_read_string(j, "pad_token", &pad_token).wrap("CTC decoder"));
  ET_RETURN_IF_ERROR(
      json_read_string(j, "word_delimiter_token", &word_delimiter_token).wrap("CTC decoder"));
  ET_RETURN_IF_ERROR(json_read_bool(j, "cleanup", &cleanup).wrap("CTC decoder"));
  *out = std::make_unique<CtcDecoder>(pad_token, word_delimiter_token, cleanup);
  return Status();
}

}  // namespace embtune
