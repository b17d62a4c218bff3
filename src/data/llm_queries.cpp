// Query generation through an OpenAI-compatible chat endpoint: prompt rendering, answer parsing,
// the libcurl client with its retry policy, the journal and the worker threads. Not the CLI.
#include "data/llm_queries.h"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "core/file.h"
#include "core/strings.h"
#include "eval/embed_cache.h"

namespace embtune {

const char* const kLlmDefaultPromptTemplate =
    "You are helping build a search engine. Read the passage below and write {n} different search queries "
    "that real users would type into a search box when the passage is what they are looking for.\n"
    "\n"
    "- Make them diverse: mix short keyword queries with natural questions, and cover different facts of "
    "the passage.\n"
    "- Make them realistic: use the words a user would use, not phrases copied from the passage; a user "
    "does not know the passage's exact wording.\n"
    "- Each query must be answered by this passage.\n"
    "- Write them in the language of the passage.\n"
    "\n"
    "Title: {title}\n"
    "Passage:\n"
    "{passage}\n"
    "\n"
    "Answer with exactly {n} queries, one per line, with no numbering, bullets, quotes or other text.";

namespace {

constexpr const char* kChatPath = "/chat/completions";
constexpr size_t kSnippetBytes = 200;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// The first kSnippetBytes bytes of a body for an error message: cut at a UTF-8 character
// boundary, control characters as spaces so the message stays on one line.
std::string snippet(std::string_view body) {
  size_t n = std::min(body.size(), kSnippetBytes);
  if (n < body.size()) {
    while (n > 0 && (static_cast<unsigned char>(body[n]) & 0xC0) == 0x80) --n;
  }
  std::string s(body.substr(0, n));
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  if (n < body.size()) s += "…";
  if (s.empty()) s = "(empty body)";
  return s;
}

// ---------------------------------------------------------------------------------------------
// Answer parsing

// Takes off one list marker ("-", "*", "•" or "12." / "12)", then a space or the end) from the
// front. "-5 celsius" and "3.5 inch" keep their first characters.
bool strip_list_marker(std::string_view* s) {
  const auto marker_ends_at = [&](size_t n) { return n == s->size() || (n < s->size() && is_space((*s)[n])); };
  static const char* const kBullets[] = {"-", "*", "\xE2\x80\xA2"};
  for (const char* b : kBullets) {
    const size_t n = std::strlen(b);
    if (starts_with(*s, b) && marker_ends_at(n)) {
      *s = trim(s->substr(n));
      return true;
    }
  }
  size_t digits = 0;
  while (digits < s->size() && digits < 4 && (*s)[digits] >= '0' && (*s)[digits] <= '9') ++digits;
  if (digits > 0 && digits < s->size() && ((*s)[digits] == '.' || (*s)[digits] == ')') &&
      marker_ends_at(digits + 1)) {
    *s = trim(s->substr(digits + 1));
    return true;
  }
  return false;
}

// Takes off one pair of surrounding quotes: "…", '…' or “…”.
void strip_quotes(std::string_view* s) {
  static const std::pair<const char*, const char*> kQuotes[] = {
      {"\"", "\""}, {"'", "'"}, {"\xE2\x80\x9C", "\xE2\x80\x9D"}};
  for (const auto& [open, close] : kQuotes) {
    const size_t no = std::strlen(open), nc = std::strlen(close);
    if (s->size() >= no + nc && starts_with(*s, open) && ends_with(*s, close)) {
      *s = trim(s->substr(no, s->size() - no - nc));
      return;
    }
  }
}

std::string ascii_lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return r;
}

// Removes a ``` fence (with its language tag line) around the whole content.
std::string_view strip_fence(std::string_view s) {
  if (!starts_with(s, "```")) return s;
  const size_t eol = s.find('\n');
  if (eol == std::string_view::npos) return std::string_view();
  s = s.substr(eol + 1);
  s = trim(s);
  if (ends_with(s, "```")) s.remove_suffix(3);
  return trim(s);
}

// ---------------------------------------------------------------------------------------------
// Options

Status check_range(const char* name, int64_t v, int64_t lo, int64_t hi, const char* what) {
  if (v < lo || v > hi) {
    return make_error("llm options: %s: %lld is outside [%lld, %lld] (%s)", name, static_cast<long long>(v),
                      static_cast<long long>(lo), static_cast<long long>(hi), what);
  }
  return Status::ok_status();
}

// ---------------------------------------------------------------------------------------------
// The journal

// The journal's records: key → queries.
using JournalRecords = std::unordered_map<std::string, std::vector<std::string>>;

// Parses one journal line; false when it is not a record.
bool parse_journal_line(std::string_view line, std::string* key, std::vector<std::string>* queries) {
  const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return false;
  const auto k = j.find("key");
  const auto q = j.find("queries");
  if (k == j.end() || q == j.end() || !k->is_string() || !q->is_array() || q->empty()) return false;
  *key = k->get<std::string>();
  if (key->size() != 32 || key->find_first_not_of("0123456789abcdef") != std::string::npos) return false;
  queries->clear();
  for (const auto& x : *q) {
    if (!x.is_string()) return false;
    queries->push_back(x.get<std::string>());
  }
  return true;
}

// The records of an existing journal of *size bytes. *keep_bytes is the length of its valid
// part: all of it, or up to a malformed last line, which a killed run leaves behind.
Status journal_read(const std::string& path, JournalRecords* entries, size_t* size, size_t* keep_bytes,
                    bool* ends_in_newline) {
  *size = 0;
  *keep_bytes = 0;
  *ends_in_newline = true;
  if (!file_exists(path)) return Status::ok_status();
  std::string data;
  ET_RETURN_IF_ERROR(read_file(path, &data));
  *size = data.size();
  *keep_bytes = data.size();
  *ends_in_newline = data.empty() || data.back() == '\n';
  size_t start = 0, line_no = 0;
  std::string key;
  std::vector<std::string> queries;
  while (start < data.size()) {
    ++line_no;
    size_t end = data.find('\n', start);
    if (end == std::string::npos) end = data.size();
    const std::string_view line = trim(std::string_view(data).substr(start, end - start));
    if (!line.empty()) {
      if (parse_journal_line(line, &key, &queries)) {
        entries->emplace(key, queries);
      } else if (is_blank(std::string_view(data).substr(end))) {
        *keep_bytes = start;
        *ends_in_newline = true;
        return Status::ok_status();
      } else {
        return make_error(
            "%s: line %zu: not a journal record {\"key\": <32 hex digits>, \"queries\": [...]}: %s (the journal is "
            "written only by embtune; delete this line to generate its passage again, or the file to start over)",
            path.c_str(), line_no, snippet(line).c_str());
      }
    }
    start = end + 1;
  }
  return Status::ok_status();
}

class Journal {
 public:
  ~Journal() {
    if (f_) std::fclose(f_);
  }

