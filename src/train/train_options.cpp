// The table of `embtune train` options and its JSON forms.
// Not the CLI (cli/cmd_train.cpp builds its flags from this table) and not the engine.
#include "train/train_options.h"

#include <algorithm>

namespace embtune {

namespace {

using R = TrainOptionRole;
using O = TrainOptions;

std::vector<TrainOptionField> make_fields() {
  return {
      {"model", "Base model directory (sentence-transformers or Hugging Face BERT)", &O::model, R::Data, {}, true},
      {"train", "Training rows: JSONL, CSV or TSV (columns: see docs/training.md)", &O::train, R::Data, {}, true},
      {"out", "Output model directory (must not exist or be empty)", &O::out, R::Invocation, {}, true},
      {"config", "JSON file of options (keys as the flags, '-' or '_'); flags given here win", &O::config,
       R::Invocation},
      {"format", "Data format: auto (by extension), jsonl, csv or tsv", &O::format, R::Data,
       {"auto", "jsonl", "csv", "tsv"}},
      {"columns", "Text columns to use, in order (default: all but the score column)", &O::columns, R::Data},
      {"score-column", "Score column (default: score or label when present)", &O::score_column, R::Data},
      {"loss",
       "Loss: mnrl (MultipleNegativesRankingLoss), cosent, angle, triplet, marginmse (see docs/training.md)",
       &O::loss, R::Hyperparameter, {"mnrl", "cosent", "angle", "triplet", "marginmse"}},
      {"scale", "Similarity scale of mnrl, cosent and angle", &O::scale, R::Hyperparameter},
      {"symmetric", "mnrl: add the positive-to-anchor term (MultipleNegativesSymmetricRankingLoss)", &O::symmetric,
       R::Hyperparameter},
      {"margin", "triplet: margin", &O::margin, R::Hyperparameter},
      {"distance", "triplet: distance, euclidean, cosine or manhattan", &O::distance, R::Hyperparameter,
       {"euclidean", "cosine", "manhattan"}},
      {"score-min", "cosent / angle: the smallest valid score", &O::score_min, R::Data},
      {"score-max", "cosent / angle: the largest valid score", &O::score_max, R::Data},
      {"epochs", "Passes over the data", &O::epochs, R::Hyperparameter},
      {"max-steps", "Optimizer steps (> 0 overrides --epochs)", &O::max_steps, R::Hyperparameter},
      {"batch-size", "Rows per micro-batch; mnrl uses the other rows' texts as negatives", &O::batch_size,
       R::Hyperparameter},
      {"gradient-accumulation-steps", "Micro-batches whose gradients are averaged into one optimizer step",
       &O::gradient_accumulation_steps, R::Hyperparameter},
      {"lr", "Peak learning rate", &O::lr, R::Hyperparameter},
      {"warmup", "Warmup: a ratio of the steps (< 1) or a number of steps (>= 1)", &O::warmup, R::Hyperparameter},
      {"scheduler", "Learning-rate schedule after warmup: linear, cosine or constant", &O::scheduler,
       R::Hyperparameter, {"linear", "cosine", "constant"}},
      {"weight-decay", "AdamW decoupled weight decay (not on biases and LayerNorm)", &O::weight_decay,
       R::Hyperparameter},
      {"max-grad-norm", "Clip gradients to this global L2 norm (0: no clipping)", &O::max_grad_norm,
       R::Hyperparameter},
      {"dropout", "Dropout probability, hidden and attention (default -1: the model config's)", &O::dropout,
       R::Hyperparameter},
      {"shuffle", "Shuffle the rows every epoch (--no-shuffle: the file's order)", &O::shuffle, R::Hyperparameter},
      {"group-by-length", "Batch rows of similar length together (shuffled groups of 50 batches)",
       &O::group_by_length, R::Hyperparameter},
      {"precision", "Matmul arithmetic: auto (bf16 where the CPU has AVX512-BF16 or AMX, else fp32), fp32 or bf16",
       &O::precision, R::Hyperparameter, {"auto", "fp32", "bf16"}},
      {"seed", "Seed of shuffling and dropout", &O::seed, R::Hyperparameter},
      {"save-dtype",
       "Weight storage of the written model: f32, f16 or bf16 (training is fp32 throughout; checkpoints stay f32; "
       "--test evaluates the written weights)",
       &O::save_dtype, R::Invocation, {"f32", "f16", "bf16"}},
      {"prompt", "Prompt for the anchors: a prompt name of the model (config_sentence_transformers.json), else the text itself",
       &O::prompt, R::Hyperparameter},
      {"prompt-text", "Literal prompt prepended to the anchors (wins over --prompt)", &O::prompt_text,
       R::Hyperparameter},
      {"column-prompt",
       "COLUMN=PROMPT for one column, repeatable (sentence-transformers' prompts={column: prompt}); PROMPT is a prompt "
       "name of the model or the text itself",
       &O::column_prompts, R::Hyperparameter, {}, false, false},
      {"eval", "Held-out rows (same columns) evaluated before, during (--eval-steps) and after training", &O::eval,
       R::Invocation},
      {"test",
       "A test set retrieved after training by the base model, the trained model and BM25, compared with confidence "
       "intervals (OUT/test_report/): a BEIR folder or a JSONL of (query, positive, …) rows",
       &O::test, R::Invocation},
      {"test-split", "The qrels split of a BEIR --test folder", &O::test_split, R::Invocation},
      {"test-corpus", "More documents for a pairs --test: JSONL as a BEIR corpus.jsonl ({\"text\", \"title\"?})",
       &O::test_corpus, R::Invocation},
      {"allow-leakage",
       "Train even when queries or positives of --eval / --test duplicate or nearly duplicate training anchors or "
       "positives (by default such leakage stops the run before the first step)",
       &O::allow_leakage, R::Invocation},
      {"eval-steps", "Evaluate every N steps (0: only before and after)", &O::eval_steps, R::Hyperparameter},
      {"metric-for-best", "The evaluation metric that picks the best weights (e.g. eval_ndcg@10); *loss: lower is better",
       &O::metric_for_best, R::Hyperparameter},
      {"early-stopping-patience", "Stop after N evaluations without a new best of --metric-for-best (0: never)",
       &O::early_stopping_patience, R::Hyperparameter},
      {"load-best-model-at-end", "Write the best evaluated weights (by --metric-for-best), not the last ones",
       &O::load_best_model_at_end, R::Hyperparameter},
      {"save-steps", "Write a checkpoint every N steps to OUT.checkpoints/checkpoint-N", &O::save_steps,
       R::Invocation},
      {"save-total-limit", "Keep only the newest N checkpoints (0: all)", &O::save_total_limit, R::Invocation},
      {"resume", "Continue exactly from the latest checkpoint in OUT.checkpoints/", &O::resume, R::Invocation},
      {"stop-after", "Checkpoint and stop after N steps of this run (split a long run)", &O::stop_after,
       R::Invocation},
      {"json", "Print each step's log line (JSON) on stdout", &O::json_log, R::Invocation},
  };
}

template <class T>
Status read_value(const nlohmann::json& v, const std::string& file, const std::string& key, T* out) {
  try {
    *out = v.get<T>();
  } catch (const nlohmann::json::exception&) {
    return make_error("%s: \"%s\": expected %s, got %s", file.c_str(), key.c_str(),
                      std::is_same_v<T, bool> ? "true or false"
                      : std::is_same_v<T, std::string> ? "a string"
                      : std::is_same_v<T, std::vector<std::string>> ? "a list of strings"
                                                                      : "a number",
                      v.dump().c_str());
  }
  return Status::ok_status();
}

}  // namespace

std::string TrainOptionField::json_key() const {
  std::string k = name;
  std::replace(k.begin(), k.end(), '-', '_');
  return k;
}

const std::vector<TrainOptionField>& train_option_fields() {
  static const std::vector<TrainOptionField> fields = make_fields();
  return fields;
}

nlohmann::json train_option_value(const TrainOptions& o, const TrainOptionField& f) {
  return std::visit(
      [&](auto member) -> nlohmann::json {
        const auto& v = o.*member;
        if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::optional<std::string>>)
          return v ? nlohmann::json(*v) : nlohmann::json();
        else
          return v;
      },
      f.ref);
}

