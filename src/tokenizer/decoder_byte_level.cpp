// The "ByteLevel" decoder (GPT-2, RoBERTa): each token's characters are mapped back to the bytes
// GPT-2's bytes_to_unicode gave them, all tokens' bytes are joined and read as UTF-8 with
// invalid sequences replaced by U+FFFD (Rust's String::from_utf8_lossy); the result is one token.
// Not the ByteLevel pre-tokenizer or post-processor: add_prefix_space, trim_offsets and use_regex
// play no part in decoding.
#include <array>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "core/utf8.h"
#include "tokenizer/decoder.h"

namespace embtune {
namespace {

// The inverse of GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the
// others for U+0100 onwards in byte order.
std::unordered_map<char32_t, unsigned char> build_char_bytes() {
  std::unordered_map<char32_t, unsigned char> bytes;
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    bytes[printable ? static_cast<char32_t>(b) : next++] = static_cast<unsigned char>(b);
  }
  return bytes;
}

// Rust's String::from_utf8_lossy: each maximal prefix of a valid sequence that cannot be
// completed (or a byte that cannot start one) becomes one U+FFFD.
std::string utf8_lossy(const std::string& bytes) {
  std::string out;
  out.reserve(bytes.size());
  const auto* s = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char b = s[i];
    if (b < 0x80) {
      out += static_cast<char>(b);
      ++i;
      continue;
    }
    size_t width = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (b >= 0xC2 && b <= 0xDF) {
      width = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
      width = 3;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      width = 4;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;
    }
    size_t len = 1;  // bytes of the sequence seen valid so far
    if (width > 0) {
      while (len < width && i + len < n) {
        const unsigned char c = s[i + len];
        const bool ok = len == 1 ? (c >= lo && c <= hi) : (c >= 0x80 && c <= 0xBF);
        if (!ok) break;
        ++len;
      }
    }
    if (width > 0 && len == width) {
      out.append(bytes, i, width);
    } else {
      out += "\xEF\xBF\xBD";
    }
    i += len;
  }
  return out;
}

class ByteLevelDecoder : public Decoder {
 public:
  Status decode_chain(std::vector<std::string>* tokens) const override {
    static const std::unordered_map<char32_t, unsigned char> char_bytes = build_char_bytes();
    std::string bytes;
    std::vector<char32_t> cps;
    for (const std::string& t : *tokens) {
      cps.clear();
      size_t bad = 0;
      if (!utf8_decode(t, &cps, &bad)) return make_error("ByteLevel decoder: a token is not UTF-8");
      // A token with a character outside the byte alphabet keeps its own UTF-8 bytes (HF).
      const size_t start = bytes.size();
      bool all_mapped = true;
      for (char32_t c : cps) {
        auto it = char_bytes.find(c);
        if (it == char_bytes.end()) {
          all_mapped = false;
          break;
        }
        bytes += static_cast<char>(it->second);
      }
      if (!all_mapped) {
        bytes.resize(start);
        bytes += t;
      }
    }
    tokens->assign(1, utf8_lossy(bytes));
    return Status();
  }

  std::string describe() const override { return "ByteLevel"; }
};

}  // namespace

Status byte_level_decoder_from_json(const nlohmann::json&, std::unique_ptr<Decoder>* out) {
  *out = std::make_unique<ByteLevelDecoder>();
  return Status();
}

}  // namespace embtune
