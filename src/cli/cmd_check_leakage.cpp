// `embtune check-leakage`: exact, near-duplicate and (with --model) semantically duplicate texts
// shared by a training and an evaluation file. Not the detection itself (data/leakage.h).
//
// Exit codes: 0 no leakage, 3 leakage found, 1 unreadable or invalid input (CLI11's own codes for
// bad flags), so scripts can refuse to train or evaluate on leaked data.
#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "data/leakage.h"

namespace embtune::cli {

namespace {

constexpr int kExitLeakage = 3;
// Inputs with at least this many texts get progress lines on stderr.
constexpr size_t kProgressTexts = 10000;

struct CheckLeakageArgs {
  std::string train, eval;
  std::vector<std::string> fields;  // empty: every string field / column
  double threshold = 0.8;
  int shingle_words = 3;
  int min_words = 1;
  int max_examples = 10;
  bool json = false;
  std::string model;  // semantic duplicates by this model's embeddings
  double cosine_threshold = 0.95;
  std::string cache_dir;
  bool no_cache = false;
};

nlohmann::ordered_json location_json(const LeakageTexts& f, int64_t text) {
  return {{"file", f.path}, {"line", f.lines[static_cast<size_t>(text)]}, {"text", f.texts[static_cast<size_t>(text)]}};
}

// A stage line on stderr (large inputs only, and not under --quiet).
void progress(bool on, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void progress(bool on, const char* fmt, ...) {
  if (!on) return;
  std::va_list args;
  va_start(args, fmt);
  std::fprintf(stderr, "check-leakage: ");
  std::vfprintf(stderr, fmt, args);
  std::fprintf(stderr, "\n");
  va_end(args);
}

int run_check_leakage(const CheckLeakageArgs& a, const GlobalOptions& g) {
  const char* cmd = "check-leakage";
  if (!(a.threshold > 0.0 && a.threshold <= 1.0))
    return report_error(cmd, make_error("--threshold %g: must be in (0, 1]", a.threshold));
  if (!(a.cosine_threshold > 0.0 && a.cosine_threshold <= 1.0))
    return report_error(cmd, make_error("--cosine-threshold %g: must be in (0, 1]", a.cosine_threshold));
  const auto start = std::chrono::steady_clock::now();
  LeakageTexts train, eval;
  Status s = leakage_read_file(a.train, a.fields, &train);
  if (!s.ok()) return report_error(cmd, s);
  s = leakage_read_file(a.eval, a.fields, &eval);
  if (!s.ok()) return report_error(cmd, s);
  const bool verbose = !g.quiet && train.texts.size() + eval.texts.size() >= kProgressTexts;
  progress(verbose, "%zu training texts, %zu evaluation texts", train.texts.size(), eval.texts.size());

  LeakageOptions lo;
  lo.threshold = a.threshold;
  lo.shingle_words = a.shingle_words;
  lo.min_words = a.min_words;
  std::unique_ptr<SentenceEncoder> encoder;
  if (!a.model.empty()) {
    s = SentenceEncoder::load(a.model, &encoder);
    if (!s.ok()) return report_error(cmd, s);
    lo.encoder = encoder.get();
    lo.cosine_threshold = a.cosine_threshold;
    lo.cache_dir = cache_dir_from_flags(a.cache_dir, a.no_cache);
    lo.progress = !g.quiet;
  }
  LeakageResult r;
  s = leakage_find(train, eval, lo, &r);
  if (!s.ok()) return report_error(cmd, s);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  progress(verbose, "done: %lld exact, %lld near in %.1f s", static_cast<long long>(r.exact),
           static_cast<long long>(r.near), seconds);

  const size_t shown = std::min(r.leaks.size(), static_cast<size_t>(a.max_examples));
  if (a.json) {
    nlohmann::ordered_json ex = nlohmann::ordered_json::array();
    for (size_t i = 0; i < shown; ++i) {
      const Leak& l = r.leaks[i];
      ex.push_back({{"kind", leak_kind_name(l.kind)},
                    {l.kind == LeakKind::Semantic ? "cosine" : "jaccard", l.similarity},
                    {"train", location_json(train, l.train)},
                    {"eval", location_json(eval, l.eval)},
                    {"eval_occurrences", l.eval_occurrences}});
    }
    nlohmann::ordered_json j = {{"exact", r.exact},
                                {"near", r.near},
                                {"semantic", r.semantic},
                                {"eval_texts_leaked", r.eval_texts_leaked},
                                {"eval_rows_leaked", r.eval_rows_leaked},
                                {"train_texts", train.texts.size()},
                                {"train_distinct", r.train_distinct},
                                {"eval_texts", eval.texts.size()},
                                {"eval_distinct", r.eval_distinct},
                                {"eval_rows", r.eval_rows},
                                {"threshold", a.threshold},
                                {"shingle_words", a.shingle_words},
                                {"cosine_threshold", a.model.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(a.cosine_threshold)},
                                {"seconds", seconds},
                                {"examples", ex}};
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace).c_str());
  } else {
    std::printf("training:   %s: %zu texts, %lld distinct\n", train.path.c_str(), train.texts.size(),
                static_cast<long long>(r.train_distinct));
    std::printf("evaluation: %s: %zu texts, %lld distinct, %lld rows\n", eval.path.c_str(), eval.texts.size(),
                static_cast<long long>(r.eval_distinct), static_cast<long long>(r.eval_rows));
    std::printf("exact duplicates: %lld\n", static_cast<long long>(r.exact));
    std::printf("near duplicates (Jaccard >= %.2f of %d-word shingles): %lld\n", a.threshold, a.shingle_words,
                static_cast<long long>(r.near));
    if (!a.model.empty())
      std::printf("semantic duplicates (cosine >= %.2f, %s): %lld\n", a.cosine_threshold, a.model.c_str(),
                  static_cast<long long>(r.semantic));
    std::printf("evaluation texts leaked: %lld of %lld distinct; rows: %lld of %lld\n",
                static_cast<long long>(r.eval_texts_leaked), static_cast<long long>(r.eval_distinct),
                static_cast<long long>(r.eval_rows_leaked), static_cast<long long>(r.eval_rows));
    for (size_t i = 0; i < shown; ++i) {
      const Leak& l = r.leaks[i];
      const size_t t = static_cast<size_t>(l.train), e = static_cast<size_t>(l.eval);
      std::printf("%-5s %.3f  %s  %s\n  train: %s\n  eval:  %s\n", l.kind == LeakKind::Semantic ? "cos" : leak_kind_name(l.kind),
                  l.similarity, train.location(t).c_str(), eval.location(e).c_str(),
                  leakage_shorten(train.texts[t], 160).c_str(), leakage_shorten(eval.texts[e], 160).c_str());
    }
    if (r.leaks.size() > shown) std::printf("(%zu more; --max-examples to show them)\n", r.leaks.size() - shown);
    std::printf(r.any() ? "leakage found (exit code 3)\n" : "no leakage found\n");
  }
  return r.any() ? kExitLeakage : 0;
}

}  // namespace

