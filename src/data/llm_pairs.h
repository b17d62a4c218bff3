// Pairs whose queries a language model writes for doc_passages() chunks, and the round-trip filter
// that keeps a query only when a retriever finds its passage again (Promptagator: Dai et al. 2022,
// "Few-shot Dense Retrieval From 8 Examples"). Not the HTTP client (llm_queries.h), not the
// heuristic methods (doc_pairs.h), not reading documents or writing pairs (cli/cmd_pairs.cpp).
//
//   std::vector<DocPassage> passages = llm_pairs_passages(docs, 20, 256);
//   LlmOptions llm;
//   llm.url = "http://127.0.0.1:8080/v1";
//   llm.model = "qwen2.5-7b-instruct";
//   llm.journal_path = "pairs.jsonl.llm-journal.jsonl";
//   std::vector<DocPair> pairs;                       // method kLlm, one per query
//   LlmPairsReport report;
//   ET_RETURN_IF_ERROR(llm_pairs_generate(passages, llm, false, &pairs, &report));
//   RoundTripOptions rt;                              // top 3, cosine, no prompts
//   ET_RETURN_IF_ERROR(llm_pairs_round_trip(encoder, passages, rt, &pairs, &report));
//   // report.failed > 0: those passages have no queries yet; the same call with the same
//   // journal asks only for them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "data/doc_pairs.h"
#include "data/llm_queries.h"
#include "model/sentence_encoder.h"

namespace embtune {

// Counts of llm_pairs_generate and llm_pairs_round_trip. Passages count once each:
// from_journal + generated + failed == passages (as LlmStats). Queries count once each:
// duplicate + round_trip_dropped + kept == queries.
struct LlmPairsReport {
  int64_t passages = 0;      // passages asked for queries
  int64_t prompts_sent = 0;  // distinct prompts sent to the server in this run (their first requests)
  int64_t requests = 0;      // HTTP requests, retries included
  int64_t retries = 0;       // requests after the first of their prompt
  int64_t from_journal = 0;  // passages answered from the journal, without a request
  int64_t generated = 0;     // passages answered by the server in this run
  int64_t failed = 0;        // passages without an answer after every retry
  std::string last_error;    // the error of the last failed passage (in passage order), when failed > 0
  int64_t queries = 0;       // queries the model wrote, over all passages
  int64_t duplicate = 0;     // the same (query, passage) as an earlier pair (passages of equal text)
  bool round_trip = false;   // whether llm_pairs_round_trip ran
  int64_t round_trip_dropped = 0;
  int64_t kept = 0;
};

// The passages of every document, in document order: doc_passages(doc, min_words, max_words).
std::vector<DocPassage> llm_pairs_passages(const std::vector<ParsedDoc>& docs, int min_words, int max_words);

// The {title} of a passage's prompt: the document title, the enclosing headings and the heading,
// joined by ": " ("Guide: Install: Linux"), empty parts and a first heading equal to the title
// left out. It tells the model what a passage of a long document is about.
std::string llm_pairs_title(const DocPassage& passage);

// Asks opt's server for queries for every passage (llm_generate_queries: retries, journal,
// concurrency) and appends one kLlm pair per query to `out`, in passage order then answer order,
// with the passage's source. A progress bar goes to stderr when `progress`. The Status is an error
// only for what stops everything (options, template, journal I/O): then nothing is appended.
// Passages that failed after all retries are counted in report->failed, with the last error.
// `report` is reset.
Status llm_pairs_generate(const std::vector<DocPassage>& passages, const LlmOptions& opt, bool progress,
                          std::vector<DocPair>* out, LlmPairsReport* report);

struct RoundTripOptions {
  // A query is kept when its own passage is among the top_k passages retrieved for it. 3, not 1:
  // a passage's neighbours in the same document often answer the query as well, and the base model
  // is the one being fine-tuned, so it is not yet good at ranking; a query it cannot place within
  // the first 3 is most likely vague or about something else (Promptagator keeps top 1 with a
  // retriever already trained on the round-trip data; the looser bound suits an untuned one).
  int64_t top_k = 3;
  EmbedOptions query;    // prompt (and batch_tokens) of the queries
  EmbedOptions passage;  // prompt (and batch_tokens) of the passages
  std::string cache_dir;  // embedding cache root (eval/embed_cache.h); "" for none
  bool progress = false;  // progress bars on stderr
};

// For each query i, whether passages[own[i]] is among the first opt.top_k (capped at the number
// of passages) that an exact cosine search (dense_search) of `passages` returns for it; equal
// scores rank the lower index first. `passages` should be distinct texts, or a copy of the own
// passage at a lower index outranks it. Errors: embedding (an unknown prompt) and the cache.
Status round_trip_keep(const SentenceEncoder& encoder, const std::vector<std::string>& queries,
                       const std::vector<int64_t>& own, const std::vector<std::string>& passages,
                       const RoundTripOptions& opt, std::vector<char>* keep);

// Drops the kLlm pairs of *pairs whose query does not find its passage (round_trip_keep over the
// distinct texts of every passage of the run, the failed ones included, so that the verdict on a
// query does not depend on which passages failed), keeping the order. Other methods' pairs stay.
// Counts in report->round_trip_dropped and report->kept.
Status llm_pairs_round_trip(const SentenceEncoder& encoder, const std::vector<DocPassage>& passages,
                            const RoundTripOptions& opt, std::vector<DocPair>* pairs, LlmPairsReport* report);

}  // namespace embtune
