// Hard-negative mining: reading pairs and corpora, the search, the filters and the JSONL output.
// Not the search itself (eval/dense_search.h) nor near-duplicate detection (data/near_duplicate.h).
#include "data/mine.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include "core/file.h"
#include "core/progress.h"
#include "core/strings.h"
#include "core/utf8.h"
#include "eval/beir.h"
#include "eval/embed_cache.h"

namespace embtune {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

Status parse_object(const std::string& path, size_t line, std::string_view text, nlohmann::json* out) {
  try {
    *out = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return make_error("%s: line %zu: not JSON: %s", path.c_str(), line, e.what());
  }
  if (!out->is_object()) return make_error("%s: line %zu: expected a JSON object", path.c_str(), line);
  return Status::ok_status();
}

Status text_field(const nlohmann::json& j, const std::string& path, size_t line, const char* field, std::string* out) {
  auto it = j.find(field);
  if (it == j.end()) return make_error("%s: line %zu: no \"%s\" field", path.c_str(), line, field);
  if (!it->is_string()) return make_error("%s: line %zu: \"%s\" must be a string", path.c_str(), line, field);
  *out = strip_unicode_whitespace(it->get<std::string>());
  if (out->empty()) return make_error("%s: line %zu: \"%s\" is empty", path.c_str(), line, field);
  return Status::ok_status();
}

Status open_cache(const SentenceEncoder& encoder, const EmbedOptions& eo, const std::string& dir,
                  std::unique_ptr<EmbedCache>* out) {
  if (dir.empty()) return Status::ok_status();
  Hash128 fp;
  ET_RETURN_IF_ERROR(embed_fingerprint(encoder, eo, &fp));
  return EmbedCache::open(dir, fp, encoder.dim(), out);
}

// Embeds texts through the cache, with a progress bar when asked.
Status embed_texts(const SentenceEncoder& encoder, const std::vector<std::string>& texts, EmbedOptions eo,
                   EmbedCache* cache, const char* label, bool progress, std::vector<float>* out) {
  Progress bar(label, static_cast<int64_t>(texts.size()), "texts", progress);
  eo.progress = [&bar](int64_t done, int64_t) { bar.update(done); };
  ET_RETURN_IF_ERROR(embed_with_cache(encoder, texts, eo, cache, out));
  bar.finish();
  return Status::ok_status();
}

// The score the exact search gives: cosine over x / max(‖x‖, 1e-12), or the dot product.
float pair_score(const float* a, const float* b, int64_t d, Similarity sim) {
  double dot = 0, na = 0, nb = 0;
  for (int64_t i = 0; i < d; i++) {
    dot += static_cast<double>(a[i]) * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += static_cast<double>(b[i]) * b[i];
  }
  if (sim == Similarity::Dot) return static_cast<float>(dot);
  return static_cast<float>(dot / (std::max(std::sqrt(na), 1e-12) * std::max(std::sqrt(nb), 1e-12)));
}

// What happened to one retrieved candidate of an anchor before the per-row score filters.
enum class HitClass { Positive, NearDuplicate, OutOfRange, InRange };

}  // namespace

Status mine_read_pairs(const std::string& path, std::vector<MinePair>* out) {
  out->clear();
  ET_RETURN_IF_ERROR(for_each_text_line(path, [&](size_t line, std::string_view text) -> Status {
    nlohmann::json j;
    ET_RETURN_IF_ERROR(parse_object(path, line, text, &j));
    MinePair p;
    p.line = line;
    ET_RETURN_IF_ERROR(text_field(j, path, line, "anchor", &p.anchor));
    ET_RETURN_IF_ERROR(text_field(j, path, line, "positive", &p.positive));
    out->push_back(std::move(p));
    return Status::ok_status();
  }));
  if (out->empty())
    return make_error("%s: no rows (expected one JSON object per line with \"anchor\" and \"positive\")", path.c_str());
  return Status::ok_status();
}

Status mine_read_corpus(const std::string& path, std::vector<std::string>* out) {
  out->clear();
  std::unordered_set<std::string> seen;
  const bool jsonl = ends_with(path, ".jsonl") || ends_with(path, ".json");
  ET_RETURN_IF_ERROR(for_each_text_line(path, [&](size_t line, std::string_view text) -> Status {
    std::string doc;
    if (jsonl) {
      nlohmann::json j;
      ET_RETURN_IF_ERROR(parse_object(path, line, text, &j));
      ET_RETURN_IF_ERROR(corpus_document_text(j, path, line, &doc));
    } else {
      doc.assign(text);
    }
    doc = strip_unicode_whitespace(doc);
    if (!doc.empty() && seen.insert(doc).second) out->push_back(std::move(doc));
    return Status::ok_status();
  }));
  if (out->empty()) return make_error("%s: the corpus has no text", path.c_str());
  return Status::ok_status();
}

std::vector<std::string> mine_corpus_of_positives(const std::vector<MinePair>& pairs) {
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  for (const MinePair& p : pairs)
    if (seen.insert(p.positive).second) out.push_back(p.positive);
  return out;
}

