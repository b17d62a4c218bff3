// The training run: rows -> tokens -> batches -> micro-batch passes + AdamW steps -> a new
// sentence-transformers directory with training_log.jsonl, eval_log.jsonl and a model card.
// Not the maths (model/, ops/, train/train_step) and not argument parsing (cli/cmd_train.cpp).
#include "train/trainer.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <unordered_map>

#include "core/file.h"
#include "core/progress.h"
#include "data/batching.h"
#include "data/leakage.h"
#include "data/training_data.h"
#include "eval/metrics.h"
#include "io/safetensors.h"
#include "io/st_dir.h"
#include "model/sentence_encoder.h"
#include "train/adamw.h"
#include "train/model_card.h"
#include "train/objective.h"
#include "train/schedule.h"
#include "train/test_report.h"
#include "train/train_step.h"

namespace embtune {

namespace {

namespace fs = std::filesystem;

// Everything of the base directory but its weights, log and card, which the run writes anew.
Status copy_model_files(const std::string& from, const std::string& to) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(from, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    // Lexically: fs::relative resolves symlinks, and a hub snapshot's files are links into blobs/
    // (copy_file copies the linked contents).
    const fs::path rel = it->path().lexically_relative(from);
    const std::string name = it->path().filename().string();
    if (it->is_directory()) {
      fs::create_directories(fs::path(to) / rel, ec);
      continue;
    }
    const bool top = rel.parent_path().empty();
    const bool replaced = top && (name == "model.safetensors" || name == "model.safetensors.index.json" ||
                                  name.rfind("model-", 0) == 0 || name == "pytorch_model.bin" ||
                                  name == "training_log.jsonl" || name == "eval_log.jsonl" || name == "README.md" ||
                                  name == "embtune_train.json");
    if (replaced || name.find(".tmp") != std::string::npos) continue;
    fs::copy_file(it->path(), fs::path(to) / rel, fs::copy_options::overwrite_existing, ec);
    if (ec) break;
  }
  if (ec) return make_error("%s: cannot copy the model files to %s: %s", from.c_str(), to.c_str(), ec.message().c_str());
  return Status::ok_status();
}

// What must be equal for a checkpoint to continue this run exactly: every option but those of
// the invocation, the number of rows and of steps.
nlohmann::json run_identity(const TrainOptions& o, int64_t rows, int64_t total) {
  nlohmann::json j = train_options_to_json(o);
  j["rows"] = rows;
  j["total_steps"] = total;
  return j;
}

std::string checkpoints_dir(const TrainOptions& o) { return o.out + ".checkpoints"; }

// checkpoint-N, steps ascending.
std::vector<std::pair<int64_t, std::string>> list_checkpoints(const TrainOptions& o) {
  std::error_code ec;
  std::vector<std::pair<int64_t, std::string>> found;
  for (auto& e : fs::directory_iterator(checkpoints_dir(o), ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("checkpoint-", 0) != 0 || name.find(".tmp") != std::string::npos) continue;
    char* end = nullptr;
    const long long step = std::strtoll(name.c_str() + 11, &end, 10);
    if (*end == '\0' && end != name.c_str() + 11) found.emplace_back(step, e.path().string());
  }
  std::sort(found.begin(), found.end());
  return found;
}

// The trainable parameters: the encoder's arena, then the head's Dense layers. Gradients and
// AdamW moments are one arena of params_total() floats in this order, so clipping sees one
// global norm over both.
struct Trainable {
  BertModel* model;
  SentenceHead* head;
  size_t bert_size() const { return model->params().size(); }
  size_t total() const { return bert_size() + head->params().size(); }
  // Calls f(name, shape, params, offset into the shared arena, numel) for every tensor.
  template <class F>
  void each(F&& f) const {
    for (const ParamInfo& p : model->layout()) f(p.name, p.shape, model->params().data() + p.offset, p.offset, p.numel);
    for (const ParamInfo& p : head->layout())
      f(p.name, p.shape, head->params().data() + p.offset, bert_size() + p.offset, p.numel);
  }
};

// A named tensor of `file` into dst, which must have its shape.
Status read_tensor(const SafetensorsFile& file, const std::string& path, const std::string& name,
                   const std::vector<int64_t>& shape, float* dst) {
  const TensorView* t = file.find(name);
  if (!t || t->shape != shape) return make_error("%s: missing or misshapen \"%s\"", path.c_str(), name.c_str());
  return tensor_to_f32(*t, dst);
}

Status write_weight_files(const std::string& dir, const Trainable& t) {
  ET_RETURN_IF_ERROR(t.model->save_safetensors(dir + "/model.safetensors", DType::F32));
  std::vector<TensorToWrite> head;
  for (const ParamInfo& p : t.head->layout())
    head.push_back({p.name, p.shape, t.head->params().data() + p.offset, DType::F32});
  if (!head.empty()) ET_RETURN_IF_ERROR(safetensors_write(dir + "/head.safetensors", head));
  return Status::ok_status();
}

Status read_weight_files(const std::string& dir, const Trainable& t) {
  SafetensorsSet weights;
  ET_RETURN_IF_ERROR(weights.open(dir + "/model.safetensors"));
  const BertConfig cfg = t.model->config();
  ET_RETURN_IF_ERROR(t.model->load(cfg, weights));
  if (!t.head->layout().empty()) {
    SafetensorsFile head;
    ET_RETURN_IF_ERROR(head.open(dir + "/head.safetensors"));
    for (const ParamInfo& p : t.head->layout())
      ET_RETURN_IF_ERROR(read_tensor(head, dir + "/head.safetensors", p.name, p.shape, t.head->params().data() + p.offset));
  }
  return Status::ok_status();
}

Status write_checkpoint_files(const std::string& dir, const Trainable& t, const std::vector<float>& m,
                              const std::vector<float>& v, const nlohmann::json& state, const std::string& log) {
  ET_RETURN_IF_ERROR(write_weight_files(dir, t));
  std::vector<TensorToWrite> moments;
  t.each([&](const std::string& name, const std::vector<int64_t>& shape, float*, size_t off, int64_t) {
    moments.push_back({"exp_avg." + name, shape, m.data() + off, DType::F32});
    moments.push_back({"exp_avg_sq." + name, shape, v.data() + off, DType::F32});
  });
  ET_RETURN_IF_ERROR(safetensors_write(dir + "/optimizer.safetensors", moments));
  ET_RETURN_IF_ERROR(write_json_file(dir + "/trainer_state.json", state));
  AtomicFile f;
  ET_RETURN_IF_ERROR(f.open(dir + "/training_log.jsonl"));
  ET_RETURN_IF_ERROR(f.write(log));
  return f.commit();
}

// checkpoint-N: model.safetensors, optimizer.safetensors (AdamW moments), trainer_state.json and
// the log so far; written beside its final name and renamed, so a crash, a kill or a full disk
// mid-write leaves the previous checkpoints whole (and no half-written one behind).
Status save_checkpoint(const TrainOptions& o, const Trainable& t, const std::vector<float>& m,
                       const std::vector<float>& v, const nlohmann::json& state, const std::string& log) {
  const std::string final_dir = checkpoints_dir(o) + "/checkpoint-" + std::to_string(state["step"].get<int64_t>());
  const std::string tmp = final_dir + ".tmp-" + std::to_string(getpid());
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) return make_error("%s: cannot create directory: %s", tmp.c_str(), ec.message().c_str());
  Status s = write_checkpoint_files(tmp, t, m, v, state, log);
  if (s.ok()) {
    fs::remove_all(final_dir, ec);
    fs::rename(tmp, final_dir, ec);
    if (ec) s = make_error("%s: cannot move the checkpoint into place: %s", final_dir.c_str(), ec.message().c_str());
  }
  if (!s.ok()) {
    fs::remove_all(tmp, ec);
    return s.wrap("checkpoint at step " + std::to_string(state["step"].get<int64_t>()) +
                  " not written (the earlier checkpoints are whole)");
  }
  if (o.save_total_limit > 0) {
    auto all = list_checkpoints(o);
    for (size_t i = 0; i + o.save_total_limit < all.size(); i++) fs::remove_all(all[i].second, ec);
  }
  return Status::ok_status();
}

