// Base vs trained vs BM25 on the test set at the end of `embtune train --test`.
// Not the comparison's statistics (eval/compare.cpp) nor the retrieval (eval/retrieve.cpp).
#include "train/test_report.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <unordered_map>

#include "core/file.h"
#include "eval/compare.h"
#include "eval/pairs_data.h"
#include "eval/retrieve.h"

namespace embtune {

Status test_data_read(const TrainOptions& o, BeirData* out) {
  if (dir_exists(o.test)) return beir_read(o.test, o.test_split, out).wrap("--test");
  if (!o.test_corpus.empty() && !file_exists(o.test_corpus))
    return make_error("--test-corpus %s: no such file", o.test_corpus.c_str());
  return pairs_read(o.test, o.test_corpus, out).wrap("--test");
}

Status test_report_run(const TrainOptions& o, const BeirData& data, const ColumnPrompt& prompt,
                       const std::string& tuned_dir, const std::string& tuned_name, const std::string& report_dir,
                       nlohmann::json* summary) {
  TrecEvalOptions scoring;
  scoring.ks = {1, 3, 5, 10, 100};
  const int64_t k = 100;
  // Qrels queries a run lacks count as zeros, so every system is scored on the same queries.
  scoring.complete = true;
  std::vector<std::string> names = {"base", tuned_name};
  std::vector<TrecRun> runs(3);
  std::vector<TrecEvalResult> results(3);
  const std::string dirs[2] = {o.model, tuned_dir};
  for (int i = 0; i < 2; i++) {
    std::unique_ptr<SentenceEncoder> enc;
    ET_RETURN_IF_ERROR(SentenceEncoder::load(dirs[i], &enc));
    DenseRunOptions dense;
    dense.query = prompt(*enc, 0);
    dense.corpus = prompt(*enc, 1);
    dense.search.k = k;
    ET_RETURN_IF_ERROR(similarity_for_model(*enc, "auto", &dense.search.similarity));
    if (!o.quiet)
      std::fprintf(stderr, "train: test set: %s retrieving %zu queries over %zu documents\n", names[i].c_str(),
                   data.query_ids.size(), data.doc_ids.size());
    ET_RETURN_IF_ERROR(dense_run(*enc, data, dense, &runs[i]).wrap(dirs[i]));
  }
  names.push_back("bm25");
  runs[2] = bm25_run(data, Bm25Options{}, k);
  std::vector<CompareSystem> systems;
  for (int i = 0; i < 3; i++) {
    ET_RETURN_IF_ERROR(trec_evaluate(runs[i], data.qrels, scoring, &results[i]).wrap("--test: " + names[i]));
    systems.push_back({names[i], &results[i], &runs[i]});
  }
  std::unordered_map<std::string, std::string> texts;
  for (size_t q = 0; q < data.query_ids.size(); q++) texts[data.query_ids[q]] = data.query_texts[q];
  ComparisonReport report;
  ET_RETURN_IF_ERROR(compare_systems(systems, data.qrels, texts, CompareOptions{}, &report));
  ET_RETURN_IF_ERROR(report_write(report, report_dir));
  if (!o.quiet) {
    std::fprintf(stderr, "train: test set %s, base model vs %s vs BM25:\n", o.test.c_str(), tuned_name.c_str());
    report_print_table(stderr, report);
  }
  *summary = report_to_json(report);
  return Status::ok_status();
}

}  // namespace embtune
