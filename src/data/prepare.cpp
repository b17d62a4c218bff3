// `embtune prepare`: lenient reading with a report of every problem, whitespace normalisation,
// grouped seeded splits and their leakage check. Not the command line (cli/cmd_prepare.cpp).
#include "data/prepare.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <set>
#include <unordered_map>

#include "core/file.h"
#include "core/strings.h"
#include "core/utf8.h"
#include "data/near_duplicate.h"
#include "data/training_data.h"
#include "eval/compare.h"

namespace embtune {

namespace {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

// What each problem is and what prepare does about it, in report order.
struct ProblemKind {
  const char* key;
  const char* description;
  const char* action;  // "error" (dropped with drop_invalid), "dropped", "fixed", "kept", "ignored", "skipped"
};
constexpr ProblemKind kProblems[] = {
    {"invalid_utf8", "line is not valid UTF-8", "error"},
    {"invalid_json", "line is not a JSON object", "error"},
    {"wrong_column_count", "CSV/TSV record with another number of fields than the header", "error"},
    {"missing_column", "row without one of the text columns", "error"},
    {"not_string", "text column holding something other than a string", "error"},
    {"bad_score", "score missing or not a finite number", "error"},
    {"blank_line", "blank line", "skipped"},
    {"empty_text", "text empty or only whitespace", "dropped"},
    {"duplicate_pair", "same (query, passage) as an earlier row", "dropped"},
    {"whitespace_normalised", "text with runs of whitespace, tabs, newlines or surrounding spaces", "fixed"},
    {"extra_column", "row with string fields that are not text columns", "ignored"},
    {"too_long", "text longer than the model's maximum length (training truncates it)", "kept"},
    {"many_positives", "query with more than one distinct positive", "kept"},
};

class ProblemLog {
 public:
  explicit ProblemLog(size_t max_examples) : max_examples_(max_examples) {}
  void add(const char* key, const std::string& file, int64_t line, const std::string& detail,
           const std::string& text = "") {
    Entry& e = entries_[key];
    ++e.count;
    if (e.examples.size() >= max_examples_) return;
    ojson ex = {{"file", file}, {"line", line}};
    if (!detail.empty()) ex["detail"] = detail;
    if (!text.empty()) ex["text"] = leakage_shorten(text, 200);
    e.examples.push_back(std::move(ex));
  }
  int64_t count(const char* key) const {
    auto it = entries_.find(key);
    return it == entries_.end() ? 0 : it->second.count;
  }
  ojson to_json(bool drop_invalid) const {
    ojson j = ojson::object();
    for (const ProblemKind& k : kProblems) {
      auto it = entries_.find(k.key);
      if (it == entries_.end()) continue;
      const std::string action = std::string(k.action) == "error" ? (drop_invalid ? "dropped" : "error") : k.action;
      j[k.key] = {{"count", it->second.count},
                  {"action", action},
                  {"description", k.description},
                  {"examples", it->second.examples}};
    }
    return j;
  }