Status load_checkpoint(const std::string& dir, const Trainable& t, std::vector<float>* m, std::vector<float>* v,
                       nlohmann::json* state, std::string* log) {
  ET_RETURN_IF_ERROR(read_json_file(dir + "/trainer_state.json", state));
  ET_RETURN_IF_ERROR(read_weight_files(dir, t));
  SafetensorsFile moments;
  const std::string mpath = dir + "/optimizer.safetensors";
  ET_RETURN_IF_ERROR(moments.open(mpath));
  Status s = Status::ok_status();
  t.each([&](const std::string& name, const std::vector<int64_t>& shape, float*, size_t off, int64_t) {
    if (s.ok()) s = read_tensor(moments, mpath, "exp_avg." + name, shape, m->data() + off);
    if (s.ok()) s = read_tensor(moments, mpath, "exp_avg_sq." + name, shape, v->data() + off);
  });
  ET_RETURN_IF_ERROR(s);
  return read_file(dir + "/training_log.jsonl", log);
}

// best-N beside the checkpoints: the weights (encoder, head) of the best evaluation at step N,
// for --load-best-model-at-end; kept on disk so that a resumed run still ends with them.
std::string best_weights_dir(const TrainOptions& o, int64_t step) {
  return checkpoints_dir(o) + "/best-" + std::to_string(step);
}

// Removes the best-N folders that neither `current` nor any checkpoint on disk (its
// trainer_state's "best_step") refers to: a resume from any kept checkpoint finds its best.
void prune_best_weights(const TrainOptions& o, int64_t current) {
  std::set<int64_t> keep = {current};
  for (const auto& [step, dir] : list_checkpoints(o)) {
    nlohmann::json state;
    if (read_json_file(dir + "/trainer_state.json", &state).ok()) keep.insert(state.value("best_step", int64_t{-1}));
  }
  std::error_code ec;
  for (auto& e : fs::directory_iterator(checkpoints_dir(o), ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("best-", 0) != 0) continue;
    char* end = nullptr;
    const long long step = std::strtoll(name.c_str() + 5, &end, 10);
    if (*end != '\0' || !keep.count(step)) fs::remove_all(e.path(), ec);
  }
}

Status save_best_weights(const TrainOptions& o, const Trainable& t, int64_t step) {
  const std::string final_dir = best_weights_dir(o, step), tmp = final_dir + ".tmp-" + std::to_string(getpid());
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) return make_error("%s: cannot create directory: %s", tmp.c_str(), ec.message().c_str());
  Status s = write_weight_files(tmp, t);
  if (s.ok()) {
    fs::remove_all(final_dir, ec);
    fs::rename(tmp, final_dir, ec);
    if (ec) s = make_error("%s: cannot move the best weights into place: %s", final_dir.c_str(), ec.message().c_str());
  }
  if (!s.ok()) {
    fs::remove_all(tmp, ec);
    return s.wrap("best weights of step " + std::to_string(step) + " not written");
  }
  prune_best_weights(o, step);
  return Status::ok_status();
}

