// The text -> token ids pipeline of Hugging Face tokenizers: normalizer -> pre-tokenizer ->
// model -> post-processor, built from a tokenizer.json (or a bare BERT vocab.txt).
// Not a trainer and not a decoder of arbitrary formats: stages are added one file per variant.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace embtune {

// The encoding of one text. Offsets are [start, end) in Unicode code points of the input text,
// as HF tokenizers reports them; special tokens added by the post-processor have (0, 0).
struct Encoding {
  std::vector<int32_t> ids;
  std::vector<int32_t> type_ids;
  std::vector<std::pair<uint32_t, uint32_t>> offsets;
  std::vector<uint8_t> special_tokens_mask;  // 1 for tokens the post-processor added
};

struct EncodeOptions {
  bool add_special_tokens = true;
  // Maximum length including special tokens. -1: the truncation stored in tokenizer.json (none if
  // absent); 0: no truncation; > 0: this length (overrides the file's).
  int max_length = -1;
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // `path`: a tokenizer.json, a vocab.txt (BERT WordPiece; tokenizer_config.json beside it is read
  // for do_lower_case / strip_accents / tokenize_chinese_chars), or a directory holding either
  // (tokenizer.json preferred).
  static Status load(const std::string& path, std::unique_ptr<Tokenizer>* out);

  // Invalid UTF-8 in `text` is an error.
  virtual Status encode(std::string_view text, const EncodeOptions& opt, Encoding* out) const = 0;

  // Encodes many texts on all threads (OpenMP); out->size() == texts.size(). On error, the
  // message names the 1-based index of the first failing text.
  Status encode_batch(const std::vector<std::string>& texts, const EncodeOptions& opt,
                      std::vector<Encoding>* out) const;

  virtual size_t vocab_size() const = 0;           // including added tokens
  virtual int32_t token_to_id(std::string_view token) const = 0;  // -1 if unknown
  virtual std::string id_to_token(int32_t id) const = 0;          // "" if out of range
  // How many special tokens the post-processor adds to a single sequence (2 for BERT).
  virtual int num_special_tokens_to_add() const = 0;
  // Description for `embtune info`: "WordPiece (vocab 30522, BertNormalizer lowercase, ...)".
  virtual std::string describe() const = 0;
  // The path it was loaded from (tokenizer.json or vocab.txt).
  virtual const std::string& source_path() const = 0;
};

}  // namespace embtune