Status mine_hard_negatives(const SentenceEncoder& encoder, const std::vector<MinePair>& pairs,
                           const std::vector<std::string>& corpus, const MineOptions& opt, MineResult* out) {
  if (opt.num_negatives < 1) return make_error("num_negatives must be at least 1 (got %lld)", static_cast<long long>(opt.num_negatives));
  if (opt.range_min < 0 || opt.range_max <= opt.range_min)
    return make_error("the rank range [%lld, %lld) is empty (range_max must exceed range_min >= 0)",
                      static_cast<long long>(opt.range_min), static_cast<long long>(opt.range_max));
  if (corpus.empty()) return make_error("the corpus is empty");
  *out = MineResult();
  MineReport& rep = out->report;
  rep.rows = static_cast<int64_t>(pairs.size());
  rep.corpus_texts = static_cast<int64_t>(corpus.size());
  const int64_t D = encoder.dim();

  // Distinct anchors and their positives (each anchor's positives: every row it appears on).
  std::unordered_map<std::string, int64_t> anchor_index, positive_index;
  std::vector<std::string> anchors, positives;
  std::vector<int64_t> row_anchor(pairs.size()), row_positive(pairs.size());
  std::vector<std::vector<int64_t>> anchor_positives;
  for (size_t r = 0; r < pairs.size(); r++) {
    auto a = anchor_index.emplace(pairs[r].anchor, static_cast<int64_t>(anchors.size()));
    if (a.second) {
      anchors.push_back(pairs[r].anchor);
      anchor_positives.emplace_back();
    }
    auto p = positive_index.emplace(pairs[r].positive, static_cast<int64_t>(positives.size()));
    if (p.second) positives.push_back(pairs[r].positive);
    row_anchor[r] = a.first->second;
    row_positive[r] = p.first->second;
    std::vector<int64_t>& ap = anchor_positives[a.first->second];
    if (std::find(ap.begin(), ap.end(), p.first->second) == ap.end()) ap.push_back(p.first->second);
  }
  rep.anchors = static_cast<int64_t>(anchors.size());
  int64_t most_positives = 0;
  for (const auto& ap : anchor_positives) most_positives = std::max<int64_t>(most_positives, ap.size());

  std::unique_ptr<EmbedCache> query_cache, corpus_cache;
  ET_RETURN_IF_ERROR(open_cache(encoder, opt.query, opt.cache_dir, &query_cache));
  ET_RETURN_IF_ERROR(open_cache(encoder, opt.corpus, opt.cache_dir, &corpus_cache));
  auto t0 = Clock::now();
  std::vector<float> anchor_rows, positive_rows;  // (anchors, D), (positives, D)
  ET_RETURN_IF_ERROR(embed_texts(encoder, anchors, opt.query, query_cache.get(), "mine anchors", opt.progress, &anchor_rows));
  ET_RETURN_IF_ERROR(embed_texts(encoder, positives, opt.corpus, corpus_cache.get(), "mine positives", opt.progress, &positive_rows));
  rep.embed_seconds += seconds_since(t0);

  // The search keeps room for the anchor's positives above the range, as sentence-transformers does.
  DenseSearchOptions so;
  so.k = std::min<int64_t>(opt.range_max + most_positives, static_cast<int64_t>(corpus.size()));
  so.similarity = opt.similarity;
  DenseTopK top(anchor_rows.data(), static_cast<int64_t>(anchors.size()), D, so);
  {
    Progress bar("mine corpus", static_cast<int64_t>(corpus.size()), "texts", opt.progress);
    std::vector<std::string> block;
    std::vector<float> rows;  // (block, D)
    for (size_t start = 0; start < corpus.size(); start += static_cast<size_t>(opt.corpus_block_texts)) {
      const size_t end = std::min(corpus.size(), start + static_cast<size_t>(opt.corpus_block_texts));
      block.assign(corpus.begin() + static_cast<std::ptrdiff_t>(start), corpus.begin() + static_cast<std::ptrdiff_t>(end));
      EmbedOptions eo = opt.corpus;
      eo.progress = [&bar, start](int64_t done, int64_t) { bar.update(static_cast<int64_t>(start) + done); };
      auto te = Clock::now();
      ET_RETURN_IF_ERROR(embed_with_cache(encoder, block, eo, corpus_cache.get(), &rows));
      rep.embed_seconds += seconds_since(te);
      auto ts = Clock::now();
      top.add(rows.data(), static_cast<int64_t>(block.size()));
      rep.search_seconds += seconds_since(ts);
      bar.update(static_cast<int64_t>(end));
    }
    bar.finish();
  }
  auto ts = Clock::now();
  DenseHits hits = top.finish();
  rep.search_seconds += seconds_since(ts);

  // Per anchor: which candidates are its positives, their near-duplicates, or outside the range.
  auto tf = Clock::now();
  std::vector<std::vector<HitClass>> classes(anchors.size());
  const int64_t A = static_cast<int64_t>(anchors.size());
#pragma omp parallel for schedule(dynamic, 8)
  for (int64_t a = 0; a < A; a++) {
    std::unordered_set<Hash128, Hash128Hasher> positive_hashes;
    for (int64_t p : anchor_positives[a]) positive_hashes.insert(hash128(positives[p]));
    int64_t rank = 0;
    for (const DenseHit& h : hits[a]) {
      const std::string& text = corpus[h.first];
      HitClass c;
      if (positive_hashes.count(hash128(text))) {
        c = HitClass::Positive;
      } else if (opt.near_duplicate_threshold > 0 &&
                 std::any_of(anchor_positives[a].begin(), anchor_positives[a].end(), [&](int64_t p) {
                   return shingle_jaccard(text, positives[p], opt.near_duplicate) >= opt.near_duplicate_threshold;
                 })) {
        c = HitClass::NearDuplicate;
      } else {
        c = rank >= opt.range_min && rank < opt.range_max ? HitClass::InRange : HitClass::OutOfRange;
        rank++;
      }
      classes[a].push_back(c);
    }
  }

  out->rows.resize(pairs.size());
  for (size_t r = 0; r < pairs.size(); r++) {
    const int64_t a = row_anchor[r];
    MinedRow& row = out->rows[r];
    row.positive_score =
        pair_score(&anchor_rows[static_cast<size_t>(a * D)], &positive_rows[static_cast<size_t>(row_positive[r] * D)], D,
                   opt.similarity);
    const double ps = row.positive_score;
    std::vector<DenseHit> kept;
    for (size_t i = 0; i < hits[a].size(); i++) {
      const double s = hits[a][i].second;
      rep.retrieved++;
      switch (classes[a][i]) {
        case HitClass::Positive: rep.positive++; continue;
        case HitClass::NearDuplicate: rep.near_duplicate++; continue;
        case HitClass::OutOfRange: rep.range++; continue;
        case HitClass::InRange: break;
      }
      if (opt.max_score && s > *opt.max_score) rep.max_score++;
      else if (opt.min_score && s < *opt.min_score) rep.min_score++;
      else if (opt.absolute_margin && s > ps - *opt.absolute_margin) rep.absolute_margin++;
      else if (opt.relative_margin && s > ps * (1 - *opt.relative_margin)) rep.relative_margin++;
      else kept.push_back(hits[a][i]);
    }
    const size_t n = std::min(kept.size(), static_cast<size_t>(opt.num_negatives));
    if (opt.random_sampling) {
      // A partial Fisher–Yates shuffle seeded by (seed, row): the same picks whatever the threads.
      std::mt19937_64 rng(opt.seed ^ (0x9e3779b97f4a7c15ULL * (r + 1)));
      for (size_t i = 0; i < n; i++) std::swap(kept[i], kept[i + rng() % (kept.size() - i)]);
      std::sort(kept.begin(), kept.begin() + static_cast<std::ptrdiff_t>(n), [](const DenseHit& x, const DenseHit& y) {
        return x.second > y.second || (x.second == y.second && x.first < y.first);
      });
    }
    for (size_t i = 0; i < n; i++) {
      row.negatives.push_back(kept[i].first);
      row.negative_scores.push_back(kept[i].second);
    }
    rep.picked += static_cast<int64_t>(n);
    rep.not_picked += static_cast<int64_t>(kept.size() - n);
    if (static_cast<int64_t>(n) < opt.num_negatives) rep.rows_short++;
  }
  rep.filter_seconds = seconds_since(tf);
  return Status::ok_status();
}

