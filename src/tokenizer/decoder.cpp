// The decoder factory: maps tokenizer.json "type" tags to the parsers in decoder_<type>.cpp, and
// the string helpers the decoders share. Not an implementation of any decoder.
#include "tokenizer/decoder.h"

#include <nlohmann/json.hpp>

#include "core/utf8.h"
#include "tokenizer/json_fields.h"

namespace embtune {

Status decoder_decode(const Decoder& decoder, std::vector<std::string> tokens, std::string* out) {
  out->clear();
  ET_RETURN_IF_ERROR(decoder.decode_chain(&tokens));
  for (const std::string& t : tokens) *out += t;
  return Status();
}

Status decoder_from_json(const nlohmann::json& j, std::unique_ptr<Decoder>* out) {
  out->reset();
  if (j.is_null()) return Status();
  std::string type;
  ET_RETURN_IF_ERROR(json_read_type(j, "decoder", &type));
  if (type == "WordPiece") return wordpiece_decoder_from_json(j, out);
  if (type == "ByteLevel") return byte_level_decoder_from_json(j, out);
  if (type == "Metaspace") return metaspace_decoder_from_json(j, out);
  if (type == "BPEDecoder") return bpe_decoder_from_json(j, out);
  if (type == "ByteFallback") return byte_fallback_decoder_from_json(j, out);
  if (type == "Fuse") return fuse_decoder_from_json(j, out);
  if (type == "Strip") return strip_decoder_from_json(j, out);
  if (type == "Replace") return replace_decoder_from_json(j, out);
  if (type == "CTC") return ctc_decoder_from_json(j, out);
  if (type == "Sequence") return sequence_decoder_from_json(j, out);
  return make_error(
      "decoder type \"%s\" is not supported (supported: BPEDecoder, ByteFallback, ByteLevel, CTC, "
      "Fuse, Metaspace, Replace, Sequence, Strip, WordPiece)",
      type.c_str());
}

std::string rust_str_replace(std::string_view s, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(s.size());
  if (from.empty()) {
    // A match before each character and one at the end.
    const auto* bytes = reinterpret_cast<const unsigned char*>(s.data());
    size_t i = 0;
    while (i < s.size()) {
      out += to;
      char32_t c = 0;
      size_t n = utf8_next(bytes, s.size(), i, &c);
      if (n == 0) n = 1;  // not reached for valid UTF-8; keeps invalid bytes as they are
      out.append(s.substr(i, n));
      i += n;
    }
    out += to;
    return out;
  }
  size_t pos = 0;
  while (true) {
    const size_t hit = s.find(from, pos);
    if (hit == std::string_view::npos) break;
    out.append(s.substr(pos, hit - pos));
    out += to;
    pos = hit + from.size();
  }
  out.append(s.substr(pos));
  return out;
}

}  // namespace embtune
