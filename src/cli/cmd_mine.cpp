// `embtune mine`: hard negatives for (anchor, positive) pairs, retrieved by a model over a corpus
// and filtered as sentence-transformers' mine_hard_negatives does. Not the mining (data/mine.h).
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "data/mine.h"
#include "eval/retrieve.h"

namespace embtune::cli {

namespace {

struct MineArgs {
  std::string model, input, corpus, out;
  MineOptions options;
  // The optional thresholds: each applies only when its flag is given.
  double max_score = 0, min_score = 0, absolute_margin = 0, relative_margin = 0;
  std::string sampling_strategy = "top", output_format = "n-tuple", similarity = "auto";
  std::string query_prompt, corpus_prompt, cache_dir;
  bool no_cache = false, with_scores = false, json = false;
  int64_t batch_tokens = 8192;
};

nlohmann::ordered_json report_json(const MineReport& r, const MineArgs& a) {
  nlohmann::ordered_json j;
  j["rows"] = r.rows;
  j["anchors"] = r.anchors;
  j["corpus_texts"] = r.corpus_texts;
  j["num_negatives"] = a.options.num_negatives;
  j["retrieved"] = r.retrieved;
  j["removed"] = {{"positive", r.positive},
                  {"near_duplicate", r.near_duplicate},
                  {"range", r.range},
                  {"max_score", r.max_score},
                  {"min_score", r.min_score},
                  {"absolute_margin", r.absolute_margin},
                  {"relative_margin", r.relative_margin},
                  {"not_picked", r.not_picked}};
  j["negatives"] = r.picked;
  j["rows_short"] = r.rows_short;
  j["seconds"] = {{"embed", r.embed_seconds}, {"search", r.search_seconds}, {"filter", r.filter_seconds}};
  j["out"] = a.out;
  return j;
}

int run_mine(MineArgs a, const CLI::App* sub, const GlobalOptions& g) {
  if (sub->count("--max-score")) a.options.max_score = a.max_score;
  if (sub->count("--min-score")) a.options.min_score = a.min_score;
  if (sub->count("--absolute-margin")) a.options.absolute_margin = a.absolute_margin;
  if (sub->count("--relative-margin")) a.options.relative_margin = a.relative_margin;
  a.options.random_sampling = a.sampling_strategy == "random";
  a.options.progress = !g.quiet;
  std::vector<MinePair> pairs;
  Status s = mine_read_pairs(a.input, &pairs);
  if (!s.ok()) return report_error("mine", s);
  std::vector<std::string> corpus;
  if (a.corpus.empty()) corpus = mine_corpus_of_positives(pairs);
  else s = mine_read_corpus(a.corpus, &corpus);
  if (!s.ok()) return report_error("mine", s);
  std::unique_ptr<SentenceEncoder> enc;
  s = SentenceEncoder::load(a.model, &enc);
  if (s.ok()) s = similarity_for_model(*enc, a.similarity, &a.options.similarity);
  if (!s.ok()) return report_error("mine", s);
  a.options.query = enc->prompt_by_name_or_text(a.query_prompt);
  a.options.corpus = enc->prompt_by_name_or_text(a.corpus_prompt);
  a.options.query.batch_tokens = a.options.corpus.batch_tokens = a.batch_tokens;
  a.options.cache_dir = cache_dir_from_flags(a.cache_dir, a.no_cache);
  if (!g.quiet)
    std::fprintf(stderr, "embtune mine: %zu rows, %zu corpus texts\n", pairs.size(), corpus.size());
  MineResult result;
  s = mine_hard_negatives(*enc, pairs, corpus, a.options, &result);
  MineWriteOptions wo;
  wo.triplets = a.output_format == "triplet";
  wo.with_scores = a.with_scores;
  if (s.ok()) s = mine_write(a.out, pairs, corpus, result, wo);
  if (!s.ok()) return report_error("mine", s);
  const MineReport& r = result.report;
  if (a.json) {
    std::printf("%s\n", report_json(r, a).dump().c_str());
    return 0;
  }
  std::printf("rows %lld (%lld anchors), corpus %lld texts, %lld candidates retrieved\n", (long long)r.rows,
              (long long)r.anchors, (long long)r.corpus_texts, (long long)r.retrieved);
  std::printf("removed: positive %lld, near-duplicate %lld, range %lld, max-score %lld, min-score %lld, "
              "absolute-margin %lld, relative-margin %lld, not picked %lld\n",
              (long long)r.positive, (long long)r.near_duplicate, (long long)r.range, (long long)r.max_score,
              (long long)r.min_score, (long long)r.absolute_margin, (long long)r.relative_margin, (long long)r.not_picked);
  std::printf("negatives %lld; rows with fewer than %lld: %lld\n", (long long)r.picked,
              (long long)a.options.num_negatives, (long long)r.rows_short);
  std::printf("seconds: embed %.2f, search %.2f, filter %.2f; wrote %s\n", r.embed_seconds, r.search_seconds,
              r.filter_seconds, a.out.c_str());
  return 0;
}

}  // namespace

void add_mine_command(CLI::App& app, const GlobalOptions& g) {
  auto a = std::make_shared<MineArgs>();
  CLI::App* sub = app.add_subcommand("mine", "Mine hard negatives for (anchor, positive) pairs with a model (exact search)");
  sub->add_option("--model", a->model, "Model: a directory (sentence-transformers / Hugging Face layout), a .gguf file or a hub id org/name[@revision]")->required();
  sub->add_option("--input", a->input, "JSONL rows with \"anchor\" and \"positive\" text fields")->required();
  sub->add_option("--corpus", a->corpus, "Candidates: text per line, or .jsonl with \"text\" (\"title\"?, a BEIR "
                  "corpus.jsonl); default: the distinct positives");
  sub->add_option("--out", a->out, "Output JSONL (written atomically)")->required();
  sub->add_option("--num-negatives", a->options.num_negatives, "Negatives per row at most")->check(CLI::PositiveNumber);
  sub->add_option("--range-min", a->options.range_min, "Skip this many closest candidates (after the positives)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--range-max", a->options.range_max, "Consider candidates up to this rank (exclusive)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--max-score", a->max_score, "Drop candidates scoring above this; off unless given");
  sub->add_option("--min-score", a->min_score, "Drop candidates scoring below this; off unless given");
  sub->add_option("--absolute-margin", a->absolute_margin, "Keep only candidates with score <= positive score - margin; off unless given");
  sub->add_option("--relative-margin", a->relative_margin,
                  "Keep only candidates with score <= positive score * (1 - margin); off unless given");
  sub->add_option("--sampling-strategy", a->sampling_strategy, "top: the best survivors; random: a seeded sample")
      ->check(CLI::IsMember({"top", "random"}));
  sub->add_option("--output-format", a->output_format,
                  "n-tuple: a row per pair with negative_1..N; triplet: a row per negative")
      ->check(CLI::IsMember({"n-tuple", "triplet"}));
  sub->add_flag("--with-scores", a->with_scores, "Add score_positive and score_negative_1.. (score_negative in triplets)");
  sub->add_option("--seed", a->options.seed, "Seed of --sampling-strategy random");
  sub->add_option("--near-duplicate-threshold", a->options.near_duplicate_threshold,
                  "Drop candidates whose word-shingle Jaccard with a positive of the anchor is >= this; 0: off")
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--similarity", a->similarity, "cosine, dot, or auto (the model's similarity_fn_name)")
      ->check(CLI::IsMember({"auto", "cosine", "dot"}));
  sub->add_option("--query-prompt", a->query_prompt, "Prompt of the anchors: a prompt name of the model, else the text");
  sub->add_option("--corpus-prompt", a->corpus_prompt, "Prompt of the corpus: a prompt name of the model, else the text");
  sub->add_option("--cache-dir", a->cache_dir, "Embedding cache folder (default: as embtune eval)");
  sub->add_flag("--no-cache", a->no_cache, "Embed every text afresh and store nothing");
  sub->add_option("--batch-tokens", a->batch_tokens, "Tokens per packed embedding batch")->check(CLI::PositiveNumber);
  sub->add_flag("--json", a->json, "Print the report as one JSON object on the last line");
  on_parsed(sub, [a, sub, &g]() { return run_mine(*a, sub, g); });
}

}  // namespace embtune::cli
