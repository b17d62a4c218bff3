// The pre-tokenizer stage (tokenizer.json "pre_tokenizer"): cuts normalized text into words.
// An interface, one implementation per "type" in pre_tokenizer_<type>.cpp, and the factory.
// Not the model: words are turned into tokens by model_<type>.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "core/status.h"
#include "tokenizer/normalized_string.h"

namespace embtune {

// A piece of PreTokenizedString::text: characters [begin, end). `id` >= 0 marks an added token
// already resolved (stages leave it alone); -1 a piece still to be split and tokenized.
struct Split {
  uint32_t begin;
  uint32_t end;
  int32_t id;
};

struct PreTokenizedString {
  NormalizedString text;
  std::vector<Split> splits;  // in text order, non-empty
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces every split with id -1 by the words it contains (possibly none).
  virtual void pre_tokenize(PreTokenizedString* s) const = 0;
  virtual std::string describe() const = 0;
};

// Builds the pre-tokenizer a tokenizer.json object describes; a null `j` gives a null *out.
Status pre_tokenizer_from_json(const nlohmann::json& j, std::unique_ptr<PreTokenizer>* out);

std::unique_ptr<PreTokenizer> make_bert_pre_tokenizer();

}  // namespace embtune
