// `embtune train`: fine-tunes a model directory on (anchor, positive[, negatives…]) rows with
// MultipleNegativesRankingLoss. Not the engine: flags map onto TrainOptions for train_run().
#include <memory>

#include "cli/commands.h"
#include "train/trainer.h"

namespace embtune::cli {

void add_train_command(CLI::App& app, const GlobalOptions& g) {
  auto a = std::make_shared<TrainOptions>();
  CLI::App* sub = app.add_subcommand("train", "Fine-tune a model on pairs with MultipleNegativesRankingLoss");
  sub->add_option("--model", a->model, "Base model directory")->required();
  sub->add_option("--train", a->train, "Training rows: JSONL, CSV or TSV with anchor, positive[, negative_1, …]")->required();
  sub->add_option("--out", a->out, "Output model directory (must not exist or be empty)")->required();
  sub->add_option("--format", a->format, "Data format: auto (by extension), jsonl, csv or tsv")
      ->check(CLI::IsMember({"auto", "jsonl", "csv", "tsv"}));
  sub->add_option("--columns", a->columns, "Text columns to use, in order (default: all but score/label)")->delimiter(',');
  sub->add_option("--epochs", a->epochs, "Passes over the data")->check(CLI::NonNegativeNumber);
  sub->add_option("--max-steps", a->max_steps, "Optimizer steps (overrides --epochs)")->check(CLI::NonNegativeNumber);
  sub->add_option("--batch-size", a->batch_size, "Rows per step; every other row's texts are in-batch negatives")
      ->check(CLI::PositiveNumber);
  sub->add_option("--lr", a->lr, "Peak learning rate");
  sub->add_option("--warmup", a->warmup, "Warmup: a ratio of the steps (< 1) or a number of steps (>= 1)");
  sub->add_option("--scheduler", a->scheduler, "Learning-rate schedule after warmup: linear, cosine or constant")
      ->check(CLI::IsMember({"linear", "cosine", "constant"}));
  sub->add_option("--weight-decay", a->weight_decay, "AdamW decoupled weight decay (not on biases and LayerNorm)");
  sub->add_option("--max-grad-norm", a->max_grad_norm, "Clip gradients to this global L2 norm (0: no clipping)");
  sub->add_option("--dropout", a->dropout, "Dropout probability (only 0 is implemented yet)");
  sub->add_option("--scale", a->scale, "MNRL similarity scale (sentence-transformers' default 20)");
  sub->add_flag("--symmetric", a->symmetric, "Add the positive-to-anchor term (MultipleNegativesSymmetricRankingLoss)");
  sub->add_flag("!--no-shuffle", a->shuffle, "Keep the file's row order (batches in order)");
  sub->add_option("--precision", a->precision, "fp32 (bf16 comes with the speed work)")->check(CLI::IsMember({"fp32", "bf16"}));
  sub->add_option("--seed", a->seed, "Seed of the shuffling");
  sub->add_option("--prompt", a->prompt, "Prompt name (from the model's prompts) prepended to the anchors");
  sub->add_option("--prompt-text", a->prompt_text, "Literal prompt prepended to the anchors (wins over --prompt)")
      ->each([a](const std::string&) { a->has_prompt_text = true; });
  sub->add_flag("--json", a->json_log, "Print each step's log line (JSON) on stdout");
  sub->add_option("--save-steps", a->save_steps, "Write a checkpoint every N steps to OUT.checkpoints/checkpoint-N")
      ->check(CLI::NonNegativeNumber);
  sub->add_flag("--resume", a->resume, "Continue exactly from the latest checkpoint in OUT.checkpoints/");
  sub->add_option("--stop-after", a->stop_after, "Checkpoint and stop after N steps of this run (split a long run)")
      ->check(CLI::NonNegativeNumber);
  on_parsed(sub, [a, &g]() {
    a->quiet = g.quiet;
    Status s = train_run(*a);
    if (!s.ok()) return report_error("train", s);
    if (!g.quiet) std::fprintf(stderr, "train: wrote %s (training_log.jsonl inside)\n", a->out.c_str());
    return 0;
  });
}

}  // namespace embtune::cli
