// Language-model pairs: passages to prompts, answers to pairs, and the round-trip filter's
// embedding and exact search. Not the HTTP client (llm_queries.cpp) and not the command line.
#include "data/llm_pairs.h"

#include <algorithm>
#include <cctype>
#include <memory>
#include <unordered_map>
#include <unordered_set>

#include "core/progress.h"
#include "eval/dense_search.h"
#include "eval/embed_cache.h"

namespace embtune {

namespace {

bool same_ignoring_ascii_case(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Embeds texts through the cache at `cache_dir` ("" for none), with a progress bar when asked.
Status embed_texts(const SentenceEncoder& encoder, const std::vector<std::string>& texts, EmbedOptions eo,
                   const std::string& cache_dir, const char* label, bool progress, std::vector<float>* out) {
  std::unique_ptr<EmbedCache> cache;
  if (!cache_dir.empty()) {
    Hash128 fp;
    ET_RETURN_IF_ERROR(embed_fingerprint(encoder, eo, &fp));
    ET_RETURN_IF_ERROR(EmbedCache::open(cache_dir, fp, encoder.dim(), &cache));
  }
  Progress bar(label, static_cast<int64_t>(texts.size()), "texts", progress);
  eo.progress = [&bar](int64_t done, int64_t) { bar.update(done); };
  ET_RETURN_IF_ERROR(embed_with_cache(encoder, texts, eo, cache.get(), out));
  bar.finish();
  return Status::ok_status();
}

}  // namespace

std::vector<DocPassage> llm_pairs_passages(const std::vector<ParsedDoc>& docs, int min_words, int max_words) {
  std::vector<DocPassage> out;
  for (const ParsedDoc& doc : docs) {
    std::vector<DocPassage> p = doc_passages(doc, min_words, max_words);
    out.insert(out.end(), std::make_move_iterator(p.begin()), std::make_move_iterator(p.end()));
  }
  return out;
}

std::string llm_pairs_title(const DocPassage& passage) {
  std::vector<std::string> parts;
  if (!passage.title.empty()) parts.push_back(passage.title);
  for (const std::string& h : passage.heading_path) parts.push_back(h);
  if (!passage.heading.empty()) parts.push_back(passage.heading);
  // A document whose title is its first heading would say it twice.
  if (parts.size() >= 2 && !passage.title.empty() && same_ignoring_ascii_case(parts[0], parts[1]))
    parts.erase(parts.begin() + 1);
  std::string title;
  for (const std::string& p : parts) title += (title.empty() ? "" : ": ") + p;
  return title;
}

Status llm_pairs_generate(const std::vector<DocPassage>& passages, const LlmOptions& opt, bool progress,
                          std::vector<DocPair>* out, LlmPairsReport* report) {
  *report = LlmPairsReport();
  std::vector<LlmPassage> asks;
  asks.reserve(passages.size());
  for (const DocPassage& p : passages) asks.push_back({llm_pairs_title(p), p.text});
  std::vector<LlmPassageResult> results;
  LlmStats stats;
  {
    Progress bar("llm queries", static_cast<int64_t>(asks.size()), "passages", progress);
    ET_RETURN_IF_ERROR(
        llm_generate_queries(asks, opt, &results, &stats, [&bar](int64_t done, int64_t) { bar.update(done); }));
    bar.finish();
  }
  report->passages = stats.passages;
  report->prompts_sent = stats.requests - stats.retries;
  report->requests = stats.requests;
  report->retries = stats.retries;
  report->from_journal = stats.from_journal;
  report->generated = stats.generated;
  report->failed = stats.failed;
  std::unordered_set<std::string> seen;
  for (size_t i = 0; i < passages.size(); ++i) {
    const LlmPassageResult& r = results[i];
    if (!r.ok) {
      report->last_error = r.error;
      continue;
    }
    for (const std::string& q : r.queries) {
      ++report->queries;
      if (!seen.insert(q + '\x1f' + passages[i].text).second) {
        ++report->duplicate;
        continue;
      }
      out->push_back({q, passages[i].text, passages[i].source, PairMethod::kLlm});
      ++report->kept;
    }
  }
  return Status::ok_status();
}

Status round_trip_keep(const SentenceEncoder& encoder, const std::vector<std::string>& queries,
                       const std::vector<int64_t>& own, const std::vector<std::string>& passages,
                       const RoundTripOptions& opt, std::vector<char>* keep) {
  ET_CHECK(queries.size() == own.size());
  if (opt.top_k < 1)
    return make_error("round trip: top_k must be at least 1 (got %lld)", static_cast<long long>(opt.top_k));
  keep->assign(queries.size(), 0);
  if (queries.empty()) return Status::ok_status();
  ET_CHECK(!passages.empty());
  const int64_t D = encoder.dim();
  std::vector<float> query_rows, passage_rows;  // (queries, D), (passages, D)
  ET_RETURN_IF_ERROR(
      embed_texts(encoder, queries, opt.query, opt.cache_dir, "round-trip queries", opt.progress, &query_rows));
  ET_RETURN_IF_ERROR(
      embed_texts(encoder, passages, opt.passage, opt.cache_dir, "round-trip passages", opt.progress, &passage_rows));
  DenseSearchOptions so;
  so.k = std::min<int64_t>(opt.top_k, static_cast<int64_t>(passages.size()));
  so.similarity = Similarity::Cosine;
  const DenseHits hits = dense_search(query_rows.data(), static_cast<int64_t>(queries.size()), passage_rows.data(),
                                      static_cast<int64_t>(passages.size()), D, so);
  for (size_t q = 0; q < queries.size(); ++q)
    (*keep)[q] = std::any_of(hits[q].begin(), hits[q].end(), [&](const DenseHit& h) { return h.first == own[q]; });
  return Status::ok_status();
}

Status llm_pairs_round_trip(const SentenceEncoder& encoder, const std::vector<DocPassage>& passages,
                            const RoundTripOptions& opt, std::vector<DocPair>* pairs, LlmPairsReport* report) {
  std::unordered_map<std::string, int64_t> index;
  std::vector<std::string> texts;
  for (const DocPassage& p : passages)
    if (index.emplace(p.text, static_cast<int64_t>(texts.size())).second) texts.push_back(p.text);
  std::vector<std::string> queries;
  std::vector<int64_t> own;
  for (const DocPair& p : *pairs) {
    if (p.method != PairMethod::kLlm) continue;
    const auto it = index.find(p.passage);
    ET_CHECK(it != index.end());  // every llm pair's passage is one of `passages`
    queries.push_back(p.query);
    own.push_back(it->second);
  }
  std::vector<char> keep;
  ET_RETURN_IF_ERROR(round_trip_keep(encoder, queries, own, texts, opt, &keep));
  size_t q = 0;
  std::vector<DocPair> kept;
  kept.reserve(pairs->size());
  for (DocPair& p : *pairs) {
    if (p.method == PairMethod::kLlm && !keep[q++]) {
      ++report->round_trip_dropped;
      --report->kept;
      continue;
    }
    kept.push_back(std::move(p));
  }
  *pairs = std::move(kept);
  report->round_trip = true;
  return Status::ok_status();
}

}  // namespace embtune
