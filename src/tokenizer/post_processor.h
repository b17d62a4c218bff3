// The post-processor stage (tokenizer.json "post_processor"): adds special tokens such as [CLS]
// and [SEP] around an encoded sequence. An interface, one implementation per "type" in
// post_processor_<type>.cpp, and the factory. Not truncation (tokenizer.cpp does that first).
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "tokenizer/model.h"
#include "tokenizer/tokenizer.h"

namespace embtune {

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // How many tokens process() adds to a single sequence when add_special_tokens is true.
  virtual int added_tokens() const = 0;
  // Adds the special tokens (offsets (0, 0), special_tokens_mask 1) and sets type ids.
  virtual void process(Encoding* enc, bool add_special_tokens) const = 0;
  virtual std::string describe() const = 0;
  // Gives the post-processor the model's id -> token map, which trim_offsets reads (HF trims by
  // the token's text). `model` must outlive the post-processor. Without it nothing is trimmed.
  virtual void attach_model(const Model& model) { (void)model; }
};

// Builds the post-processor a tokenizer.json object describes; a null `j` gives a null *out.
Status post_processor_from_json(const nlohmann::json& j, std::unique_ptr<PostProcessor>* out);

// BertProcessing: [CLS] $A [SEP], every type id 0. Each token is (text, id).
std::unique_ptr<PostProcessor> make_bert_processing(std::pair<std::string, int32_t> cls,
                                                    std::pair<std::string, int32_t> sep);
Status bert_processing_from_json(const nlohmann::json& j, std::unique_ptr<PostProcessor>* out);
// RobertaProcessing: <s> $A </s>, every type id 0; trim_offsets as ByteLevel's.
Status roberta_processing_from_json(const nlohmann::json& j, std::unique_ptr<PostProcessor>* out);
// ByteLevel: adds nothing; with trim_offsets moves offsets off leading/trailing spaces.
Status byte_level_processing_from_json(const nlohmann::json& j,
                                       std::unique_ptr<PostProcessor>* out);
// Sequence: the "processors" applied in order.
Status sequence_processing_from_json(const nlohmann::json& j, std::unique_ptr<PostProcessor>* out);
Status template_processing_from_json(const nlohmann::json& j, std::unique_ptr<PostProcessor>* out);

// A special token the post-processor adds, with its type id.
struct AddedSpecial {
  int32_t id;
  int32_t type_id;
};
// Shared by the implementations: gives the text's tokens `type_id` and, when
// add_special_tokens, puts `prefix` before and `suffix` after them (offsets (0, 0), mask 1).
// Works in place, so a reused Encoding needs no new allocation.
void encoding_wrap(Encoding* enc, bool add_special_tokens, const std::vector<AddedSpecial>& prefix,
                   int32_t type_id, const std::vector<AddedSpecial>& suffix);

// HF's ByteLevel process_offsets: a token's offsets skip the spaces ('Ġ' or White_Space) it
// starts or ends with, except the single prefix space of a first token when add_prefix_space.
// Offsets count code points where HF counts bytes: the same for byte-level vocabularies, whose
// spaces are one byte.
void encoding_trim_offsets(Encoding* enc, const Model& model, bool add_prefix_space);

}  // namespace embtune
