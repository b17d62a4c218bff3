// Training a WordPiece vocabulary from text, as Hugging Face tokenizers' WordPieceTrainer does it
// (its BpeTrainer with continuing_subword_prefix "##": words counted after BertNormalizer and
// BertPreTokenizer, an alphabet of single characters, then greedy pair merges by count, ties to
// the smaller (left id, right id) pair; the merged tokens become the WordPiece vocabulary), and
// writing the result as a BERT-style tokenizer.json plus vocab.txt.
// Not a tokenizer: the written files are loaded with Tokenizer::load. Not other trainers (BPE,
// Unigram, WordLevel).
//
// Where HF is not deterministic (the ids of the "##c" tokens follow Rust's randomly seeded
// HashMap order; which of equally frequent characters limit_alphabet drops), this trainer picks a
// fixed order: "##c" tokens by code point, dropped characters rarest first, then highest code
// point first. Everything else, given the same "##c" order, is HF's result token for token.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "tokenizer/normalizer.h"

namespace embtune {

struct WordPieceTrainerOptions {
  size_t vocab_size = 30522;  // the target size, special tokens included
  uint64_t min_frequency = 0;  // a pair seen fewer times is never merged
  // Given ids 0.. in this order (bert-base-uncased's set; its own ids differ: [PAD]=0, [UNK]=100).
  std::vector<std::string> special_tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  size_t limit_alphabet = 0;  // 0: keep every character seen
  std::string continuing_subword_prefix = "##";
  BertNormalizerOptions normalizer;  // BertNormalizer's settings (lowercase etc.)
  bool show_progress = false;
  // Test hook: the order in which the "##c" tokens get their ids (HF's is a hash order); tokens
  // not listed follow in code point order.
  std::vector<std::string> prefixed_alphabet_order;
};

class WordPieceTrainer {
 public:
  explicit WordPieceTrainer(WordPieceTrainerOptions opt);

  // Counts the words of each text (normalized and pre-tokenized) on all threads (OpenMP).
  // Invalid UTF-8 is an error naming the 1-based index of the text.
  Status feed(const std::vector<std::string>& texts);
  // Feeds the non-blank lines of a file; errors name the file and line.
  Status feed_file(const std::string& path);

  // Adds `count` to a word as it is (no normalization): for tests and callers with their own counts.
  void add_word(const std::string& word, uint64_t count) { words_[word] += count; }

  // Runs the merges. *vocab: the tokens in id order. No words at all is an error.
  Status train(std::vector<std::string>* vocab) const;

  // The words counted so far (word -> count).
  const std::unordered_map<std::string, uint64_t>& word_counts() const { return words_; }
  const WordPieceTrainerOptions& options() const { return opt_; }

 private:
  WordPieceTrainerOptions opt_;
  std::unordered_map<std::string, uint64_t> words_;
};

// A complete tokenizer.json for `vocab`: BertNormalizer (opt.normalizer), BertPreTokenizer,
// WordPiece (unk [UNK], max_input_chars_per_word 100), TemplateProcessing [CLS] $A [SEP] (and
// [CLS] $A [SEP] $B:1 [SEP]:1) when [CLS] and [SEP] are in the vocab, a WordPiece decoder, and
// the special tokens as added tokens. Keys in HF's order, the vocab in id order.
nlohmann::ordered_json wordpiece_tokenizer_json(const std::vector<std::string>& vocab,
                                        const WordPieceTrainerOptions& opt);

// Writes dir/tokenizer.json and dir/vocab.txt (one token per line, id order), each atomically,
// creating `dir` if needed.
Status write_wordpiece_tokenizer(const std::string& dir, const std::vector<std::string>& vocab,
                                 const WordPieceTrainerOptions& opt);

}  // namespace embtune
