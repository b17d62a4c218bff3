// JSONL / CSV / TSV readers for training rows, with validation before training starts.
// Not streaming: training data is read whole (it is shuffled and bucketed afterwards).
#include "data/training_data.h"
#include "core/strings.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/file.h"
#include "core/utf8.h"

namespace embtune {

namespace {

// Which file columns feed the texts and the score, in order (indices into `names`).
struct ColumnPlan {
  std::vector<size_t> text;
  long score = -1;
};

Status plan_columns(const std::string& path, const std::vector<std::string>& names, const TrainingDataOptions& opt,
                    TrainingData* out, ColumnPlan* plan) {
  auto find = [&](const std::string& n) -> long {
    auto it = std::find(names.begin(), names.end(), n);
    return it == names.end() ? -1 : static_cast<long>(it - names.begin());
  };
  std::string available;
  for (auto& n : names) available += (available.empty() ? "" : ", ") + n;
  if (!opt.score_column.empty()) {
    plan->score = find(opt.score_column);
    if (plan->score < 0)
      return make_error("%s: no score column \"%s\" (columns: %s)", path.c_str(), opt.score_column.c_str(), available.c_str());
  } else {
    plan->score = find("score");
    if (plan->score < 0) plan->score = find("label");
  }
  if (!opt.columns.empty()) {
    for (const std::string& c : opt.columns) {
      long i = find(c);
      if (i < 0) return make_error("%s: no column \"%s\" (columns: %s)", path.c_str(), c.c_str(), available.c_str());
      plan->text.push_back(static_cast<size_t>(i));
    }
  } else {
    // With sentence-transformers' names the names decide the roles, whatever order a JSON writer
    // put the keys in: anchor, positive, then the rest (negative_1, negative_2, …) in file order.
    const long anchor = find("anchor"), positive = find("positive");
    if (anchor >= 0 && positive >= 0) {
      plan->text.push_back(static_cast<size_t>(anchor));
      plan->text.push_back(static_cast<size_t>(positive));
    }
    for (size_t i = 0; i < names.size(); i++) {
      const long li = static_cast<long>(i);
      if (li != plan->score && !(anchor >= 0 && positive >= 0 && (li == anchor || li == positive))) plan->text.push_back(i);
    }
  }
  if (plan->text.empty()) return make_error("%s: no text columns (columns: %s)", path.c_str(), available.c_str());
  for (size_t i : plan->text) out->text_columns.push_back(names[i]);
  out->score_column = plan->score >= 0 ? names[plan->score] : "";
  return Status::ok_status();
}

Status check_text(const std::string& path, size_t line, const std::string& column, const std::string& text) {
  size_t bad = 0;
  if (!utf8_valid(text, &bad))
    return make_error("%s: line %zu: column \"%s\": invalid UTF-8 at byte %zu", path.c_str(), line, column.c_str(), bad + 1);
  if (is_blank(text)) return make_error("%s: line %zu: column \"%s\" is empty", path.c_str(), line, column.c_str());
  return Status::ok_status();
}

Status check_score(const std::string& path, size_t line, const std::string& column, double v, const TrainingDataOptions& opt) {
  if (!std::isfinite(v)) return make_error("%s: line %zu: score column \"%s\" is not a finite number", path.c_str(), line, column.c_str());
  if (v < opt.score_min || v > opt.score_max)
    return make_error("%s: line %zu: score %g in column \"%s\" is outside [%g, %g]", path.c_str(), line, v, column.c_str(),
                      opt.score_min, opt.score_max);
  return Status::ok_status();
}

Status read_jsonl(const std::string& path, const std::string& data, const TrainingDataOptions& opt, TrainingData* out) {
  ColumnPlan plan;
  std::vector<std::string> names;
  size_t pos = 0, line = 0;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string::npos) nl = data.size();
    std::string text = data.substr(pos, nl - pos);
    pos = nl + 1;
    line++;
    if (is_blank(text)) return make_error("%s: line %zu: empty line (each line must be a JSON object)", path.c_str(), line);
    size_t bad = 0;
    if (!utf8_valid(text, &bad)) return make_error("%s: line %zu: invalid UTF-8 at byte %zu", path.c_str(), line, bad + 1);
    nlohmann::ordered_json j;
    try {
      j = nlohmann::ordered_json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
      return make_error("%s: line %zu: invalid JSON at byte %zu", path.c_str(), line, static_cast<size_t>(e.byte));
    }
    if (!j.is_object()) return make_error("%s: line %zu: expected a JSON object", path.c_str(), line);
    std::vector<std::string> keys;
    for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
    if (line == 1) {
      names = keys;
      ET_RETURN_IF_ERROR(plan_columns(path, names, opt, out, &plan));
    } else {
      std::vector<std::string> a = names, b = keys;
      std::sort(a.begin(), a.end());
      std::sort(b.begin(), b.end());
      if (a != b) {
        for (auto& n : names)
          if (!j.contains(n)) return make_error("%s: line %zu: missing column \"%s\" (line 1 has it)", path.c_str(), line, n.c_str());
        for (auto& k : keys)
          if (std::find(names.begin(), names.end(), k) == names.end())
            return make_error("%s: line %zu: column \"%s\" is not on line 1 (every row needs the same columns)",
                              path.c_str(), line, k.c_str());
      }
    }
    TrainingRow row;
    for (size_t i : plan.text) {
      const auto& v = j[names[i]];
      if (!v.is_string()) return make_error("%s: line %zu: column \"%s\" must be a string", path.c_str(), line, names[i].c_str());
      row.texts.push_back(v.get<std::string>());
      ET_RETURN_IF_ERROR(check_text(path, line, names[i], row.texts.back()));
    }
    if (plan.score >= 0) {
      const auto& v = j[names[plan.score]];
      if (!v.is_number())
        return make_error("%s: line %zu: score column \"%s\" must be a number", path.c_str(), line, names[plan.score].c_str());
      row.score = v.get<double>();
      ET_RETURN_IF_ERROR(check_score(path, line, names[plan.score], row.score, opt));
    }
    out->rows.push_back(std::move(row));
  }
  return Status::ok_status();
}