Status check_options(const TrainOptions& o) {
  if (o.precision == "bf16" && !cpu_has_native_bf16())
    return make_error("--precision bf16: this CPU has neither AVX512-BF16 nor AMX; use --precision fp32");
  if (o.batch_size < 1) return make_error("--batch-size must be at least 1");
  if (o.gradient_accumulation_steps < 1) return make_error("--gradient-accumulation-steps must be at least 1");
  if (!(o.lr > 0)) return make_error("--lr must be positive");
  if (!(o.warmup >= 0)) return make_error("--warmup must not be negative");
  if (o.dropout >= 1) return make_error("--dropout %g: must be below 1", o.dropout);
  if (o.max_steps <= 0 && o.epochs <= 0) return make_error("give --epochs or --max-steps");
  if (o.max_steps < 0 || o.epochs < 0 || o.save_steps < 0 || o.eval_steps < 0 || o.stop_after < 0 ||
      o.save_total_limit < 0)
    return make_error("--max-steps, --epochs, --save-steps, --eval-steps, --stop-after and --save-total-limit must not be negative");
  if (!(o.score_min <= o.score_max)) return make_error("--score-min must not exceed --score-max");
  if ((o.early_stopping_patience > 0 || o.load_best_model_at_end) && o.eval.empty())
    return make_error("--early-stopping-patience and --load-best-model-at-end need --eval");
  if (o.early_stopping_patience < 0) return make_error("--early-stopping-patience must not be negative");
  LrSchedule k;
  return lr_schedule_from_name(o.scheduler, &k);
}

// Reads `path` with the columns the loss needs; errors name the file and line.
// The queries and their relevant documents of a test set: what must not be in the training data.
LeakageTexts test_leakage_texts(const TrainOptions& o, const BeirData& d) {
  LeakageTexts t;
  t.path = o.test;
  for (size_t q = 0; q < d.query_ids.size(); ++q) {
    t.add(d.query_texts[q], static_cast<int64_t>(t.texts.size()) + 1);
    t.ids.push_back("query " + d.query_ids[q]);
  }
  if (d.has_doc_texts()) {
    std::unordered_map<std::string, size_t> row;
    for (size_t i = 0; i < d.doc_ids.size(); ++i) row.emplace(d.doc_ids[i], i);
    std::set<size_t> relevant;
    for (const auto& [qid, docs] : d.qrels.grades)
      for (const auto& [doc, grade] : docs) {
        auto it = row.find(doc);
        if (grade > 0 && it != row.end()) relevant.insert(it->second);
      }
    for (size_t i : relevant) {
      t.add(d.doc_texts[i], static_cast<int64_t>(t.texts.size()) + 1);
      t.ids.push_back("document " + d.doc_ids[i]);
    }
  }
  return t;
}

// The leakage firewall: the anchors and positives (the first two text columns) of the training
// rows against those of --eval and against the queries and relevant documents of --test. Leakage
// stops the run unless --allow-leakage, which turns it into a warning.
Status check_leakage(const TrainOptions& o, const TrainingData& data, const BeirData& test_data) {
  if (o.eval.empty() && o.test.empty()) return Status::ok_status();
  const std::vector<std::string> fields(data.text_columns.begin(),
                                        data.text_columns.begin() + std::min<size_t>(2, data.text_columns.size()));
  LeakageTexts train;
  ET_RETURN_IF_ERROR(leakage_read_file(o.train, fields, &train));
  std::vector<std::pair<std::string, LeakageTexts>> sides;
  if (!o.eval.empty()) {
    LeakageTexts e;
    ET_RETURN_IF_ERROR(leakage_read_file(o.eval, fields, &e));
    sides.emplace_back("--eval", std::move(e));
  }
  if (!o.test.empty()) sides.emplace_back("--test", test_leakage_texts(o, test_data));
  for (const auto& [flag, side] : sides) {
    LeakageResult r;
    ET_RETURN_IF_ERROR(leakage_find(train, side, LeakageOptions{}, &r));
    if (!r.any()) {
      if (!o.quiet)
        std::fprintf(stderr, "train: no leakage between %s and %s %s (%lld distinct texts)\n", o.train.c_str(),
                     flag.c_str(), side.path.c_str(), static_cast<long long>(r.eval_distinct));
      continue;
    }
    const std::string what = leakage_describe(train, side, r, 3);
    if (!o.allow_leakage)
      return make_error("%s %s leaks: its texts duplicate training texts of %s: %s(evaluation on it would be "
                        "inflated; make leak-free splits with embtune prepare, or pass --allow-leakage to train anyway)",
                        flag.c_str(), side.path.c_str(), o.train.c_str(), what.c_str());
    if (!o.quiet)
      std::fprintf(stderr, "train: warning (--allow-leakage): %s %s duplicates training texts: %s", flag.c_str(),
                   side.path.c_str(), what.c_str());
  }
  return Status::ok_status();
}

// "anchor, positive, negative": column names for messages.
std::string join_columns(const std::vector<std::string>& columns) {
  std::string s;
  for (const std::string& c : columns) s += (s.empty() ? "" : ", ") + c;
  return s;
}

