// `embtune train-tokenizer`: learns a WordPiece vocabulary from text lines (as HF tokenizers'
// WordPieceTrainer) and writes DIR/tokenizer.json and DIR/vocab.txt. Not a tokenizer runner
// (that is `embtune tokenize`).
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "tokenizer/wordpiece_trainer.h"

namespace embtune::cli {

namespace {

struct TrainTokenizerArgs {
  std::vector<std::string> inputs;
  std::string out;
  size_t vocab_size = 30522;
  uint64_t min_frequency = 0;
  size_t limit_alphabet = 0;
  std::vector<std::string> special_tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  bool no_lowercase = false;
};

int run_train_tokenizer(const TrainTokenizerArgs& a, const GlobalOptions& g) {
  WordPieceTrainerOptions opt;
  opt.vocab_size = a.vocab_size;
  opt.min_frequency = a.min_frequency;
  opt.limit_alphabet = a.limit_alphabet;
  opt.special_tokens = a.special_tokens;
  opt.normalizer.lowercase = !a.no_lowercase;
  opt.show_progress = !g.quiet;
  WordPieceTrainer trainer(opt);
  for (const std::string& in : a.inputs) {
    Status s = trainer.feed_file(in);
    if (!s.ok()) return report_error("train-tokenizer", s);
  }
  std::vector<std::string> vocab;
  Status s = trainer.train(&vocab);
  if (!s.ok()) return report_error("train-tokenizer", s);
  s = write_wordpiece_tokenizer(a.out, vocab, opt);
  if (!s.ok()) return report_error("train-tokenizer", s);
  if (!g.quiet) {
    std::fprintf(stderr, "train-tokenizer: %zu distinct words, vocabulary of %zu tokens -> %s\n",
                 trainer.word_counts().size(), vocab.size(), a.out.c_str());
  }
  return 0;
}

}  // namespace

void add_train_tokenizer_command(CLI::App& app, const GlobalOptions& g) {
  auto a = std::make_shared<TrainTokenizerArgs>();
  CLI::App* sub = app.add_subcommand(
      "train-tokenizer", "Learn a WordPiece vocabulary from text (as HF tokenizers' WordPieceTrainer)");
  sub->add_option("--input", a->inputs, "A text file, one text per line (repeatable)")->required();
  sub->add_option("--out", a->out, "Directory for tokenizer.json and vocab.txt")->required();
  sub->add_option("--vocab-size", a->vocab_size, "Vocabulary size, special tokens included")
      ->check(CLI::PositiveNumber);
  sub->add_option("--min-frequency", a->min_frequency, "Least count of a pair to merge it");
  sub->add_option("--limit-alphabet", a->limit_alphabet, "Keep at most N characters (0: all)");
  sub->add_option("--special-tokens", a->special_tokens, "Special tokens, given the first ids in order");
  sub->add_flag("--no-lowercase", a->no_lowercase, "Keep case and accents (BertNormalizer lowercase off)");
  on_parsed(sub, [a, &g]() { return run_train_tokenizer(*a, g); });
}

}  // namespace embtune::cli
