// `embtune check-leakage`: exact and near-duplicate texts shared by a training and an evaluation
// file (word shingles, MinHash + LSH, verified Jaccard). Not embedding-similarity leakage.
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
#include <unordered_map>
#include <vector>

#include "cli/commands.h"
#include "core/file.h"
#include "core/utf8.h"
#include "data/near_duplicate.h"
#include "data/training_data.h"

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
};

// The texts of one file and the 1-based line each starts on.
struct TextFile {
  std::string path;
  std::vector<std::string> texts;
  std::vector<int64_t> lines;
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool field_wanted(const std::vector<std::string>& fields, const std::string& name) {
  return fields.empty() || std::find(fields.begin(), fields.end(), name) != fields.end();
}

// Every string inside a JSON value, nested arrays and objects included.
void collect_strings(const nlohmann::json& v, std::vector<std::string>* out) {
  if (v.is_string()) {
    out->push_back(v.get<std::string>());
  } else if (v.is_array() || v.is_object()) {
    for (const auto& x : v) collect_strings(x, out);
  }
}

Status read_jsonl(const std::string& data, const std::vector<std::string>& fields, TextFile* f) {
  size_t pos = 0;
  int64_t line = 0;
  std::vector<std::string> strings;
  while (pos < data.size()) {
    size_t end = data.find('\n', pos);
    if (end == std::string::npos) end = data.size();
    const std::string text = data.substr(pos, end - pos);
    pos = end + 1;
    ++line;
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json row = nlohmann::json::parse(text, nullptr, false);
    if (row.is_discarded())
      return make_error("%s: line %lld: invalid JSON (each line must be one JSON object)", f->path.c_str(),
                        static_cast<long long>(line));
    if (!row.is_object())
      return make_error("%s: line %lld: not a JSON object", f->path.c_str(), static_cast<long long>(line));
    strings.clear();
    for (const auto& [key, value] : row.items())
      if (field_wanted(fields, key)) collect_strings(value, &strings);
    for (auto& s : strings) {
      f->texts.push_back(std::move(s));
      f->lines.push_back(line);
    }
  }
  return Status::ok_status();
}

Status read_csv(const std::string& data, char sep, const std::vector<std::string>& fields, TextFile* f) {
  size_t pos = 0, lines = 0;
  std::vector<std::string> names, row;
  ET_RETURN_IF_ERROR(csv_next_record(data, sep, &pos, &lines, &names).wrap(f->path));
  std::vector<size_t> columns;
  for (size_t i = 0; i < names.size(); ++i) {
    // A score or label column holds numbers and classes, not texts.
    const bool score = names[i] == "score" || names[i] == "label";
    if (fields.empty() ? !score : field_wanted(fields, names[i])) columns.push_back(i);
  }
  while (pos < data.size()) {
    const int64_t line = static_cast<int64_t>(lines) + 1;
    ET_RETURN_IF_ERROR(csv_next_record(data, sep, &pos, &lines, &row).wrap(f->path));
    if (row.size() == 1 && row[0].empty()) continue;
    if (row.size() != names.size())
      return make_error("%s: line %lld: %zu columns, the header has %zu", f->path.c_str(), static_cast<long long>(line),
                        row.size(), names.size());
    for (size_t c : columns) {
      f->texts.push_back(std::move(row[c]));
      f->lines.push_back(line);
    }
  }
  return Status::ok_status();
}

void read_lines(const std::string& data, TextFile* f) {
  size_t pos = 0;
  int64_t line = 0;
  while (pos < data.size()) {
    size_t end = data.find('\n', pos);
    if (end == std::string::npos) end = data.size();
    std::string text = data.substr(pos, end - pos);
    if (!text.empty() && text.back() == '\r') text.pop_back();
    pos = end + 1;
    ++line;
    if (text.find_first_not_of(" \t") == std::string::npos) continue;
    f->texts.push_back(std::move(text));
    f->lines.push_back(line);
  }
}

// Reads the texts of `path` by its extension: .jsonl/.json (every string of every row, or of the
// named fields), .csv/.tsv (every column but score/label, or the named ones), else one per line.
Status read_text_file(const std::string& path, const std::vector<std::string>& fields, TextFile* f) {
  f->path = path;
  std::string data;
  ET_RETURN_IF_ERROR(read_file(path, &data));
  size_t bad = 0;
  if (!utf8_valid(data, &bad)) {
    const long long line = 1 + std::count(data.begin(), data.begin() + static_cast<long>(bad), '\n');
    return make_error("%s: line %lld: invalid UTF-8 at byte %zu (save the file as UTF-8)", path.c_str(), line, bad);
  }
  if (ends_with(path, ".jsonl") || ends_with(path, ".json")) return read_jsonl(data, fields, f);
  if (ends_with(path, ".csv")) return read_csv(data, ',', fields, f);
  if (ends_with(path, ".tsv")) return read_csv(data, '\t', fields, f);
  read_lines(data, f);
  return Status::ok_status();
}

// The distinct normal forms of a file's texts (those with at least min_words words), each with
// the indexes of the texts that have it, in file order.
struct DistinctTexts {
  std::vector<std::string> forms;
  std::vector<std::vector<int64_t>> occurrences;
  std::unordered_map<std::string, int64_t> index;
};

void distinct_texts(const TextFile& f, int min_words, DistinctTexts* d) {
  std::vector<std::string> forms(f.texts.size());
#pragma omp parallel for schedule(dynamic, 256)
  for (size_t i = 0; i < f.texts.size(); ++i) forms[i] = near_duplicate_normal_form(f.texts[i]);
  for (size_t i = 0; i < forms.size(); ++i) {
    if (forms[i].empty()) continue;
    if (1 + static_cast<int>(std::count(forms[i].begin(), forms[i].end(), ' ')) < min_words) continue;
    auto [it, added] = d->index.emplace(forms[i], static_cast<int64_t>(d->forms.size()));
    if (added) {
      d->forms.push_back(std::move(forms[i]));
      d->occurrences.emplace_back();
    }
    d->occurrences[static_cast<size_t>(it->second)].push_back(static_cast<int64_t>(i));
  }
}

struct Leak {
  int64_t train = 0, eval = 0;  // distinct-text indexes
  double jaccard = 1.0;
  bool exact = false;
};

nlohmann::ordered_json location_json(const TextFile& f, int64_t text) {
  return {{"file", f.path}, {"line", f.lines[static_cast<size_t>(text)]}, {"text", f.texts[static_cast<size_t>(text)]}};
}

// At most `max` bytes of `s`, cut at a UTF-8 boundary, with "…" when cut.
std::string shorten(const std::string& s, size_t max) {
  if (s.size() <= max) return s;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n) + "\xE2\x80\xA6";
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
  const auto start = std::chrono::steady_clock::now();
  TextFile train, eval;
  Status s = read_text_file(a.train, a.fields, &train);
  if (!s.ok()) return report_error(cmd, s);
  s = read_text_file(a.eval, a.fields, &eval);
  if (!s.ok()) return report_error(cmd, s);
  const bool verbose = !g.quiet && train.texts.size() + eval.texts.size() >= kProgressTexts;
  progress(verbose, "%zu training texts, %zu evaluation texts; normalising", train.texts.size(),
           eval.texts.size());

