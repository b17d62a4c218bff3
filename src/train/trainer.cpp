// The training run: data -> tokens -> duplicate-free batches -> MNRL + AdamW steps -> a new
// sentence-transformers directory with training_log.jsonl. Not the maths (model/, ops/, train/
// kernels) and not argument parsing (cli/cmd_train.cpp).
#include "train/trainer.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>

#include "core/file.h"
#include "core/progress.h"
#include "io/safetensors.h"
#include "io/st_dir.h"
#include "data/batching.h"
#include "data/training_data.h"
#include "model/sentence_encoder.h"
#include "train/adamw.h"
#include "train/contrastive.h"
#include "train/schedule.h"

namespace embtune {

namespace {

namespace fs = std::filesystem;

// Everything of the base directory but its weights, which the run writes anew.
Status copy_model_files(const std::string& from, const std::string& to) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(from, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const fs::path rel = fs::relative(it->path(), from, ec);
    const std::string name = it->path().filename().string();
    if (it->is_directory()) {
      fs::create_directories(fs::path(to) / rel, ec);
      continue;
    }
    const bool weights = rel.parent_path().empty() &&
                         (name == "model.safetensors" || name == "model.safetensors.index.json" ||
                          name.rfind("model-", 0) == 0 || name == "pytorch_model.bin" || name == "training_log.jsonl");
    if (weights || name.find(".tmp") != std::string::npos) continue;
    fs::copy_file(it->path(), fs::path(to) / rel, fs::copy_options::overwrite_existing, ec);
    if (ec) break;
  }
  if (ec) return make_error("%s: cannot copy the model files to %s: %s", from.c_str(), to.c_str(), ec.message().c_str());
  return Status::ok_status();
}

// What must be equal for a checkpoint to continue this run exactly.
nlohmann::json run_identity(const TrainOptions& o, int64_t rows, int64_t total) {
  return {{"train", o.train}, {"rows", rows}, {"batch_size", o.batch_size}, {"seed", o.seed}, {"shuffle", o.shuffle},
          {"total_steps", total}, {"lr", o.lr}, {"scheduler", o.scheduler}, {"warmup", o.warmup},
          {"weight_decay", o.weight_decay}, {"max_grad_norm", o.max_grad_norm}, {"scale", o.scale},
          {"symmetric", o.symmetric}};
}

std::string checkpoints_dir(const TrainOptions& o) { return o.out + ".checkpoints"; }

// checkpoint-N: model.safetensors, optimizer.safetensors (AdamW moments), trainer_state.json and
// the log so far; written beside its final name and renamed, so a crash or kill mid-write
// leaves the previous checkpoints whole.
Status save_checkpoint(const TrainOptions& o, const BertModel& model, const std::vector<float>& m,
                       const std::vector<float>& v, const nlohmann::json& state, const std::string& log) {
  const std::string final_dir = checkpoints_dir(o) + "/checkpoint-" + std::to_string(state["step"].get<int64_t>());
  const std::string tmp = final_dir + ".tmp-" + std::to_string(getpid());
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) return make_error("%s: cannot create directory: %s", tmp.c_str(), ec.message().c_str());
  ET_RETURN_IF_ERROR(model.save_safetensors(tmp + "/model.safetensors", DType::F32));
  std::vector<TensorToWrite> moments;
  for (const ParamInfo& p : model.layout()) {
    moments.push_back({"exp_avg." + p.name, p.shape, m.data() + p.offset, DType::F32});
    moments.push_back({"exp_avg_sq." + p.name, p.shape, v.data() + p.offset, DType::F32});
  }
  ET_RETURN_IF_ERROR(safetensors_write(tmp + "/optimizer.safetensors", moments));
  ET_RETURN_IF_ERROR(write_json_file(tmp + "/trainer_state.json", state));
  AtomicFile f;
  ET_RETURN_IF_ERROR(f.open(tmp + "/training_log.jsonl"));
  ET_RETURN_IF_ERROR(f.write(log));
  ET_RETURN_IF_ERROR(f.commit());
  fs::remove_all(final_dir, ec);
  fs::rename(tmp, final_dir, ec);
  if (ec) return make_error("%s: cannot move the checkpoint into place: %s", final_dir.c_str(), ec.message().c_str());
  return Status::ok_status();
}

