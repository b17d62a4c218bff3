// Reading TREC runs and BEIR/TREC qrels, and scoring runs with trec_eval's definitions.
// Not the trainer's embedding metrics (eval/metrics.cpp), which share no code with this file.
#include "eval/trec.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string_view>

#include "core/file.h"

namespace embtune {

namespace {

std::vector<std::string_view> split_whitespace(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) i++;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') i++;
    if (i > start) fields.push_back(line.substr(start, i - start));
  }
  return fields;
}

// Calls `visit(line_number, fields)` for each non-blank line; stops at the first error.
template <typename Visit>
Status for_each_line(const std::string& text, Visit visit) {
  size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    line_no++;
    std::vector<std::string_view> fields = split_whitespace(std::string_view(text).substr(pos, nl - pos));
    pos = nl + 1;
    if (fields.empty()) continue;
    ET_RETURN_IF_ERROR(visit(line_no, fields));
  }
  return Status::ok_status();
}

bool parse_integer(std::string_view s, int64_t* out) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

bool parse_score(std::string_view s, double* out) {
  std::string copy(s);  // strtod needs a terminator
  char* end = nullptr;
  *out = std::strtod(copy.c_str(), &end);
  return !copy.empty() && end == copy.c_str() + copy.size() && std::isfinite(*out);
}

Status read_nonempty(const std::string& path, std::string* text) {
  ET_RETURN_IF_ERROR(read_file(path, text));
  for (char c : *text)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return Status::ok_status();
  return make_error("%s: the file is empty", path.c_str());
}

}  // namespace

Status trec_run_read(const std::string& path, TrecRun* out) {
  std::string text;
  ET_RETURN_IF_ERROR(read_nonempty(path, &text));
  *out = TrecRun{};
  // The line that first gave each (query, docid), to name both lines of a duplicate.
  std::unordered_map<std::string, std::unordered_map<std::string, size_t>> seen;
  return for_each_line(text, [&](size_t line_no, const std::vector<std::string_view>& f) -> Status {
    if (f.size() != 6)
      return make_error("%s:%zu: expected 6 columns `qid Q0 docid rank score tag`, found %zu (is this a run file?)",
                        path.c_str(), line_no, f.size());
    double score;
    if (!parse_score(f[4], &score))
      return make_error("%s:%zu: score `%.*s` is not a finite number (column 5 of `qid Q0 docid rank score tag`)",
                        path.c_str(), line_no, static_cast<int>(f[4].size()), f[4].data());
    std::string qid(f[0]), docid(f[2]);
    auto [it, fresh] = seen[qid].emplace(docid, line_no);
    if (!fresh)
      return make_error("%s:%zu: document %s is retrieved twice for query %s (first at line %zu); trec_eval "
                        "refuses duplicates too",
                        path.c_str(), line_no, docid.c_str(), qid.c_str(), it->second);
    auto& docs = out->docs[qid];
    if (docs.empty()) out->query_order.push_back(qid);
    docs.push_back(ScoredDoc{std::move(docid), score});
    return Status::ok_status();
  });
}

Status qrels_read(const std::string& path, Qrels* out) {
  std::string text;
  ET_RETURN_IF_ERROR(read_nonempty(path, &text));
  *out = Qrels{};
  size_t columns = 0;  // 3: BEIR, 4: TREC; fixed by the first line
  std::unordered_map<std::string, std::unordered_map<std::string, size_t>> seen;
  return for_each_line(text, [&](size_t line_no, const std::vector<std::string_view>& f) -> Status {
    int64_t grade;
    if (columns == 0) {
      columns = f.size();
      if (columns != 3 && columns != 4)
        return make_error("%s:%zu: unknown qrels format: %zu columns (BEIR qrels have 3, `query-id corpus-id "
                          "score` with a header; TREC qrels have 4, `qid 0 docid rel`)",
                          path.c_str(), line_no, columns);
      // BEIR's header (query-id corpus-id score) is told apart from a judgment by its last field.
      if (columns == 3 && !parse_integer(f[2], &grade)) return Status::ok_status();
    }
    if (f.size() != columns)
      return make_error("%s:%zu: expected %zu columns like the first line (%s qrels), found %zu", path.c_str(), line_no,
                        columns, columns == 3 ? "BEIR" : "TREC", f.size());
    std::string_view grade_field = f[columns - 1];
    if (!parse_integer(grade_field, &grade))
      return make_error("%s:%zu: relevance grade `%.*s` is not an integer", path.c_str(), line_no,
                        static_cast<int>(grade_field.size()), grade_field.data());
    std::string qid(f[0]), docid(columns == 3 ? f[1] : f[2]);
    auto [it, fresh] = seen[qid].emplace(docid, line_no);
    if (!fresh)
      return make_error("%s:%zu: query %s judges document %s twice (first at line %zu)", path.c_str(), line_no,
                        qid.c_str(), docid.c_str(), it->second);
    auto& grades = out->grades[qid];
    if (grades.empty()) out->query_order.push_back(qid);
    grades.emplace(std::move(docid), grade);
    return Status::ok_status();
  });
}

