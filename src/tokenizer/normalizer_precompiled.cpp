// The "Precompiled" normalizer: SentencePiece's precompiled_charsmap (a Darts double-array trie
// over UTF-8 plus a blob of NUL-terminated replacements) applied grapheme by grapheme as HF's
// normalizers/precompiled.rs and the spm_precompiled crate do. Not SentencePiece's own
// normalizer: HF takes the SHORTEST trie match of a whole grapheme (under 6 bytes) or of each
// character, never SentencePiece's longest match over the running text.
#include <utf8proc.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "core/utf8.h"
#include "tokenizer/normalizer.h"

namespace embtune {
namespace {

bool base64_decode(const std::string& in, std::string* out) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  out->clear();
  out->reserve(in.size() / 4 * 3);
  uint32_t acc = 0;
  int bits = 0;
  size_t i = 0;
  for (; i < in.size() && in[i] != '='; ++i) {
    int v = value(in[i]);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  for (; i < in.size(); ++i) {
    if (in[i] != '=') return false;
  }
  return true;
}

// Darts-clone's double array, read as the spm_precompiled crate reads it.
class DoubleArray {
 public:
  explicit DoubleArray(std::vector<uint32_t> units) : units_(std::move(units)) {}

  // The value of the shortest key that is a prefix of `key` (stopping at a NUL byte), or -1.
  int64_t first_prefix_value(std::string_view key) const {
    size_t node = 0;
    if (units_.empty()) return -1;
    node ^= offset(units_[node]);
    for (unsigned char c : key) {
      if (c == 0) break;
      node ^= c;
      if (node >= units_.size()) return -1;
      const uint32_t unit = units_[node];
      if (label(unit) != c) return -1;
      node ^= offset(unit);
      if (has_leaf(unit)) {
        if (node >= units_.size()) return -1;
        return units_[node] & ((1u << 31) - 1);
      }
    }
    return -1;
  }

 private:
  static bool has_leaf(uint32_t u) { return ((u >> 8) & 1) == 1; }
  static uint32_t label(uint32_t u) { return u & ((1u << 31) | 0xFF); }
  static size_t offset(uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); }

  std::vector<uint32_t> units_;
};

class PrecompiledNormalizer : public Normalizer {
 public:
  PrecompiledNormalizer(DoubleArray trie, std::string replacements)
      : trie_(std::move(trie)), replacements_(std::move(replacements)) {}

  void normalize(NormalizedString* s) const override {
    const std::vector<AlignedChar>& chars = s->chars;
    std::vector<std::pair<char32_t, int>> dest;
    dest.reserve(chars.size());
    bool modified = false;
    std::string bytes;
    std::vector<char32_t> replacement;
    size_t g_begin = 0;
    utf8proc_int32_t state = 0;
    for (size_t i = 0; i < chars.size(); ++i) {
      const bool ends = i + 1 == chars.size() ||
                        utf8proc_grapheme_break_stateful(
                            static_cast<utf8proc_int32_t>(chars[i].c),
                            static_cast<utf8proc_int32_t>(chars[i + 1].c), &state);
      if (!ends) continue;
      const size_t g_end = i + 1;
      bytes.clear();
      for (size_t k = g_begin; k < g_end; ++k) utf8_append(chars[k].c, &bytes);
      bool done = false;
      if (bytes.size() < 6 && lookup(bytes, &replacement)) {
        modified = true;
        replace(&dest, g_end - g_begin, replacement);
        done = true;
      }
      for (size_t k = g_begin; !done && k < g_end; ++k) {
        bytes.clear();
        utf8_append(chars[k].c, &bytes);
        if (lookup(bytes, &replacement)) {
          modified = true;
          replace(&dest, 1, replacement);
        } else {
          dest.emplace_back(chars[k].c, 0);
        }
      }
      g_begin = g_end;
    }
    if (modified) transform_with_leading_inserts(s, dest, 0);
  }

  std::string describe() const override { return "Precompiled"; }

 private:
  bool lookup(const std::string& key, std::vector<char32_t>* out) const {
    const int64_t at = trie_.first_prefix_value(key);
    if (at < 0 || static_cast<size_t>(at) > replacements_.size()) return false;
    const size_t start = static_cast<size_t>(at);
    size_t end = replacements_.find('\0', start);
    if (end == std::string::npos) end = replacements_.size();
    out->clear();
    size_t bad = 0;
    return utf8_decode(std::string_view(replacements_).substr(start, end - start), out, &bad);
  }

  // HF's precompiled.rs replace(): new characters replace old ones one for one; extra new ones are
  // insertions, and missing ones become a removal count on the last entry written so far (which
  // may belong to an earlier grapheme, as in HF).
  static void replace(std::vector<std::pair<char32_t, int>>* dest, size_t old_count,
                      const std::vector<char32_t>& replacement) {
    const long diff = static_cast<long>(replacement.size()) - static_cast<long>(old_count);
    for (char32_t c : replacement) dest->emplace_back(c, 0);
    if (diff > 0) {
      for (long k = 0; k < diff; ++k) (*dest)[dest->size() - 1 - static_cast<size_t>(k)].second = 1;
    } else if (diff < 0 && !dest->empty()) {
      dest->back().second += static_cast<int>(diff);
    }
  }

  DoubleArray trie_;
  std::string replacements_;
};

}  // namespace

Status precompiled_normalizer_from_json(const nlohmann::json& j,
                                        std::unique_ptr<Normalizer>* out) {
  if (!j.contains("precompiled_charsmap") || !j.at("precompiled_charsmap").is_string()) {
    return make_error("Precompiled normalizer: \"precompiled_charsmap\" must be a base64 string");
  }
  std::string blob;
  if (!base64_decode(j.at("precompiled_charsmap").get<std::string>(), &blob)) {
    return make_error("Precompiled normalizer: \"precompiled_charsmap\" is not valid base64");
  }
  if (blob.size() < 4) {
    return make_error("Precompiled normalizer: \"precompiled_charsmap\" is shorter than its header");
  }
  uint32_t trie_size = 0;
  for (int k = 3; k >= 0; --k) trie_size = (trie_size << 8) | static_cast<unsigned char>(blob[k]);
  if (trie_size % 4 != 0 || trie_size > blob.size() - 4) {
    return make_error(
        "Precompiled normalizer: \"precompiled_charsmap\" declares a %u-byte trie but holds %zu "
        "bytes",
        trie_size, blob.size() - 4);
  }
  std::vector<uint32_t> units(trie_size / 4);
  for (size_t u = 0; u < units.size(); ++u) {
    const auto* p = reinterpret_cast<const unsigned char*>(blob.data()) + 4 + 4 * u;
    units[u] = static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
               (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
  }
  std::string replacements = blob.substr(4 + trie_size);
  size_t bad = 0;
  if (!utf8_valid(replacements, &bad)) {
    return make_error(
        "Precompiled normalizer: the replacement strings of \"precompiled_charsmap\" are not "
        "valid UTF-8 (byte %zu)",
        bad);
  }
  *out = std::make_unique<PrecompiledNormalizer>(DoubleArray(std::move(units)),
                                                 std::move(replacements));
  return Status();
}

}  // namespace embtune