Status read_rows(const std::string& path, const TrainOptions& o, const LossSpec& spec, TrainingData* data) {
  const LossColumns need = loss_columns(spec.kind);
  TrainingDataOptions dopt;
  dopt.format = o.format;
  dopt.columns = o.columns;
  dopt.score_column = o.score_column;
  if (spec.kind == LossKind::CoSent || spec.kind == LossKind::Angle) {
    dopt.score_min = o.score_min;
    dopt.score_max = o.score_max;
  }
  ET_RETURN_IF_ERROR(training_data_read(path, dopt, data));
  const size_t n = data->text_columns.size();
  if (n < need.min_texts || n > need.max_texts)
    return make_error("%s: %s needs the text columns %s; found %zu (%s)", path.c_str(), loss_class_name(spec), need.names,
                      n, join_columns(data->text_columns).c_str());
  if (need.needs_score && data->score_column.empty())
    return make_error("%s: %s needs a score column (\"score\" or \"label\", or --score-column)", path.c_str(),
                      loss_class_name(spec));
  return Status::ok_status();
}

// The prompt of one column: --column-prompt for it, else (first column only) --prompt-text or
// --prompt. A prompt is a prompt name of the model when it has one of that name, else the text
// itself. As in sentence-transformers' trainer, the model's default prompt (an inference
// setting) is not used.
EmbedOptions column_embed_options(const TrainOptions& o, const SentenceEncoder& enc, const std::string& column,
                                  size_t c) {
  std::optional<std::string> chosen;
  for (const std::string& cp : o.column_prompts)
    if (cp.rfind(column + "=", 0) == 0) chosen = cp.substr(column.size() + 1);
  if (!chosen && c == 0 && o.prompt_text) {
    EmbedOptions eo;
    eo.has_prompt_text = true;
    eo.prompt_text = *o.prompt_text;
    return eo;
  }
  if (!chosen && c == 0) chosen = o.prompt;
  return enc.prompt_by_name_or_text(chosen.value_or(""));
}

// Loss and metrics of the current model on held-out rows: the loss over consecutive batches of
// --batch-size in file order; for pair and triplet losses, cosine retrieval of each anchor's
// positive among every other text of the set; for scored pairs, Spearman and Pearson of the
// cosine against the score (sentence-transformers' EmbeddingSimilarityEvaluator).
Status evaluate(const SentenceEncoder& enc, const TrainingData& d, const TrainOptions& o, const LossSpec& spec,
                const std::string& file, nlohmann::json* out) {
  const int64_t rows = static_cast<int64_t>(d.rows.size()), cols = static_cast<int64_t>(d.text_columns.size());
  const int64_t D = enc.dim();
  std::vector<std::vector<float>> emb(cols);
  for (int64_t c = 0; c < cols; c++) {
    std::vector<std::string> texts(rows);
    for (int64_t r = 0; r < rows; r++) texts[r] = d.rows[r].texts[c];
    ET_RETURN_IF_ERROR(enc.embed(texts, column_embed_options(o, enc, d.text_columns[c], c), &emb[c]).wrap(file));
  }
  double loss_sum = 0;
  std::vector<float> batch, grad, scores;
  for (int64_t b0 = 0; b0 < rows; b0 += o.batch_size) {
    const int64_t B = std::min<int64_t>(o.batch_size, rows - b0);
    batch.resize(cols * B * D);
    grad.resize(cols * B * D);
    scores.resize(B);
    for (int64_t c = 0; c < cols; c++)
      std::copy(emb[c].begin() + b0 * D, emb[c].begin() + (b0 + B) * D, batch.begin() + c * B * D);
    for (int64_t r = 0; r < B; r++) scores[r] = static_cast<float>(d.rows[b0 + r].score);
    loss_sum += B * loss_forward_backward(spec, grad.data(), batch.data(), B, cols, D, scores.data());
  }
  *out = {{"eval_loss", loss_sum / rows}};
  if (spec.kind == LossKind::CoSent || spec.kind == LossKind::Angle) {
    const std::vector<double> cos = pairwise_cosine(emb[0].data(), emb[1].data(), rows, D);
    std::vector<double> gold(rows);
    for (int64_t r = 0; r < rows; r++) gold[r] = d.rows[r].score;
    (*out)["eval_spearman_cosine"] = spearman_correlation(cos, gold);
    (*out)["eval_pearson_cosine"] = pearson_correlation(cos, gold);
  } else if (spec.kind != LossKind::MarginMse) {
    std::unordered_map<std::string, int64_t> doc_index;
    std::vector<float> docs;
    std::vector<std::vector<int64_t>> relevant(rows);
    for (int64_t c = 1; c < cols; c++)
      for (int64_t r = 0; r < rows; r++) {
        auto [it, added] = doc_index.emplace(d.rows[r].texts[c], static_cast<int64_t>(doc_index.size()));
        if (added) docs.insert(docs.end(), emb[c].begin() + r * D, emb[c].begin() + (r + 1) * D);
        if (c == 1) relevant[r] = {it->second};
      }
    const auto m = retrieval_metrics(emb[0].data(), rows, docs.data(), static_cast<int64_t>(doc_index.size()), D,
                                     relevant, {1, 10});
    for (const char* k : {"accuracy@1", "recall@10", "mrr@10", "ndcg@10"}) (*out)[std::string("eval_") + k] = m.at(k);
  }
  return Status::ok_status();
}

// Appends `text` to the open log, failing on a write error (a full disk).
Status append_line(std::FILE* f, const std::string& path, const std::string& text) {
  if (std::fputs(text.c_str(), f) < 0 || std::fflush(f) != 0)
    return make_error("%s: write failed: %s", path.c_str(), std::strerror(errno));
  return Status::ok_status();
}

// The probabilities of this run: --dropout for both, or the model config's.
void dropout_probabilities(const TrainOptions& o, const BertConfig& c, double* hidden, double* attention) {
  *hidden = o.dropout >= 0 ? o.dropout : c.hidden_dropout_prob;
  *attention = o.dropout >= 0 ? o.dropout : c.attention_probs_dropout_prob;
}

