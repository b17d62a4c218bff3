// BM25 lexical retrieval, the baseline a fine-tuned model must beat: Lucene's BM25 formula with
// BEIR / Anserini's k1 = 0.9, b = 0.4, over an in-memory inverted index. Not dense retrieval.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace embtune {

struct Bm25Options {
  double k1 = 0.9;
  double b = 0.4;
  bool stopwords = true;  // drop Lucene's English stop words (EnglishAnalyzer's set of 33)
};

// The analysis of documents and queries: Unicode lowercase, then maximal runs of letters, marks
// and digits (Unicode categories L*, M*, N*) are the terms; with stopwords, Lucene's English stop
// words are dropped. Unlike Anserini's default there is no Porter stemming. Invalid UTF-8 bytes
// separate terms.
std::vector<std::string> bm25_analyze(const std::string& text, bool stopwords = true);

class Bm25Index {
 public:
  Bm25Index(const std::vector<std::string>& docs, const Bm25Options& opt = {});

  // Lucene's BM25 (since Lucene 8, without the constant (k1 + 1) factor) summed over the query's
  // terms, a repeated query term counting once per occurrence as a Lucene boolean query does:
  //   idf(t) = ln(1 + (N − n_t + 0.5) / (n_t + 0.5))
  //   score(q, d) = Σ_t idf(t) · tf / (tf + k1 · (1 − b + b · |d| / avgdl))
  // |d| counts the document's terms after analysis. Lucene stores |d| lossily (one byte); this
  // uses the exact length, so scores can differ from Lucene's in the third digit.
  double score(const std::string& query, int64_t doc) const;

  // The k best documents (index, score), best first; ties go to the lower index. Documents
  // sharing no term with the query are not returned.
  std::vector<std::pair<int64_t, double>> search(const std::string& query, int64_t k) const;

  int64_t num_docs() const { return static_cast<int64_t>(doc_len_.size()); }

 private:
  // Per term: (document, term frequency) in document order.
  std::unordered_map<std::string, std::vector<std::pair<int64_t, int32_t>>> postings_;
  std::vector<int32_t> doc_len_;
  double avgdl_ = 0;
  Bm25Options opt_;
  double idf(size_t df) const;
};

}  // namespace embtune
