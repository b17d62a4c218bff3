// The decoder stage (tokenizer.json "decoder"): token strings -> text, as Hugging Face tokenizers'
// Decoder does it. An interface, one implementation per "type" in decoder_<type>.cpp, the factory
// that picks one, and the string helpers they share. Not the id -> token lookup or the skipping of
// special tokens: Tokenizer::decode does those before the decoder runs.
//
// Usage:
//   std::unique_ptr<Decoder> d;
//   ET_RETURN_IF_ERROR(decoder_from_json(j.at("decoder"), &d));  // null json: no decoder
//   std::string text;
//   ET_RETURN_IF_ERROR(decoder_decode(*d, {"hello", "##world", "!"}, &text));  // "helloworld!"
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace embtune {

class Decoder {
 public:
  virtual ~Decoder() = default;
  // HF's decode_chain: rewrites the token strings (all valid UTF-8); the decoded text is their
  // concatenation. Some decoders merge the tokens into fewer (ByteLevel, Fuse) or drop some (CTC).
  virtual Status decode_chain(std::vector<std::string>* tokens) const = 0;
  // e.g. "WordPiece(##, cleanup)"
  virtual std::string describe() const = 0;
};

// HF's Decoder::decode: decode_chain, then the tokens joined without separator.
Status decoder_decode(const Decoder& decoder, std::vector<std::string> tokens, std::string* out);

// Builds the decoder a tokenizer.json object describes (dispatching on "type"). A null `j` gives
// a null *out. Errors name the offending type or field; the caller adds the file.
Status decoder_from_json(const nlohmann::json& j, std::unique_ptr<Decoder>* out);

// What BertTokenizerFast gives a vocab.txt: WordPiece(prefix "##", cleanup).
std::unique_ptr<Decoder> make_wordpiece_decoder(const std::string& prefix, bool cleanup);

// One parser per type, called by decoder_from_json.
Status wordpiece_decoder_from_json(const nlohmann::json& j, std::unique_ptr<Decoder>* out);
Status byte_level_decoder_from_json(const nlohmann::json& j, std::unique_ptr<Decoder>* out);
Status metaspace_decoder_from_json(const nlohmann::json& j, std::unique_ptr<Decoder>* out);
Status bpe_decoder_from_json(const nlohmann::json& j, std::unique_ptr<Decoder>* out);
Status byte_fallback_decoder_from_json(const nlohmann::json& j, std::unique_ptr<Decoder>* out);
Status fuse_decoder_from_json(const nlohmann::json& j, std::unique_ptr<Decoder>* out);
Status strip_decoder_from_json(const nlohmann::json& j, std::unique_ptr<Decoder>* out);
Status replace_decoder_from_json(const nlohmann::json& j, std::unique_ptr<Decoder>* out);
Status ctc_decoder_from_json(const nlohmann::json& j, std::unique_ptr<Decoder>* out);
Status sequence_decoder_from_json(const nlohmann::json& j, std::unique_ptr<Decoder>* out);

// Rust's str::replace: every non-overlapping occurrence of `from`, left to right, becomes `to`;
// an empty `from` matches at every character boundary ("ab" -> "-a-b-" for to = "-").
std::string rust_str_replace(std::string_view s, std::string_view from, std::string_view to);

// HF's wordpiece::cleanup (used by the WordPiece and CTC decoders): " ." -> ".", " n't" -> "n't",
// " do not" -> " don't", ... applied one after another to `s`.
std::string wordpiece_cleanup(std::string s);

}  // namespace embtune
