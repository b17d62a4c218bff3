// The README.md model card of a trained model directory, in the shape sentence-transformers and
// the Hugging Face hub read (YAML front matter, then usage and training details); the
// hyperparameter table comes from the option table (train_options.h). Not a template engine.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"
#include "train/train_options.h"

namespace embtune {

// What the run learned about itself, beyond its options.
struct ModelCardFacts {
  std::string loss_class;            // sentence-transformers' class name of the loss
  int64_t train_rows = 0;
  std::vector<std::string> columns;  // the text columns, in order
  int64_t steps = 0;
  double final_loss = 0;
  nlohmann::json eval_before, eval_after;  // null without --eval
  nlohmann::json test;  // report.json's object of the --test comparison; null without --test
};

// The card's text.
std::string model_card_text(const TrainOptions& o, const ModelCardFacts& f);
// Writes dir/README.md atomically.
Status write_model_card(const std::string& dir, const TrainOptions& o, const ModelCardFacts& f);

}  // namespace embtune
