// The "ByteLevel" normalizer: each UTF-8 byte becomes GPT-2's printable stand-in character (the
// first byte of a character replaces it, the others are inserted after it). Not the ByteLevel
// pre-tokenizer: no splitting and no prefix space.
#include <array>
#include <nlohmann/json.hpp>

#include "core/utf8.h"
#include "tokenizer/normalizer.h"

namespace embtune {
namespace {

// GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the others take
// U+0100 onwards in byte order.
std::array<char32_t, 256> build_byte_chars() {
  std::array<char32_t, 256> map{};
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
    map[b] = printable ? static_cast<char32_t>(b) : next++;
  }
  return map;
}

class ByteLevelNormalizer : public Normalizer {
 public:
  void normalize(NormalizedString* s) const override {
    static const std::array<char32_t, 256> byte_chars = build_byte_chars();
    if (s->chars.empty()) return;
    std::vector<std::pair<char32_t, int>> dest;
    dest.reserve(s->chars.size() * 2);
    std::string bytes;
    for (const AlignedChar& a : s->chars) {
      bytes.clear();
      utf8_append(a.c, &bytes);
      for (size_t k = 0; k < bytes.size(); ++k) {
        dest.emplace_back(byte_chars[static_cast<unsigned char>(bytes[k])], k > 0 ? 1 : 0);
      }
    }
    s->transform(dest, 0);
  }
  std::string describe() const override { return "ByteLevel"; }
};

}  // namespace

Status byte_level_normalizer_from_json(const nlohmann::json& j,
                                       std::unique_ptr<Normalizer>* out) {
  *out = std::make_unique<ByteLevelNormalizer>();
  return Status();
}

}  // namespace embtune
