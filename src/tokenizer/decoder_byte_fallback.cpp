// The "ByteFallback" decoder (Llama, Mistral): runs of byte tokens "<0xAB>" become the text their
// bytes spell, or one U+FFFD per byte when the run is not valid UTF-8. Not the BPE model's
// byte_fallback option, which produces those tokens.
#include <nlohmann/json.hpp>

#include "core/utf8.h"
#include "tokenizer/decoder.h"

namespace embtune {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// HF: a 6-byte "<0x..>" whose two characters parse with Rust's u8::from_str_radix(_, 16), which
// also takes a leading '+' ("<0x+A>" is byte 0x0A).
bool parse_byte_token(const std::string& t, unsigned char* byte) {
  if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return false;
  const int lo = hex_digit(t[4]);
  if (lo < 0) return false;
  if (t[3] == '+') {
    *byte = static_cast<unsigned char>(lo);
    return true;
  }
  const int hi = hex_digit(t[3]);
  if (hi < 0) return false;
  *byte = static_cast<unsigned char>(hi * 16 + lo);
  return true;
}

class ByteFallbackDecoder : public Decoder {
 public:
  Status decode_chain(std::vector<std::string>* tokens) const override {
    std::vector<std::string> out;
    out.reserve(tokens->size());
    std::string run;
    auto flush = [&]() {
      if (run.empty()) return;
      size_t bad = 0;
      if (utf8_valid(run, &bad)) {
        out.push_back(run);
      } else {
        out.insert(out.end(), run.size(), "\xEF\xBF\xBD");
      }
      run.clear();
    };
    for (std::string& t : *tokens) {
      unsigned char byte = 0;
      if (parse_byte_token(t, &byte)) {
        run += static_cast<char>(byte);
        continue;
      }
      flush();
      out.push_back(std::move(t));
    }
    flush();
    tokens->swap(out);
    return Status();
  }

  std::string describe() const override { return "ByteFallback"; }
};

}  // namespace

Status byte_fallback_decoder_from_json(const nlohmann::json&, std::unique_ptr<Decoder>* out) {
  *out = std::make_unique<ByteFallbackDecoder>();
  return Status();
}

}  // namespace embtune
