// The text -> token ids pipeline of Hugging Face tokenizers: normalizer -> pre-tokenizer ->
// model -> post-processor, built from a tokenizer.json (or a bare BERT vocab.txt).
// Also the way back, ids -> text, through the tokenizer.json "decoder".
// Not a trainer and not a decoder of arbitrary formats: stages are added one file per variant.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace embtune {

// The encoding of one text or of a pair. Offsets are [start, end) in Unicode code points of the
// input text the token comes from (for a pair: text a or text b), as HF tokenizers reports them;
// special tokens added by the post-processor have (0, 0).
struct Encoding {
  std::vector<int32_t> ids;
  std::vector<int32_t> type_ids;  // as the post-processor sets them (BERT: 1 for text b)
  std::vector<std::pair<uint32_t, uint32_t>> offsets;
  std::vector<uint8_t> special_tokens_mask;  // 1 for tokens the post-processor added
  std::vector<int8_t> sequence_ids;  // 0: text a (or the single text), 1: text b, -1: special
  // What truncation cut off, as HF's overflowing: windows of the same length (sharing `stride`
  // tokens with their neighbour), each with the special tokens; for a pair, every combination of
  // a window of one text with the other text or one of its windows, in HF's order. Empty without
  // truncation.
  std::vector<Encoding> overflowing;
  // Empties every field, keeping the buffers' capacity.
  void clear() {
    ids.clear();
    type_ids.clear();
    offsets.clear();
    special_tokens_mask.clear();
    sequence_ids.clear();
    overflowing.clear();
  }
};

enum class TruncationStrategy { kLongestFirst, kOnlyFirst, kOnlySecond };
enum class TruncationDirection { kRight, kLeft };  // kLeft keeps the end of the text

struct EncodeOptions {
  bool add_special_tokens = true;
  // Maximum length including special tokens. -1: the truncation stored in tokenizer.json (none if
  // absent); 0: no truncation; > 0: this length (overrides the file's).
  int max_length = -1;
  // The other truncation settings apply only when there is truncation; unset, they come from
  // tokenizer.json's "truncation", else HF's defaults (stride 0, LongestFirst, Right).
  int stride = -1;  // -1: unset
  std::optional<TruncationStrategy> strategy;
  std::optional<TruncationDirection> direction;
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // `path`: a tokenizer.json, a vocab.txt (BERT WordPiece; tokenizer_config.json beside it is read
  // for do_lower_case / strip_accents / tokenize_chinese_chars), a SentencePiece .model
  // (sentencepiece_tokenizer.h), or a directory holding one of them (tokenizer.json preferred,
  // then vocab.txt, then tokenizer.model, spiece.model, sentencepiece.bpe.model).
  static Status load(const std::string& path, std::unique_ptr<Tokenizer>* out);

  // Invalid UTF-8 in `text` is an error.
  virtual Status encode(std::string_view text, const EncodeOptions& opt, Encoding* out) const = 0;

  // Encodes many texts on all threads (OpenMP); out->size() == texts.size(). On error, the
  // message names the 1-based index of the first failing text.
  Status encode_batch(const std::vector<std::string>& texts, const EncodeOptions& opt,
                      std::vector<Encoding>* out) const;

  // Encodes the pair (a, b) as HF tokenizers' encode((a, b)): each text on its own, truncation of
  // the two together (EncodeOptions::strategy), then the post-processor's pair form (BERT:
  // [CLS] a [SEP] b [SEP]). Offsets of b's tokens count from the start of b. The base version,
  // for tokenizers without pair support, is an error.
  virtual Status encode_pair(std::string_view a, std::string_view b, const EncodeOptions& opt,
                             Encoding* out) const;
  // encode_pair for many pairs on all threads; errors name the 1-based index of the first failure.
  Status encode_pair_batch(const std::vector<std::pair<std::string, std::string>>& pairs,
                           const EncodeOptions& opt, std::vector<Encoding>* out) const;

  // Ids -> text as HF tokenizers' decode: each id's token (added tokens first), special added
  // tokens left out when `skip_special_tokens`, then the tokenizer.json "decoder" (tokens joined
  // with spaces when there is none). An id outside the vocabulary is an error naming it (HF
  // drops such ids silently). The base version, for tokenizers without a way back, is an error.
  virtual Status decode(const std::vector<int32_t>& ids, bool skip_special_tokens,
                        std::string* out) const;

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