 private:
  struct Entry {
    int64_t count = 0;
    ojson examples = ojson::array();
  };
  size_t max_examples_;
  std::map<std::string, Entry> entries_;
};

// One row as read: its fields by name, before the schema is applied.
struct RawRow {
  std::vector<std::pair<std::string, ojson>> fields;
  int32_t file = 0;
  int64_t line = 0;
};

const ojson* find_field(const RawRow& r, const std::string& name) {
  for (const auto& [k, v] : r.fields)
    if (k == name) return &v;
  return nullptr;
}

Status read_jsonl(const std::string& path, const std::string& data, int32_t file, ProblemLog* log,
                  std::vector<RawRow>* rows, int64_t* invalid) {
  size_t pos = 0;
  int64_t line = 0;
  while (pos < data.size()) {
    size_t end = data.find('\n', pos);
    if (end == std::string::npos) end = data.size();
    const std::string text = data.substr(pos, end - pos);
    pos = end + 1;
    ++line;
    if (is_blank(text)) {
      log->add("blank_line", path, line, "");
      continue;
    }
    size_t bad = 0;
    if (!utf8_valid(text, &bad)) {
      log->add("invalid_utf8", path, line, "byte " + std::to_string(bad + 1) + " of the line");
      ++*invalid;
      continue;
    }
    ojson row = ojson::parse(text, nullptr, false);
    if (row.is_discarded() || !row.is_object()) {
      log->add("invalid_json", path, line, row.is_discarded() ? "invalid JSON" : "not an object", text);
      ++*invalid;
      continue;
    }
    RawRow r;
    r.file = file;
    r.line = line;
    for (auto& [k, v] : row.items()) r.fields.emplace_back(k, v);
    rows->push_back(std::move(r));
  }
  return Status::ok_status();
}

Status read_csv(const std::string& path, const std::string& data, char sep, int32_t file, ProblemLog* log,
                std::vector<RawRow>* rows, int64_t* invalid) {
  size_t pos = 0, lines = 0;
  std::vector<std::string> names, fields;
  ET_RETURN_IF_ERROR(csv_next_record(data, sep, &pos, &lines, &names).wrap(path));
  for (const std::string& n : names) {
    size_t bad = 0;
    if (!utf8_valid(n, &bad)) return make_error("%s: line 1: the header is not valid UTF-8", path.c_str());
  }
  while (pos < data.size()) {
    const int64_t line = static_cast<int64_t>(lines) + 1;
    ET_RETURN_IF_ERROR(csv_next_record(data, sep, &pos, &lines, &fields).wrap(path));
    if (fields.size() == 1 && is_blank(fields[0])) {
      log->add("blank_line", path, line, "");
      continue;
    }
    if (fields.size() != names.size()) {
      log->add("wrong_column_count", path, line,
               std::to_string(fields.size()) + " fields, the header has " + std::to_string(names.size()));
      ++*invalid;
      continue;
    }
    bool ok = true;
    for (const std::string& f : fields) {
      size_t bad = 0;
      if (!utf8_valid(f, &bad)) ok = false;
    }
    if (!ok) {
      log->add("invalid_utf8", path, line, "");
      ++*invalid;
      continue;
    }
    RawRow r;
    r.file = file;
    r.line = line;
    for (size_t i = 0; i < names.size(); ++i) {
      // A score column of a CSV holds numbers as text.
      if (names[i] == "score" || names[i] == "label") {
        char* endp = nullptr;
        const double v = std::strtod(fields[i].c_str(), &endp);
        if (!fields[i].empty() && endp && *endp == '\0') {
          r.fields.emplace_back(names[i], v);
          continue;
        }
      }
      r.fields.emplace_back(names[i], fields[i]);
    }
    rows->push_back(std::move(r));
  }
  return Status::ok_status();
}

// Union-find over integer ids, with path halving.
class Groups {
 public:
  explicit Groups(size_t n) : parent_(n) { std::iota(parent_.begin(), parent_.end(), 0); }
  size_t find(size_t x) {
    while (parent_[x] != x) x = parent_[x] = parent_[parent_[x]];
    return x;
  }
  bool unite(size_t a, size_t b) {
    a = find(a);
    b = find(b);
    if (a == b) return false;
    if (a > b) std::swap(a, b);
    parent_[b] = a;
    return true;
  }

