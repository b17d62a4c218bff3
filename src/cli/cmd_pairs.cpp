// `embtune pairs`: (anchor, positive) training rows from raw documents (Markdown, reStructuredText,
// HTML, plain text, JSONL) by titles, headings, the inverse cloze task and a language model's
// queries with a round-trip filter. Not the parsing, the methods or the filter themselves
// (data/doc_parse.h, data/doc_pairs.h, data/llm_pairs.h).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "cli/commands.h"
#include "core/file.h"
#include "data/doc_pairs.h"
#include "data/doc_parse.h"
#include "data/llm_pairs.h"

namespace embtune::cli {

namespace {

// The exit code of a run that wrote what it could but has passages without queries: running the
// same command again asks only for those.
constexpr int kExitPassagesFailed = 4;

struct PairsArgs {
  PairsArgs() { llm.url.clear(); }  // no default server: --llm-url says where documents are sent
  std::vector<std::string> docs;
  std::string out;
  std::string methods = "title-body,heading-section,ict";
  std::string format = "auto";
  std::string ict_sentence = "first";
  DocPairOptions options;
  bool no_heading_context = false;
  bool with_source = false, with_method = false, json = false;
  // The llm method: every field of llm_option_fields() but the prompt template (read from a file)
  // and the API key (read from the environment).
  LlmOptions llm;
  std::string llm_prompt_template_file;
  std::string llm_api_key_env = "OPENAI_API_KEY";
  // The round-trip filter of llm pairs, on with --model.
  std::string model, query_prompt, corpus_prompt, cache_dir;
  int64_t round_trip_top_k = RoundTripOptions().top_k;
  int64_t batch_tokens = 8192;
  bool no_cache = false;
  std::vector<std::string> llm_flags;  // every flag that only the llm method reads
};

// "a 1, b 2" of the non-zero counts, or "none".
std::string counts_line(const std::map<std::string, int64_t>& counts) {
  std::string s;
  for (const auto& [name, n] : counts)
    if (n > 0) s += (s.empty() ? "" : ", ") + name + " " + std::to_string(n);
  return s.empty() ? "none" : s;
}

int64_t total(const std::map<std::string, int64_t>& counts) {
  int64_t n = 0;
  for (const auto& [name, c] : counts) n += c;
  return n;
}

nlohmann::ordered_json llm_report_json(const LlmPairsReport& l, const PairsArgs& a) {
  nlohmann::ordered_json j;
  j["passages"] = l.passages;
  j["prompts_sent"] = l.prompts_sent;
  j["from_journal"] = l.from_journal;
  j["requests"] = l.requests;
  j["retries"] = l.retries;
  j["failed"] = l.failed;
  j["queries"] = l.queries;
  j["duplicate"] = l.duplicate;
  j["round_trip_top_k"] = l.round_trip ? nlohmann::ordered_json(a.round_trip_top_k) : nlohmann::ordered_json();
  j["round_trip_dropped"] = l.round_trip_dropped;
  j["kept"] = l.kept;
  j["journal"] = a.llm.journal_path;
  return j;
}

nlohmann::ordered_json report_json(const DocPairsReport& r, const LlmPairsReport* l, const PairsArgs& a) {
  nlohmann::ordered_json j;
  j["documents"] = r.documents;
  j["per_format"] = r.documents_per_format;
  j["pairs"] = r.pairs;
  j["per_method"] = r.pairs_per_method;
  j["dropped"] = r.dropped;
  j["documents_without_pairs"] = r.documents_without_pairs;
  if (l) j["llm"] = llm_report_json(*l, a);
  j["out"] = a.out;
  return j;
}

Status check_range(const char* min_flag, int min, const char* max_flag, int max) {
  if (min > max) return make_error("%s %d is more than %s %d (make the minimum at most the maximum)", min_flag, min, max_flag, max);
  return Status::ok_status();
}

Status write_pairs(const std::string& path, const std::vector<DocPair>& pairs, bool with_source, bool with_method) {
  AtomicFile f;
  ET_RETURN_IF_ERROR(f.open(path));
  for (const DocPair& p : pairs) {
    nlohmann::ordered_json row = {{"anchor", p.query}, {"positive", p.passage}};
    if (with_source) row["source"] = p.source;
    if (with_method) row["method"] = pair_method_name(p.method);
    ET_RETURN_IF_ERROR(f.write(row.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n"));
  }
  return f.commit();
}

// The llm method's options from the flags, checked before any document is read: the server and
// the model named, the template file read, the API key taken from the environment, the journal
// beside the output by default.
Status llm_options_from_flags(PairsArgs* a) {
  if (a->llm.url.empty())
    return make_error("--methods llm needs --llm-url (the base URL of an OpenAI-compatible API, e.g. "
                      "http://127.0.0.1:8080/v1 for llama.cpp's llama-server)");
  if (a->llm.model.empty())
    return make_error("--methods llm needs --llm-model (the model name the server answers to)");
  if (!a->llm_prompt_template_file.empty()) {
    ET_RETURN_IF_ERROR(read_file(a->llm_prompt_template_file, &a->llm.prompt_template).wrap("--llm-prompt-template"));
    std::string probe;
    ET_RETURN_IF_ERROR(llm_render_prompt(a->llm.prompt_template, LlmPassage{"t", "p"}, a->llm.queries_per_passage, &probe)
                           .wrap(a->llm_prompt_template_file));
  }
  const char* key = a->llm_api_key_env.empty() ? nullptr : std::getenv(a->llm_api_key_env.c_str());
  a->llm.api_key = key ? key : "";
  if (a->llm.journal_path.empty()) a->llm.journal_path = a->out + ".llm-journal.jsonl";
  return llm_options_check(a->llm);
}

// Without the llm method its flags would do nothing: a mistake worth stopping for.
Status check_no_llm_flags(const PairsArgs& a, const CLI::App* sub) {
  for (const std::string& flag : a.llm_flags)
    if (sub->count(flag)) return make_error("%s is for the llm method (add llm to --methods)", flag.c_str());
  return Status::ok_status();
}

// The prompt of the round trip's queries or passages: the flag's (a prompt name of the model,
// else the text), else the first of `names` the model defines, else none.
EmbedOptions round_trip_prompt(const SentenceEncoder& enc, const CLI::App* sub, const char* flag,
                               const std::string& given, std::initializer_list<const char*> names,
                               int64_t batch_tokens) {
  std::string prompt = given;
  if (!sub->count(flag)) {
    for (const char* name : names)
      if (enc.files().prompts.count(name)) {
        prompt = name;
        break;
      }
  }
  EmbedOptions eo = enc.prompt_by_name_or_text(prompt);
  eo.batch_tokens = batch_tokens;
  return eo;
}

// Documents with no pair at all, by the pairs' sources (the document's, or "#Heading" added).
int64_t count_documents_without_pairs(const std::vector<ParsedDoc>& docs, const std::vector<DocPair>& pairs) {
  std::unordered_map<std::string, size_t> doc_of_source;
  for (size_t i = 0; i < docs.size(); ++i) {
    doc_of_source.emplace(docs[i].source, i);
    for (const DocSection& s : docs[i].sections)
      if (!s.heading.empty()) doc_of_source.emplace(docs[i].source + "#" + s.heading, i);
  }
  std::set<size_t> with_pairs;
  for (const DocPair& p : pairs) {
    const auto it = doc_of_source.find(p.source);
    if (it != doc_of_source.end()) with_pairs.insert(it->second);
  }
  return static_cast<int64_t>(docs.size() - with_pairs.size());
}

void print_llm_report(const LlmPairsReport& l, const PairsArgs& a) {
  std::fprintf(stderr, "  llm        passages %lld, prompts sent %lld, from journal %lld, retries %lld, failed %lld\n",
               static_cast<long long>(l.passages), static_cast<long long>(l.prompts_sent),
               static_cast<long long>(l.from_journal), static_cast<long long>(l.retries), static_cast<long long>(l.failed));
  std::string round_trip = "round trip off (no --model)";
  if (l.round_trip)
    round_trip = "dropped by round trip (top " + std::to_string(a.round_trip_top_k) + ") " +
                 std::to_string(l.round_trip_dropped);
  std::fprintf(stderr, "  llm        queries %lld, duplicate %lld, %s, kept %lld\n", static_cast<long long>(l.queries),
               static_cast<long long>(l.duplicate), round_trip.c_str(), static_cast<long long>(l.kept));
  std::fprintf(stderr, "  llm        journal %s\n", a.llm.journal_path.c_str());
}

int run_pairs(PairsArgs a, const CLI::App* sub, const GlobalOptions& g) {
  const char* cmd = "pairs";
  DocPairOptions& o = a.options;
  // One --min/--max-query-words sets the limits of every method; without it each keeps its default.
  if (sub->count("--min-query-words")) o.ict_min_query_words = o.min_query_words;
  if (sub->count("--max-query-words")) o.ict_max_query_words = o.max_query_words;
  o.heading_context = !a.no_heading_context;
  o.ict_sentence = a.ict_sentence == "random" ? IctSentence::kRandom : IctSentence::kFirst;
  Status s = pair_methods_parse(a.methods, &o.methods).wrap("--methods");
  const bool llm = std::find(o.methods.begin(), o.methods.end(), PairMethod::kLlm) != o.methods.end();
  if (s.ok()) s = llm ? llm_options_from_flags(&a) : check_no_llm_flags(a, sub);
  if (s.ok()) s = check_range("--min-query-words", o.min_query_words, "--max-query-words", o.max_query_words);
  if (s.ok())
    s = check_range("--min-passage-words", o.min_passage_words, "--max-passage-words", o.max_passage_words);
  DocFormat format = DocFormat::kAuto;
  if (s.ok()) s = doc_format_parse(a.format, &format).wrap("--format");
  std::vector<std::string> files;
  if (s.ok()) s = doc_list_files(a.docs, format, &files);
  if (!s.ok()) return report_error(cmd, s);

  std::vector<ParsedDoc> docs;
  for (const std::string& f : files) {
    s = doc_parse_file(f, format, &docs);
    if (!s.ok()) return report_error(cmd, s);
  }
  // The model loads before any request, so that a wrong --model costs no generation.
  std::unique_ptr<SentenceEncoder> encoder;
  RoundTripOptions round_trip;
  if (llm && !a.model.empty()) {
    s = SentenceEncoder::load(a.model, &encoder);
    if (!s.ok()) return report_error(cmd, s.wrap("--model"));
    round_trip.top_k = a.round_trip_top_k;
    round_trip.query = round_trip_prompt(*encoder, sub, "--query-prompt", a.query_prompt, {"query"}, a.batch_tokens);
    round_trip.passage = round_trip_prompt(*encoder, sub, "--corpus-prompt", a.corpus_prompt,
                                           {"document", "passage", "corpus"}, a.batch_tokens);
    round_trip.cache_dir = cache_dir_from_flags(a.cache_dir, a.no_cache);
    round_trip.progress = !g.quiet;
  }

  std::vector<DocPair> pairs;
  DocPairsReport r;
  doc_pairs(docs, o, &pairs, &r);
  LlmPairsReport l;
  if (llm) {
    const std::vector<DocPassage> passages = llm_pairs_passages(docs, o.min_passage_words, o.max_passage_words);
    std::vector<DocPair> llm_pairs;
    s = llm_pairs_generate(passages, a.llm, !g.quiet, &llm_pairs, &l);
    if (s.ok() && encoder && !llm_pairs.empty()) s = llm_pairs_round_trip(*encoder, passages, round_trip, &llm_pairs, &l);
    if (!s.ok()) return report_error(cmd, s);
    r.pairs += static_cast<int64_t>(llm_pairs.size());
    r.pairs_per_method[pair_method_name(PairMethod::kLlm)] = static_cast<int64_t>(llm_pairs.size());
    pairs.insert(pairs.end(), std::make_move_iterator(llm_pairs.begin()), std::make_move_iterator(llm_pairs.end()));
    r.documents_without_pairs = count_documents_without_pairs(docs, pairs);
  }
  if (pairs.empty() && l.failed == 0)
    return report_error(cmd, make_error("no pairs from %lld documents in %zu files (dropped: %s; try other --methods, "
                                        "or lower --min-passage-words / --min-query-words)",
                                        static_cast<long long>(r.documents), files.size(), counts_line(r.dropped).c_str()));
  if (!pairs.empty()) {
    s = write_pairs(a.out, pairs, a.with_source, a.with_method);
    if (!s.ok()) return report_error(cmd, s);
  }

  if (!g.quiet) {
    std::fprintf(stderr, "embtune pairs: %zu %s -> %s\n", files.size(), files.size() == 1 ? "file" : "files",
                 pairs.empty() ? "nothing written" : a.out.c_str());
    std::fprintf(stderr, "  documents  %8lld  %s\n", static_cast<long long>(r.documents), counts_line(r.documents_per_format).c_str());
    std::fprintf(stderr, "  pairs      %8lld  %s\n", static_cast<long long>(r.pairs), counts_line(r.pairs_per_method).c_str());
    std::fprintf(stderr, "  dropped    %8lld  %s\n", static_cast<long long>(total(r.dropped)), counts_line(r.dropped).c_str());
    std::fprintf(stderr, "  documents without pairs: %lld\n", static_cast<long long>(r.documents_without_pairs));
    if (llm) print_llm_report(l, a);
  }
  if (a.json) std::printf("%s\n", report_json(r, llm ? &l : nullptr, a).dump().c_str());
  if (l.failed > 0) {
    std::fflush(stdout);
    std::fprintf(stderr,
                 "embtune pairs: %lld %s failed (last error: %s); run the same command again to retry them \xE2\x80\x94 "
                 "the journal keeps what was generated\n",
                 static_cast<long long>(l.failed), l.failed == 1 ? "passage" : "passages", l.last_error.c_str());
    return kExitPassagesFailed;
  }
  return 0;
}

// The --llm-* flags, one per field of llm_option_fields(), so that a new field of LlmOptions gets
// its flag and help here without an edit. The prompt template is read from a file named by its
// flag; the secret API key has no flag, only --llm-api-key-env.
void add_llm_flags(CLI::App* sub, PairsArgs* a) {
  for (const LlmOptionField& f : llm_option_fields()) {
    if (f.secret) continue;
    const std::string flag = "--llm-" + f.name;
    a->llm_flags.push_back(flag);
    if (f.ref == LlmOptionRef(&LlmOptions::prompt_template)) {
      sub->add_option(flag, a->llm_prompt_template_file, "File with the prompt template. " + f.help);
    } else if (f.ref == LlmOptionRef(&LlmOptions::journal_path)) {
      sub->add_option(flag, a->llm.journal_path, f.help + " (default: <--out>.llm-journal.jsonl)");
    } else {
      std::visit([&](auto member) { sub->add_option(flag, a->llm.*member, f.help); }, f.ref);
    }
  }
  sub->add_option("--llm-api-key-env", a->llm_api_key_env,
                  "Environment variable holding the API key sent as 'Authorization: Bearer' (unset or empty: no key)");
  a->llm_flags.push_back("--llm-api-key-env");
}

}  // namespace

void add_pairs_command(CLI::App& app, const GlobalOptions& g) {
  auto a = std::make_shared<PairsArgs>();
  CLI::App* sub = app.add_subcommand(
      "pairs", "(anchor, positive) training pairs from documents: titles, headings, inverse cloze, or a language model");
  sub->add_option("--docs", a->docs,
                  "Document file or directory (walked recursively for .md .markdown .rst .html .htm .txt .jsonl; "
                  "hidden entries skipped); repeatable")
      ->required();
  sub->add_option("--out", a->out, "Output JSONL: one {\"anchor\", \"positive\"} object per line")->required();
  sub->add_option("--methods", a->methods, "Comma-separated: title-body, heading-section, ict, llm (needs --llm-url "
                  "and --llm-model)");
  sub->add_option("--format", a->format, "Document format: auto (by extension), markdown, rst, html, text, jsonl")
      ->check(CLI::IsMember({"auto", "markdown", "rst", "html", "text", "jsonl"}));
  sub->add_option("--min-query-words", a->options.min_query_words,
                  "Fewest words of a query (default 2 for titles and headings, 5 for ict sentences)")
      ->check(CLI::Range(1, 100000));
  sub->add_option("--max-query-words", a->options.max_query_words, "Most words of a query")->check(CLI::Range(1, 100000));
  sub->add_option("--min-passage-words", a->options.min_passage_words, "Fewest words of a passage")
      ->check(CLI::Range(1, 100000));
  sub->add_option("--max-passage-words", a->options.max_passage_words,
                  "Most words of a passage: longer ones are cut at the last sentence end within the limit")
      ->check(CLI::Range(1, 100000));
  sub->add_option("--max-pairs-per-doc", a->options.max_pairs_per_doc,
                  "Heuristic pairs kept per document, the first ones (0: all)")
      ->check(CLI::NonNegativeNumber);
  sub->add_flag("--no-heading-context", a->no_heading_context,
                "heading-section queries are the heading alone, not \"Parent: Heading\"");
  sub->add_option("--ict-sentence", a->ict_sentence, "ict: the query sentence of a paragraph, first or random (seeded)")
      ->check(CLI::IsMember({"first", "random"}));
  sub->add_option("--seed", a->options.seed, "Seed of --ict-sentence random");
  add_llm_flags(sub, a.get());
  sub->add_option("--model", a->model,
                  "llm: the base model to fine-tune; turns on the round-trip filter (no filter without it)");
  sub->add_option("--round-trip-top-k", a->round_trip_top_k,
                  "llm: keep a query when its own passage is among the model's top k passages for it")
      ->check(CLI::PositiveNumber);
  sub->add_option("--query-prompt", a->query_prompt,
                  "Round trip: prompt of the queries, a prompt name of the model, else the text (default: the "
                  "model's \"query\" prompt if it has one)");
  sub->add_option("--corpus-prompt", a->corpus_prompt,
                  "Round trip: prompt of the passages, a prompt name of the model, else the text (default: the "
                  "model's \"document\", \"passage\" or \"corpus\" prompt, the first it has)");
  sub->add_option("--cache-dir", a->cache_dir, "Round trip: embedding cache folder (default: as embtune eval)");
  sub->add_flag("--no-cache", a->no_cache, "Round trip: embed every text afresh and store nothing");
  sub->add_option("--batch-tokens", a->batch_tokens, "Round trip: tokens per packed embedding batch")
      ->check(CLI::PositiveNumber);
  for (const char* flag : {"--model", "--round-trip-top-k", "--query-prompt", "--corpus-prompt", "--cache-dir",
                           "--no-cache", "--batch-tokens"})
    a->llm_flags.push_back(flag);
  sub->add_flag("--with-source", a->with_source,
                "Also write \"source\" (path or path#Heading; embtune prepare groups rows by it)");
  sub->add_flag("--with-method", a->with_method,
                "Also write \"method\" (for inspection: training would read it as a text column)");
  sub->add_flag("--json", a->json, "Print the counts as one JSON object (last line of stdout)");
  on_parsed(sub, [a, sub, &g]() { return run_pairs(*a, sub, g); });
}

}  // namespace embtune::cli
