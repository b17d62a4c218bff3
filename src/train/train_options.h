// The options of a training run, declared once (STYLE rule 7): the struct with its defaults, and
// one table giving each field its flag, help text and role; the CLI, JSON config files, the
// checkpoint identity and the model card are all generated from that table. Not the engine.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/status.h"

namespace embtune {

struct TrainOptions {
  std::string model;        // base model directory
  std::string train;        // JSONL / CSV / TSV training rows
  std::string out;          // output model directory (written atomically)
  std::string config;       // JSON file of options (flags given on the command line win)
  std::string format = "auto";
  std::vector<std::string> columns;  // text columns to use, in order (default: the file's)
  std::string score_column;          // default: "score" or "label" when present
  std::string loss = "mnrl";
  double scale = 20.0;      // similarity scale of mnrl, cosent, angle
  bool symmetric = false;   // MultipleNegativesSymmetricRankingLoss
  double margin = 5.0;      // TripletLoss margin
  std::string distance = "euclidean";  // TripletLoss distance
  double score_min = -1.0, score_max = 1.0;  // valid scores of cosent / angle rows
  int64_t epochs = 1;
  int64_t max_steps = 0;    // > 0 overrides epochs
  int64_t batch_size = 32;
  int64_t gradient_accumulation_steps = 1;
  double lr = 5e-5;
  double warmup = 0.0;      // < 1: a ratio of the steps; >= 1: a number of steps
  std::string scheduler = "linear";
  double weight_decay = 0.0;
  double max_grad_norm = 1.0;  // 0: no clipping
  double dropout = -1.0;    // < 0: the model config's probabilities; else hidden and attention both
  bool shuffle = true;
  bool group_by_length = false;
  std::string precision = "auto";  // auto: bf16 where the CPU has it natively, else fp32
  std::string save_dtype = "f32";  // weight storage of the written model (checkpoints stay f32)
  uint64_t seed = 0;
  std::string prompt;                      // anchor prompt: a prompt name of the model, else literal text
  std::optional<std::string> prompt_text;  // literal anchor prompt; wins over prompt
  std::vector<std::string> column_prompts; // COLUMN=PROMPT (name or text) per column; wins for its column
  std::string eval;         // held-out rows, evaluated every eval_steps and at the end
  std::string test;         // a BEIR folder or pairs JSONL: base vs trained vs BM25 after training
  std::string test_split = "test";  // the qrels split of a BEIR --test
  std::string test_corpus;  // extra documents for a pairs --test
  bool allow_leakage = false;  // train even when --eval / --test texts duplicate training texts
  int64_t eval_steps = 0;   // 0: only before the first and after the last step
  std::string metric_for_best = "eval_loss";  // lower is better when it ends in "loss", else higher
  int64_t early_stopping_patience = 0;  // > 0: stop after this many evaluations without a new best
  bool load_best_model_at_end = false;  // the output holds the best evaluated weights
  int64_t save_steps = 0;   // > 0: a checkpoint every this many steps, in <out>.checkpoints/
  int64_t save_total_limit = 0;  // > 0: keep only the newest this many checkpoints
  bool resume = false;      // continue from the latest checkpoint in <out>.checkpoints/
  int64_t stop_after = 0;   // > 0: checkpoint and stop after this many steps of this run
  bool json_log = false;    // also print each step's log line on stdout
  bool quiet = false;       // from the global -q; not an option of its own
};

// A pointer to one field of TrainOptions, by type.
using TrainOptionRef =
    std::variant<std::string TrainOptions::*, std::vector<std::string> TrainOptions::*, int64_t TrainOptions::*,
                 uint64_t TrainOptions::*, double TrainOptions::*, bool TrainOptions::*,
                 std::optional<std::string> TrainOptions::*>;

// What a field is for: a hyperparameter (in the model card, and must match to resume), an input
// or data setting (must match to resume, not a hyperparameter), or a setting of this invocation
// only (paths of outputs, logging, resume itself).
enum class TrainOptionRole { Hyperparameter, Data, Invocation };

struct TrainOptionField {
  std::string name;   // the flag without "--"; the JSON key is the name with '-' → '_'
  std::string help;
  TrainOptionRef ref;
  TrainOptionRole role = TrainOptionRole::Invocation;
  std::vector<std::string> choices = {};  // allowed values of a string field; empty: any
  bool required = false;             // on the command line or in --config
  bool comma_list = true;            // a list field's flag value splits at commas
  std::string flag_name() const { return "--" + name; }
  std::string json_key() const;
};

// Every field, in the order of `embtune train --help`.
const std::vector<TrainOptionField>& train_option_fields();

// The field's value as JSON (an unset optional is null).
nlohmann::json train_option_value(const TrainOptions& o, const TrainOptionField& f);
// All fields but Invocation ones (and the config file path): what a run was trained with.
nlohmann::json train_options_to_json(const TrainOptions& o);
// Reads a --config JSON object into `o`: keys are json_key()s (or flag names); unknown keys,
// wrong types and values outside a field's choices are errors naming `file` and the key.
Status train_options_from_json(const nlohmann::json& j, const std::string& file, TrainOptions* o);
// Copies one field from `from` to `to`.
void train_option_copy(const TrainOptionField& f, const TrainOptions& from, TrainOptions* to);

}  // namespace embtune
