// The end of a training run with --test: the base model, the trained model and BM25 retrieve over
// a held-out test set and are compared (eval/compare.h). Not the training nor `embtune eval`.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "core/status.h"
#include "eval/beir.h"
#include "model/sentence_encoder.h"
#include "train/train_options.h"

namespace embtune {

// Reads --test before training starts, so that bad test data fails in seconds, not after the run:
// a BEIR folder (corpus.jsonl, queries.jsonl, qrels/<--test-split>.tsv) or a JSONL of (query,
// positive, …) rows whose positives, plus --test-corpus, make the corpus (eval/pairs_data.h).
Status test_data_read(const TrainOptions& o, BeirData* out);

// The prompts of the queries (column 0) and the documents (column 1), as training used them.
using ColumnPrompt = std::function<EmbedOptions(const SentenceEncoder& enc, size_t column)>;

// Retrieves over `data` with the base model (o.model), the trained model in `tuned_dir` (named
// `tuned_name` in the report) and BM25, scores them with trec_eval's measures, compares the
// trained model and BM25 with the base (bootstrap intervals, randomisation tests, the queries that
// got worse) and writes report_dir/report.json and report.html. The table goes to standard error
// unless o.quiet. *summary receives report.json's object.
Status test_report_run(const TrainOptions& o, const BeirData& data, const ColumnPrompt& prompt,
                       const std::string& tuned_dir, const std::string& tuned_name, const std::string& report_dir,
                       nlohmann::json* summary);

}  // namespace embtune
