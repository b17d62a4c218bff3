// The model stage (tokenizer.json "model"): turns one word into token ids. An interface, one
// implementation per "type" in model_<type>.cpp, and the factory. Not a trainer or a decoder.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "tokenizer/normalized_string.h"

namespace embtune {

// A token of one word: its id and the word's characters [begin, end) it covers.
struct ModelToken {
  int32_t id;
  uint32_t begin;
  uint32_t end;
};

class Model {
 public:
  virtual ~Model() = default;
  // Appends the tokens of `word` (non-empty) to *out. Errors when the word cannot be encoded
  // (e.g. the unknown token is needed but missing from the vocabulary).
  virtual Status tokenize(std::span<const AlignedChar> word,
                          std::vector<ModelToken>* out) const = 0;
  virtual size_t vocab_size() const = 0;
  virtual int32_t token_to_id(std::string_view token) const = 0;  // -1 if absent
  virtual const std::string* id_to_token(int32_t id) const = 0;   // null if absent
  virtual std::string describe() const = 0;
};

// Builds the model a tokenizer.json object describes (dispatching on "type").
Status model_from_json(const nlohmann::json& j, std::unique_ptr<Model>* out);

struct WordPieceOptions {
  std::string unk_token = "[UNK]";
  std::string continuing_subword_prefix = "##";
  int64_t max_input_chars_per_word = 100;
};
std::unique_ptr<Model> make_wordpiece(std::vector<std::pair<std::string, int32_t>> vocab,
                                      const WordPieceOptions& opt);
Status wordpiece_from_json(const nlohmann::json& j, std::unique_ptr<Model>* out);

// model_bpe.cpp. An empty unk_token means none (unknown characters are dropped, as in HF).
struct BpeOptions {
  std::string unk_token;
  std::string continuing_subword_prefix;
  std::string end_of_word_suffix;
  bool fuse_unk = false;
  bool byte_fallback = false;  // a character not in the vocab becomes its "<0xXX>" byte tokens
  bool ignore_merges = false;  // a word that is in the vocab is one token
};
// `merges` in rank order; a merge whose pieces or result are not in `vocab` is an error.
Status make_bpe(std::vector<std::pair<std::string, int32_t>> vocab,
                const std::vector<std::pair<std::string, std::string>>& merges,
                const BpeOptions& opt, std::unique_ptr<Model>* out);
Status bpe_from_json(const nlohmann::json& j, std::unique_ptr<Model>* out);

// model_unigram.cpp: `vocab` lists (piece, log probability) with the id as the index.
struct UnigramOptions {
  int64_t unk_id = -1;  // -1: none
  bool byte_fallback = false;
};
Status make_unigram(std::vector<std::pair<std::string, double>> vocab, const UnigramOptions& opt,
                    std::unique_ptr<Model>* out);
Status unigram_from_json(const nlohmann::json& j, std::unique_ptr<Model>* out);

// model_word_level.cpp: each word is one token, or unk_token.
std::unique_ptr<Model> make_word_level(std::vector<std::pair<std::string, int32_t>> vocab,
                                       std::string unk_token);
Status word_level_from_json(const nlohmann::json& j, std::unique_ptr<Model>* out);

}  // namespace embtune
