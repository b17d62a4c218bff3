// Search queries for passages, written by a language model behind any OpenAI-compatible chat
// endpoint (llama.cpp's llama-server, vLLM, Ollama, OpenAI …) through libcurl, with retries and
// a resumable journal. Not the `pairs` command (cli/ wires it) and not a general chat client.
//
//   LlmOptions opt;                                    // http://127.0.0.1:8080/v1, 3 queries each
//   opt.model = "qwen2.5-7b-instruct";
//   opt.journal_path = "pairs.jsonl.journal";
//   std::vector<LlmPassageResult> results;
//   LlmStats stats;
//   ET_RETURN_IF_ERROR(llm_generate_queries(passages, opt, &results, &stats, nullptr));
//   // results[i].ok: results[i].queries; else results[i].error. Failed passages are generated
//   // by the next run with the same journal; the ones that succeeded are not asked again.
//
// Request: POST <url>/chat/completions ("/chat/completions" is appended unless the URL already
// ends with it) with {"model", "messages": [{"role": "user", "content": <prompt>}], "temperature",
// "max_tokens"}, "Authorization: Bearer <api_key>" when api_key is set. The prompt is the template
// with {passage}, {title} and {n} replaced in one pass (text of the passage that looks like a
// placeholder is not replaced again); any other {name} is an error, and so is a template without
// {passage}. The answer is choices[0].message.content, read by llm_parse_queries().
//
// Retries: each distinct prompt is asked at most 1 + max_retries times. Retried: a failed
// connection, no answer within timeout_s, HTTP 408, 429 and 5xx, a body that is not JSON or has
// no string choices[0].message.content, and a content with no query in it. Before retry r (1, 2,
// …) the worker waits llm_backoff_ms(): backoff_initial_ms * 2^(r-1), capped at backoff_max_ms,
// with jitter, or the server's Retry-After (in seconds) capped at backoff_max_ms. Any other
// status (400, 401, 403, 404 …) fails the passage at once; its error holds the status and the
// first 200 bytes of the body. A passage that fails keeps its last error, and the run goes on
// with the others: failures are in the results, not in the returned Status, which is only for
// what stops everything (options, template, URL, journal).
//
// Journal: an append-only JSONL file, one line per prompt answered,
//   {"key": "<32 hex digits>", "queries": ["…", …]}
// where key is the hash128 (eval/embed_cache.h) of (model, the prompt text sent, n). A line is
// written, flushed and fsync'ed as soon as its prompt succeeds, so killing the run loses nothing
// generated. At the start the journal is read and every passage whose key it holds is answered
// from it without a request; changing the model, the template, n, the title or the text makes a
// new key (temperature and max_tokens do not). A malformed last line (a run killed mid-write) is
// ignored and cut off before appending; a malformed line elsewhere is an error naming the journal
// and the line. One run at a time per journal: it is not locked. Passages with the same prompt
// (same title and text) are asked once and share the answer.
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "core/status.h"

namespace embtune {

// The default prompt template: {n} diverse, realistic search queries for the passage, one per line.
extern const char* const kLlmDefaultPromptTemplate;

struct LlmOptions {
  std::string url = "http://127.0.0.1:8080/v1";
  std::string model;
  std::string api_key;  // "" sends no Authorization header
  std::string prompt_template = kLlmDefaultPromptTemplate;
  int64_t queries_per_passage = 3;
  double temperature = 0.7;
  int64_t max_tokens = 256;
  int64_t concurrency = 4;  // requests in flight at once
  int64_t max_retries = 5;  // retries of a prompt after its first request
  double timeout_s = 60;    // per request, connecting included
  int64_t backoff_initial_ms = 1000;
  int64_t backoff_max_ms = 30000;
  std::string journal_path;  // "" keeps no journal (nothing to resume from)
};

// A pointer to one field of LlmOptions, by type.
using LlmOptionRef = std::variant<std::string LlmOptions::*, int64_t LlmOptions::*, double LlmOptions::*>;

struct LlmOptionField {
  std::string name;     // the flag without "--" (a command may prefix it, e.g. "llm-")
  std::string help;
  LlmOptionRef ref;
  bool secret = false;  // api_key: read from the environment, never a flag or printed
};

// Every field of LlmOptions, in the order of a command's --help.
const std::vector<LlmOptionField>& llm_option_fields();

// Checks the options without contacting the server: numbers in range, an http(s) URL curl can
// parse, a valid template. Errors name the option and give a hint.
Status llm_options_check(const LlmOptions& opt);

// "<url>/chat/completions", or url itself when it already ends with "/chat/completions".
std::string llm_chat_url(const std::string& url);

struct LlmPassage {
  std::string title;  // may be empty
  std::string text;
};

// The prompt of one passage: `tmpl` with {passage}, {title} and {n} replaced. Errors: unknown
// placeholders (all named), no {passage}.
Status llm_render_prompt(const std::string& tmpl, const LlmPassage& passage, int64_t n, std::string* out);

// The journal key of a prompt: hash128 of (model, prompt, n) as 32 hex digits.
std::string llm_journal_key(const std::string& model, const std::string& prompt, int64_t n);

// The queries in a model's answer, at most n. A content that is a JSON array of strings (also
// inside a ``` fence) gives its strings; otherwise each non-empty line is one query, after taking
// off list markers ("1.", "1)", "-", "*", "•" followed by a space), then surrounding quotes ("…",
// '…', “…”) and whitespace. Fence lines (```) and lines ending in ':' (a preamble such as "Here
// are 3 queries:") are skipped. Empty queries and repeats (ASCII case ignored) are dropped.
// (When the server says finish_reason "length", the client drops the answer's last line first:
// it may be a query cut in the middle.)
std::vector<std::string> llm_parse_queries(const std::string& content, int64_t n);

// The wait before retry `retry` (1 for the first retry): retry_after_s >= 0 (the server's
// Retry-After) gives min(retry_after_s * 1000, backoff_max_ms); otherwise d = min(backoff_max_ms,
// backoff_initial_ms * 2^(retry-1)) and the wait is uniform in [d/2, d].
int64_t llm_backoff_ms(int64_t retry, int64_t retry_after_s, const LlmOptions& opt, std::mt19937_64& rng);

struct LlmPassageResult {
  std::vector<std::string> queries;  // empty unless ok
  bool ok = false;
  bool from_journal = false;  // answered from the journal, no request made
  int64_t attempts = 0;       // requests made for this passage's prompt in this run
  std::string error;          // why it failed (the last attempt's error), when !ok
};

// Passages count once each (from_journal + generated + failed == passages); requests and retries
// count HTTP requests made.
struct LlmStats {
  int64_t passages = 0;
  int64_t unique_prompts = 0;  // distinct prompts among the passages
  int64_t requests = 0;
  int64_t retries = 0;         // requests after the first of their prompt
  int64_t from_journal = 0;
  int64_t generated = 0;
  int64_t failed = 0;
};

// Queries for every passage into (*out)[i], asking opt.concurrency prompts at a time. progress
// (may be empty) is called with (passages done, passages.size()) once after the journal is read
// and after each prompt is answered or given up, from worker threads but never two at once.
// The Status is an error only for what stops the run (options, template, journal I/O); then *out
// and *stats hold what was done until then, and everything generated is in the journal.
Status llm_generate_queries(const std::vector<LlmPassage>& passages, const LlmOptions& opt,
                            std::vector<LlmPassageResult>* out, LlmStats* stats,
                            const std::function<void(int64_t done, int64_t total)>& progress);

}  // namespace embtune
