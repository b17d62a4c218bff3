// The post-processor stage (tokenizer.json "post_processor"): adds special tokens such as [CLS]
// and [SEP] around an encoded text or pair of texts, and sets their type ids. An interface, one
// implementation per "type" in post_processor_<type>.cpp, and the factory.
// Not truncation (tokenizer.cpp and truncation.cpp do that first).
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
  // How many tokens the post-processor adds to a single text or to a pair (HF's added_tokens).
  virtual int added_tokens(bool is_pair) const = 0;
  // One text: adds the special tokens (offsets (0, 0), special_tokens_mask 1, sequence id -1) and
  // sets type ids. Touches `enc` only, not its overflowing windows (the caller processes each).
  virtual void process(Encoding* enc, bool add_special_tokens) const = 0;
  // HF's process_encodings: `encs` holds one encoding per text (A, then B for a pair), type and
  // sequence ids 0 for A and 1 for B, each with its overflowing windows, which are processed
  // too. May merge the texts into one encoding (TemplateProcessing does, combining the windows as
  // encoding_merge does); the caller merges whatever remains. An error when the pair form is
  // missing.
  virtual Status process_encodings(std::vector<Encoding>* encs, bool add_special_tokens) const = 0;
  virtual std::string describe() const = 0;
  // Gives the post-processor the model's id -> token map, which trim_offsets reads (HF trims by
  // the token's text). `model` must outlive the post-processor. Without it nothing is trimmed.
  virtual void attach_model(const Model& model) { (void)model; }
  // Whether process() trims offsets (ByteLevel's trim_offsets), and with which add_prefix_space.
  // The tokenizer trims an added token by its matched text (lstrip/rstrip whitespace included),
  // which HF's trimming sees as the token's value, where the model only knows its content.
  virtual bool trims_offsets(bool* add_prefix_space) const {
    (void)add_prefix_space;
    return false;
  }
};

// Builds the post-processor a tokenizer.json object describes; a null `j` gives a null *out.
Status post_processor_from_json(const nlohmann::json& j, std::unique_ptr<PostProcessor>* out);

// BertProcessing: [CLS] $A [SEP], every type id 0; pairs [CLS] $A [SEP] $B:1 [SEP]:1. Each token
// is (text, id).
std::unique_ptr<PostProcessor> make_bert_processing(std::pair<std::string, int32_t> cls,
                                                    std::pair<std::string, int32_t> sep);
Status bert_processing_from_json(const nlohmann::json& j, std::unique_ptr<PostProcessor>* out);
// RobertaProcessing: <s> $A </s>, pairs <s> $A </s> </s> $B </s>, every type id 0; trim_offsets as
// ByteLevel's.
Status roberta_processing_from_json(const nlohmann::json& j, std::unique_ptr<PostProcessor>* out);
// ByteLevel: adds nothing; with trim_offsets moves offsets off leading/trailing spaces.
Status byte_level_processing_from_json(const nlohmann::json& j,
                                       std::unique_ptr<PostProcessor>* out);
// Sequence: the "processors" applied in order.
Status sequence_processing_from_json(const nlohmann::json& j, std::unique_ptr<PostProcessor>* out);
// TemplateProcessing: its "single" template, and its "pair" template for pairs.
Status template_processing_from_json(const nlohmann::json& j, std::unique_ptr<PostProcessor>* out);

// A special token the post-processor adds, with its type id.
struct AddedSpecial {
  int32_t id;
  int32_t type_id;
};
// Shared by the implementations: gives the text's tokens `type_id` and, when
// add_special_tokens, puts `prefix` before and `suffix` after them (offsets (0, 0), mask 1,
// sequence id -1). Works in place, so a reused Encoding needs no new allocation.
void encoding_wrap(Encoding* enc, bool add_special_tokens, const std::vector<AddedSpecial>& prefix,
                   int32_t type_id, const std::vector<AddedSpecial>& suffix);
// Puts `prefix` before and `suffix` after the tokens, whose type ids stay as they are.
void encoding_add_specials(Encoding* enc, const std::vector<AddedSpecial>& prefix,
                           const std::vector<AddedSpecial>& suffix);

// HF's ByteLevel process_offsets: a token's offsets skip the spaces ('Ġ' or White_Space) it
// starts or ends with, except the single prefix space of a first token when add_prefix_space.
// Offsets count code points where HF counts bytes: the same for byte-level vocabularies, whose
// spaces are one byte.
void encoding_trim_offsets(Encoding* enc, const Model& model, bool add_prefix_space);
// The spaces HF's trimming skips: 'Ġ' or White_Space.
bool is_offset_trim_space(char32_t c);
// HF's process_offsets for one token with `leading` and `trailing` spaces in its value; `is_first`:
// the first token of its text or one starting at offset 0.
void trim_token_offsets(std::pair<uint32_t, uint32_t>* offsets, size_t leading, size_t trailing,
                        bool is_first, bool add_prefix_space);

}  // namespace embtune