nlohmann::json train_options_to_json(const TrainOptions& o) {
  nlohmann::json j = nlohmann::json::object();
  for (const TrainOptionField& f : train_option_fields())
    if (f.role != TrainOptionRole::Invocation) j[f.json_key()] = train_option_value(o, f);
  return j;
}

Status train_options_from_json(const nlohmann::json& j, const std::string& file, TrainOptions* o) {
  if (!j.is_object()) return make_error("%s: expected a JSON object of options", file.c_str());
  for (auto& [key, value] : j.items()) {
    const TrainOptionField* field = nullptr;
    for (const TrainOptionField& f : train_option_fields())
      if (f.json_key() == key || f.name == key) field = &f;
    if (!field || field->name == "config")
      return make_error("%s: unknown option \"%s\" (see embtune train --help)", file.c_str(), key.c_str());
    Status s = std::visit(
        [&](auto member) -> Status {
          auto& dst = o->*member;
          using T = std::decay_t<decltype(dst)>;
          if constexpr (std::is_same_v<T, std::optional<std::string>>) {
            if (value.is_null()) return dst.reset(), Status::ok_status();
            std::string s;
            ET_RETURN_IF_ERROR(read_value(value, file, key, &s));
            dst = s;
            return Status::ok_status();
          } else {
            if constexpr (std::is_same_v<T, int64_t> || std::is_same_v<T, uint64_t>)
              if (value.is_number_float()) return make_error("%s: \"%s\": expected an integer, got %s", file.c_str(), key.c_str(), value.dump().c_str());
            if constexpr (std::is_same_v<T, uint64_t>)
              if (value.is_number_integer() && value.get<int64_t>() < 0) return make_error("%s: \"%s\": must not be negative", file.c_str(), key.c_str());
            if constexpr (!std::is_same_v<T, bool> && !std::is_same_v<T, std::string> &&
                          !std::is_same_v<T, std::vector<std::string>>)
              if (!value.is_number()) return make_error("%s: \"%s\": expected a number, got %s", file.c_str(), key.c_str(), value.dump().c_str());
            return read_value(value, file, key, &dst);
          }
        },
        field->ref);
    ET_RETURN_IF_ERROR(s);
    if (!field->choices.empty()) {
      const std::string v = train_option_value(*o, *field).get<std::string>();
      if (std::find(field->choices.begin(), field->choices.end(), v) == field->choices.end())
        return make_error("%s: \"%s\": \"%s\" is not one of the allowed values", file.c_str(), key.c_str(), v.c_str());
    }
  }
  return Status::ok_status();
}

void train_option_copy(const TrainOptionField& f, const TrainOptions& from, TrainOptions* to) {
  std::visit([&](auto member) { to->*member = from.*member; }, f.ref);
}

}  // namespace embtune
