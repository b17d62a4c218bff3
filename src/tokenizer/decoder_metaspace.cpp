// The "Metaspace" decoder (SentencePiece style): the replacement character ("▁") becomes a space,
// except in the first token, where every one is dropped unless prepend_scheme is "never".
// Not the Metaspace pre-tokenizer: "split" is accepted and plays no part in decoding.
#include <nlohmann/json.hpp>

#include "core/utf8.h"
#include "tokenizer/decoder.h"
#include "tokenizer/json_fields.h"

namespace embtune {
namespace {

class MetaspaceDecoder : public Decoder {
 public:
  MetaspaceDecoder(char32_t replacement, bool drop_in_first, std::string scheme)
      : replacement_(replacement), drop_in_first_(drop_in_first), scheme_(std::move(scheme)) {}

  Status decode_chain(std::vector<std::string>* tokens) const override {
    std::vector<char32_t> cps;
    for (size_t i = 0; i < tokens->size(); ++i) {
      std::string& t = (*tokens)[i];
      cps.clear();
      size_t bad = 0;
      if (!utf8_decode(t, &cps, &bad)) return make_error("Metaspace decoder: a token is not UTF-8");
      t.clear();
      for (char32_t c : cps) {
        if (c != replacement_) {
          utf8_append(c, &t);
        } else if (i != 0 || !drop_in_first_) {
          t += ' ';
        }
      }
    }
    return Status();
  }

  std::string describe() const override {
    std::string d = "Metaspace(";
    utf8_append(replacement_, &d);
    return d + ", prepend " + scheme_ + ")";
  }

 private:
  char32_t replacement_;
  bool drop_in_first_;  // prepend_scheme is "always" or "first"
  std::string scheme_;
};

}  // namespace

Status metaspace_decoder_from_json(const nlohmann::json& j, std::unique_ptr<Decoder>* out) {
  std::string replacement = "\xE2\x96\x81";
  ET_RETURN_IF_ERROR(json_read_string(j, "replacement", &replacement).wrap("Metaspace decoder"));
  std::vector<char32_t> cps;
  size_t bad = 0;
  if (!utf8_decode(replacement, &cps, &bad) || cps.size() != 1) {
    return make_error("Metaspace decoder: \"replacement\": \"%s\" is not one character",
                      replacement.c_str());
  }
  // prepend_scheme defaults to "always"; the older add_prefix_space may only say false together
  // with "never" (HF refuses any other combination, and so do we).
  std::string scheme = "always";
  bool split = true;
  ET_RETURN_IF_ERROR(json_read_string(j, "prepend_scheme", &scheme).wrap("Metaspace decoder"));
  ET_RETURN_IF_ERROR(json_read_bool(j, "split", &split).wrap("Metaspace decoder"));
  if (scheme != "always" && scheme != "first" && scheme != "never") {
    return make_error("Metaspace decoder: \"prepend_scheme\": \"%s\" is not always, first or never",
                      scheme.c_str());
  }
  bool add_prefix_space = true;
  ET_RETURN_IF_ERROR(json_read_bool(j, "add_prefix_space", &add_prefix_space)
                         .wrap("Metaspace decoder"));
  if (!add_prefix_space && scheme != "never") {
    return make_error("Metaspace decoder: \"add_prefix_space\": false does not match "
                      "\"prepend_scheme\" (give \"never\", as Hugging Face tokenizers requires)");
  }
  *out = std::make_unique<MetaspaceDecoder>(cps[0], scheme != "never", scheme);
  return Status();
}

}  // namespace embtune
