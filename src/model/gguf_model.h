// A sentence-transformers BERT model as a GGUF file of llama.cpp's `bert` architecture: export
// (keys, phantom-space WordPiece vocabulary, tensor names of llama.cpp) and import (a GGUF file
// becomes an ordinary model directory in a cache, which SentenceEncoder::load then reads).
// Not the file format (io/gguf.h) and not inference: llama.cpp or embtune compute the embeddings.
//
// Export refuses what llama.cpp's bert graph cannot reproduce (Dense modules, max / multi-mode
// pooling, prompts left out of pooling, non-WordPiece or cased tokenizers): a file that loads but
// computes other embeddings is worse than no file. docs/formats.md lists the keys and their sources.
#pragma once

#include <string>

#include "core/status.h"
#include "io/gguf.h"

namespace embtune {

class SentenceEncoder;

struct GgufExportOptions {
  // Storage of the 2-D weight matrices (token_embd, attention, FFN); as llama.cpp's converter does,
  // norms, biases, position_embd and token_types stay F32, and a Q8_0 matrix whose rows are not a
  // multiple of 32 falls back to F16.
  GgmlType type = GgmlType::F32;
  std::string name;  // general.name; "" uses the model directory's name
};

// Writes `enc` (its weights as they are now, tokenizer and sentence-transformers settings) to
// `path` atomically. Errors name what cannot be represented and why.
Status gguf_export(const SentenceEncoder& enc, const GgufExportOptions& opt, const std::string& path);

// True when `path` is a regular file that starts with the GGUF magic.
bool is_gguf_file(const std::string& path);

// Writes the model directory a GGUF bert file describes into `dir` (which must not exist; it is
// built beside it and renamed): config.json, model.safetensors (F32, dequantized), tokenizer.json
// from tokenizer.huggingface.json or, for files without it (llama.cpp's converter), vocab.txt +
// tokenizer_config.json rebuilt from the phantom-space vocabulary, and the sentence-transformers
// files (pooling from bert.pooling_type, the embtune.* settings when present).
Status gguf_to_model_dir(const std::string& gguf_path, const std::string& dir);

// For a GGUF file, the cached model directory converted from it (converted on first use; the
// cache is keyed by the file's absolute path, size and modification time, under
// $EMBTUNE_CACHE_DIR/gguf, else $XDG_CACHE_HOME/embtune/gguf or ~/.cache/embtune/gguf). Any other
// path comes back unchanged.
Status gguf_resolve_model_path(const std::string& path, std::string* model_dir);

}  // namespace embtune
