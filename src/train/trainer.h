// `embtune train`'s engine: reads training rows, tokenizes them as sentence-transformers does,
// runs MNRL + AdamW with a warmup schedule and clipping, logs every step, and writes a complete
// sentence-transformers directory; checkpoints and exact resume. Not yet: dropout, bf16, other
// losses.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace embtune {

struct TrainOptions {
  std::string model;        // base model directory
  std::string train;        // JSONL / CSV / TSV: anchor, positive, negative_1, …
  std::string out;          // output model directory (written atomically)
  std::string format = "auto";
  std::vector<std::string> columns;  // text columns to use, in order (default: the file's)
  int64_t epochs = 1;
  int64_t max_steps = 0;    // > 0 overrides epochs
  int64_t batch_size = 32;
  double lr = 5e-5;
  double warmup = 0.0;      // < 1: a ratio of the steps; >= 1: a number of steps
  std::string scheduler = "linear";
  double weight_decay = 0.0;
  double max_grad_norm = 1.0;  // 0: no clipping
  double dropout = 0.0;
  double scale = 20.0;      // MNRL's similarity scale
  bool symmetric = false;   // MultipleNegativesSymmetricRankingLoss
  bool shuffle = true;
  std::string precision = "fp32";
  uint64_t seed = 0;
  std::string prompt;       // prompt name for the anchors (from the model's prompts)
  std::string prompt_text;  // literal anchor prompt; wins over prompt
  bool has_prompt_text = false;
  int64_t save_steps = 0;   // > 0: a checkpoint every this many steps, in <out>.checkpoints/
  bool resume = false;      // continue from the latest checkpoint in <out>.checkpoints/
  int64_t stop_after = 0;   // > 0: checkpoint and stop after this many steps of this run
  bool quiet = false;
  bool json_log = false;    // also print each step's log line on stdout
};

Status train_run(const TrainOptions& opt);

}  // namespace embtune