 private:
  std::vector<size_t> parent_;
};

std::string location(const PrepareResult& r, const PreparedRow& row) {
  return r.inputs[static_cast<size_t>(row.file)] + ":" + std::to_string(row.line);
}

// The anchors and positives of the rows on one side, for the leakage check.
LeakageTexts side_texts(const PrepareResult& r, bool eval_side, const char* name) {
  LeakageTexts t;
  t.path = name;
  for (size_t i = 0; i < r.rows.size(); ++i) {
    const PreparedRow& row = r.rows[i];
    if ((row.split != 0) != eval_side) continue;
    for (size_t c = 0; c < 2; ++c) {
      t.add(row.texts[c], static_cast<int64_t>(i) + 1);
      t.ids.push_back(location(r, row));
    }
  }
  return t;
}

}  // namespace

Status prepare_rows(const std::vector<std::string>& inputs, const PrepareOptions& opt, PrepareResult* out) {
  *out = PrepareResult();
  if (inputs.empty()) return make_error("no input files");
  double total_fraction = 0;
  for (double f : opt.split) {
    if (!(f >= 0 && std::isfinite(f))) return make_error("split fractions must be finite and >= 0");
    total_fraction += f;
  }
  if (!(total_fraction > 0) || !(opt.split[0] > 0)) return make_error("the train fraction must be above 0");
  if (!(opt.threshold > 0 && opt.threshold <= 1)) return make_error("threshold %g: must be in (0, 1]", opt.threshold);
  out->inputs = inputs;
  ProblemLog log(opt.max_examples);

  // 1. Rows as read.
  std::vector<RawRow> raw;
  for (size_t f = 0; f < inputs.size(); ++f) {
    const std::string& path = inputs[f];
    std::string data;
    ET_RETURN_IF_ERROR(read_file(path, &data));
    const size_t before = raw.size();
    if (ends_with(path, ".csv")) {
      ET_RETURN_IF_ERROR(read_csv(path, data, ',', static_cast<int32_t>(f), &log, &raw, &out->invalid_rows));
    } else if (ends_with(path, ".tsv")) {
      ET_RETURN_IF_ERROR(read_csv(path, data, '\t', static_cast<int32_t>(f), &log, &raw, &out->invalid_rows));
    } else if (ends_with(path, ".jsonl") || ends_with(path, ".json")) {
      ET_RETURN_IF_ERROR(read_jsonl(path, data, static_cast<int32_t>(f), &log, &raw, &out->invalid_rows));
    } else {
      return make_error("%s: unknown format (expected .jsonl, .json, .csv or .tsv)", path.c_str());
    }
    (void)before;
  }
  out->rows_read = static_cast<int64_t>(raw.size()) + out->invalid_rows;
  if (raw.empty()) {
    out->report = {{"inputs", inputs}, {"rows_read", out->rows_read}, {"problems", log.to_json(opt.drop_invalid)}};
    return make_error("%s: no readable rows", inputs[0].c_str());
  }

  // 2. The schema, from the first row (or --columns).
  const RawRow& first = raw[0];
  for (const char* s : {"score", "label"})
    if (find_field(first, s)) {
      out->score_column = s;
      break;
    }
  if (opt.columns.empty()) {
    std::vector<std::string> cols;
    for (const auto& [k, v] : first.fields)
      if (v.is_string() && k != out->score_column && k != opt.source_column) cols.push_back(k);
    for (const char* lead : {"positive", "anchor"}) {
      auto it = std::find(cols.begin(), cols.end(), lead);
      if (it != cols.end()) std::rotate(cols.begin(), it, it + 1);
    }
    out->columns = cols;
  } else {
    out->columns = opt.columns;
  }
  const std::string& first_file = inputs[static_cast<size_t>(first.file)];
  if (out->columns.size() < 2)
    return make_error("%s: line %lld: %zu text column(s); prepare needs (query, passage, …) rows (--columns to name them)",
                      first_file.c_str(), static_cast<long long>(first.line), out->columns.size());

  // 3. Each row against the schema; whitespace; empty texts.
  std::set<std::string> known(out->columns.begin(), out->columns.end());
  if (!out->score_column.empty()) known.insert(out->score_column);
  known.insert(opt.source_column);
  std::vector<std::string> sources;  // per kept row, "" when none
  for (const RawRow& r : raw) {
    const std::string& path = inputs[static_cast<size_t>(r.file)];
    PreparedRow row;
    row.file = r.file;
    row.line = r.line;
    bool invalid = false, empty = false;
    for (const std::string& c : out->columns) {
      const ojson* v = find_field(r, c);
      if (!v) {
        log.add("missing_column", path, r.line, "no \"" + c + "\"");
        invalid = true;
        break;
      }
      if (!v->is_string()) {
        log.add("not_string", path, r.line, "\"" + c + "\" is " + std::string(v->type_name()));
        invalid = true;
        break;
      }
      std::string text = v->get<std::string>();
      if (opt.normalize_whitespace) {
        std::string n = collapse_unicode_whitespace(text);
        if (n != text && !n.empty()) log.add("whitespace_normalised", path, r.line, "\"" + c + "\"", text);
        text = std::move(n);
      }
      if (is_blank(strip_unicode_whitespace(text))) {
        log.add("empty_text", path, r.line, "\"" + c + "\"");
        empty = true;
      }
      row.texts.push_back(std::move(text));
    }
    if (!invalid && !out->score_column.empty()) {
      const ojson* v = find_field(r, out->score_column);
      if (!v || !v->is_number() || !std::isfinite(v->get<double>())) {
        log.add("bad_score", path, r.line, v ? "\"" + out->score_column + "\" is " + v->dump() : "no \"" + out->score_column + "\"");
        invalid = true;
      } else {
        row.score = v->get<double>();
      }
    }
    if (invalid) {
      ++out->invalid_rows;
      continue;
    }
    for (const auto& [k, v] : r.fields)
      if (v.is_string() && !known.count(k)) {
        log.add("extra_column", path, r.line, "\"" + k + "\"");
        break;
      }
    if (empty) continue;
    std::string source;
    if (const ojson* s = find_field(r, opt.source_column)) {
      out->has_source = true;
      source = s->is_string() ? s->get<std::string>() : s->dump();
    }
    sources.push_back(std::move(source));
    out->rows.push_back(std::move(row));
  }

  // 4. Duplicate pairs; queries with several positives.
  {
    std::unordered_map<std::string, size_t> seen;
    std::vector<PreparedRow> kept;
    std::vector<std::string> kept_sources;
    for (size_t i = 0; i < out->rows.size(); ++i) {
      PreparedRow& row = out->rows[i];
      const std::string key = row.texts[0] + '\x1f' + row.texts[1];
      auto [it, added] = seen.emplace(key, kept.size());
      if (!added) {
        log.add("duplicate_pair", inputs[static_cast<size_t>(row.file)], row.line,
                "same as " + location(*out, kept[it->second]), row.texts[0]);
        continue;
      }
      kept.push_back(std::move(row));
      kept_sources.push_back(std::move(sources[i]));
    }
    out->rows = std::move(kept);
    sources = std::move(kept_sources);
    std::map<std::string, std::pair<std::set<std::string>, size_t>> positives;  // query -> (positives, first row)
    for (size_t i = 0; i < out->rows.size(); ++i) {
      auto& p = positives[out->rows[i].texts[0]];
      if (p.first.empty()) p.second = i;
      p.first.insert(out->rows[i].texts[1]);
    }
    for (const auto& [q, p] : positives)
      if (p.first.size() > 1) {
        const PreparedRow& row = out->rows[p.second];
        log.add("many_positives", inputs[static_cast<size_t>(row.file)], row.line,
                std::to_string(p.first.size()) + " positives", q);
      }
  }
  if (out->rows.empty()) {
    out->report = {{"inputs", inputs}, {"rows_read", out->rows_read}, {"problems", log.to_json(opt.drop_invalid)}};
    return make_error("%s: no usable rows (every row has a problem; see the report)", inputs[0].c_str());
  }

  // 5. Over-long texts.
  ojson too_long = nullptr;
  if (opt.encoder) {
    const int64_t limit = opt.max_length > 0 ? opt.max_length : opt.encoder->max_seq_length();
    too_long = {{"max_length", limit}, {"columns", ojson::object()}};
    EncodeOptions eo;
    eo.max_length = 0;
    for (size_t c = 0; c < out->columns.size(); ++c) {
      std::vector<std::string> texts;
      texts.reserve(out->rows.size());
      for (const PreparedRow& row : out->rows) texts.push_back(row.texts[c]);
      std::vector<Encoding> enc;
      ET_RETURN_IF_ERROR(opt.encoder->tokenizer().encode_batch(texts, eo, &enc));
      int64_t over = 0, cut = 0, tokens = 0;
      for (size_t i = 0; i < enc.size(); ++i) {
        const int64_t n = static_cast<int64_t>(enc[i].ids.size());
        tokens += n;
        if (n <= limit) continue;
        ++over;
        cut += n - limit;
        const PreparedRow& row = out->rows[i];
        log.add("too_long", inputs[static_cast<size_t>(row.file)], row.line,
                "\"" + out->columns[c] + "\": " + std::to_string(n) + " tokens", row.texts[c]);
      }
      too_long["columns"][out->columns[c]] = {
          {"texts", enc.size()}, {"over", over}, {"tokens", tokens}, {"tokens_cut", cut},
          {"fraction_cut", tokens ? static_cast<double>(cut) / static_cast<double>(tokens) : 0.0}};
    }
  }

  // 6. Groups: rows sharing a query or a passage (exact normal form or near duplicate at the
  // threshold) or a source document are one group. Ids: one per distinct text key, then sources.
  std::unordered_map<std::string, size_t> key_id;
  std::vector<std::string> forms;  // normal form per key id (texts only)
  std::vector<std::array<size_t, 2>> row_keys(out->rows.size());
  for (size_t i = 0; i < out->rows.size(); ++i)
    for (size_t c = 0; c < 2; ++c) {
      std::string form = near_duplicate_normal_form(out->rows[i].texts[c]);
      // A text without words groups only with the same text.
      std::string key = form.empty() ? "\x02" + out->rows[i].texts[c] : form;
      auto [it, added] = key_id.emplace(std::move(key), forms.size());
      if (added) forms.push_back(std::move(form));
      row_keys[i][c] = it->second;
    }
  const size_t text_keys = forms.size();
  std::unordered_map<std::string, size_t> source_id;
  for (const std::string& s : sources)
    if (!s.empty()) source_id.emplace(s, text_keys + source_id.size());
  Groups groups(text_keys + source_id.size());
  for (size_t i = 0; i < out->rows.size(); ++i) {
    groups.unite(row_keys[i][0], row_keys[i][1]);
    if (!sources[i].empty()) groups.unite(row_keys[i][0], source_id[sources[i]]);
  }
  NearDuplicateOptions nd;
  nd.shingle_words = opt.shingle_words;
  std::vector<NearDuplicatePair> near;
  near_duplicate_pairs(forms, forms, opt.threshold, nd, &near);
  int64_t near_links = 0;
  for (const NearDuplicatePair& p : near)
    if (p.a != p.b && !forms[static_cast<size_t>(p.a)].empty() && groups.unite(static_cast<size_t>(p.a), static_cast<size_t>(p.b)))
      ++near_links;

  // 7. Groups in a seeded random order, each to the split furthest below its share of rows.
  std::map<size_t, std::vector<size_t>> members;  // root -> rows, ordered by first row
  for (size_t i = 0; i < out->rows.size(); ++i) members[groups.find(row_keys[i][0])].push_back(i);
  std::vector<std::vector<size_t>> group_rows;
  for (auto& [root, rows] : members) group_rows.push_back(std::move(rows));
  std::sort(group_rows.begin(), group_rows.end(),
            [](const std::vector<size_t>& a, const std::vector<size_t>& b) { return a[0] < b[0]; });
  SplitMix64 rng(opt.seed);
  for (size_t i = group_rows.size(); i > 1; --i) std::swap(group_rows[i - 1], group_rows[rng.below(i)]);
  const double total_rows = static_cast<double>(out->rows.size());
  std::array<double, 3> target{}, filled{};
  std::array<int64_t, 3> split_groups{};
  for (int s = 0; s < 3; ++s) target[static_cast<size_t>(s)] = opt.split[static_cast<size_t>(s)] / total_fraction * total_rows;
  size_t largest = 0;
  for (const auto& g : group_rows) {
    largest = std::max(largest, g.size());
    int best = 0;
    double best_deficit = -1e300;
    for (int s = 0; s < 3; ++s) {
      if (!(opt.split[static_cast<size_t>(s)] > 0)) continue;
      const double deficit = (target[static_cast<size_t>(s)] - filled[static_cast<size_t>(s)]) / target[static_cast<size_t>(s)];
      if (deficit > best_deficit) {
        best_deficit = deficit;
        best = s;
      }
    }
    filled[static_cast<size_t>(best)] += static_cast<double>(g.size());
    ++split_groups[static_cast<size_t>(best)];
    for (size_t i : g) out->rows[i].split = best;
  }

  // 8. The firewall: train against validation + test.
  out->leakage_train = side_texts(*out, false, "train");
  out->leakage_eval = side_texts(*out, true, "validation/test");
  LeakageOptions lo = opt.leakage;
  lo.threshold = opt.threshold;
  lo.shingle_words = opt.shingle_words;
  ET_RETURN_IF_ERROR(leakage_find(out->leakage_train, out->leakage_eval, lo, &out->leakage));

  // 9. The report.
  ojson splits = ojson::object();
  for (int s = 0; s < 3; ++s) {
    if (!(opt.split[static_cast<size_t>(s)] > 0)) continue;
    splits[kPrepareSplitNames[s]] = {{"rows", static_cast<int64_t>(filled[static_cast<size_t>(s)])},
                                     {"groups", split_groups[static_cast<size_t>(s)]},
                                     {"fraction", filled[static_cast<size_t>(s)] / total_rows},
                                     {"target_fraction", opt.split[static_cast<size_t>(s)] / total_fraction}};
  }
  ojson in = ojson::array();
  std::vector<int64_t> per_file(inputs.size(), 0);
  for (const RawRow& r : raw) ++per_file[static_cast<size_t>(r.file)];
  for (size_t f = 0; f < inputs.size(); ++f) in.push_back({{"path", inputs[f]}, {"rows", per_file[f]}});
  ojson leak_examples = ojson::array();
  for (size_t i = 0; i < std::min<size_t>(opt.max_examples, out->leakage.leaks.size()); ++i) {
    const Leak& l = out->leakage.leaks[i];
    leak_examples.push_back({{"kind", leak_kind_name(l.kind)},
                             {"similarity", l.similarity},
                             {"train", out->leakage_train.ids[static_cast<size_t>(l.train)]},
                             {"eval", out->leakage_eval.ids[static_cast<size_t>(l.eval)]}});
  }
  out->report = {
      {"inputs", in},
      {"columns", out->columns},
      {"score_column", out->score_column.empty() ? ojson() : ojson(out->score_column)},
      {"source_column", out->has_source ? ojson(opt.source_column) : ojson()},
      {"rows_read", out->rows_read},
      {"rows_invalid", out->invalid_rows},
      {"rows_written", static_cast<int64_t>(out->rows.size())},
      {"problems", log.to_json(opt.drop_invalid)},
      {"too_long", too_long},
      {"groups",
       {{"count", group_rows.size()}, {"largest_rows", largest}, {"near_duplicate_links", near_links}}},
      {"splits", splits},
      {"seed", opt.seed},
      {"threshold", opt.threshold},
      {"whitespace_normalised", opt.normalize_whitespace},
      {"leakage",
       {{"exact", out->leakage.exact},
        {"near", out->leakage.near},
        {"semantic", out->leakage.semantic},
        {"cosine_threshold", lo.encoder && lo.cosine_threshold > 0 ? ojson(lo.cosine_threshold) : ojson()},
        {"examples", leak_examples}}},
  };
  return Status::ok_status();
}

Status prepare_write(const std::string& dir, const PrepareResult& r) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !(fs::is_directory(dir, ec) && fs::is_empty(dir, ec)))
    return make_error("%s: already exists and is not empty (choose another --out)", dir.c_str());
  const std::string tmp = dir + ".tmp-" + std::to_string(getpid());
  fs::remove_all(tmp, ec);
  if (!fs::create_directories(tmp, ec) || ec) return make_error("%s: cannot create the directory", tmp.c_str());
  auto fail = [&](const std::string& path) {
    fs::remove_all(tmp, ec);
    return make_error("%s: cannot write (disk full or no permission?)", path.c_str());
  };
  const auto& splits = r.report["splits"];
  for (int s = 0; s < 3; ++s) {
    if (!splits.contains(kPrepareSplitNames[s])) continue;
    const std::string path = tmp + "/" + kPrepareSplitNames[s] + ".jsonl";
    std::ofstream f(path, std::ios::binary);
    for (const PreparedRow& row : r.rows) {
      if (row.split != s) continue;
      ojson j = ojson::object();
      for (size_t c = 0; c < r.columns.size(); ++c) j[r.columns[c]] = row.texts[c];
      if (!r.score_column.empty()) j[r.score_column] = row.score;
      f << j.dump() << '\n';
    }
    f.close();
    if (!f) return fail(dir + "/" + kPrepareSplitNames[s] + ".jsonl");
  }
  {
    std::ofstream f(tmp + "/prepare_report.json", std::ios::binary);
    f << r.report.dump(2) << '\n';
    f.close();
    if (!f) return fail(dir + "/prepare_report.json");
  }
  if (fs::exists(dir, ec)) fs::remove(dir, ec);
  fs::rename(tmp, dir, ec);
  if (ec) {
    fs::remove_all(tmp, ec);
    return make_error("%s: cannot create the output directory", dir.c_str());
  }
  return Status::ok_status();
}

