// The BM25 index: analysis, postings, scoring and top-k search.
// Not persisted to disk: an index of a test corpus builds in well under a second.
#include "eval/bm25.h"

#include <utf8proc.h>

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "core/utf8.h"

namespace embtune {

namespace {

// org.apache.lucene.analysis.en.EnglishAnalyzer.ENGLISH_STOP_WORDS_SET.
const std::unordered_set<std::string>& english_stop_words() {
  static const std::unordered_set<std::string> words = {
      "a",    "an",   "and",   "are",  "as",    "at",    "be",    "but",  "by",   "for",  "if",
      "in",   "into", "is",    "it",   "no",    "not",   "of",    "on",   "or",   "such", "that",
      "the",  "their", "then", "there", "these", "they", "this",  "to",   "was",  "will", "with"};
  return words;
}

bool is_term_char(char32_t c) {
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(c))) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME: case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
      return true;
    default:
      return false;
  }
}

}  // namespace

std::vector<std::string> bm25_analyze(const std::string& text, bool stopwords) {
  std::vector<std::string> terms;
  std::string cur;
  auto flush = [&]() {
    if (!cur.empty() && !(stopwords && english_stop_words().count(cur))) terms.push_back(cur);
    cur.clear();
  };
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  for (size_t i = 0; i < text.size();) {
    char32_t c = 0;
    const size_t len = utf8_next(s, text.size(), i, &c);
    if (len == 0) {  // an invalid byte: a separator
      flush();
      i++;
      continue;
    }
    i += len;
    if (is_term_char(c)) utf8_append(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))), &cur);
    else flush();
  }
  flush();
  return terms;
}

Bm25Index::Bm25Index(const std::vector<std::string>& docs, const Bm25Options& opt) : opt_(opt) {
  doc_len_.resize(docs.size());
  double total = 0;
  for (size_t d = 0; d < docs.size(); d++) {
    std::unordered_map<std::string, int32_t> tf;
    const std::vector<std::string> terms = bm25_analyze(docs[d], opt.stopwords);
    for (const std::string& t : terms) tf[t]++;
    for (auto& [t, n] : tf) postings_[t].emplace_back(static_cast<int64_t>(d), n);
    doc_len_[d] = static_cast<int32_t>(terms.size());
    total += terms.size();
  }
  for (auto& [t, list] : postings_) std::sort(list.begin(), list.end());
  avgdl_ = docs.empty() ? 0 : total / docs.size();
}

double Bm25Index::idf(size_t df) const {
  const double N = static_cast<double>(doc_len_.size()), n = static_cast<double>(df);
  return std::log(1.0 + (N - n + 0.5) / (n + 0.5));
}

double Bm25Index::score(const std::string& query, int64_t doc) const {
  double s = 0;
  for (const std::string& t : bm25_analyze(query, opt_.stopwords)) {
    auto it = postings_.find(t);
    if (it == postings_.end()) continue;
    auto p = std::lower_bound(it->second.begin(), it->second.end(), std::make_pair(doc, INT32_MIN));
    if (p == it->second.end() || p->first != doc) continue;
    const double tf = p->second, norm = opt_.k1 * (1 - opt_.b + opt_.b * doc_len_[doc] / avgdl_);
    s += idf(it->second.size()) * tf / (tf + norm);
  }
  return s;
}

std::vector<std::pair<int64_t, double>> Bm25Index::search(const std::string& query, int64_t k) const {
  std::unordered_map<int64_t, double> acc;
  for (const std::string& t : bm25_analyze(query, opt_.stopwords)) {
    auto it = postings_.find(t);
    if (it == postings_.end()) continue;
    const double w = idf(it->second.size());
    for (auto [doc, tf] : it->second) {
      const double norm = opt_.k1 * (1 - opt_.b + opt_.b * doc_len_[doc] / avgdl_);
      acc[doc] += w * tf / (tf + norm);
    }
  }
  std::vector<std::pair<int64_t, double>> hits(acc.begin(), acc.end());
  auto better = [](const std::pair<int64_t, double>& a, const std::pair<int64_t, double>& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  };
  const size_t keep = std::min<size_t>(hits.size(), static_cast<size_t>(std::max<int64_t>(k, 0)));
  std::partial_sort(hits.begin(), hits.begin() + keep, hits.end(), better);
  hits.resize(keep);
  return hits;
}

}  // namespace embtune
