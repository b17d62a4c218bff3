// Leakage between training and evaluation texts: exact, near (shingle Jaccard) and semantic
// (embedding cosine) duplicates. Not the command line (cli/cmd_check_leakage.cpp).
#include "data/leakage.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "core/file.h"
#include "core/progress.h"
#include "core/strings.h"
#include "core/utf8.h"
#include "data/near_duplicate.h"
#include "data/training_data.h"
#include "eval/dense_search.h"
#include "eval/embed_cache.h"

namespace embtune {

namespace {

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

Status read_jsonl(const std::string& data, const std::vector<std::string>& fields, LeakageTexts* f) {
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
    for (auto& s : strings) f->add(std::move(s), line);
  }
  return Status::ok_status();
}

Status read_csv(const std::string& data, char sep, const std::vector<std::string>& fields, LeakageTexts* f) {
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
    for (size_t c : columns) f->add(std::move(row[c]), line);
  }
  return Status::ok_status();
}

void read_lines(const std::string& data, LeakageTexts* f) {
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
    f->add(std::move(text), line);
  }
}

// The distinct normal forms of one side's texts (those with at least min_words words), each with
// the indexes of the texts that have it, in order.
struct DistinctTexts {
  std::vector<std::string> forms;
  std::vector<std::vector<int64_t>> occurrences;
  std::unordered_map<std::string, int64_t> index;
};

void distinct_texts(const LeakageTexts& f, int min_words, DistinctTexts* d) {
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

// The original text of each distinct form's first occurrence: what the model embeds.
std::vector<std::string> representatives(const LeakageTexts& f, const DistinctTexts& d) {
  std::vector<std::string> out;
  out.reserve(d.forms.size());
  for (const auto& occ : d.occurrences) out.push_back(f.texts[static_cast<size_t>(occ[0])]);
  return out;
}

Status embed_side(const LeakageOptions& opt, EmbedCache* cache, const std::vector<std::string>& texts, const char* label,
                  std::vector<float>* out) {
  Progress bar(label, static_cast<int64_t>(texts.size()), "texts", opt.progress);
  EmbedOptions eo = opt.embed;
  eo.progress = [&bar](int64_t done, int64_t) { bar.update(done); };
  ET_RETURN_IF_ERROR(embed_with_cache(*opt.encoder, texts, eo, cache, out));
  bar.finish();
  return Status::ok_status();
}

// Semantic leaks: each distinct evaluation form's nearest training form by cosine, when at least
// the threshold and the pair is not already an exact or near leak.
Status find_semantic(const LeakageTexts& train, const LeakageTexts& eval, const DistinctTexts& dt,
                     const DistinctTexts& de, const LeakageOptions& opt, std::vector<Leak>* leaks) {
  if (dt.forms.empty() || de.forms.empty()) return Status::ok_status();
  std::unique_ptr<EmbedCache> cache;
  if (!opt.cache_dir.empty()) {
    Hash128 fp;
    ET_RETURN_IF_ERROR(embed_fingerprint(*opt.encoder, opt.embed, &fp));
    ET_RETURN_IF_ERROR(EmbedCache::open(opt.cache_dir, fp, opt.encoder->dim(), &cache));
  }
  std::vector<float> et, ee;  // (distinct, dim)
  ET_RETURN_IF_ERROR(embed_side(opt, cache.get(), representatives(train, dt), "embedding training texts", &et));
  ET_RETURN_IF_ERROR(embed_side(opt, cache.get(), representatives(eval, de), "embedding evaluation texts", &ee));
  const int64_t dim = opt.encoder->dim();
  DenseSearchOptions so;
  so.k = 1;
  so.similarity = Similarity::Cosine;
  const DenseHits hits = dense_search(ee.data(), static_cast<int64_t>(de.forms.size()), et.data(),
                                      static_cast<int64_t>(dt.forms.size()), dim, so);
  std::vector<std::pair<int64_t, int64_t>> known;
  for (const Leak& l : *leaks) known.emplace_back(l.train, l.eval);
  std::sort(known.begin(), known.end());
  for (size_t e = 0; e < hits.size(); ++e) {
    if (hits[e].empty() || hits[e][0].second < opt.cosine_threshold) continue;
    const int64_t t = hits[e][0].first;
    if (std::binary_search(known.begin(), known.end(), std::make_pair(t, static_cast<int64_t>(e)))) continue;
    leaks->push_back({t, static_cast<int64_t>(e), hits[e][0].second, LeakKind::Semantic, 1});
  }
  return Status::ok_status();
}

}  // namespace

std::string LeakageTexts::location(size_t i) const {
  if (!ids.empty()) return path.empty() ? ids[i] : path + " " + ids[i];
  return path + ":" + std::to_string(lines[i]);
}

const char* leak_kind_name(LeakKind k) {
  switch (k) {
    case LeakKind::Exact: return "exact";
    case LeakKind::Near: return "near";
    case LeakKind::Semantic: return "semantic";
  }
  return "?";
}