Status read_delimited(const std::string& path, const std::string& data, char sep, const TrainingDataOptions& opt,
                      TrainingData* out) {
  size_t pos = 0, lines = 0;
  std::vector<std::string> names, fields;
  ET_RETURN_IF_ERROR(csv_next_record(data, sep, &pos, &lines, &names).wrap(path));
  for (auto& n : names)
    if (n.empty()) return make_error("%s: line 1: the header has an empty column name", path.c_str());
  ColumnPlan plan;
  ET_RETURN_IF_ERROR(plan_columns(path, names, opt, out, &plan));
  while (pos < data.size()) {
    const size_t line = lines + 1;
    ET_RETURN_IF_ERROR(csv_next_record(data, sep, &pos, &lines, &fields).wrap(path));
    if (fields.size() == 1 && fields[0].empty())
      return make_error("%s: line %zu: empty line", path.c_str(), line);
    if (fields.size() != names.size())
      return make_error("%s: line %zu: %zu columns, the header has %zu", path.c_str(), line, fields.size(), names.size());
    TrainingRow row;
    for (size_t i : plan.text) {
      ET_RETURN_IF_ERROR(check_text(path, line, names[i], fields[i]));
      row.texts.push_back(fields[i]);
    }
    if (plan.score >= 0) {
      const std::string& f = fields[plan.score];
      char* end = nullptr;
      row.score = std::strtod(f.c_str(), &end);
      if (f.empty() || end != f.c_str() + f.size())
        return make_error("%s: line %zu: score \"%s\" in column \"%s\" is not a number", path.c_str(), line, f.c_str(),
                          names[plan.score].c_str());
      ET_RETURN_IF_ERROR(check_score(path, line, names[plan.score], row.score, opt));
    }
    out->rows.push_back(std::move(row));
  }
  return Status::ok_status();
}

}  // namespace

Status csv_next_record(const std::string& data, char sep, size_t* pos, size_t* lines, std::vector<std::string>* fields) {
  fields->clear();
  std::string field;
  size_t i = *pos;
  const size_t start_line = *lines + 1;
  bool quoted = false, was_quoted = false;
  for (; i < data.size(); i++) {
    const char c = data[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < data.size() && data[i + 1] == '"') {
          field += '"';
          i++;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') (*lines)++;
        field += c;
      }
      continue;
    }
    if (c == '"' && field.empty() && !was_quoted) {
      quoted = was_quoted = true;
    } else if (c == sep) {
      fields->push_back(std::move(field));
      field.clear();
      was_quoted = false;
    } else if (c == '\n') {
      break;
    } else if (c != '\r' || (i + 1 < data.size() && data[i + 1] != '\n')) {
      field += c;
    }
  }
  if (quoted) return make_error("line %zu: unterminated quoted field", start_line);
  fields->push_back(std::move(field));
  (*lines)++;
  *pos = i < data.size() ? i + 1 : data.size();
  return Status::ok_status();
}

Status training_data_read(const std::string& path, const TrainingDataOptions& opt, TrainingData* out) {
  std::string fmt = opt.format;
  if (fmt == "auto") {
    if (ends_with(path, ".jsonl") || ends_with(path, ".json")) fmt = "jsonl";
    else if (ends_with(path, ".csv")) fmt = "csv";
    else if (ends_with(path, ".tsv")) fmt = "tsv";
    else return make_error("%s: cannot tell the format from the extension (use .jsonl, .csv or .tsv, or --format)", path.c_str());
  }
  std::string data;
  ET_RETURN_IF_ERROR(read_file(path, &data));
  if (data.empty() || is_blank(data)) return make_error("%s: the file is empty", path.c_str());
  if (data.back() == '\n') data.pop_back();  // a final newline ends the last record, it does not start one
  if (!data.empty() && data.back() == '\r') data.pop_back();
  TrainingData d;
  Status s;
  if (fmt == "jsonl") s = read_jsonl(path, data, opt, &d);
  else if (fmt == "csv") s = read_delimited(path, data, ',', opt, &d);
  else if (fmt == "tsv") s = read_delimited(path, data, '\t', opt, &d);
  else return make_error("data format \"%s\" is unknown (use jsonl, csv or tsv)", opt.format.c_str());
  ET_RETURN_IF_ERROR(s);
  if (d.rows.empty()) return make_error("%s: no rows after the header", path.c_str());
  *out = std::move(d);
  return Status::ok_status();
}

}  // namespace embtune