  DistinctTexts dt, de;
  distinct_texts(train, a.min_words, &dt);
  distinct_texts(eval, a.min_words, &de);
  progress(verbose, "comparing %zu x %zu distinct texts", dt.forms.size(), de.forms.size());

  std::vector<Leak> leaks;
  for (size_t e = 0; e < de.forms.size(); ++e) {
    auto it = dt.index.find(de.forms[e]);
    if (it != dt.index.end()) leaks.push_back({it->second, static_cast<int64_t>(e), 1.0, true});
  }
  const size_t exact = leaks.size();
  NearDuplicateOptions nd;
  nd.shingle_words = a.shingle_words;
  std::vector<NearDuplicatePair> pairs;
  near_duplicate_pairs(dt.forms, de.forms, a.threshold, nd, &pairs);
  for (const auto& p : pairs)
    if (dt.forms[static_cast<size_t>(p.a)] != de.forms[static_cast<size_t>(p.b)]) leaks.push_back({p.a, p.b, p.jaccard, false});
  const size_t near = leaks.size() - exact;

  std::vector<char> eval_leaked(de.forms.size(), 0);
  for (const Leak& l : leaks) eval_leaked[static_cast<size_t>(l.eval)] = 1;
  std::vector<int64_t> rows;
  for (size_t e = 0; e < de.forms.size(); ++e)
    if (eval_leaked[e])
      for (int64_t t : de.occurrences[e]) rows.push_back(eval.lines[static_cast<size_t>(t)]);
  std::sort(rows.begin(), rows.end());
  const size_t rows_leaked = static_cast<size_t>(std::unique(rows.begin(), rows.end()) - rows.begin());
  const size_t texts_leaked = static_cast<size_t>(std::count(eval_leaked.begin(), eval_leaked.end(), 1));
  std::vector<int64_t> all_rows(eval.lines);
  const size_t eval_rows = static_cast<size_t>(std::unique(all_rows.begin(), all_rows.end()) - all_rows.begin());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  progress(verbose, "done: %zu exact, %zu near in %.1f s", exact, near, seconds);