// The checkpoint-N with the largest N, or "" when there is none.
std::string latest_checkpoint(const TrainOptions& o) {
  std::error_code ec;
  std::string best;
  long best_step = -1;
  for (auto& e : fs::directory_iterator(checkpoints_dir(o), ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("checkpoint-", 0) != 0 || name.find(".tmp") != std::string::npos) continue;
    char* end = nullptr;
    const long step = std::strtol(name.c_str() + 11, &end, 10);
    if (*end == '\0' && step > best_step) best_step = step, best = e.path().string();
  }
  return best;
}

Status load_checkpoint(const std::string& dir, BertModel* model, std::vector<float>* m, std::vector<float>* v,
                       nlohmann::json* state, std::string* log) {
  ET_RETURN_IF_ERROR(read_json_file(dir + "/trainer_state.json", state));
  SafetensorsSet weights;
  ET_RETURN_IF_ERROR(weights.open(dir + "/model.safetensors"));
  const BertConfig cfg = model->config();
  ET_RETURN_IF_ERROR(model->load(cfg, weights));
  SafetensorsFile moments;
  ET_RETURN_IF_ERROR(moments.open(dir + "/optimizer.safetensors"));
  for (const ParamInfo& p : model->layout()) {
    for (auto [prefix, dst] : {std::pair<const char*, std::vector<float>*>{"exp_avg.", m}, {"exp_avg_sq.", v}}) {
      const TensorView* t = moments.find(prefix + p.name);
      if (!t || t->shape != p.shape)
        return make_error("%s/optimizer.safetensors: missing or misshapen \"%s%s\"", dir.c_str(), prefix, p.name.c_str());
      ET_RETURN_IF_ERROR(tensor_to_f32(*t, dst->data() + p.offset));
    }
  }
  return read_file(dir + "/training_log.jsonl", log);
}

Status check_options(const TrainOptions& o) {
  if (o.dropout != 0.0)
    return make_error("--dropout %g: dropout is not implemented yet; pass --dropout 0", o.dropout);
  if (o.precision != "fp32") return make_error("--precision %s: only fp32 training is implemented yet", o.precision.c_str());
  if (o.batch_size < 1) return make_error("--batch-size must be at least 1");
  if (o.lr <= 0) return make_error("--lr must be positive");
  if (o.warmup < 0) return make_error("--warmup must not be negative");
  if (o.max_steps <= 0 && o.epochs <= 0) return make_error("give --epochs or --max-steps");
  LrSchedule k;
  return lr_schedule_from_name(o.scheduler, &k);
}

}  // namespace