void add_check_leakage_command(CLI::App& app, const GlobalOptions& g) {
  auto a = std::make_shared<CheckLeakageArgs>();
  CLI::App* sub = app.add_subcommand(
      "check-leakage",
      "Find evaluation texts that duplicate or nearly duplicate training texts (exit code 3 when any do)");
  sub->add_option("--train", a->train, "Training file: .jsonl/.json, .csv, .tsv, or text with one per line")
      ->required();
  sub->add_option("--eval", a->eval, "Evaluation file, same formats")->required();
  sub->add_option("--fields", a->fields,
                  "JSONL fields / CSV columns holding texts (default: every string field; every column but score/label)")
      ->delimiter(',');
  sub->add_option("--threshold", a->threshold, "Near duplicate: Jaccard of word shingles at least this, in (0, 1]");
  sub->add_option("--shingle-words", a->shingle_words, "Words per shingle")->check(CLI::Range(1, 64));
  sub->add_option("--min-words", a->min_words, "Ignore texts with fewer normalised words")->check(CLI::Range(1, 1000000));
  sub->add_option("--max-examples", a->max_examples, "Leaked pairs to print")->check(CLI::NonNegativeNumber);
  sub->add_option("--model", a->model,
                  "Also find semantic duplicates: evaluation texts whose nearest training text by this model's "
                  "embeddings has cosine >= --cosine-threshold");
  sub->add_option("--cosine-threshold", a->cosine_threshold, "Semantic duplicate: cosine at least this, in (0, 1]");
  sub->add_option("--cache-dir", a->cache_dir, "Embedding cache directory (default $EMBTUNE_CACHE_DIR, else ~/.cache/embtune/embeddings)");
  sub->add_flag("--no-cache", a->no_cache, "Embed everything, read and write no cache");
  sub->add_flag("--json", a->json, "Print one JSON object (last line) instead of the report");
  on_parsed(sub, [a, &g]() { return run_check_leakage(*a, g); });
}

}  // namespace embtune::cli