  // Examples: exact duplicates first, then near ones from the most similar down.
  std::stable_sort(leaks.begin() + static_cast<long>(exact), leaks.end(),
                   [](const Leak& x, const Leak& y) { return x.jaccard > y.jaccard; });
  const size_t shown = std::min(leaks.size(), static_cast<size_t>(a.max_examples));
  if (a.json) {
    nlohmann::ordered_json ex = nlohmann::ordered_json::array();
    for (size_t i = 0; i < shown; ++i) {
      const Leak& l = leaks[i];
      ex.push_back({{"kind", l.exact ? "exact" : "near"},
                    {"jaccard", l.jaccard},
                    {"train", location_json(train, dt.occurrences[static_cast<size_t>(l.train)][0])},
                    {"eval", location_json(eval, de.occurrences[static_cast<size_t>(l.eval)][0])},
                    {"eval_occurrences", de.occurrences[static_cast<size_t>(l.eval)].size()}});
    }
    nlohmann::ordered_json j = {{"exact", exact},
                                {"near", near},
                                {"eval_texts_leaked", texts_leaked},
                                {"eval_rows_leaked", rows_leaked},
                                {"train_texts", train.texts.size()},
                                {"train_distinct", dt.forms.size()},
                                {"eval_texts", eval.texts.size()},
                                {"eval_distinct", de.forms.size()},
                                {"eval_rows", eval_rows},
                                {"threshold", a.threshold},
                                {"shingle_words", a.shingle_words},
                                {"seconds", seconds},
                                {"examples", ex}};
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace).c_str());
  } else {
    std::printf("training:   %s: %zu texts, %zu distinct\n", train.path.c_str(), train.texts.size(), dt.forms.size());
    std::printf("evaluation: %s: %zu texts, %zu distinct, %zu rows\n", eval.path.c_str(), eval.texts.size(),
                de.forms.size(), eval_rows);
    std::printf("exact duplicates: %zu\n", exact);
    std::printf("near duplicates (Jaccard >= %.2f of %d-word shingles): %zu\n", a.threshold, a.shingle_words, near);
    std::printf("evaluation texts leaked: %zu of %zu distinct; rows: %zu of %zu\n", texts_leaked, de.forms.size(),
                rows_leaked, eval_rows);
    for (size_t i = 0; i < shown; ++i) {
      const Leak& l = leaks[i];
      const int64_t t = dt.occurrences[static_cast<size_t>(l.train)][0];
      const int64_t e = de.occurrences[static_cast<size_t>(l.eval)][0];
      std::printf("%s %.3f  %s:%lld  %s:%lld\n  train: %s\n  eval:  %s\n", l.exact ? "exact" : "near ", l.jaccard,
                  train.path.c_str(), static_cast<long long>(train.lines[static_cast<size_t>(t)]), eval.path.c_str(),
                  static_cast<long long>(eval.lines[static_cast<size_t>(e)]),
                  shorten(train.texts[static_cast<size_t>(t)], 160).c_str(),
                  shorten(eval.texts[static_cast<size_t>(e)], 160).c_str());
    }
    if (leaks.size() > shown) std::printf("(%zu more; --max-examples to show them)\n", leaks.size() - shown);
    std::printf(leaks.empty() ? "no leakage found\n" : "leakage found (exit code 3)\n");
  }
  return leaks.empty() ? 0 : kExitLeakage;
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
  sub->add_flag("--json", a->json, "Print one JSON object (last line) instead of the report");
  on_parsed(sub, [a, &g]() { return run_check_leakage(*a, g); });
}

}  // namespace embtune::cli