  // Reads `path` (when it exists), cuts off a malformed last line and opens it for appending.
  Status open(const std::string& path, JournalRecords* entries) {
    path_ = path;
    size_t size = 0, keep = 0;
    bool ends_in_newline = true;
    ET_RETURN_IF_ERROR(journal_read(path, entries, &size, &keep, &ends_in_newline));
    if (keep < size && ::truncate(path.c_str(), static_cast<off_t>(keep)) != 0) {
      return make_error("%s: cannot cut off the unfinished last line: %s (check that the file is writable)",
                        path.c_str(), std::strerror(errno));
    }
    f_ = std::fopen(path.c_str(), "ab");
    if (!f_) {
      return make_error("%s: cannot open the journal for appending: %s (check that its folder exists and is writable)",
                        path.c_str(), std::strerror(errno));
    }
    if (!ends_in_newline) return write_raw("\n");
    return Status::ok_status();
  }

  // Appends one record and makes it durable before returning. Thread-safe.
  Status append(const std::string& key, const std::vector<std::string>& queries) {
    const nlohmann::json j = {{"key", key}, {"queries", queries}};
    const std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    std::lock_guard<std::mutex> lock(mu_);
    return write_raw(line);
  }

 private:
  Status write_raw(const std::string& s) {
    if (std::fwrite(s.data(), 1, s.size(), f_) != s.size() || std::fflush(f_) != 0 || ::fsync(fileno(f_)) != 0) {
      return make_error("%s: cannot write the journal: %s (check free disk space; what was generated so far is kept)",
                        path_.c_str(), std::strerror(errno));
    }
    return Status::ok_status();
  }

