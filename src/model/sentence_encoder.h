// A sentence-transformers model as a whole: tokenizer -> BERT -> pooling -> Dense* -> Normalize,
// loaded from a model directory, embedding texts in length-sorted packed batches.
// Not training, and not a server: callers hand it texts and get fp32 vectors back.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "io/st_dir.h"
#include "model/bert.h"
#include "model/sentence_head.h"
#include "tokenizer/tokenizer.h"

namespace embtune {

struct EmbedOptions {
  // A prompt name from config_sentence_transformers.json ("query", "document", ...); "" uses the
  // model's default_prompt_name, if any.
  std::string prompt_name;
  // Literal prompt text; when set it wins over prompt_name.
  std::string prompt_text;
  bool has_prompt_text = false;
  // Tokens per packed batch (sequences are sorted by length and packed up to this many).
  int64_t batch_tokens = 8192;
  // Called after each batch with (texts done, texts in all).
  std::function<void(int64_t, int64_t)> progress;
};

class SentenceEncoder {
 public:
  // Loads everything a model directory describes; errors name the file at fault. `model` is a
  // directory, a Hugging Face hub id, org/name[@revision] (io/hub.h's resolve_model_argument), or
  // a GGUF bert file (model/gguf_model.h converts it once into a cached directory, which
  // files().dir then names).
  static Status load(const std::string& model, std::unique_ptr<SentenceEncoder>* out);

  // Tokenizes `texts` as sentence-transformers does before its forward pass (prompt prepended,
  // whitespace stripped, lowercased when the model says do_lower_case, truncated to
  // max_seq_length); *prompt_tokens receives the leading prompt tokens to leave out of pooling
  // (0 unless include_prompt is false).
  Status tokenize(const std::vector<std::string>& texts, const EmbedOptions& opt, std::vector<Encoding>* out,
                  int32_t* prompt_tokens) const;

  // Embeds `texts` in order: out holds texts.size() x dim() floats.
  Status embed(const std::vector<std::string>& texts, const EmbedOptions& opt, std::vector<float>* out) const;

  int64_t dim() const { return head_.dim(); }
  int64_t max_seq_length() const { return max_seq_length_; }
  bool normalizes() const { return head_.normalizes(); }
  const StModelDir& files() const { return files_; }
  const BertModel& bert() const { return bert_; }
  BertModel& bert() { return bert_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  // Pooling, Dense and Normalize; training updates head().params() in place, so embed() sees it.
  const SentenceHead& head() const { return head_; }
  SentenceHead& head() { return head_; }
  const std::vector<PoolingMode>& pooling_modes() const { return head_.pooling_modes(); }
  const std::vector<DenseLayer>& dense() const { return head_.dense(); }

  // Options that prepend `prompt`: the model's prompt of that name when it has one, else the
  // text itself; "" prepends nothing (and, unlike default options, not the default prompt).
  EmbedOptions prompt_by_name_or_text(const std::string& prompt) const;

  // The text sentence-transformers would tokenize: prompt + text, stripped of surrounding
  // whitespace, lowercased when the model says do_lower_case. Also returns how many leading
  // tokens are prompt (for include_prompt = false), or an error for an unknown prompt name.
  Status resolve_prompt(const EmbedOptions& opt, std::string* prompt, int32_t* prompt_tokens) const;

 private:
  StModelDir files_;
  BertModel bert_;
  std::unique_ptr<Tokenizer> tokenizer_;
  SentenceHead head_;
  int64_t max_seq_length_ = 512;
};

// "query: hello " -> "query: hello" with Python's str.strip() notion of whitespace.
std::string strip_unicode_whitespace(const std::string& s);
// " a \t b\n" -> "a b": runs of (Python str.isspace) whitespace become one space, ends stripped.
// Invalid UTF-8 comes back unchanged.
std::string collapse_unicode_whitespace(const std::string& s);

}  // namespace embtune
