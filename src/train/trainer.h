// `embtune train`'s engine: reads and checks the rows, tokenizes them as sentence-transformers
// does, runs the chosen loss with AdamW, a warmup schedule, clipping and gradient accumulation,
// evaluates on held-out rows, logs every step, checkpoints, resumes exactly, and writes a complete
// sentence-transformers directory with a model card. Not argument parsing (cli/cmd_train.cpp).
#pragma once

#include "core/status.h"
#include "train/train_options.h"

namespace embtune {

Status train_run(const TrainOptions& opt);

}  // namespace embtune