Status leakage_read_file(const std::string& path, const std::vector<std::string>& fields, LeakageTexts* f) {
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

Status leakage_find(const LeakageTexts& train, const LeakageTexts& eval, const LeakageOptions& opt, LeakageResult* out) {
  if (!(opt.threshold > 0.0 && opt.threshold <= 1.0))
    return make_error("near-duplicate threshold %g: must be in (0, 1]", opt.threshold);
  const bool semantic = opt.encoder != nullptr && opt.cosine_threshold > 0;
  if (semantic && opt.cosine_threshold > 1.0)
    return make_error("cosine threshold %g: must be in (0, 1]", opt.cosine_threshold);
  *out = LeakageResult();
  DistinctTexts dt, de;
  distinct_texts(train, opt.min_words, &dt);
  distinct_texts(eval, opt.min_words, &de);

  std::vector<Leak>& leaks = out->leaks;
  for (size_t e = 0; e < de.forms.size(); ++e) {
    auto it = dt.index.find(de.forms[e]);
    if (it != dt.index.end()) leaks.push_back({it->second, static_cast<int64_t>(e), 1.0, LeakKind::Exact, 1});
  }
  const size_t exact = leaks.size();
  NearDuplicateOptions nd;
  nd.shingle_words = opt.shingle_words;
  std::vector<NearDuplicatePair> pairs;
  near_duplicate_pairs(dt.forms, de.forms, opt.threshold, nd, &pairs);
  for (const auto& p : pairs)
    if (dt.forms[static_cast<size_t>(p.a)] != de.forms[static_cast<size_t>(p.b)])
      leaks.push_back({p.a, p.b, p.jaccard, LeakKind::Near, 1});
  const size_t near = leaks.size() - exact;
  if (semantic) ET_RETURN_IF_ERROR(find_semantic(train, eval, dt, de, opt, &leaks));
  const size_t sem = leaks.size() - exact - near;

  // Per evaluation text and row; then the leaks re-indexed from distinct forms to first texts.
  out->eval_leaked.assign(eval.texts.size(), 0);
  std::vector<uint8_t> form_leaked(de.forms.size(), 0);
  for (const Leak& l : leaks) form_leaked[static_cast<size_t>(l.eval)] = 1;
  std::vector<int64_t> rows;
  for (size_t e = 0; e < de.forms.size(); ++e) {
    if (!form_leaked[e]) continue;
    for (int64_t t : de.occurrences[e]) {
      out->eval_leaked[static_cast<size_t>(t)] = 1;
      rows.push_back(eval.lines[static_cast<size_t>(t)]);
    }
  }
  std::sort(rows.begin(), rows.end());
  out->eval_rows_leaked = std::unique(rows.begin(), rows.end()) - rows.begin();
  std::vector<int64_t> all_rows(eval.lines);
  std::sort(all_rows.begin(), all_rows.end());
  out->eval_rows = std::unique(all_rows.begin(), all_rows.end()) - all_rows.begin();
  out->eval_texts_leaked = std::count(form_leaked.begin(), form_leaked.end(), 1);
  for (Leak& l : leaks) {
    l.eval_occurrences = static_cast<int64_t>(de.occurrences[static_cast<size_t>(l.eval)].size());
    l.train = dt.occurrences[static_cast<size_t>(l.train)][0];
    l.eval = de.occurrences[static_cast<size_t>(l.eval)][0];
  }
  const auto by_similarity = [](const Leak& x, const Leak& y) { return x.similarity > y.similarity; };
  std::stable_sort(leaks.begin() + static_cast<long>(exact), leaks.begin() + static_cast<long>(exact + near),
                   by_similarity);
  std::stable_sort(leaks.begin() + static_cast<long>(exact + near), leaks.end(), by_similarity);
  out->exact = static_cast<int64_t>(exact);
  out->near = static_cast<int64_t>(near);
  out->semantic = static_cast<int64_t>(sem);
  out->train_distinct = static_cast<int64_t>(dt.forms.size());
  out->eval_distinct = static_cast<int64_t>(de.forms.size());
  return Status::ok_status();
}

std::string leakage_shorten(const std::string& s, size_t max) {
  if (s.size() <= max) return s;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n) + "\xE2\x80\xA6";
}

std::string leakage_describe(const LeakageTexts& train, const LeakageTexts& eval, const LeakageResult& r,
                             size_t examples) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "%lld exact, %lld near%s duplicates; %lld of %lld distinct evaluation texts leaked (%lld of %lld rows)\n",
                static_cast<long long>(r.exact), static_cast<long long>(r.near),
                r.semantic > 0 ? (", " + std::to_string(r.semantic) + " semantic").c_str() : "",
                static_cast<long long>(r.eval_texts_leaked), static_cast<long long>(r.eval_distinct),
                static_cast<long long>(r.eval_rows_leaked), static_cast<long long>(r.eval_rows));
  std::string s = buf;
  const size_t shown = std::min(examples, r.leaks.size());
  for (size_t i = 0; i < shown; ++i) {
    const Leak& l = r.leaks[i];
    const size_t t = static_cast<size_t>(l.train), e = static_cast<size_t>(l.eval);
    std::snprintf(buf, sizeof buf, "%-5s %.3f  %s  %s\n", l.kind == LeakKind::Semantic ? "cos" : leak_kind_name(l.kind),
                  l.similarity, train.location(t).c_str(), eval.location(e).c_str());
    s += buf;
    s += "  train: " + leakage_shorten(train.texts[t], 160) + "\n";
    s += "  eval:  " + leakage_shorten(eval.texts[e], 160) + "\n";
  }
  if (r.leaks.size() > shown) s += "(" + std::to_string(r.leaks.size() - shown) + " more)\n";
  return s;
}

}  // namespace embtune
