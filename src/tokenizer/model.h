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

}  // namespace embtune
