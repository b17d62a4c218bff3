// The model factory: maps tokenizer.json "type" tags to model_<type>.cpp.
// Not an implementation of any model.
#include "tokenizer/model.h"

#include <nlohmann/json.hpp>

#include "tokenizer/json_fields.h"

namespace embtune {

Status model_from_json(const nlohmann::json& j, std::unique_ptr<Model>* out) {
  if (!j.is_object()) return make_error("model must be an object");
  std::string type;
  if (j.contains("type")) {
    ET_RETURN_IF_ERROR(json_read_type(j, "model", &type));
  } else if (j.contains("continuing_subword_prefix") && j.contains("max_input_chars_per_word") &&
             !j.contains("merges")) {
    type = "WordPiece";  // files written before models carried a type tag
  } else if (j.contains("vocab") && j.at("vocab").is_array()) {
    type = "Unigram";  // as HF infers it for untagged files (t5-small's)
  } else if (j.contains("merges")) {
    type = "BPE";
  } else {
    return make_error("model has no \"type\" string");
  }
  if (type == "WordPiece") return wordpiece_from_json(j, out);
  if (type == "BPE") return bpe_from_json(j, out);
  if (type == "Unigram") return unigram_from_json(j, out);
  if (type == "WordLevel") return word_level_from_json(j, out);
  return make_error(
      "model type \"%s\" is not supported (supported: WordPiece, BPE, Unigram, WordLevel)",
      type.c_str());
}

}  // namespace embtune