// Where the best evaluation of `history` is by `metric` (the earliest of equals), and whether
// the metric exists there.
Status best_evaluation(const nlohmann::json& history, const std::string& metric, const std::string& file,
                       size_t* best) {
  const bool lower = metric.size() >= 4 && metric.compare(metric.size() - 4, 4, "loss") == 0;
  *best = 0;
  for (size_t i = 0; i < history.size(); i++) {
    if (!history[i].contains(metric)) {
      std::string known;
      for (auto& [k, v] : history[i].items())
        if (k != "step") known += (known.empty() ? "" : ", ") + k;
      return make_error("--metric-for-best %s: %s's evaluation has no such metric (it has %s)", metric.c_str(),
                        file.c_str(), known.c_str());
    }
    const double v = history[i][metric].get<double>(), b = history[*best][metric].get<double>();
    if (lower ? v < b : v > b) *best = i;
  }
  return Status::ok_status();
}

// splitmix64 of the run's seed and a micro-batch number: well-mixed, distinct seeds per micro-batch.
uint64_t dropout_seed(uint64_t seed, uint64_t micro_batch) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (micro_batch + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Set by SIGINT / SIGTERM: the run finishes its step, writes a checkpoint and stops.
volatile sig_atomic_t g_interrupted = 0;

extern "C" void on_interrupt(int sig) {
  g_interrupted = 1;
  signal(sig, SIG_DFL);  // a second Ctrl-C ends the process at once
}

// Installs on_interrupt for the life of a run (SIGINT only where it is not ignored, as in a
// background job, so nohup-style launches keep their behaviour) and restores the handlers after.
class InterruptGuard {
 public:
  InterruptGuard() {
    g_interrupted = 0;
    old_term_ = signal(SIGTERM, on_interrupt);
    old_int_ = signal(SIGINT, SIG_IGN);
    if (old_int_ != SIG_IGN) signal(SIGINT, on_interrupt);
  }
  ~InterruptGuard() {
    signal(SIGTERM, old_term_);
    signal(SIGINT, old_int_);
  }

 private:
  void (*old_term_)(int);
  void (*old_int_)(int);
};

}  // namespace

