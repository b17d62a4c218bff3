// Reading the texts a command works on: plain text (one per line) or JSONL (one object per
// line, a named string field), validated as UTF-8 with errors naming the file and line.
// Not a dataset reader for training columns (later: data/).
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace embtune {

struct TextInputOptions {
  // "auto" (JSONL for .jsonl / .json files, text otherwise), "text" or "jsonl".
  std::string format = "auto";
  std::string field = "text";      // the JSONL field holding the text
  bool allow_empty = false;        // accept empty / whitespace-only texts
};

// Reads all texts of `path`. Errors: unreadable file, empty file, invalid UTF-8, an empty line
// (unless allow_empty), a JSONL line that is not an object or lacks a string `field`.
Status read_texts(const std::string& path, const TextInputOptions& opt, std::vector<std::string>* out);

}  // namespace embtune
