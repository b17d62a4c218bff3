// `embtune prepare`: pair files in, a report of every problem and leak-free train / validation /
// test splits out. Not the checks themselves (data/prepare.h).
//
// Exit codes: 0 written; 1 input errors (rows with structural problems unless --drop-invalid,
// unreadable files, bad flags); 3 the splits leak (semantic duplicates) unless --allow-leakage.
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "data/prepare.h"

namespace embtune::cli {

namespace {

constexpr int kExitLeakage = 3;

struct PrepareArgs {
  std::vector<std::string> inputs;
  std::string out;
  std::vector<std::string> columns;
  std::string source_column = "source";
  std::vector<double> split = {0.8, 0.1, 0.1};
  uint64_t seed = 0;
  double threshold = 0.8;
  int shingle_words = 3;
  bool keep_whitespace = false;
  bool drop_invalid = false;
  std::string model;
  int64_t max_length = 0;
  double cosine_threshold = 0;
  std::string cache_dir;
  bool no_cache = false;
  bool allow_leakage = false;
  int max_examples = 5;
  bool json = false;
};

int run_prepare(const PrepareArgs& a, const GlobalOptions& g) {
  const char* cmd = "prepare";
  if (a.split.size() != 3)
    return report_error(cmd, make_error("--split: expected three fractions TRAIN,VALIDATION,TEST (e.g. 0.8,0.1,0.1)"));
  PrepareOptions opt;
  opt.columns = a.columns;
  opt.source_column = a.source_column;
  opt.split = {a.split[0], a.split[1], a.split[2]};
  opt.seed = a.seed;
  opt.threshold = a.threshold;
  opt.shingle_words = a.shingle_words;
  opt.normalize_whitespace = !a.keep_whitespace;
  opt.drop_invalid = a.drop_invalid;
  opt.max_length = a.max_length;
  opt.max_examples = static_cast<size_t>(a.max_examples);
  std::unique_ptr<SentenceEncoder> encoder;
  if (!a.model.empty()) {
    Status s = SentenceEncoder::load(a.model, &encoder);
    if (!s.ok()) return report_error(cmd, s);
    opt.encoder = encoder.get();
    if (a.cosine_threshold > 0) {
      if (a.cosine_threshold > 1)
        return report_error(cmd, make_error("--cosine-threshold %g: must be in (0, 1]", a.cosine_threshold));
      opt.leakage.encoder = encoder.get();
      opt.leakage.cosine_threshold = a.cosine_threshold;
      opt.leakage.cache_dir = cache_dir_from_flags(a.cache_dir, a.no_cache);
      opt.leakage.progress = !g.quiet;
    }
  } else if (a.cosine_threshold > 0) {
    return report_error(cmd, make_error("--cosine-threshold needs --model"));
  }
  PrepareResult r;
  Status s = prepare_rows(a.inputs, opt, &r);
  if (!s.ok()) {
    if (!r.report.is_null() && !g.quiet) std::fprintf(stderr, "%s", prepare_report_text(r).c_str());
    return report_error(cmd, s);
  }
  std::fprintf(stderr, "%s", prepare_report_text(r).c_str());
  int code = 0;
  if (r.invalid_rows > 0 && !a.drop_invalid) {
    code = report_error(cmd, make_error("%lld rows with errors (listed above); nothing written (fix them, or "
                                        "--drop-invalid to leave them out)",
                                        static_cast<long long>(r.invalid_rows)));
  } else if (r.leakage.any() && !a.allow_leakage) {
    std::fprintf(stderr,
                 "embtune prepare: error: the validation/test rows leak into train (listed above); nothing written "
                 "(raise --cosine-threshold, or --allow-leakage to write anyway)\n");
    code = kExitLeakage;
  } else {
    s = prepare_write(a.out, r);
    if (!s.ok()) return report_error(cmd, s);
    std::fprintf(stderr, "wrote %s/{%s}.jsonl and %s/prepare_report.json\n", a.out.c_str(),
                 [&] {
                   std::string n;
                   for (const auto& [name, sp] : r.report["splits"].items()) n += (n.empty() ? "" : ",") + name;
                   return n;
                 }().c_str(),
                 a.out.c_str());
  }
  if (a.json) std::printf("%s\n", r.report.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace).c_str());
  return code;
}

}  // namespace

void add_prepare_command(CLI::App& app, const GlobalOptions& g) {
  auto a = std::make_shared<PrepareArgs>();
  CLI::App* sub = app.add_subcommand(
      "prepare", "Check pair files, report every problem, and split them into train / validation / test with no "
                 "query, passage, near duplicate or source document on two sides");
  sub->add_option("--input", a->inputs, "Pair files (.jsonl, .csv, .tsv), the trainer's columns; repeatable")
      ->required();
  sub->add_option("--out", a->out, "Output directory (must not exist or be empty)")->required();
  sub->add_option("--columns", a->columns,
                  "Text columns in order (default: every string column but score/label and the source column, "
                  "anchor and positive first)")
      ->delimiter(',');
  sub->add_option("--source-column", a->source_column,
                  "Column naming each row's source document: rows of one source stay on one side (used when present)");
  sub->add_option("--split", a->split, "Fractions of rows for train, validation, test")->delimiter(',');
  sub->add_option("--seed", a->seed, "Seed of the split");
  sub->add_option("--threshold", a->threshold,
                  "Queries or passages whose word-shingle Jaccard is at least this are grouped (near duplicates)");
  sub->add_option("--shingle-words", a->shingle_words, "Words per shingle")->check(CLI::Range(1, 64));
  sub->add_flag("--keep-whitespace", a->keep_whitespace, "Do not collapse runs of whitespace in texts");
  sub->add_flag("--drop-invalid", a->drop_invalid,
                "Leave out rows with errors (invalid JSON or UTF-8, missing column, …) instead of stopping");
  sub->add_option("--model", a->model,
                  "Model whose tokenizer and max_seq_length count over-long texts (and embeds for --cosine-threshold)");
  sub->add_option("--max-length", a->max_length, "Token limit for over-long texts instead of the model's")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--cosine-threshold", a->cosine_threshold,
                  "With --model: also refuse splits where a validation/test text's nearest train text has cosine >= this");
  sub->add_option("--cache-dir", a->cache_dir, "Embedding cache directory for --cosine-threshold");
  sub->add_flag("--no-cache", a->no_cache, "No embedding cache");
  sub->add_flag("--allow-leakage", a->allow_leakage, "Write the splits even when the leakage check finds leaks");
  sub->add_option("--max-examples", a->max_examples, "Examples kept per problem")->check(CLI::NonNegativeNumber);
  sub->add_flag("--json", a->json, "Print the report (prepare_report.json's object) as the last line");
  on_parsed(sub, [a, &g]() { return run_prepare(*a, g); });
}

}  // namespace embtune::cli
