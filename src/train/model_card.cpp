// Writing the model card of a trained model.
// Not the options' declaration: every hyperparameter row comes from train_option_fields().
#include "train/model_card.h"

#include <filesystem>

#include "core/file.h"
#include "io/hub.h"

namespace embtune {

namespace {

std::string value_text(const nlohmann::json& v) {
  if (v.is_null()) return "—";
  if (v.is_string()) return v.get<std::string>().empty() ? "—" : "`" + v.get<std::string>() + "`";
  return "`" + v.dump() + "`";
}

std::string fmt(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", x);
  return buf;
}

}  // namespace

std::string model_card_text(const TrainOptions& o, const ModelCardFacts& f) {
  // A hub id (org/name[@revision]) is the card's base_model as the hub names it: org/name.
  const std::string base = looks_like_hub_id(o.model)
                               ? o.model.substr(0, o.model.find('@'))
                               : std::filesystem::path(o.model).lexically_normal().filename().string();
  std::string s;
  s += "---\n";
  s += "library_name: sentence-transformers\n";
  s += "pipeline_tag: sentence-similarity\n";
  s += "tags:\n- sentence-transformers\n- sentence-similarity\n- feature-extraction\n- embtune\n";
  s += "base_model: " + base + "\n";
  s += "---\n\n";
  s += "# " + std::filesystem::path(o.out).lexically_normal().filename().string() + "\n\n";
  s += "A sentence-transformers model fine-tuned from `" + base + "` with embtune on " +
       std::to_string(f.train_rows) + " rows of `" + std::filesystem::path(o.train).filename().string() + "`.\n\n";
  s += "## Usage\n\n```python\nfrom sentence_transformers import SentenceTransformer\n\n"
       "model = SentenceTransformer(\"path/to/this/directory\")\nembeddings = model.encode([\"a query\", \"a passage\"])\n```\n\n"
       "or with embtune:\n\n```sh\nembtune embed --model path/to/this/directory --input texts.txt --output emb.npy\n```\n\n";
  s += "## Training\n\n";
  s += "- Loss: `" + f.loss_class + "`\n";
  std::string cols;
  for (const std::string& c : f.columns) cols += (cols.empty() ? "`" : ", `") + c + "`";
  s += "- Columns: " + cols + "\n";
  s += "- Optimizer steps: " + std::to_string(f.steps) + "; final training loss: " + fmt(f.final_loss) + "\n\n";
  s += "### Hyperparameters\n\n| option | value |\n|---|---|\n";
  for (const TrainOptionField& field : train_option_fields())
    if (field.role == TrainOptionRole::Hyperparameter)
      s += "| `" + field.flag_name() + "` | " + value_text(train_option_value(o, field)) + " |\n";
  if (f.eval_before.is_object() && f.eval_after.is_object()) {
    s += "\n### Evaluation on `" + std::filesystem::path(o.eval).filename().string() + "`\n\n";
    s += "| metric | before | after |\n|---|---|---|\n";
    for (auto& [k, v] : f.eval_after.items())
      if (k != "step" && f.eval_before.contains(k))
        s += "| " + k + " | " + fmt(f.eval_before[k].get<double>()) + " | " + fmt(v.get<double>()) + " |\n";
  }
  if (f.test.is_object()) {
    // Each system's mean, then each difference from the base model with its interval and p-value.
    const nlohmann::json& t = f.test;
    s += "\n### Test set `" + std::filesystem::path(o.test).filename().string() + "` (" +
         std::to_string(t["queries"].get<int64_t>()) + " queries)\n\n| metric |";
    std::string rule = "|---|";
    for (const auto& sys : t["systems"]) s += " " + sys["name"].get<std::string>() + " |", rule += "---|";
    for (const auto& d : t["differences"])
      s += " " + d["system"].get<std::string>() + " − " + d["baseline"].get<std::string>() + " (95% CI, p) |", rule += "---|";
    s += "\n" + rule + "\n";
    for (const auto& key : t["metrics"]) {
      const std::string k = key.get<std::string>();
      s += "| " + k + " |";
      for (const auto& sys : t["systems"]) s += " " + fmt(sys["metrics"][k]["mean"].get<double>()) + " |";
      for (const auto& d : t["differences"]) {
        const nlohmann::json& m = d["metrics"][k];
        s += " " + fmt(m["mean"].get<double>()) + " [" + fmt(m["ci"][0].get<double>()) + ", " +
             fmt(m["ci"][1].get<double>()) + "], p " + fmt(m["p_value"].get<double>()) + " |";
      }
      s += "\n";
    }
    s += "\nThe full comparison (per-query wins and losses, charts) is in `test_report/report.html`.\n";
  }
  s += "\nThe full options are in `embtune_train.json` (reusable with `embtune train --config`), the per-step log "
       "in `training_log.jsonl`.\n";
  return s;
}

Status write_model_card(const std::string& dir, const TrainOptions& o, const ModelCardFacts& f) {
  AtomicFile file;
  ET_RETURN_IF_ERROR(file.open(dir + "/README.md"));
  ET_RETURN_IF_ERROR(file.write(model_card_text(o, f)));
  return file.commit();
}

}  // namespace embtune