std::string prepare_report_text(const PrepareResult& r) {
  const ojson& j = r.report;
  std::string s;
  char buf[512];
  for (const auto& in : j["inputs"]) {
    std::snprintf(buf, sizeof buf, "input: %s: %lld rows\n", in["path"].get<std::string>().c_str(),
                  static_cast<long long>(in["rows"].get<int64_t>()));
    s += buf;
  }
  std::snprintf(buf, sizeof buf, "columns: %s%s%s\n", [&] {
    std::string c;
    for (const auto& x : r.columns) c += (c.empty() ? "" : ", ") + x;
    return c;
  }().c_str(), r.score_column.empty() ? "" : ("; score: " + r.score_column).c_str(),
                r.has_source ? "; grouped by source" : "");
  s += buf;
  const ojson& problems = j["problems"];
  if (problems.empty()) {
    s += "problems: none\n";
  } else {
    s += "problems:\n";
    for (const auto& [key, p] : problems.items()) {
      std::snprintf(buf, sizeof buf, "  %-22s %8lld  %-8s %s\n", key.c_str(), static_cast<long long>(p["count"].get<int64_t>()),
                    p["action"].get<std::string>().c_str(), p["description"].get<std::string>().c_str());
      s += buf;
      for (const auto& ex : p["examples"]) {
        std::string line = "      " + ex["file"].get<std::string>() + ":" + std::to_string(ex["line"].get<int64_t>());
        if (ex.contains("detail")) line += ": " + ex["detail"].get<std::string>();
        if (ex.contains("text")) line += ": " + ojson(leakage_shorten(ex["text"].get<std::string>(), 100)).dump();
        s += line + "\n";
      }
    }
  }
  if (!j["too_long"].is_null()) {
    for (const auto& [col, t] : j["too_long"]["columns"].items()) {
      std::snprintf(buf, sizeof buf, "length: \"%s\": %lld of %lld texts over %lld tokens; truncation cuts %lld of %lld tokens (%.1f%%)\n",
                    col.c_str(), static_cast<long long>(t["over"].get<int64_t>()), static_cast<long long>(t["texts"].get<int64_t>()),
                    static_cast<long long>(j["too_long"]["max_length"].get<int64_t>()),
                    static_cast<long long>(t["tokens_cut"].get<int64_t>()), static_cast<long long>(t["tokens"].get<int64_t>()),
                    100.0 * t["fraction_cut"].get<double>());
      s += buf;
    }
  }
  if (j.contains("groups")) {
    std::snprintf(buf, sizeof buf, "groups: %lld (largest %lld rows; %lld joined by near duplicates)\n",
                  static_cast<long long>(j["groups"]["count"].get<int64_t>()),
                  static_cast<long long>(j["groups"]["largest_rows"].get<int64_t>()),
                  static_cast<long long>(j["groups"]["near_duplicate_links"].get<int64_t>()));
    s += buf;
    for (const auto& [name, sp] : j["splits"].items()) {
      std::snprintf(buf, sizeof buf, "  %-10s %8lld rows  %6lld groups  %5.1f%% (target %.1f%%)\n", name.c_str(),
                    static_cast<long long>(sp["rows"].get<int64_t>()), static_cast<long long>(sp["groups"].get<int64_t>()),
                    100.0 * sp["fraction"].get<double>(), 100.0 * sp["target_fraction"].get<double>());
      s += buf;
    }
    s += r.leakage.any() ? "leakage between train and validation/test: " +
                               leakage_describe(r.leakage_train, r.leakage_eval, r.leakage, 3)
                         : "leakage between train and validation/test: none\n";
  }
  return s;
}

}  // namespace embtune