Status train_run(const TrainOptions& opt) {
  ET_RETURN_IF_ERROR(check_options(opt));
  LrSchedule schedule;
  ET_RETURN_IF_ERROR(lr_schedule_from_name(opt.scheduler, &schedule));
  std::error_code ec;
  if (fs::exists(opt.out, ec) && !(fs::is_directory(opt.out, ec) && fs::is_empty(opt.out, ec)))
    return make_error("%s: already exists and is not empty", opt.out.c_str());

  // Data first: every row is checked before the model loads or a step runs.
  TrainingDataOptions dopt;
  dopt.format = opt.format;
  dopt.columns = opt.columns;
  TrainingData data;
  ET_RETURN_IF_ERROR(training_data_read(opt.train, dopt, &data));
  if (data.text_columns.size() < 2)
    return make_error("%s: MultipleNegativesRankingLoss needs (anchor, positive[, negatives…]) text columns; found %zu",
                      opt.train.c_str(), data.text_columns.size());

  std::unique_ptr<SentenceEncoder> enc;
  ET_RETURN_IF_ERROR(SentenceEncoder::load(opt.model, &enc));
  if (!enc->dense().empty()) return make_error("%s: training models with Dense modules is not implemented yet", opt.model.c_str());
  if (enc->pooling_modes().size() != 1 || enc->pooling_modes()[0] == PoolingMode::Max)
    return make_error("%s: training supports one pooling mode of cls, mean, mean_sqrt_len_tokens, lasttoken",
                      opt.model.c_str());
  const PoolingMode pooling = enc->pooling_modes()[0];

  // Tokenize every column as sentence-transformers would: the prompt goes to the anchors.
  const int64_t rows = static_cast<int64_t>(data.rows.size());
  const size_t cols = data.text_columns.size();
  std::vector<std::vector<Encoding>> tokens(cols);
  int32_t anchor_prompt_tokens = 0;
  for (size_t c = 0; c < cols; c++) {
    std::vector<std::string> texts(rows);
    for (int64_t r = 0; r < rows; r++) texts[r] = data.rows[r].texts[c];
    // As sentence-transformers' trainer: prompts only where asked (the model's default prompt is
    // an inference setting), and only on the anchor column.
    EmbedOptions eo;
    eo.has_prompt_text = true;
    if (c == 0 && opt.has_prompt_text) eo.prompt_text = opt.prompt_text;
    if (c == 0 && !opt.has_prompt_text && !opt.prompt.empty()) {
      eo.has_prompt_text = false;
      eo.prompt_name = opt.prompt;
    }
    int32_t pt = 0;
    ET_RETURN_IF_ERROR(enc->tokenize(texts, eo, &tokens[c], &pt).wrap(opt.train + ": column \"" + data.text_columns[c] + "\""));
    if (c == 0) anchor_prompt_tokens = pt;
  }
  std::vector<std::vector<size_t>> hashes(rows);
  for (int64_t r = 0; r < rows; r++)
    for (const std::string& t : data.rows[r].texts) hashes[r].push_back(std::hash<std::string>{}(t));

  std::mt19937_64 rng(opt.seed);
  std::vector<int64_t> order(rows);
  for (int64_t r = 0; r < rows; r++) order[r] = r;
  auto epoch_batches = [&]() {
    if (opt.shuffle) std::shuffle(order.begin(), order.end(), rng);
    return batches_without_duplicates(order, hashes, opt.batch_size);
  };
  std::vector<std::vector<int64_t>> batches = epoch_batches();
  const int64_t steps_per_epoch = static_cast<int64_t>(batches.size());
  const int64_t total = opt.max_steps > 0 ? opt.max_steps : opt.epochs * steps_per_epoch;
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
  std::FILE* log = std::fopen((tmp + "/training_log.jsonl").c_str(), "w");
  if (!log) return make_error("%s/training_log.jsonl: cannot create", tmp.c_str());
  struct CloseLog {
    std::FILE* f;
    ~CloseLog() { std::fclose(f); }
  } close_log{log};

  BertModel& model = enc->bert();
  const size_t n = model.params().size();
  std::vector<float> grads(n), m(n, 0.0f), v(n, 0.0f);
  AdamWConfig acfg;
  acfg.weight_decay = opt.weight_decay;
  const nlohmann::json identity = run_identity(opt, rows, total);
  int64_t start = 0, epoch = 0, in_epoch = 0;
  std::string log_text;
  if (opt.resume) {
    const std::string ckpt = latest_checkpoint(opt);
    if (ckpt.empty()) return make_error("%s: no checkpoint to resume from", checkpoints_dir(opt).c_str());
    nlohmann::json state;
    ET_RETURN_IF_ERROR(load_checkpoint(ckpt, &model, &m, &v, &state, &log_text));
    for (auto& [key, value] : identity.items())
      if (!state["run"].contains(key) || state["run"][key] != value)
        return make_error("%s: cannot resume: \"%s\" was %s in the checkpoint and is %s now", ckpt.c_str(), key.c_str(),
                          state["run"].value(key, nlohmann::json()).dump().c_str(), value.dump().c_str());
    start = state["step"].get<int64_t>();
    epoch = state["epoch"].get<int64_t>();
    in_epoch = state["in_epoch"].get<int64_t>();
    // The shuffles are replayed from the seed, so the RNG and the epoch's batches are exactly
    // those of the interrupted run.
    for (int64_t e = 0; e < epoch; e++) batches = epoch_batches();
    if (!opt.quiet) std::fprintf(stderr, "train: resuming from %s (step %lld of %lld)\n", ckpt.c_str(), (long long)start, (long long)total);
  }
  std::fputs(log_text.c_str(), log);
  ContrastiveScratch scratch;
  Progress bar("train", total, "steps", !opt.quiet);
  PackedBatch anchors, candidates;
  bar.update(start);
  for (int64_t step = start; step < total; step++) {
    // Deferred duplicates can change the number of batches from one shuffle to the next.
    if (in_epoch == static_cast<int64_t>(batches.size())) {
      batches = epoch_batches();
      epoch++;
      in_epoch = 0;
    }
    const std::vector<int64_t>& batch = batches[in_epoch++];
    const auto t0 = std::chrono::steady_clock::now();
    anchors.clear();
    candidates.clear();
    for (int64_t r : batch) {
      anchors.add(tokens[0][r].ids, &tokens[0][r].type_ids);
      candidates.add(tokens[1][r].ids, &tokens[1][r].type_ids);
    }
    for (int64_t r : batch)
      for (size_t c = 2; c < cols; c++) candidates.add(tokens[c][r].ids, &tokens[c][r].type_ids);
    ET_RETURN_IF_ERROR(model.validate_batch(anchors));
    ET_RETURN_IF_ERROR(model.validate_batch(candidates));
    std::fill(grads.begin(), grads.end(), 0.0f);
    const double loss = mnrl_accumulate_gradients(model, anchors, candidates, pooling, static_cast<float>(opt.scale),
                                                  opt.symmetric, &scratch, grads.data(), anchor_prompt_tokens);
    if (!std::isfinite(loss)) return make_error("step %lld: the loss is not finite (%g); try a lower --lr", (long long)step + 1, loss);
    const double grad_norm = clip_grad_norm(grads.data(), static_cast<int64_t>(n), opt.max_grad_norm);
    const double lr = lr_at_step(schedule, opt.lr, step, warmup, total);
    for (const ParamInfo& p : model.layout())
      adamw_step(model.params().data() + p.offset, m.data() + p.offset, v.data() + p.offset, grads.data() + p.offset,
                 p.numel, lr, step + 1, acfg, param_gets_weight_decay(p.name));
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const int64_t ntok = anchors.num_tokens() + candidates.num_tokens();
    nlohmann::json line = {{"step", step + 1},
                           {"epoch", epoch + static_cast<double>(in_epoch) / static_cast<double>(batches.size())},
                           {"loss", loss},
                           {"lr", lr},
                           {"grad_norm", grad_norm},
                           {"tokens_per_s", ntok / dt},
                           {"pairs_per_s", static_cast<double>(batch.size()) / dt}};
    const std::string text = line.dump() + "\n";
    std::fputs(text.c_str(), log);
    std::fflush(log);
    log_text += text;
    if (opt.json_log) std::fputs(text.c_str(), stdout);
    bar.update(step + 1);
    const bool stop = opt.stop_after > 0 && step + 1 - start == opt.stop_after && step + 1 < total;
    if (stop || (opt.save_steps > 0 && (step + 1) % opt.save_steps == 0)) {
      const nlohmann::json state = {{"step", step + 1}, {"epoch", epoch}, {"in_epoch", in_epoch}, {"run", identity}};
      ET_RETURN_IF_ERROR(save_checkpoint(opt, model, m, v, state, log_text));
    }
    if (stop) {
      if (!opt.quiet)
        std::fprintf(stderr, "train: stopped after step %lld; continue with --resume\n", (long long)step + 1);
      return Status::ok_status();
    }
  }
  bar.finish();
  ET_RETURN_IF_ERROR(model.save_safetensors(tmp + "/model.safetensors", DType::F32));
  if (std::fflush(log) != 0) return make_error("%s/training_log.jsonl: write failed", tmp.c_str());
  fs::remove_all(opt.out, ec);
  fs::rename(tmp, opt.out, ec);
  if (ec) return make_error("%s: cannot move the trained model into place: %s", opt.out.c_str(), ec.message().c_str());
  cleanup.keep = true;
  return Status::ok_status();
}

}  // namespace embtune