std::string trec_metric_key(const std::string& measure, int k) {
  std::string key = measure;
  key += '@';
  key += std::to_string(k);
  return key;
}

void trec_rank_documents(std::vector<ScoredDoc>* docs) {
  std::sort(docs->begin(), docs->end(), [](const ScoredDoc& a, const ScoredDoc& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.docid > b.docid;  // std::string compares bytes unsigned, like strcmp
  });
}

TrecQueryMetrics trec_score_query(const std::vector<int64_t>& ranked_grades, const std::vector<int64_t>& judged_grades,
                                  int k) {
  TrecQueryMetrics m;
  std::vector<int64_t> ideal;
  for (int64_t g : judged_grades)
    if (g > 0) ideal.push_back(g);
  const int64_t num_relevant = static_cast<int64_t>(ideal.size());
  std::sort(ideal.begin(), ideal.end(), std::greater<>());
  double dcg = 0, ideal_dcg = 0, precision_sum = 0;
  int64_t relevant_seen = 0;
  const int64_t depth = std::min<int64_t>(k, static_cast<int64_t>(ranked_grades.size()));
  for (int64_t i = 0; i < depth; i++) {
    const int64_t g = ranked_grades[i];
    if (g <= 0) continue;
    dcg += static_cast<double>(g) / std::log2(static_cast<double>(i + 2));
    relevant_seen++;
    precision_sum += static_cast<double>(relevant_seen) / static_cast<double>(i + 1);
    if (relevant_seen == 1) m.mrr = 1.0 / static_cast<double>(i + 1);
  }
  for (int64_t i = 0; i < std::min<int64_t>(k, num_relevant); i++)
    ideal_dcg += static_cast<double>(ideal[i]) / std::log2(static_cast<double>(i + 2));
  if (ideal_dcg > 0) m.ndcg = dcg / ideal_dcg;
  if (num_relevant > 0) {
    m.map = precision_sum / static_cast<double>(num_relevant);
    m.recall = static_cast<double>(relevant_seen) / static_cast<double>(num_relevant);
  }
  m.precision = static_cast<double>(relevant_seen) / static_cast<double>(k);
  m.accuracy = relevant_seen > 0 ? 1.0 : 0.0;
  return m;
}

Status trec_evaluate(const TrecRun& run, const Qrels& qrels, const TrecEvalOptions& options, TrecEvalResult* out) {
  *out = TrecEvalResult{};
  std::vector<int> ks = options.ks;
  std::sort(ks.begin(), ks.end());
  ks.erase(std::unique(ks.begin(), ks.end()), ks.end());
  if (ks.empty() || ks.front() < 1) return make_error("cutoffs --k must be positive integers");
  auto& pq = out->per_query;
  for (int k : ks)
    for (const char* name : {"ndcg", "mrr", "map", "recall", "precision", "accuracy"}) pq[trec_metric_key(name, k)];
  auto add = [&](const std::string& qid, const std::vector<TrecQueryMetrics>& ms) {
    out->query_ids.push_back(qid);
    for (size_t i = 0; i < ks.size(); i++) {
      pq[trec_metric_key("ndcg", ks[i])].push_back(ms[i].ndcg);
      pq[trec_metric_key("mrr", ks[i])].push_back(ms[i].mrr);
      pq[trec_metric_key("map", ks[i])].push_back(ms[i].map);
      pq[trec_metric_key("recall", ks[i])].push_back(ms[i].recall);
      pq[trec_metric_key("precision", ks[i])].push_back(ms[i].precision);
      pq[trec_metric_key("accuracy", ks[i])].push_back(ms[i].accuracy);
    }
  };
  std::vector<TrecQueryMetrics> ms(ks.size());
  for (const std::string& qid : run.query_order) {
    auto judged = qrels.grades.find(qid);
    if (judged == qrels.grades.end()) {
      out->run_queries_without_qrels++;
      continue;
    }
    std::vector<ScoredDoc> docs = run.docs.at(qid);
    trec_rank_documents(&docs);
    std::vector<int64_t> ranked_grades, judged_grades;
    for (const ScoredDoc& d : docs) {
      auto g = judged->second.find(d.docid);
      ranked_grades.push_back(g == judged->second.end() ? 0 : g->second);
    }
    for (const auto& [docid, g] : judged->second) judged_grades.push_back(g);
    for (size_t i = 0; i < ks.size(); i++) ms[i] = trec_score_query(ranked_grades, judged_grades, ks[i]);
    add(qid, ms);
  }
  for (const std::string& qid : qrels.query_order)
    if (!run.docs.count(qid)) {
      out->qrels_queries_without_run++;
      if (options.complete) add(qid, std::vector<TrecQueryMetrics>(ks.size()));
    }
  out->queries = static_cast<int64_t>(out->query_ids.size());
  if (out->queries == 0)
    return make_error("no query is in both the run and the qrels (do the query ids match?)");
  for (const auto& [key, values] : pq) {
    double sum = 0;
    for (double v : values) sum += v;
    out->means[key] = sum / static_cast<double>(out->queries);
  }
  return Status::ok_status();
}

}  // namespace embtune
