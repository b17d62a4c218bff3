// `embtune pairs`: (anchor, positive) training rows from raw documents (Markdown, reStructuredText,
// HTML, plain text, JSONL) by titles, headings and the inverse cloze task. Not the parsing or the
// methods themselves (data/doc_parse.h, data/doc_pairs.h), and no language model.
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/file.h"
#include "data/doc_pairs.h"
#include "data/doc_parse.h"

namespace embtune::cli {

namespace {

struct PairsArgs {
  std::vector<std::string> docs;
  std::string out;
  std::string methods = "title-body,heading-section,ict";
  std::string format = "auto";
  std::string ict_sentence = "first";
  DocPairOptions options;
  bool no_heading_context = false;
  bool with_source = false, json = false;
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

nlohmann::ordered_json report_json(const DocPairsReport& r, const std::string& out) {
  nlohmann::ordered_json j;
  j["documents"] = r.documents;
  j["per_format"] = r.documents_per_format;
  j["pairs"] = r.pairs;
  j["per_method"] = r.pairs_per_method;
  j["dropped"] = r.dropped;
  j["documents_without_pairs"] = r.documents_without_pairs;
  j["out"] = out;
  return j;
}

Status check_range(const char* min_flag, int min, const char* max_flag, int max) {
  if (min > max) return make_error("%s %d is more than %s %d (make the minimum at most the maximum)", min_flag, min, max_flag, max);
  return Status::ok_status();
}

Status write_pairs(const std::string& path, const std::vector<DocPair>& pairs, bool with_source) {
  AtomicFile f;
  ET_RETURN_IF_ERROR(f.open(path));
  for (const DocPair& p : pairs) {
    nlohmann::ordered_json row = {{"anchor", p.query}, {"positive", p.passage}};
    if (with_source) {
      row["source"] = p.source;
      row["method"] = pair_method_name(p.method);
    }
    ET_RETURN_IF_ERROR(f.write(row.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n"));
  }
  return f.commit();
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
  std::vector<DocPair> pairs;
  DocPairsReport r;
  doc_pairs(docs, o, &pairs, &r);
  if (pairs.empty())
    return report_error(cmd, make_error("no pairs from %lld documents in %zu files (dropped: %s; try other --methods, "
                                        "or lower --min-passage-words / --min-query-words)",
                                        static_cast<long long>(r.documents), files.size(), counts_line(r.dropped).c_str()));
  s = write_pairs(a.out, pairs, a.with_source);
  if (!s.ok()) return report_error(cmd, s);

  if (!g.quiet) {
    std::fprintf(stderr, "embtune pairs: %zu %s -> %s\n", files.size(), files.size() == 1 ? "file" : "files", a.out.c_str());
    std::fprintf(stderr, "  documents  %8lld  %s\n", static_cast<long long>(r.documents), counts_line(r.documents_per_format).c_str());
    std::fprintf(stderr, "  pairs      %8lld  %s\n", static_cast<long long>(r.pairs), counts_line(r.pairs_per_method).c_str());
    std::fprintf(stderr, "  dropped    %8lld  %s\n", static_cast<long long>(total(r.dropped)), counts_line(r.dropped).c_str());
    std::fprintf(stderr, "  documents without pairs: %lld\n", static_cast<long long>(r.documents_without_pairs));
  }
  if (a.json) std::printf("%s\n", report_json(r, a.out).dump().c_str());
  return 0;
}

}  // namespace

void add_pairs_command(CLI::App& app, const GlobalOptions& g) {
  auto a = std::make_shared<PairsArgs>();
  CLI::App* sub = app.add_subcommand(
      "pairs", "(anchor, positive) training pairs from documents: titles, headings and inverse cloze, no model");
  sub->add_option("--docs", a->docs,
                  "Document file or directory (walked recursively for .md .markdown .rst .html .htm .txt .jsonl; "
                  "hidden entries skipped); repeatable")
      ->required();
  sub->add_option("--out", a->out, "Output JSONL: one {\"anchor\", \"positive\"} object per line")->required();
  sub->add_option("--methods", a->methods, "Comma-separated: title-body, heading-section, ict");
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
  sub->add_option("--max-pairs-per-doc", a->options.max_pairs_per_doc, "Pairs kept per document, the first ones (0: all)")
      ->check(CLI::NonNegativeNumber);
  sub->add_flag("--no-heading-context", a->no_heading_context,
                "heading-section queries are the heading alone, not \"Parent: Heading\"");
  sub->add_option("--ict-sentence", a->ict_sentence, "ict: the query sentence of a paragraph, first or random (seeded)")
      ->check(CLI::IsMember({"first", "random"}));
  sub->add_option("--seed", a->options.seed, "Seed of --ict-sentence random");
  sub->add_flag("--with-source", a->with_source,
                "Also write \"source\" (path or path#Heading) and \"method\" (training then reads them as text columns)");
  sub->add_flag("--json", a->json, "Print the counts as one JSON object (last line of stdout)");
  on_parsed(sub, [a, sub, &g]() { return run_pairs(*a, sub, g); });
}

}  // namespace embtune::cli