Status train_run(const TrainOptions& options) {
  ET_RETURN_IF_ERROR(check_options(options));
  TrainOptions opt = options;
  // "auto" is resolved here, so that the checkpoints, the card and embtune_train.json say which.
  if (opt.precision == "auto") opt.precision = cpu_has_native_bf16() ? "bf16" : "fp32";
  LrSchedule schedule;
  ET_RETURN_IF_ERROR(lr_schedule_from_name(opt.scheduler, &schedule));
  LossSpec spec;
  ET_RETURN_IF_ERROR(loss_spec_from_names(opt.loss, opt.distance, opt.scale, opt.symmetric, opt.margin, &spec));
  std::error_code ec;
  if (fs::exists(opt.out, ec) && !(fs::is_directory(opt.out, ec) && fs::is_empty(opt.out, ec)))
    return make_error("%s: already exists and is not empty", opt.out.c_str());

  // Data first: every row of both files is checked before the model loads or a step runs.
  TrainingData data, eval_data;
  ET_RETURN_IF_ERROR(read_rows(opt.train, opt, spec, &data));
  for (const std::string& cp : opt.column_prompts) {
    const size_t eq = cp.find('=');
    const std::string col = eq == std::string::npos ? "" : cp.substr(0, eq);
    if (std::find(data.text_columns.begin(), data.text_columns.end(), col) == data.text_columns.end())
      return make_error("--column-prompt \"%s\": expected COLUMN=PROMPT with COLUMN one of the text columns of %s",
                        cp.c_str(), opt.train.c_str());
  }
  if (!opt.eval.empty()) {
    ET_RETURN_IF_ERROR(read_rows(opt.eval, opt, spec, &eval_data));
    // The evaluation rows may have the first of the training columns only: (anchor, positive)
    // validation pairs beside (anchor, positive, negative) rows that `embtune mine` wrote.
    const std::vector<std::string>& tc = data.text_columns;
    const std::vector<std::string>& ec = eval_data.text_columns;
    if (ec.size() > tc.size() || !std::equal(ec.begin(), ec.end(), tc.begin()))
      return make_error("%s: the evaluation rows' text columns (%s) must be the training rows' (%s) or the first of them",
                        opt.eval.c_str(), join_columns(ec).c_str(), join_columns(tc).c_str());
  }

  BeirData test_data;
  if (!opt.test.empty()) {
    if (data.text_columns.size() < 2)
      return make_error("--test needs (query, document) columns in %s", opt.train.c_str());
    ET_RETURN_IF_ERROR(test_data_read(opt, &test_data));
  }
  ET_RETURN_IF_ERROR(check_leakage(opt, data, test_data));

  std::unique_ptr<SentenceEncoder> enc;
  ET_RETURN_IF_ERROR(SentenceEncoder::load(opt.model, &enc));
  BertModel& model = enc->bert();
  model.set_precision(opt.precision == "bf16" ? Precision::Bf16 : Precision::Fp32);
  if (!opt.quiet)
    std::fprintf(stderr, "train: %s\n",
                 opt.precision == "bf16" ? "bf16 matmuls with fp32 accumulation and fp32 master weights (--precision fp32 for full fp32)"
                                         : "fp32 arithmetic");
  SentenceHead& head = enc->head();
  const Trainable trainable{&model, &head};
  double p_hidden = 0, p_attention = 0;
  dropout_probabilities(opt, model.config(), &p_hidden, &p_attention);

  // Tokenize every column as sentence-transformers would: the prompt goes to the anchors.
  const int64_t rows = static_cast<int64_t>(data.rows.size());
  const size_t cols = data.text_columns.size();
  std::vector<std::vector<Encoding>> tokens(cols);
  std::vector<int32_t> prompt_tokens(cols, 0);
  for (size_t c = 0; c < cols; c++) {
    std::vector<std::string> texts(rows);
    for (int64_t r = 0; r < rows; r++) texts[r] = data.rows[r].texts[c];
    int32_t pt = 0;
    ET_RETURN_IF_ERROR(enc->tokenize(texts, column_embed_options(opt, *enc, data.text_columns[c], c), &tokens[c], &pt)
                           .wrap(opt.train + ": column \"" + data.text_columns[c] + "\""));
    prompt_tokens[c] = pt;
  }
  // In-batch-negative losses never see a text twice in one batch; the others batch in order.
  std::vector<std::vector<size_t>> hashes(rows);
  if (loss_columns(spec.kind).in_batch_negatives)
    for (int64_t r = 0; r < rows; r++)
      for (const std::string& t : data.rows[r].texts) hashes[r].push_back(std::hash<std::string>{}(t));
  std::vector<int64_t> lengths(rows, 0);
  for (size_t c = 0; c < cols; c++)
    for (int64_t r = 0; r < rows; r++) lengths[r] += static_cast<int64_t>(tokens[c][r].ids.size());

  std::mt19937_64 rng(opt.seed);
  std::vector<int64_t> order(rows);
  for (int64_t r = 0; r < rows; r++) order[r] = r;
  auto epoch_batches = [&]() {
    if (opt.shuffle) std::shuffle(order.begin(), order.end(), rng);
    if (opt.group_by_length) order = group_by_length(order, lengths, opt.batch_size);
    return batches_without_duplicates(order, hashes, opt.batch_size);
  };
  std::vector<std::vector<int64_t>> batches = epoch_batches();
  const int64_t accum = opt.gradient_accumulation_steps;
  int64_t total = opt.max_steps > 0 ? opt.max_steps
                                          : (opt.epochs * static_cast<int64_t>(batches.size()) + accum - 1) / accum;
  const int64_t warmup = opt.warmup < 1.0 ? static_cast<int64_t>(std::ceil(opt.warmup * total))
                                          : static_cast<int64_t>(opt.warmup);

  const std::string tmp = opt.out + ".tmp-" + std::to_string(getpid());
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) return make_error("%s: cannot create directory: %s", tmp.c_str(), ec.message().c_str());
  struct Cleanup {
    std::string dir;
    bool keep = false;
    ~Cleanup() {
      std::error_code e;
      if (!keep) fs::remove_all(dir, e);
    }
  } cleanup{tmp};
  ET_RETURN_IF_ERROR(copy_model_files(enc->files().dir, tmp));
  const std::string log_path = tmp + "/training_log.jsonl";
  std::FILE* log = std::fopen(log_path.c_str(), "w");
  if (!log) return make_error("%s: cannot create", log_path.c_str());
  struct CloseLog {
    std::FILE* f;
    ~CloseLog() { std::fclose(f); }
  } close_log{log};

  const size_t n = trainable.total();
  std::vector<float> grads(n), m(n, 0.0f), v(n, 0.0f);
  float* head_grads = grads.data() + trainable.bert_size();
  AdamWConfig acfg;
  acfg.weight_decay = opt.weight_decay;
  const nlohmann::json identity = run_identity(opt, rows, total);
  int64_t start = 0, epoch = 0, in_epoch = 0;
  std::string log_text;
  nlohmann::json eval_history = nlohmann::json::array();
  double final_loss = 0;
  if (opt.resume) {
    const auto all = list_checkpoints(opt);
    if (all.empty()) return make_error("%s: no checkpoint to resume from", checkpoints_dir(opt).c_str());
    const std::string& ckpt = all.back().second;
    nlohmann::json state;
    ET_RETURN_IF_ERROR(load_checkpoint(ckpt, trainable, &m, &v, &state, &log_text));
    for (auto& [key, value] : identity.items())
      if (!state["run"].contains(key) || state["run"][key] != value)
        return make_error("%s: cannot resume: \"%s\" was %s in the checkpoint and is %s now", ckpt.c_str(), key.c_str(),
                          state["run"].value(key, nlohmann::json()).dump().c_str(), value.dump().c_str());
    start = state["step"].get<int64_t>();
    epoch = state["epoch"].get<int64_t>();
    in_epoch = state["in_epoch"].get<int64_t>();
    eval_history = state.value("eval", nlohmann::json::array());
    final_loss = state.value("loss", 0.0);
    // The shuffles are replayed from the seed, so the RNG and the epoch's batches are exactly
    // those of the interrupted run.
    for (int64_t e = 0; e < epoch; e++) batches = epoch_batches();
    if (!opt.quiet)
      std::fprintf(stderr, "train: resuming from %s (step %lld of %lld)\n", ckpt.c_str(), (long long)start, (long long)total);
  }
  ET_RETURN_IF_ERROR(append_line(log, log_path, log_text));

  auto run_eval = [&](int64_t step, nlohmann::json* line) -> Status {
    nlohmann::json e;
    ET_RETURN_IF_ERROR(evaluate(*enc, eval_data, opt, spec, opt.eval, &e));
    e["step"] = step;
    eval_history.push_back(e);
    if (line) line->update(e);
    if (!opt.quiet) {
      std::string s;
      for (auto& [k, val] : e.items())
        if (k != "step") s += " " + k + "=" + std::to_string(val.get<double>());
      // On a terminal the progress bar's line is open: end it first.
      std::fprintf(stderr, "%strain: step %lld:%s\n", isatty(2) ? "\n" : "", (long long)step, s.c_str());
    }
    return Status::ok_status();
  };
  if (!opt.eval.empty() && start == 0) ET_RETURN_IF_ERROR(run_eval(0, nullptr));

  // The best evaluated weights (encoder then head), for --load-best-model-at-end.
  std::vector<float> best_params;
  int64_t best_step = -1;
  auto current_params = [&]() {
    std::vector<float> p = model.params();
    p.insert(p.end(), head.params().begin(), head.params().end());
    return p;
  };
  // Called after each evaluation: a new best keeps the current weights, in memory and (for a
  // later resume) in best-N on disk.
  auto track_best = [&]() -> Status {
    size_t best = 0;
    ET_RETURN_IF_ERROR(best_evaluation(eval_history, opt.metric_for_best, opt.eval, &best));
    const int64_t step = eval_history[best]["step"].get<int64_t>();
    if (opt.load_best_model_at_end && step != best_step) {
      best_params = current_params();
      ET_RETURN_IF_ERROR(save_best_weights(opt, trainable, step));
    }
    best_step = step;
    return Status::ok_status();
  };
  if (!opt.eval.empty() && (opt.load_best_model_at_end || opt.early_stopping_patience > 0)) {
    if (start == 0) {
      ET_RETURN_IF_ERROR(track_best());
    } else {
      // Resumed: the best so far was evaluated before the checkpoint, at start or earlier.
      size_t best = 0;
      ET_RETURN_IF_ERROR(best_evaluation(eval_history, opt.metric_for_best, opt.eval, &best));
      best_step = eval_history[best]["step"].get<int64_t>();
      if (opt.load_best_model_at_end) {
        best_params = current_params();
        if (best_step != start) {
          const std::vector<float> resumed = best_params;
          const std::string dir = best_weights_dir(opt, best_step);
          ET_RETURN_IF_ERROR(read_weight_files(dir, trainable)
                                 .wrap("the best weights (step " + std::to_string(best_step) + ") of the resumed run"));
          best_params = current_params();
          std::copy(resumed.begin(), resumed.begin() + model.params().size(), model.params().begin());
          std::copy(resumed.begin() + model.params().size(), resumed.end(), head.params().begin());
        }
      }
    }
  }

  TrainStepScratch scratch;
  InterruptGuard interrupt_guard;
  Progress bar("train", total, "steps", !opt.quiet);
  PackedBatch packed;
  std::vector<float> scores;
  bar.update(start);
  for (int64_t step = start; step < total; step++) {
    const auto t0 = std::chrono::steady_clock::now();
    std::fill(grads.begin(), grads.end(), 0.0f);
    double loss = 0;
    int64_t ntok = 0, nrows = 0;
    for (int64_t micro = 0; micro < accum; micro++) {
      // Deferred duplicates can change the number of batches from one shuffle to the next.
      if (in_epoch == static_cast<int64_t>(batches.size())) {
        batches = epoch_batches();
        epoch++;
        in_epoch = 0;
      }
      const std::vector<int64_t>& batch = batches[in_epoch++];
      const int64_t B = static_cast<int64_t>(batch.size());
      packed.clear();
      for (size_t c = 0; c < cols; c++)
        for (int64_t r : batch) packed.add(tokens[c][r].ids, &tokens[c][r].type_ids);
      ET_RETURN_IF_ERROR(model.validate_batch(packed));
      scores.resize(B);
      for (int64_t i = 0; i < B; i++) scores[i] = static_cast<float>(data.rows[batch[i]].score);
      // A fresh set of dropout masks for every micro-batch of the run, from the seed and the
      // micro-batch's number: the same on resume, and on any number of threads.
      DropoutConfig dropout;
      dropout.hidden = static_cast<float>(p_hidden);
      dropout.attention = static_cast<float>(p_attention);
      dropout.seed = dropout_seed(opt.seed, static_cast<uint64_t>(step * accum + micro));
      const TrainStepResult r = train_micro_batch(model, head, packed, B, static_cast<int64_t>(cols),
                                                  prompt_tokens, spec, scores.data(),
                                                  1.0f / static_cast<float>(accum), &scratch, grads.data(), head_grads,
                                                  dropout);
      loss += r.loss / static_cast<double>(accum);
      ntok += r.tokens;
      nrows += B;
    }
    final_loss = loss;
    if (!std::isfinite(loss))
      return make_error("step %lld: the loss is not finite (%g); try a lower --lr", (long long)step + 1, loss);
    const double grad_norm = clip_grad_norm(grads.data(), static_cast<int64_t>(n), opt.max_grad_norm);
    const double lr = lr_at_step(schedule, opt.lr, step, warmup, total);
    trainable.each([&](const std::string& name, const std::vector<int64_t>&, float* params, size_t off, int64_t numel) {
      adamw_step(params, m.data() + off, v.data() + off, grads.data() + off, numel, lr, step + 1, acfg,
                 param_gets_weight_decay(name));
    });
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double epoch_pos = epoch + static_cast<double>(in_epoch) / static_cast<double>(batches.size());
    nlohmann::json line = {{"step", step + 1},     {"epoch", epoch_pos},          {"loss", loss},
                           {"lr", lr},             {"grad_norm", grad_norm},      {"tokens_per_s", ntok / dt},
                           {"pairs_per_s", nrows / dt}};
    bool last = step + 1 == total;
    if (!opt.eval.empty() && (last || (opt.eval_steps > 0 && (step + 1) % opt.eval_steps == 0))) {
      ET_RETURN_IF_ERROR(run_eval(step + 1, &line));
      if (opt.load_best_model_at_end || opt.early_stopping_patience > 0) {
        ET_RETURN_IF_ERROR(track_best());
        // Evaluations since the best one: patience spent.
        int64_t since = 0;
        for (const auto& e : eval_history) since = e["step"].get<int64_t>() > best_step ? since + 1 : 0;
        if (opt.early_stopping_patience > 0 && since >= opt.early_stopping_patience && !last) {
          if (!opt.quiet)
            std::fprintf(stderr, "train: early stop after step %lld: %s has not improved on step %lld's in %lld evaluations\n",
                         (long long)step + 1, opt.metric_for_best.c_str(), (long long)best_step, (long long)since);
          line["early_stop"] = true;
          last = true;
          total = step + 1;
        }
      }
    }
    const std::string text = line.dump() + "\n";
    ET_RETURN_IF_ERROR(append_line(log, log_path, text));
    log_text += text;
    if (opt.json_log) std::fputs(text.c_str(), stdout), std::fflush(stdout);
    char status[128];
    std::snprintf(status, sizeof status, "epoch %.2f, loss %.4f, %.0f tokens/s", epoch_pos, loss, ntok / dt);
    bar.set_status(status);
    bar.update(step + 1);
    const bool interrupted = g_interrupted && !last;
    const bool stop = interrupted || (opt.stop_after > 0 && step + 1 - start == opt.stop_after && !last);
    if (stop || (opt.save_steps > 0 && (step + 1) % opt.save_steps == 0)) {
      const nlohmann::json state = {{"step", step + 1}, {"epoch", epoch}, {"in_epoch", in_epoch}, {"run", identity},
                                    {"loss", loss}, {"eval", eval_history}, {"best_step", best_step}};
      ET_RETURN_IF_ERROR(save_checkpoint(opt, trainable, m, v, state, log_text));
      if (opt.load_best_model_at_end) prune_best_weights(opt, best_step);
    }
    if (interrupted) {
      bar.finish();
      return make_error("interrupted after step %lld of %lld; checkpoint written to %s/checkpoint-%lld; continue with --resume",
                        (long long)step + 1, (long long)total, checkpoints_dir(opt).c_str(), (long long)step + 1);
    }
    if (stop) {
      bar.finish();
      if (!opt.quiet)
        std::fprintf(stderr, "train: stopped after step %lld; continue with --resume\n", (long long)step + 1);
      return Status::ok_status();
    }
  }
  bar.finish();
  if (opt.load_best_model_at_end && !best_params.empty()) {
    if (!opt.quiet)
      std::fprintf(stderr, "train: writing the best weights, step %lld's by %s\n", (long long)best_step,
                   opt.metric_for_best.c_str());
    std::copy(best_params.begin(), best_params.begin() + model.params().size(), model.params().begin());
    std::copy(best_params.begin() + model.params().size(), best_params.end(), head.params().begin());
  }
  const DType save_dtype = storage_dtype_from_flag(opt.save_dtype);
  ET_RETURN_IF_ERROR(model.save_safetensors(tmp + "/model.safetensors", save_dtype));
  ET_RETURN_IF_ERROR(head.save_dense(tmp, save_dtype));
  if (!opt.eval.empty()) {
    std::string text;
    for (const auto& e : eval_history) text += e.dump() + "\n";
    AtomicFile f;
    ET_RETURN_IF_ERROR(f.open(tmp + "/eval_log.jsonl"));
    ET_RETURN_IF_ERROR(f.write(text));
    ET_RETURN_IF_ERROR(f.commit());
  }
  ModelCardFacts facts;
  if (!opt.test.empty()) {
    const std::string name = opt.load_best_model_at_end && best_step >= 0 ? "best-step-" + std::to_string(best_step)
                                                                          : "tuned";
    const ColumnPrompt prompt = [&](const SentenceEncoder& e, size_t c) {
      return column_embed_options(opt, e, data.text_columns[c], c);
    };
    ET_RETURN_IF_ERROR(test_report_run(opt, test_data, prompt, tmp, name, tmp + "/test_report", &facts.test));
  }
  facts.loss_class = loss_class_name(spec);
  facts.train_rows = rows;
  facts.columns = data.text_columns;
  facts.steps = total;
  facts.final_loss = final_loss;
  if (!eval_history.empty()) {
    facts.eval_before = eval_history.front();
    facts.eval_after = eval_history.back();
    if (opt.load_best_model_at_end)
      for (const auto& e : eval_history)
        if (e["step"].get<int64_t>() == best_step) facts.eval_after = e;
  }
  ET_RETURN_IF_ERROR(write_model_card(tmp, opt, facts));
  nlohmann::json args = train_options_to_json(opt);
  ET_RETURN_IF_ERROR(write_json_file(tmp + "/embtune_train.json", args));
  if (std::fflush(log) != 0) return make_error("%s: write failed", log_path.c_str());
  fs::remove_all(opt.out, ec);
  fs::rename(tmp, opt.out, ec);
  if (ec) return make_error("%s: cannot move the trained model into place: %s", opt.out.c_str(), ec.message().c_str());
  cleanup.keep = true;
  if (!opt.quiet) std::fprintf(stderr, "train: wrote %s (training_log.jsonl inside)\n", opt.out.c_str());
  return Status::ok_status();
}

}  // namespace embtune
