// A Tokenizer over a SentencePiece `.model` file (through libsentencepiece), for models that ship
// no tokenizer.json. Not a reimplementation of SentencePiece and not a trainer: the library
// segments the text; this file adds the special tokens, truncation and code point offsets.
//
// Usage:
//   std::unique_ptr<Tokenizer> tok;
//   Status st = sentencepiece_tokenizer_load("model/tokenizer.model", &tok);
//   Encoding enc;
//   if (st.ok()) st = tok->encode("Hello world", EncodeOptions(), &enc);
//
// Special tokens, as the model's transformers tokenizer adds them (tokenizer_config.json beside
// the .model, when present, decides):
//   - tokenizer_class T5Tokenizer: `</s>` at the end, no BOS;
//   - otherwise add_bos_token / add_eos_token where given; where not given, BOS if the model
//     defines a BOS piece (LlamaTokenizer's and GemmaTokenizer's default), else EOS if it
//     defines an EOS piece (T5's spiece.model has no BOS).
// A tokenizer_config.json naming another class (XLM-R, Albert, ... whose ids or text
// preprocessing differ from the raw .model) is refused: use that model's tokenizer.json.
// Pairs of texts are not supported (encode_pair is the base class's error).
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "tokenizer/tokenizer.h"

namespace embtune {

// Loads the SentencePiece model at `path`; errors name the file (missing, not a SentencePiece
// model, unsupported tokenizer_config.json).
Status sentencepiece_tokenizer_load(const std::string& path, std::unique_ptr<Tokenizer>* out);

}  // namespace embtune
