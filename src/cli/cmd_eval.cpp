// `embtune eval`: scores an existing TREC run against qrels, like trec_eval (--run --qrels), or
// retrieves over a BEIR folder with models and BM25, scores and compares the systems (--data). Not
// the retrieval itself (eval/retrieve.h), the measures (eval/trec.h) nor the statistics (eval/compare.h).
#include <algorithm>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "cli/commands.h"
#include "core/file.h"
#include "eval/compare.h"
#include "eval/pairs_data.h"
#include "eval/retrieve.h"
#include "eval/trec.h"

namespace embtune::cli {

namespace {

struct EvalArgs {
  std::string run, qrels;
  std::string data, split = "test";      // a BEIR folder and its qrels split
  std::string pairs, extra_corpus;       // or (query, positive…) JSONL, plus more documents
  std::string cache_dir;                 // the embedding cache; "" for the default (cache_dir_from_flags)
  bool no_cache = false;
  std::vector<std::string> models;       // model directories, each a system
  bool bm25 = false;
  Bm25Options bm25_options;
  std::string similarity = "auto";       // cosine, dot, or the model's similarity_fn_name
  std::string query_prompt, corpus_prompt;  // a prompt name of the model, else the text
  std::string write_run;                 // with one system: its run in TREC format
  int64_t batch_tokens = 8192;
  TrecEvalOptions options;  // cutoffs and --complete; defaults declared there
  bool json = false;
  // The comparison of the systems (--data): the baseline by name (default the first system),
  // the report folder, and the statistics' settings, defaults declared in CompareOptions.
  std::string baseline, report;
  CompareOptions compare;
  bool comparison_flags = false;  // any of the flags above was given
};

void print_table(const TrecEvalResult& r, std::vector<int> ks) {
  std::sort(ks.begin(), ks.end());
  ks.erase(std::unique(ks.begin(), ks.end()), ks.end());
  std::printf("%-10s", "metric");
  for (int k : ks) std::printf(" %9s", ("@" + std::to_string(k)).c_str());
  std::printf("\n");
  for (const char* name : {"ndcg", "mrr", "map", "recall", "precision", "accuracy"}) {
    std::printf("%-10s", name);
    for (int k : ks) std::printf(" %9.4f", r.means.at(trec_metric_key(name, k)));
    std::printf("\n");
  }
  std::printf("queries   %lld\n", static_cast<long long>(r.queries));
}

// A prompt name of the model when it has one of that name, else the text itself.
EmbedOptions prompt_options(const SentenceEncoder& enc, const std::string& prompt, int64_t batch_tokens) {
  EmbedOptions eo = enc.prompt_by_name_or_text(prompt);
  eo.batch_tokens = batch_tokens;
  return eo;
}

// A system's name in the report: "bm25", or the model directory's last component (made unique).
std::string system_name(const std::string& model, const std::vector<std::string>& taken) {
  std::string base = model;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  base = base.substr(base.find_last_of('/') == std::string::npos ? 0 : base.find_last_of('/') + 1);
  std::string name = base;
  for (int i = 2; std::find(taken.begin(), taken.end(), name) != taken.end(); i++) name = base + "-" + std::to_string(i);
  return name;
}

// The comparison's options from the flags: the baseline's index among `names` and the metrics,
// checked before any model runs.
Status comparison_options(const EvalArgs& a, const std::vector<std::string>& names, CompareOptions* out) {
  *out = a.compare;
  if (!a.baseline.empty()) {
    auto it = std::find(names.begin(), names.end(), a.baseline);
    if (it == names.end()) {
      std::string listing;
      for (const std::string& n : names) listing += (listing.empty() ? "" : ", ") + n;
      return make_error("--baseline %s is not one of the systems (%s)", a.baseline.c_str(), listing.c_str());
    }
    out->baseline = static_cast<int>(it - names.begin());
  }
  std::vector<std::string> available;
  for (int k : a.options.ks)
    for (const char* name : {"ndcg", "mrr", "map", "recall", "precision", "accuracy"})
      available.push_back(trec_metric_key(name, k));
  return compare_pick_metrics(a.compare.metrics, available, &out->metrics);
}

int run_eval_data(const EvalArgs& a, const GlobalOptions& g) {
  if (a.models.empty() && !a.bm25) return report_error("eval", make_error("--data needs --model DIR (repeatable) or --bm25"));
  const int systems = static_cast<int>(a.models.size()) + (a.bm25 ? 1 : 0);
  if (!a.write_run.empty() && systems != 1)
    return report_error("eval", make_error("--write-run takes one system; got %d", systems));
  std::vector<std::string> planned;  // the systems' names, in the order they run
  for (const std::string& dir : a.models) planned.push_back(system_name(dir, planned));
  if (a.bm25) planned.push_back("bm25");
  // Several systems are compared for the table, unless only --json's line is wanted.
  const bool compare = !a.report.empty() || (systems >= 2 && !a.json);
  if (!compare && a.comparison_flags)
    return report_error("eval", make_error("--baseline, --compare-metrics, --bootstrap, --permutations, --seed and "
                                           "--worst set the comparison: give two systems without --json, or --report"));
  CompareOptions compare_options;
  Status s = comparison_options(a, planned, &compare_options);
  if (!s.ok()) return report_error("eval", s);
  BeirData data;
  if (!a.pairs.empty()) {
    s = pairs_read(a.pairs, a.extra_corpus, &data);
  } else {
    // Dense runs stream corpus.jsonl block by block; only BM25 needs every text in memory.
    BeirReadOptions read_options;
    read_options.load_doc_texts = a.bm25;
    s = beir_read(a.data, a.split, read_options, &data);
  }
  if (!s.ok()) return report_error("eval", s);
  const std::string cache_dir = cache_dir_from_flags(a.cache_dir, a.no_cache);
  if (data.unknown_qrels_docs > 0)
    std::fprintf(stderr, "embtune eval: %lld judged documents are not in the corpus (kept: they count as relevant, never retrieved)\n",
                 static_cast<long long>(data.unknown_qrels_docs));
  const int k = *std::max_element(a.options.ks.begin(), a.options.ks.end());
  std::vector<std::string> names;
  std::vector<TrecEvalResult> results;
  std::vector<TrecRun> runs;  // kept for the ranks of the worse queries
  auto score = [&](const std::string& name, TrecRun run) -> Status {
    TrecEvalResult r;
    ET_RETURN_IF_ERROR(trec_evaluate(run, data.qrels, a.options, &r));
    if (!a.write_run.empty()) ET_RETURN_IF_ERROR(trec_run_write(a.write_run, run, name));
    names.push_back(name);
    results.push_back(std::move(r));
    runs.push_back(std::move(run));
    return Status::ok_status();
  };
  for (const std::string& dir : a.models) {
    std::unique_ptr<SentenceEncoder> enc;
    s = SentenceEncoder::load(dir, &enc);
    if (!s.ok()) return report_error("eval", s);
    DenseRunOptions opt;
    opt.query = prompt_options(*enc, a.query_prompt, a.batch_tokens);
    opt.corpus = prompt_options(*enc, a.corpus_prompt, a.batch_tokens);
    opt.search.k = k;
    s = similarity_for_model(*enc, a.similarity, &opt.search.similarity);
    if (!s.ok()) return report_error("eval", s);
    opt.cache_dir = cache_dir;
    if (!g.quiet)
      std::fprintf(stderr, "embtune eval: %s: embedding %zu queries and %zu documents\n", dir.c_str(),
                   data.query_ids.size(), data.doc_ids.size());
    TrecRun run;
    DenseRunStats stats;
    s = dense_run(*enc, data, opt, &run, &stats);
    if (s.ok() && !g.quiet && !cache_dir.empty())
      std::fprintf(stderr, "embtune eval: %s: %lld texts from the embedding cache, %lld embedded (%s)\n", dir.c_str(),
                   static_cast<long long>(stats.queries.hits + stats.corpus.hits),
                   static_cast<long long>(stats.queries.misses + stats.corpus.misses), cache_dir.c_str());
    if (s.ok()) s = score(planned[names.size()], std::move(run));
    if (!s.ok()) return report_error("eval", s.wrap(dir));
  }
  if (a.bm25) {
    s = score("bm25", bm25_run(data, a.bm25_options, k));
    if (!s.ok()) return report_error("eval", s);
  }
  ComparisonReport report;
  if (compare) {
    std::vector<CompareSystem> compared;
    for (size_t i = 0; i < names.size(); i++) compared.push_back(CompareSystem{names[i], &results[i], &runs[i]});
    std::unordered_map<std::string, std::string> query_texts;
    for (size_t i = 0; i < data.query_ids.size(); i++) query_texts.emplace(data.query_ids[i], data.query_texts[i]);
    s = compare_systems(compared, data.qrels, query_texts, compare_options, &report);
    if (s.ok() && !a.report.empty()) s = report_write(report, a.report);
    if (!s.ok()) return report_error("eval", s);
    if (!a.report.empty())
      std::fprintf(stderr, "embtune eval: wrote %s and %s\n", path_join(a.report, "report.json").c_str(),
                   path_join(a.report, "report.html").c_str());
  }
  if (a.json) {
    nlohmann::json j;
    for (size_t i = 0; i < names.size(); i++) {
      nlohmann::json m(results[i].means);
      m["queries"] = results[i].queries;
      if (names.size() == 1) j = m;
      else j[names[i]] = m;
    }
    std::printf("%s\n", j.dump().c_str());
    return 0;
  }
  for (size_t i = 0; i < names.size(); i++) {
    std::printf("== %s\n", names[i].c_str());
    print_table(results[i], a.options.ks);
  }
  if (compare) {
    std::printf("\n");
    report_print_table(stdout, report);
  }
  return 0;
}

int run_eval(const EvalArgs& a, const GlobalOptions& g) {
  if (!a.extra_corpus.empty() && a.pairs.empty()) return report_error("eval", make_error("--extra-corpus needs --pairs"));
  if (!a.data.empty() || !a.pairs.empty()) {
    if (!a.data.empty() && !a.pairs.empty()) return report_error("eval", make_error("give either --data or --pairs"));
    if (!a.run.empty() || !a.qrels.empty())
      return report_error("eval", make_error("give either --run and --qrels, or --data / --pairs (with --model / --bm25)"));
    return run_eval_data(a, g);
  }
  if (a.run.empty() || a.qrels.empty())
    return report_error("eval", make_error("give --run and --qrels, or --data with --model / --bm25"));
  if (a.comparison_flags)
    return report_error("eval", make_error("--report, --baseline, --compare-metrics, --bootstrap, --permutations, "
                                           "--seed and --worst compare systems retrieved with --data"));
  TrecRun run;
  Qrels qrels;
  Status s = trec_run_read(a.run, &run);
  if (s.ok()) s = qrels_read(a.qrels, &qrels);
  TrecEvalResult r;
  if (s.ok()) s = trec_evaluate(run, qrels, a.options, &r);
  if (!s.ok()) return report_error("eval", s);
  // Mismatched query sets are the usual sign of the wrong qrels split, so they are reported, but
  // trec_eval scores such pairs anyway and so does this.
  if (r.run_queries_without_qrels > 0)
    std::fprintf(stderr, "embtune eval: %lld run queries have no qrels (skipped)\n",
                 static_cast<long long>(r.run_queries_without_qrels));
  if (r.qrels_queries_without_run > 0)
    std::fprintf(stderr, "embtune eval: %lld qrels queries are missing from the run (%s)\n",
                 static_cast<long long>(r.qrels_queries_without_run),
                 a.options.complete ? "counted as zeros, --complete" : "skipped; --complete counts them as zeros");
  if (a.json) {
    nlohmann::json j(r.means);
    j["queries"] = r.queries;
    std::printf("%s\n", j.dump().c_str());
  } else {
    print_table(r, a.options.ks);
  }
  return 0;
}

}  // namespace

void add_eval_command(CLI::App& app, const GlobalOptions& g) {
  auto a = std::make_shared<EvalArgs>();
  CLI::App* sub = app.add_subcommand(
      "eval", "Score a TREC run against qrels (trec_eval's measures), or retrieve over a BEIR folder with models and BM25");
  sub->add_option("--run", a->run, "Run file: `qid Q0 docid rank score tag` lines");
  sub->add_option("--qrels", a->qrels, "Qrels: BEIR TSV (query-id corpus-id score, header) or TREC (qid 0 docid rel)");
  sub->add_option("--data", a->data, "A BEIR folder: corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv");
  sub->add_option("--split", a->split, "The qrels split of --data");
  sub->add_option("--pairs", a->pairs, "Instead of --data: JSONL of (query, positive…) rows; the corpus is the positives");
  sub->add_option("--extra-corpus", a->extra_corpus, "With --pairs: more documents, JSONL {\"text\", \"title\"?} per line");
  sub->add_option("--cache-dir", a->cache_dir, "Embedding cache folder (default: $EMBTUNE_CACHE_DIR, else "
                  "$XDG_CACHE_HOME/embtune/embeddings, else ~/.cache/embtune/embeddings)");
  sub->add_flag("--no-cache", a->no_cache, "Embed every text afresh and store nothing");
  sub->add_option("--model", a->models, "A model to evaluate: directory, .gguf file or hub id org/name[@revision] (repeatable: each is a system)");
  sub->add_flag("--bm25", a->bm25, "Also evaluate BM25 (Lucene's formula)");
  sub->add_option("--bm25-k1", a->bm25_options.k1, "BM25 k1");
  sub->add_option("--bm25-b", a->bm25_options.b, "BM25 b");
  sub->add_option("--similarity", a->similarity,
                  "Dense scores: cosine, dot, or auto (the model's similarity_fn_name, cosine when absent)")
      ->check(CLI::IsMember({"auto", "cosine", "dot"}));
  sub->add_option("--query-prompt", a->query_prompt, "Prompt of the queries: a prompt name of the model, else the text");
  sub->add_option("--corpus-prompt", a->corpus_prompt, "Prompt of the documents: a prompt name of the model, else the text");
  sub->add_option("--write-run", a->write_run, "Save the retrieved run in TREC format (one system)");
  sub->add_option("--batch-tokens", a->batch_tokens, "Tokens per packed embedding batch")->check(CLI::PositiveNumber);
  sub->add_option("--k", a->options.ks, "Cutoffs, comma-separated")->delimiter(',')->check(CLI::PositiveNumber);
  sub->add_flag("--complete", a->options.complete, "Count qrels queries missing from the run as zeros (trec_eval -c)");
  sub->add_flag("--json", a->json, "Print the means as one JSON object on the last line");
  const char* comparison_flags[] = {"--report", "--baseline", "--compare-metrics", "--bootstrap", "--permutations",
                                    "--seed", "--worst"};
  sub->add_option(comparison_flags[0], a->report, "Write DIR/report.json and DIR/report.html (creates DIR)");
  sub->add_option(comparison_flags[1], a->baseline, "The system the others are compared with (default: the first)");
  sub->add_option(comparison_flags[2], a->compare.metrics, "Metrics to compare, comma-separated (default: ndcg@10, "
                  "mrr@10, map@100, recall@100, those scored)")->delimiter(',');
  sub->add_option(comparison_flags[3], a->compare.resamples, "Bootstrap resamples of the queries")->check(CLI::PositiveNumber);
  sub->add_option(comparison_flags[4], a->compare.trials, "Trials of the paired randomisation test")->check(CLI::PositiveNumber);
  sub->add_option(comparison_flags[5], a->compare.seed, "Seed of the bootstrap and the randomisation test");
  sub->add_option(comparison_flags[6], a->compare.worst, "Worse queries listed per system")->check(CLI::NonNegativeNumber);
  on_parsed(sub, [a, &g, sub, comparison_flags]() {
    for (const char* flag : comparison_flags) a->comparison_flags = a->comparison_flags || sub->count(flag) > 0;
    return run_eval(*a, g);
  });
}

}  // namespace embtune::cli