  std::string path_;
  std::FILE* f_ = nullptr;
  std::mutex mu_;
};

// ---------------------------------------------------------------------------------------------
// The HTTP client

// What one request gave: queries, or an error that is worth retrying, or one that is not.
struct Attempt {
  enum class Kind { Ok, Retry, Fail };
  Kind kind = Kind::Retry;
  std::vector<std::string> queries;
  std::string error;
  int64_t retry_after_s = -1;  // the server's Retry-After, when it sent one in seconds
};

size_t curl_write_body(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

// Keeps the Retry-After of the last response (a redirect or "100 Continue" starts a new one).
size_t curl_write_header(char* data, size_t size, size_t n, void* user) {
  auto* retry_after_s = static_cast<int64_t*>(user);
  const std::string_view line(data, size * n);
  if (starts_with(line, "HTTP/")) *retry_after_s = -1;
  const size_t colon = line.find(':');
  if (colon != std::string_view::npos && ascii_lower(trim(line.substr(0, colon))) == "retry-after") {
    const std::string_view v = trim(line.substr(colon + 1));
    if (!v.empty() && v.size() <= 9 && v.find_first_not_of("0123456789") == std::string_view::npos) {
      *retry_after_s = std::stoll(std::string(v));
    }
  }
  return size * n;
}

std::string http_hint(long status) {
  switch (status) {
    case 400: return " (check the model name, max_tokens and temperature the server accepts)";
    case 401:
    case 403: return " (check the API key)";
    case 404: return " (check the URL, e.g. http://127.0.0.1:8080/v1, and the model name)";
    default: return "";
  }
}

// One libcurl easy handle: one connection kept alive between the requests of one worker.
class ChatClient {
 public:
  ChatClient(const std::string& url, const LlmOptions& opt) : opt_(opt) {
    curl_ = curl_easy_init();
    if (!curl_) return;
    headers_ = curl_slist_append(headers_, "Content-Type: application/json");
    headers_ = curl_slist_append(headers_, "Accept: application/json");
    // No "Expect: 100-continue" round trip for prompts over 1 KiB: not every server answers it.
    headers_ = curl_slist_append(headers_, "Expect:");
    if (!opt.api_key.empty()) headers_ = curl_slist_append(headers_, ("Authorization: Bearer " + opt.api_key).c_str());
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_POST, 1L);
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);  // timeouts without SIGALRM: workers are threads
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, static_cast<long>(std::ceil(opt.timeout_s * 1000)));
    curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, errbuf_);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, curl_write_body);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &body_);
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, curl_write_header);
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &retry_after_s_);
    curl_easy_setopt(curl_, CURLOPT_USERAGENT, "embtune");
  }
  ~ChatClient() {
    if (curl_) curl_easy_cleanup(curl_);
    curl_slist_free_all(headers_);
  }
  ChatClient(const ChatClient&) = delete;
  ChatClient& operator=(const ChatClient&) = delete;
  bool ok() const { return curl_ != nullptr && headers_ != nullptr; }

  Attempt ask(const std::string& request) {
    body_.clear();
    errbuf_[0] = '\0';
    retry_after_s_ = -1;
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, request.data());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.size()));
    const CURLcode rc = curl_easy_perform(curl_);
    Attempt a;
    if (rc == CURLE_OPERATION_TIMEDOUT) {
      a.error = "no complete answer within " + format_seconds(opt_.timeout_s) + " (a slow server: raise timeout_s)";
      return a;
    }
    if (rc != CURLE_OK) {
      a.error = std::string("request failed: ") + curl_easy_strerror(rc);
      if (errbuf_[0]) a.error += std::string(": ") + errbuf_;
      a.error += " (is the server running at this URL?)";
      return a;
    }
    long status = 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
    if (status == 408 || status == 429 || status >= 500) {
      a.error = "HTTP " + std::to_string(status) + ": " + snippet(body_);
      a.retry_after_s = retry_after_s_;
      return a;
    }
    if (status < 200 || status >= 300) {
      a.kind = Attempt::Kind::Fail;
      a.error = "HTTP " + std::to_string(status) + ": " + snippet(body_) + http_hint(status);
      return a;
    }
    read_answer(&a);
    return a;
  }

 private:
  static std::string format_seconds(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g s", s);
    return buf;
  }

  void read_answer(Attempt* a) const {
    const nlohmann::json j = nlohmann::json::parse(body_, nullptr, false);
    if (j.is_discarded()) {
      a->error = "the answer is not JSON: " + snippet(body_);
      return;
    }
    const nlohmann::json* choice = nullptr;
    if (j.is_object() && j.contains("choices") && j["choices"].is_array() && !j["choices"].empty() &&
        j["choices"][0].is_object()) {
      choice = &j["choices"][0];
    }
    const nlohmann::json* message =
        choice && choice->contains("message") && (*choice)["message"].is_object() ? &(*choice)["message"] : nullptr;
    if (!message || !message->contains("content") || !(*message)["content"].is_string()) {
      a->error = "the answer has no choices[0].message.content: " + snippet(body_);
      return;
    }
    std::string content = (*message)["content"].get<std::string>();
    const bool cut_short = choice->contains("finish_reason") && (*choice)["finish_reason"] == "length";
    if (cut_short) {
      // The last line may be a query cut in the middle; an answer of one line is kept whole.
      const std::string_view t = trim(content);
      const size_t eol = t.rfind('\n');
      if (eol != std::string_view::npos) content = std::string(t.substr(0, eol));
    }
    a->queries = llm_parse_queries(content, opt_.queries_per_passage);
    if (a->queries.empty()) {
      a->error = "the answer holds no queries: " + snippet(content) +
                 (cut_short ? " (finish_reason is length: raise max_tokens)" : "");
      return;
    }
    a->kind = Attempt::Kind::Ok;
  }

  const LlmOptions& opt_;
  CURL* curl_ = nullptr;
  curl_slist* headers_ = nullptr;
  std::string body_;
  int64_t retry_after_s_ = -1;
  char errbuf_[CURL_ERROR_SIZE] = {0};
};