Status mine_write(const std::string& path, const std::vector<MinePair>& pairs, const std::vector<std::string>& corpus,
                  const MineResult& result, const MineWriteOptions& opt) {
  ET_CHECK(pairs.size() == result.rows.size());
  AtomicFile f;
  ET_RETURN_IF_ERROR(f.open(path));
  std::string text;
  for (size_t r = 0; r < pairs.size(); r++) {
    const MinedRow& row = result.rows[r];
    auto base = [&]() {
      nlohmann::ordered_json j;
      j["anchor"] = pairs[r].anchor;
      j["positive"] = pairs[r].positive;
      return j;
    };
    if (opt.triplets) {
      for (size_t i = 0; i < row.negatives.size(); i++) {
        nlohmann::ordered_json j = base();
        j["negative"] = corpus[row.negatives[i]];
        if (opt.with_scores) {
          j["score_positive"] = row.positive_score;
          j["score_negative"] = row.negative_scores[i];
        }
        text += j.dump() + "\n";
      }
    } else {
      nlohmann::ordered_json j = base();
      for (size_t i = 0; i < row.negatives.size(); i++) j["negative_" + std::to_string(i + 1)] = corpus[row.negatives[i]];
      if (opt.with_scores) {
        j["score_positive"] = row.positive_score;
        for (size_t i = 0; i < row.negatives.size(); i++) j["score_negative_" + std::to_string(i + 1)] = row.negative_scores[i];
      }
      text += j.dump() + "\n";
    }
    if (text.size() > (1 << 20)) {
      ET_RETURN_IF_ERROR(f.write(text));
      text.clear();
    }
  }
  ET_RETURN_IF_ERROR(f.write(text));
  return f.commit();
}

}  // namespace embtune
