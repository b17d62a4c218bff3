// Reading and writing the files of a sentence-transformers / Hugging Face model directory:
// config.json, modules.json, 1_Pooling/config.json, sentence_bert_config.json,
// config_sentence_transformers.json, Dense module configs, and where the weights and tokenizer are.
// Not the model: module settings are kept as plain strings and numbers for model/ to interpret.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"

namespace embtune {

struct StPoolingConfig {
  // Modes in sentence-transformers' concatenation order: "cls", "max", "mean",
  // "mean_sqrt_len_tokens", "weightedmean", "lasttoken".
  std::vector<std::string> modes{"mean"};
  bool include_prompt = true;
  int64_t embedding_dimension = 0;  // 0 when the file does not say
};

struct StDenseConfig {
  std::string dir;                 // the module folder, e.g. <model>/2_Dense
  int64_t in_features = 0;
  int64_t out_features = 0;
  bool bias = true;
  std::string activation = "torch.nn.modules.activation.Tanh";  // sentence-transformers' default
};

// One module of modules.json, kept in order.
struct StModule {
  std::string kind;   // "Transformer", "Pooling", "Dense", "Normalize"
  std::string type;   // as written in modules.json
  std::string path;   // folder relative to the model directory ("" for the model directory)
};

struct StModelDir {
  std::string dir;
  std::string transformer_dir;     // where config.json and the weights are
  nlohmann::json config;           // config.json
  std::string tokenizer_path;      // tokenizer.json (preferred) or vocab.txt
  bool has_modules_json = false;
  std::vector<StModule> modules;   // defaults to Transformer + Pooling(mean) without modules.json
  StPoolingConfig pooling;
  std::vector<StDenseConfig> dense;  // in module order
  int64_t max_seq_length = 0;      // 0: not given (the model's max_position_embeddings applies)
  bool do_lower_case = false;
  std::map<std::string, std::string> prompts;
  std::string default_prompt_name;
  std::string similarity_fn_name;  // "" when not given (cosine is sentence-transformers' default)
};

// Reads a model directory. A directory with just config.json + model.safetensors + a
// tokenizer.json or vocab.txt is enough (mean pooling, no normalisation). Unknown modules,
// unreadable or malformed JSON, and a missing tokenizer are errors naming the file.
Status st_dir_read(const std::string& dir, StModelDir* out);

// Writes the sentence-transformers files (modules.json, 1_Pooling/config.json,
// sentence_bert_config.json, config_sentence_transformers.json, and a Normalize folder when
// listed) for `m` into `dir`, in the layout sentence-transformers 3+ writes. config.json, weights
// and tokenizer files are the caller's.
Status st_dir_write_st_files(const std::string& dir, const StModelDir& m);

// Writes a JSON value atomically, pretty-printed with 2 spaces and a final newline.
Status write_json_file(const std::string& path, const nlohmann::json& j);
// Reads a JSON file; errors name the file and, for syntax errors, the byte position.
Status read_json_file(const std::string& path, nlohmann::json* out);

}  // namespace embtune