Status curl_init_once() {
  static std::once_flag once;
  static CURLcode rc = CURLE_OK;
  std::call_once(once, [] { rc = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (rc != CURLE_OK) return make_error("libcurl: cannot initialise: %s", curl_easy_strerror(rc));
  return Status::ok_status();
}

std::string request_body(const LlmOptions& opt, const std::string& prompt) {
  const nlohmann::json j = {{"model", opt.model},
                            {"messages", nlohmann::json::array({{{"role", "user"}, {"content", prompt}}})},
                            {"temperature", opt.temperature},
                            {"max_tokens", opt.max_tokens}};
  // Invalid UTF-8 in a passage becomes U+FFFD rather than an exception.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// One distinct prompt and the passages that share it.
struct UniquePrompt {
  std::string key;
  size_t first = 0;  // the passage it is rendered from
  std::vector<size_t> passages;
};

}  // namespace

// ---------------------------------------------------------------------------------------------

const std::vector<LlmOptionField>& llm_option_fields() {
  using O = LlmOptions;
  static const std::vector<LlmOptionField> fields = {
      {"url", "Base URL of an OpenAI-compatible API, e.g. http://127.0.0.1:8080/v1 (/chat/completions is appended)",
       &O::url},
      {"model", "Model name sent with each request (part of the journal key)", &O::model},
      {"api-key", "API key sent as 'Authorization: Bearer'; read from the environment, not a flag", &O::api_key, true},
      {"prompt-template", "Prompt with {passage}, {title} and {n}; default: diverse realistic search queries",
       &O::prompt_template},
      {"queries-per-passage", "Queries to generate per passage ({n} of the prompt; at most this many are kept)",
       &O::queries_per_passage},
      {"temperature", "Sampling temperature of the model", &O::temperature},
      {"max-tokens", "Most tokens the model may answer with per passage", &O::max_tokens},
      {"concurrency", "Requests in flight at once", &O::concurrency},
      {"max-retries", "Retries per passage after a failed request (timeouts, 429, 5xx, unreadable answers)",
       &O::max_retries},
      {"timeout", "Seconds to wait for one answer before retrying", &O::timeout_s},
      {"backoff-initial-ms", "Wait before the first retry, doubled at each next one (with jitter)",
       &O::backoff_initial_ms},
      {"backoff-max-ms", "Longest wait between retries, also the cap of a server's Retry-After", &O::backoff_max_ms},
      {"journal", "JSONL file of the queries generated so far; a run with the same journal resumes from it",
       &O::journal_path},
  };
  return fields;
}

std::string llm_chat_url(const std::string& url) {
  if (ends_with(url, kChatPath)) return url;
  std::string base = url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + kChatPath;
}

Status llm_options_check(const LlmOptions& opt) {
  const std::string chat_url = llm_chat_url(opt.url);
  CURLU* u = curl_url();
  if (!u) return make_error("libcurl: out of memory");
  const CURLUcode uc = curl_url_set(u, CURLUPART_URL, chat_url.c_str(), 0);
  char* scheme = nullptr;
  std::string scheme_s;
  if (uc == CURLUE_OK && curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK && scheme) scheme_s = scheme;
  curl_free(scheme);
  curl_url_cleanup(u);
  if (uc != CURLUE_OK) {
    return make_error("llm options: url: '%s' is not a URL: %s (e.g. http://127.0.0.1:8080/v1)", opt.url.c_str(),
                      curl_url_strerror(uc));
  }
  if (scheme_s != "http" && scheme_s != "https") {
    return make_error("llm options: url: '%s' is not an http:// or https:// URL (e.g. http://127.0.0.1:8080/v1)",
                      opt.url.c_str());
  }
  ET_RETURN_IF_ERROR(check_range("queries_per_passage", opt.queries_per_passage, 1, 1000, "queries per passage"));
  ET_RETURN_IF_ERROR(check_range("max_tokens", opt.max_tokens, 1, 1 << 24, "tokens of one answer"));
  ET_RETURN_IF_ERROR(check_range("concurrency", opt.concurrency, 1, 1024, "requests in flight at once"));
  ET_RETURN_IF_ERROR(check_range("max_retries", opt.max_retries, 0, 1000, "retries per passage"));
  ET_RETURN_IF_ERROR(
      check_range("backoff_initial_ms", opt.backoff_initial_ms, 0, 24 * 3600 * 1000LL, "wait before the first retry"));
  ET_RETURN_IF_ERROR(check_range("backoff_max_ms", opt.backoff_max_ms, opt.backoff_initial_ms, 24 * 3600 * 1000LL,
                                 "longest wait, at least backoff_initial_ms"));
  if (!(opt.timeout_s > 0) || !std::isfinite(opt.timeout_s) || opt.timeout_s > 24 * 3600) {
    return make_error("llm options: timeout_s: %g is not a number of seconds in (0, 86400] (per request)",
                      opt.timeout_s);
  }
  if (!(opt.temperature >= 0) || !std::isfinite(opt.temperature)) {
    return make_error("llm options: temperature: %g is not >= 0 (0 is greedy, 0.7 a usual value)", opt.temperature);
  }
  std::string prompt;
  return llm_render_prompt(opt.prompt_template, LlmPassage{"t", "p"}, opt.queries_per_passage, &prompt);
}

Status llm_render_prompt(const std::string& tmpl, const LlmPassage& passage, int64_t n, std::string* out) {
  out->clear();
  std::vector<std::string> unknown;
  bool has_passage = false;
  size_t i = 0;
  while (i < tmpl.size()) {
    const char c = tmpl[i];
    size_t end = std::string::npos;
    if (c == '{') {
      size_t j = i + 1;
      while (j < tmpl.size() && (std::isalnum(static_cast<unsigned char>(tmpl[j])) || tmpl[j] == '_')) ++j;
      const bool name_ok = j > i + 1 && !std::isdigit(static_cast<unsigned char>(tmpl[i + 1]));
      if (name_ok && j < tmpl.size() && tmpl[j] == '}') end = j;
    }
    if (end == std::string::npos) {
      out->push_back(c);
      ++i;
      continue;
    }
    const std::string name = tmpl.substr(i + 1, end - i - 1);
    if (name == "passage") {
      *out += passage.text;
      has_passage = true;
    } else if (name == "title") {
      *out += passage.title;
    } else if (name == "n") {
      *out += std::to_string(n);
    } else if (std::find(unknown.begin(), unknown.end(), name) == unknown.end()) {
      unknown.push_back(name);
    }
    i = end + 1;
  }
  if (!unknown.empty()) {
    std::string names;
    for (const auto& u : unknown) names += (names.empty() ? "{" : ", {") + u + "}";
    return make_error("prompt template: unknown placeholder%s %s (known: {passage}, {title}, {n})",
                      unknown.size() > 1 ? "s" : "", names.c_str());
  }
  if (!has_passage) {
    return make_error(
        "prompt template: no {passage} (the model would not see the passage; put {passage} where it goes)");
  }
  return Status::ok_status();
}

std::string llm_journal_key(const std::string& model, const std::string& prompt, int64_t n) {
  // Lengths first, so no two different (model, prompt, n) concatenate to the same bytes.
  std::string record = std::to_string(model.size()) + ":" + model + ";" + std::to_string(n) + ";" +
                       std::to_string(prompt.size()) + ":" + prompt;
  return hash128(record).hex();
}

std::vector<std::string> llm_parse_queries(const std::string& content, int64_t n) {
  std::vector<std::string> candidates;
  const std::string_view body = strip_fence(trim(content));
  bool from_array = false;
  if (!body.empty() && body.front() == '[') {
    const nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
    if (!j.is_discarded() && j.is_array() &&
        std::all_of(j.begin(), j.end(), [](const nlohmann::json& x) { return x.is_string(); })) {
      for (const auto& x : j) candidates.push_back(x.get<std::string>());
      from_array = true;
    }
  }
  if (!from_array) {
    size_t start = 0;
    while (start <= body.size()) {
      size_t end = body.find('\n', start);
      if (end == std::string_view::npos) end = body.size();
      std::string_view line = trim(body.substr(start, end - start));
      start = end + 1;
      if (line.empty() || starts_with(line, "```") || ends_with(line, ":")) continue;
      for (int k = 0; k < 2 && strip_list_marker(&line); ++k) {
      }
      candidates.emplace_back(line);
    }
  }
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  for (const auto& c : candidates) {
    std::string_view q = trim(c);
    strip_quotes(&q);
    if (q.empty() || !seen.insert(ascii_lower(q)).second) continue;
    out.emplace_back(q);
    if (static_cast<int64_t>(out.size()) >= n) break;
  }
  return out;
}

int64_t llm_backoff_ms(int64_t retry, int64_t retry_after_s, const LlmOptions& opt, std::mt19937_64& rng) {
  if (retry_after_s >= 0) return std::min(retry_after_s * 1000, opt.backoff_max_ms);
  int64_t d = opt.backoff_initial_ms;
  for (int64_t r = 1; r < retry && d < opt.backoff_max_ms; ++r) d *= 2;
  d = std::min(d, opt.backoff_max_ms);
  std::uniform_int_distribution<int64_t> jitter(d / 2, d);
  return jitter(rng);
}

Status llm_generate_queries(const std::vector<LlmPassage>& passages, const LlmOptions& opt,
                            std::vector<LlmPassageResult>* out, LlmStats* stats,
                            const std::function<void(int64_t done, int64_t total)>& progress) {
  ET_RETURN_IF_ERROR(llm_options_check(opt));
  const int64_t n = opt.queries_per_passage;
  out->assign(passages.size(), LlmPassageResult());
  LlmStats st;
  st.passages = static_cast<int64_t>(passages.size());

  std::vector<UniquePrompt> prompts;
  {
    std::unordered_map<std::string, size_t> index;
    std::string prompt;
    for (size_t i = 0; i < passages.size(); ++i) {
      ET_RETURN_IF_ERROR(llm_render_prompt(opt.prompt_template, passages[i], n, &prompt));
      std::string key = llm_journal_key(opt.model, prompt, n);
      auto [it, added] = index.emplace(key, prompts.size());
      if (added) prompts.push_back(UniquePrompt{std::move(key), i, {}});
      prompts[it->second].passages.push_back(i);
    }
  }
  st.unique_prompts = static_cast<int64_t>(prompts.size());

  std::unique_ptr<Journal> journal;
  JournalRecords journaled;
  if (!opt.journal_path.empty()) {
    journal = std::make_unique<Journal>();
    ET_RETURN_IF_ERROR(journal->open(opt.journal_path, &journaled));
  }

  std::vector<size_t> pending;  // into prompts
  int64_t done = 0;
  for (size_t u = 0; u < prompts.size(); ++u) {
    const auto it = journaled.find(prompts[u].key);
    if (it == journaled.end()) {
      pending.push_back(u);
      continue;
    }
    for (size_t p : prompts[u].passages) {
      LlmPassageResult& r = (*out)[p];
      r.queries = it->second;
      r.ok = true;
      r.from_journal = true;
      ++done;
    }
  }
  journaled.clear();
  if (progress) progress(done, st.passages);

  std::atomic<int64_t> requests{0}, retries{0};
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex mu;  // guards fatal, done and progress calls
  Status fatal;
  const auto set_fatal = [&](Status s) {
    std::lock_guard<std::mutex> lock(mu);
    if (fatal.ok()) fatal = std::move(s);
    stop = true;
  };

  if (!pending.empty()) {
    ET_RETURN_IF_ERROR(curl_init_once());
    const std::string url = llm_chat_url(opt.url);
    const size_t workers = std::min(pending.size(), static_cast<size_t>(opt.concurrency));
    std::random_device seed_source;
    const uint64_t seed = (static_cast<uint64_t>(seed_source()) << 32) ^ seed_source();

    const auto work = [&](size_t worker) {
      ChatClient client(url, opt);
      if (!client.ok()) {
        set_fatal(make_error("libcurl: cannot create a request handle (out of memory?)"));
        return;
      }
      std::mt19937_64 rng(seed + worker);
      std::string prompt;
      for (size_t k = next++; k < pending.size() && !stop; k = next++) {
        const UniquePrompt& up = prompts[pending[k]];
        // The template rendered without error for every passage above.
        ET_CHECK(llm_render_prompt(opt.prompt_template, passages[up.first], n, &prompt).ok());
        const std::string body = request_body(opt, prompt);
        Attempt a;
        int64_t attempts = 0;
        for (int64_t retry = 0; retry <= opt.max_retries && !stop; ++retry) {
          if (retry > 0) {
            std::this_thread::sleep_for(std::chrono::milliseconds(llm_backoff_ms(retry, a.retry_after_s, opt, rng)));
            ++retries;
          }
          ++requests;
          ++attempts;
          a = client.ask(body);
          if (a.kind != Attempt::Kind::Retry) break;
        }
        if (a.kind == Attempt::Kind::Ok && journal) {
          Status s = journal->append(up.key, a.queries);
          if (!s.ok()) set_fatal(std::move(s));
        }
        if (attempts == 0) {
          a.error = "not asked: the run stopped on an error";
        } else if (a.kind == Attempt::Kind::Retry && attempts > 1) {
          a.error = "gave up after " + std::to_string(attempts) + " requests, the last: " + a.error;
        }
        for (size_t p : up.passages) {
          LlmPassageResult& r = (*out)[p];
          r.ok = a.kind == Attempt::Kind::Ok;
          r.queries = r.ok ? a.queries : std::vector<std::string>();
          r.error = r.ok ? std::string() : a.error;
          r.attempts = attempts;
        }
        std::lock_guard<std::mutex> lock(mu);
        done += static_cast<int64_t>(up.passages.size());
        if (progress) progress(done, st.passages);
      }
    };
    std::vector<std::thread> threads;
    for (size_t w = 0; w < workers; ++w) threads.emplace_back(work, w);
    for (auto& t : threads) t.join();
  }

  st.requests = requests;
  st.retries = retries;
  for (const auto& r : *out) {
    if (r.from_journal) {
      ++st.from_journal;
    } else if (r.ok) {
      ++st.generated;
    } else {
      ++st.failed;
    }
  }
  if (stats) *stats = st;
  return fatal;
}

}  // namespace embtune
