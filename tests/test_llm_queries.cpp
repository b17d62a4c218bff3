// Query generation against a fake OpenAI-compatible server run in-process (cpp-httplib): answer
// parsing, retries, Retry-After, timeouts, the journal and resuming. Not a test of a real model.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "data/llm_queries.h"
#include "test_util.h"

namespace embtune {
namespace {

using Strings = std::vector<std::string>;
using test::TempDir;

// The template of most tests: the fake server finds the passage after "PASSAGE=".
constexpr const char* kTestTemplate = "N={n}\nTITLE={title}\nPASSAGE={passage}";

struct FakeReply {
  using Headers = std::vector<std::pair<std::string, std::string>>;
  FakeReply(int status = 200, std::string body = "", Headers headers = {}, int delay_ms = 0)
      : status(status), body(std::move(body)), headers(std::move(headers)), delay_ms(delay_ms) {}
  int status;
  std::string body;
  Headers headers;
  int delay_ms;
};

// A request as the fake server saw it; attempt is 1 for the first request of its prompt.
struct FakeRequest {
  nlohmann::json body;
  std::string prompt, passage, authorization;
  int attempt = 0;
};

std::string passage_of(const std::string& prompt) {
  size_t at = prompt.find("PASSAGE=");
  if (at != std::string::npos) return prompt.substr(at + 8);
  at = prompt.find("Passage:\n");
  if (at == std::string::npos) return "";
  const std::string rest = prompt.substr(at + 9);
  return rest.substr(0, rest.find("\n\n"));
}

Strings words_of(const std::string& text) {
  Strings w;
  std::istringstream in(text);
  for (std::string x; in >> x;) w.push_back(x);
  return w;
}

std::string chat_body(const nlohmann::json& content, const std::string& finish_reason = "stop") {
  const nlohmann::json j = {
      {"id", "chatcmpl-1"},
      {"object", "chat.completion"},
      {"choices",
       {{{"index", 0}, {"message", {{"role", "assistant"}, {"content", content}}}, {"finish_reason", finish_reason}}}}};
  return j.dump();
}

// The healthy answer: "about <word>" for each word of the passage, as a list with a preamble,
// numbering, bullets, quotes and a repeat in other case; passages starting with "json" get a
// fenced JSON array instead.
FakeReply healthy_reply(const FakeRequest& r) {
  const Strings w = words_of(r.passage);
  if (!w.empty() && w[0] == "json") {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& x : w) arr.push_back("about " + x);
    return FakeReply{200, chat_body("```json\n" + arr.dump() + "\n```")};
  }
  static const char* const kMarkers[] = {"1. ", "2) ", "\xE2\x80\xA2 ", "- ", "* ", "12. "};
  std::string content = "Here are some search queries:\n\n";
  for (size_t i = 0; i < w.size(); ++i) {
    std::string q = "about " + w[i];
    if (i % 3 == 1) q = "\"" + q + "\"";
    if (i % 3 == 2) q = "\xE2\x80\x9C" + q + "\xE2\x80\x9D";
    content += std::string(kMarkers[i % 6]) + q + "\n";
    if (i == 0) content += "* ABOUT " + w[0] + "\n";  // a repeat, in other case
  }
  return FakeReply{200, chat_body(content)};
}

// What healthy_reply's answer parses to.
Strings expected_queries(const std::string& passage, size_t n) {
  Strings q;
  for (const auto& x : words_of(passage)) {
    if (q.size() < n) q.push_back("about " + x);
  }
  return q;
}

// An OpenAI-compatible /v1/chat/completions on 127.0.0.1 at a free port, answering through a
// policy, counting requests per prompt and the most requests in flight at once.
class FakeChatServer {
 public:
  using Policy = std::function<FakeReply(const FakeRequest&)>;

  explicit FakeChatServer(Policy policy) : policy_(std::move(policy)) {
    for (const char* v : {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"}) {
      unsetenv(v);
    }
    server_.set_tcp_nodelay(true);  // no 40 ms delayed-ACK stall per response
    server_.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
      const int now = ++in_flight_;
      for (int m = max_in_flight_; now > m && !max_in_flight_.compare_exchange_weak(m, now);) {
      }
      FakeRequest r;
      r.body = nlohmann::json::parse(req.body, nullptr, false);
      r.prompt = r.body.value("messages", nlohmann::json::array()).at(0).value("content", "");
      r.passage = passage_of(r.prompt);
      r.authorization = req.get_header_value("Authorization");
      FakeReply reply;
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++requests_;
        r.attempt = ++attempts_[r.passage];
        last_ = r;
        reply = policy_(r);
      }
      if (reply.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(reply.delay_ms));
      res.status = reply.status;
      for (const auto& [k, v] : reply.headers) res.set_header(k, v);
      res.set_content(reply.body, "application/json");
      --in_flight_;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeChatServer() { stop(); }

  void stop() {
    if (!thread_.joinable()) return;
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  int port() const { return port_; }
  int64_t requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  int attempts(const std::string& passage) {
    std::lock_guard<std::mutex> lock(mu_);
    return attempts_[passage];
  }
  FakeRequest last() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_;
  }
  int max_in_flight() const { return max_in_flight_; }

 private:
  Policy policy_;
  httplib::Server server_;
  int port_ = -1;
  std::thread thread_;
  std::mutex mu_;
  int64_t requests_ = 0;
  std::map<std::string, int> attempts_;
  FakeRequest last_;
  std::atomic<int> in_flight_{0}, max_in_flight_{0};
};

LlmOptions test_options(const std::string& url) {
  LlmOptions opt;
  opt.url = url;
  opt.model = "fake-model";
  opt.prompt_template = kTestTemplate;
  opt.timeout_s = 10;
  opt.backoff_initial_ms = 1;
  opt.backoff_max_ms = 5;
  return opt;
}

// Passage i is "p<i>a p<i>b p<i>c p<i>d" with title "T<i>".
std::vector<LlmPassage> numbered_passages(int n) {
  std::vector<LlmPassage> p;
  for (int i = 0; i < n; ++i) {
    const std::string s = std::to_string(i);
    std::string text;
    for (const char* suffix : {"a", "b", "c", "d"}) text.append(text.empty() ? "p" : " p").append(s).append(suffix);
    p.push_back({std::string("T").append(s), text});
  }
  return p;
}

struct GenerateRun {
  Status status;
  std::vector<LlmPassageResult> results;
  LlmStats stats;
};

GenerateRun generate(const std::vector<LlmPassage>& passages, const LlmOptions& opt) {
  GenerateRun r;
  r.status = llm_generate_queries(passages, opt, &r.results, &r.stats, nullptr);
  return r;
}

std::vector<Strings> queries_of(const GenerateRun& r) {
  std::vector<Strings> q;
  for (const auto& x : r.results) q.push_back(x.queries);
  return q;
}

std::vector<nlohmann::json> journal_lines(const std::string& path) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(test::read_text(path));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Pure functions

TEST(LlmQueries, ParseStripsMarkersQuotesPreamblesAndRepeats) {
  EXPECT_EQ(llm_parse_queries("Here are 3 queries:\n\n1. first query\n2) \"second query\"\n"
                              "\xE2\x80\xA2 \xE2\x80\x9Cthird query\xE2\x80\x9D\n- fourth\n",
                              3),
            (Strings{"first query", "second query", "third query"}));
  EXPECT_EQ(llm_parse_queries("  - alpha  \r\n* 'beta'\r\n\r\n  - ALPHA\n-\n\"\"\n", 5), (Strings{"alpha", "beta"}));
  // Numbers that are part of the query stay; so do dashes inside it.
  EXPECT_EQ(llm_parse_queries("3.5 inch floppy capacity\n2024 tax-free allowance\n-5 celsius in fahrenheit", 5),
            (Strings{"3.5 inch floppy capacity", "2024 tax-free allowance", "-5 celsius in fahrenheit"}));
  EXPECT_EQ(llm_parse_queries("```\nq one\nq two\n```", 5), (Strings{"q one", "q two"}));
  EXPECT_EQ(llm_parse_queries("10. ten\n11) eleven", 1), (Strings{"ten"}));
  EXPECT_TRUE(llm_parse_queries("", 3).empty());
  EXPECT_TRUE(llm_parse_queries("Sure! Here are the queries:\n\n", 3).empty());
}

TEST(LlmQueries, ParseJsonArrayContent) {
  EXPECT_EQ(llm_parse_queries("[\"a b\", \" c \", \"\", \"A B\", \"d\"]", 3), (Strings{"a b", "c", "d"}));
  EXPECT_EQ(llm_parse_queries("```json\n[\"x\", \"y\"]\n```", 3), (Strings{"x", "y"}));
  // Not an array of strings: read as lines.
  EXPECT_EQ(llm_parse_queries("[1, 2]", 3), (Strings{"[1, 2]"}));
}

TEST(LlmQueries, RenderPromptSubstitutesOncePerPlaceholder) {
  std::string p;
  ASSERT_TRUE(llm_render_prompt("{n} for {title}: {passage} ({n})", {"T", "text {title} {n} {x}"}, 4, &p).ok());
  EXPECT_EQ(p, "4 for T: text {title} {n} {x} (4)");
  // Braces that are not {identifier} are text.
  ASSERT_TRUE(llm_render_prompt("{\"a\": 1} { passage } {1} {{passage}}", {"", "P"}, 2, &p).ok());
  EXPECT_EQ(p, "{\"a\": 1} { passage } {1} {P}");
}

TEST(LlmQueries, RenderPromptRefusesUnknownPlaceholdersAndNoPassage) {
  std::string p;
  const Status s = llm_render_prompt("{passage} {query} {lang} {query}", {"", "x"}, 3, &p);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("unknown placeholders {query}, {lang}"), std::string::npos) << s.message();
  const Status none = llm_render_prompt("write {n} queries", {"", "x"}, 3, &p);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.message().find("{passage}"), std::string::npos) << none.message();

  LlmOptions opt;
  opt.prompt_template = "{passage} {bogus}";
  const Status o = llm_options_check(opt);
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.message().find("{bogus}"), std::string::npos) << o.message();
}

TEST(LlmQueries, DefaultTemplateAndOptions) {
  const LlmOptions opt;
  EXPECT_TRUE(llm_options_check(opt).ok());
  std::string p;
  ASSERT_TRUE(llm_render_prompt(opt.prompt_template, {"Moon landing", "Apollo 11 landed in 1969."}, 3, &p).ok());
  EXPECT_NE(p.find("Apollo 11 landed in 1969."), std::string::npos);
  EXPECT_NE(p.find("Title: Moon landing"), std::string::npos);
  EXPECT_NE(p.find("write 3 different search queries"), std::string::npos) << p;
  EXPECT_EQ(p.find('{'), std::string::npos) << p;

  std::set<std::string> names;
  for (const auto& f : llm_option_fields()) {
    EXPECT_FALSE(f.help.empty()) << f.name;
    EXPECT_TRUE(names.insert(f.name).second) << f.name;
  }
  EXPECT_EQ(names.size(), 13u);
  EXPECT_TRUE(names.count("api-key") && names.count("journal"));
}

TEST(LlmQueries, OptionsCheckNamesTheOption) {
  const auto message = [](const std::function<void(LlmOptions*)>& edit) {
    LlmOptions opt;
    edit(&opt);
    return llm_options_check(opt).message();
  };
  EXPECT_NE(message([](LlmOptions* o) { o->url = "ftp://host/v1"; }).find("http"), std::string::npos);
  EXPECT_NE(message([](LlmOptions* o) { o->url = ""; }).find("url"), std::string::npos);
  EXPECT_NE(message([](LlmOptions* o) { o->url = "http://exa mple.com/v1"; }).find("url"), std::string::npos);
  EXPECT_NE(message([](LlmOptions* o) { o->concurrency = 0; }).find("concurrency"), std::string::npos);
  EXPECT_NE(message([](LlmOptions* o) { o->queries_per_passage = 0; }).find("queries_per_passage"),
            std::string::npos);
  EXPECT_NE(message([](LlmOptions* o) { o->timeout_s = 0; }).find("timeout_s"), std::string::npos);
  EXPECT_NE(message([](LlmOptions* o) { o->backoff_max_ms = 10; }).find("backoff_max_ms"), std::string::npos);

  EXPECT_EQ(llm_chat_url("http://h:8080/v1"), "http://h:8080/v1/chat/completions");
  EXPECT_EQ(llm_chat_url("http://h:8080/v1/"), "http://h:8080/v1/chat/completions");
  EXPECT_EQ(llm_chat_url("https://h/v1/chat/completions"), "https://h/v1/chat/completions");
}

TEST(LlmQueries, BackoffDoublesWithJitterAndHonoursRetryAfter) {
  LlmOptions opt;
  opt.backoff_initial_ms = 100;
  opt.backoff_max_ms = 1000;
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 50; ++trial) {
    int64_t d = 100;
    for (int64_t retry = 1; retry <= 8; ++retry, d = std::min<int64_t>(d * 2, 1000)) {
      const int64_t w = llm_backoff_ms(retry, -1, opt, rng);
      EXPECT_GE(w, d / 2) << retry;
      EXPECT_LE(w, d) << retry;
    }
  }
  EXPECT_EQ(llm_backoff_ms(1, 0, opt, rng), 0);
  EXPECT_EQ(llm_backoff_ms(1, 1, opt, rng), 1000);  // Retry-After wins over the 100 ms of retry 1
  EXPECT_EQ(llm_backoff_ms(3, 60, opt, rng), 1000);  // capped at backoff_max_ms
  EXPECT_EQ(llm_journal_key("m", "prompt", 3), llm_journal_key("m", "prompt", 3));
  EXPECT_NE(llm_journal_key("m", "prompt", 3), llm_journal_key("m", "prompt", 4));
  EXPECT_NE(llm_journal_key("m", "prompt", 3), llm_journal_key("m2", "prompt", 3));
  EXPECT_EQ(llm_journal_key("m", "prompt", 3).size(), 32u);
}

// ---------------------------------------------------------------------------------------------
// Against the fake server

TEST(LlmServer, PlainSuccess) {
  FakeChatServer server(healthy_reply);
  TempDir dir;
  LlmOptions opt = test_options(server.url());
  opt.api_key = "sk-test";
  opt.temperature = 0.25;
  opt.max_tokens = 77;
  opt.journal_path = dir.file("journal.jsonl");
  std::vector<LlmPassage> passages = numbered_passages(5);
  passages.push_back({"", "json alpha beta gamma"});
  std::vector<std::pair<int64_t, int64_t>> calls;
  std::vector<LlmPassageResult> results;
  LlmStats stats;
  ASSERT_TRUE(llm_generate_queries(passages, opt, &results, &stats,
                                   [&](int64_t done, int64_t total) { calls.emplace_back(done, total); })
                  .ok());
  ASSERT_EQ(results.size(), passages.size());
  for (size_t i = 0; i < passages.size(); ++i) {
    EXPECT_TRUE(results[i].ok) << results[i].error;
    EXPECT_FALSE(results[i].from_journal);
    EXPECT_EQ(results[i].attempts, 1);
    EXPECT_EQ(results[i].queries, expected_queries(passages[i].text, 3)) << i;
  }
  EXPECT_EQ(results[0].queries, (Strings{"about p0a", "about p0b", "about p0c"}));
  EXPECT_EQ(results[5].queries, (Strings{"about json", "about alpha", "about beta"}));
  EXPECT_EQ(stats.requests, 6);
  EXPECT_EQ(stats.retries, 0);
  EXPECT_EQ(stats.generated, 6);
  EXPECT_EQ(stats.failed + stats.from_journal, 0);
  EXPECT_EQ(server.requests(), 6);

  const FakeRequest last = server.last();
  EXPECT_EQ(last.authorization, "Bearer sk-test");
  EXPECT_EQ(last.body["model"], "fake-model");
  EXPECT_EQ(last.body["temperature"], 0.25);
  EXPECT_EQ(last.body["max_tokens"], 77);
  EXPECT_EQ(last.body["messages"][0]["role"], "user");
  EXPECT_EQ(last.prompt.rfind("N=3\nTITLE=", 0), 0u) << last.prompt;

  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.front(), std::make_pair(int64_t{0}, int64_t{6}));
  EXPECT_EQ(calls.back(), std::make_pair(int64_t{6}, int64_t{6}));
  for (size_t i = 1; i < calls.size(); ++i) EXPECT_GT(calls[i].first, calls[i - 1].first);

  const auto lines = journal_lines(opt.journal_path);
  ASSERT_EQ(lines.size(), 6u);
  for (const auto& l : lines) {
    EXPECT_EQ(l["key"].get<std::string>().size(), 32u);
    EXPECT_EQ(l["queries"].size(), 3u);
  }
}

TEST(LlmServer, ServerErrorsAreRetried) {
  FakeChatServer server([](const FakeRequest& r) {
    if (r.attempt <= 2) return FakeReply{500, "{\"error\": \"overloaded\"}"};
    return healthy_reply(r);
  });
  const auto passages = numbered_passages(4);
  const GenerateRun run = generate(passages, test_options(server.url()));
  ASSERT_TRUE(run.status.ok()) << run.status.message();
  for (size_t i = 0; i < passages.size(); ++i) {
    EXPECT_TRUE(run.results[i].ok) << run.results[i].error;
    EXPECT_EQ(run.results[i].attempts, 3);
    EXPECT_EQ(run.results[i].queries, expected_queries(passages[i].text, 3));
  }
  EXPECT_EQ(run.stats.requests, 12);
  EXPECT_EQ(run.stats.retries, 8);
  EXPECT_EQ(server.requests(), 12);
}

TEST(LlmServer, RetryAfterIsHonoured) {
  FakeChatServer server([](const FakeRequest& r) {
    if (r.attempt == 1) return FakeReply{429, "{\"error\": \"rate limited\"}", {{"Retry-After", "1"}}};
    return healthy_reply(r);
  });
  LlmOptions opt = test_options(server.url());
  opt.backoff_max_ms = 5000;  // Retry-After (1 s) rather than the 1 ms of the first back-off
  const auto start = std::chrono::steady_clock::now();
  const GenerateRun run = generate(numbered_passages(1), opt);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(run.status.ok());
  EXPECT_TRUE(run.results[0].ok) << run.results[0].error;
  EXPECT_EQ(run.results[0].attempts, 2);
  EXPECT_GE(seconds, 0.95);
}

TEST(LlmServer, TimeoutsAreRetried) {
  // "slow" passages are answered after 1.5 s on their first request (the first) or always (the
  // second); the client waits 1 s.
  FakeChatServer server([](const FakeRequest& r) {
    FakeReply reply = healthy_reply(r);
    if ((r.passage.rfind("slowonce", 0) == 0 && r.attempt == 1) || r.passage.rfind("slowalways", 0) == 0) {
      reply.delay_ms = 1500;
    }
    return reply;
  });
  LlmOptions opt = test_options(server.url());
  opt.timeout_s = 1;
  opt.max_retries = 1;
  const std::vector<LlmPassage> passages = {{"", "slowonce a b c"}, {"", "slowalways a b c"}};
  const GenerateRun run = generate(passages, opt);
  ASSERT_TRUE(run.status.ok());
  EXPECT_TRUE(run.results[0].ok) << run.results[0].error;
  EXPECT_EQ(run.results[0].attempts, 2);
  EXPECT_EQ(run.results[0].queries, expected_queries(passages[0].text, 3));
  EXPECT_FALSE(run.results[1].ok);
  EXPECT_EQ(run.results[1].attempts, 2);
  EXPECT_NE(run.results[1].error.find("gave up after 2 requests"), std::string::npos) << run.results[1].error;
  EXPECT_NE(run.results[1].error.find("no complete answer within 1 s"), std::string::npos) << run.results[1].error;
}

TEST(LlmServer, UnreadableAnswersAreRetried) {
  FakeChatServer server([](const FakeRequest& r) {
    switch (r.attempt) {
      case 1: return FakeReply{200, "<html>not json</html>"};
      case 2: return FakeReply{200, "{\"object\": \"chat.completion\"}"};
      case 3: return FakeReply{200, chat_body(nullptr)};
      case 4: return FakeReply{200, chat_body("")};
      case 5: return FakeReply{200, chat_body("Here are the queries:\n")};
      default: return healthy_reply(r);
    }
  });
  LlmOptions opt = test_options(server.url());
  const auto passages = numbered_passages(2);
  const GenerateRun run = generate(passages, opt);
  ASSERT_TRUE(run.status.ok());
  for (size_t i = 0; i < passages.size(); ++i) {
    EXPECT_TRUE(run.results[i].ok) << run.results[i].error;
    EXPECT_EQ(run.results[i].attempts, 6);
    EXPECT_EQ(run.results[i].queries, expected_queries(passages[i].text, 3));
  }
  EXPECT_EQ(run.stats.retries, 10);

  // One retry fewer: the last error is kept.
  FakeChatServer again([](const FakeRequest& r) { return FakeReply{200, "<html>not json</html>"}; });
  opt = test_options(again.url());
  opt.max_retries = 2;
  const GenerateRun failed = generate(numbered_passages(1), opt);
  ASSERT_TRUE(failed.status.ok());
  EXPECT_FALSE(failed.results[0].ok);
  EXPECT_NE(failed.results[0].error.find("gave up after 3 requests, the last: the answer is not JSON: <html>"),
            std::string::npos)
      << failed.results[0].error;
  EXPECT_EQ(failed.stats.failed, 1);
}

TEST(LlmServer, ClientErrorsAreNotRetried) {
  const std::string long_body = "{\"error\": \"invalid api key\", \"pad\": \"" + std::string(200, 'a') +
                                std::string(300, 'Z') + "\"}";
  FakeChatServer server([&](const FakeRequest& r) {
    if (r.passage.rfind("missing", 0) == 0) return FakeReply{404, "{\"error\": \"no such model\"}"};
    return FakeReply{401, long_body};
  });
  const std::vector<LlmPassage> passages = {{"", "locked a b c"}, {"", "missing a b c"}};
  const GenerateRun run = generate(passages, test_options(server.url()));
  ASSERT_TRUE(run.status.ok());
  EXPECT_FALSE(run.results[0].ok);
  EXPECT_EQ(run.results[0].attempts, 1);
  const std::string& e = run.results[0].error;
  EXPECT_EQ(e.rfind("HTTP 401: {\"error\": \"invalid api key\"", 0), 0u) << e;
  EXPECT_EQ(e.find('Z'), std::string::npos) << e;  // only the first 200 bytes of the body
  EXPECT_NE(e.find("API key"), std::string::npos) << e;
  EXPECT_FALSE(run.results[1].ok);
  EXPECT_NE(run.results[1].error.find("HTTP 404: {\"error\": \"no such model\"}"), std::string::npos);
  EXPECT_EQ(server.requests(), 2);
  EXPECT_EQ(run.stats.failed, 2);
  EXPECT_EQ(run.stats.retries, 0);
}

TEST(LlmServer, ConnectionFailuresAreRetried) {
  std::string url;
  {
    FakeChatServer gone(healthy_reply);
    url = gone.url();
  }
  LlmOptions opt = test_options(url);
  opt.max_retries = 2;
  const GenerateRun run = generate(numbered_passages(2), opt);
  ASSERT_TRUE(run.status.ok());
  for (const auto& r : run.results) {
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.attempts, 3);
    EXPECT_NE(r.error.find("gave up after 3 requests, the last: request failed"), std::string::npos) << r.error;
  }
  EXPECT_EQ(run.stats.requests, 6);
}

TEST(LlmServer, FailedPassagesResumeFromTheJournal) {
  const auto passages = numbered_passages(6);
  const auto is_bad = [](const std::string& passage) {
    return passage.rfind("p1a", 0) == 0 || passage.rfind("p4a", 0) == 0;
  };
  TempDir dir;
  LlmOptions opt;
  GenerateRun first;
  {
    FakeChatServer flaky([&](const FakeRequest& r) {
      if (is_bad(r.passage)) return FakeReply{503, "{\"error\": \"busy\"}"};
      return healthy_reply(r);
    });
    opt = test_options(flaky.url());
    opt.max_retries = 1;
    opt.journal_path = dir.file("journal.jsonl");
    first = generate(passages, opt);
  }
  ASSERT_TRUE(first.status.ok());
  for (size_t i = 0; i < passages.size(); ++i) {
    EXPECT_EQ(first.results[i].ok, !is_bad(passages[i].text)) << i;
  }
  EXPECT_NE(first.results[1].error.find("HTTP 503"), std::string::npos) << first.results[1].error;
  EXPECT_EQ(first.stats.failed, 2);
  EXPECT_EQ(journal_lines(opt.journal_path).size(), 4u);

  FakeChatServer healthy(healthy_reply);
  opt.url = healthy.url();
  const GenerateRun second = generate(passages, opt);
  ASSERT_TRUE(second.status.ok());
  EXPECT_EQ(healthy.requests(), 2);
  EXPECT_EQ(healthy.attempts(passages[1].text), 1);
  EXPECT_EQ(healthy.attempts(passages[4].text), 1);
  EXPECT_EQ(second.stats.from_journal, 4);
  EXPECT_EQ(second.stats.generated, 2);
  EXPECT_EQ(second.stats.failed, 0);
  for (size_t i = 0; i < passages.size(); ++i) {
    EXPECT_TRUE(second.results[i].ok);
    EXPECT_EQ(second.results[i].from_journal, !is_bad(passages[i].text)) << i;
  }
  EXPECT_EQ(journal_lines(opt.journal_path).size(), 6u);

  LlmOptions fresh = opt;
  fresh.journal_path = dir.file("fresh.jsonl");
  const GenerateRun single = generate(passages, fresh);
  ASSERT_TRUE(single.status.ok());
  EXPECT_EQ(queries_of(second), queries_of(single));

  // Everything is in the journal now: no request at all.
  const GenerateRun third = generate(passages, opt);
  EXPECT_EQ(healthy.requests(), 2 + 6);
  EXPECT_EQ(third.stats.from_journal, 6);
  EXPECT_EQ(queries_of(third), queries_of(single));
}

TEST(LlmServer, TruncatedLastJournalLineIsIgnoredAndCutOff) {
  FakeChatServer server(healthy_reply);
  TempDir dir;
  LlmOptions opt = test_options(server.url());
  opt.journal_path = dir.file("journal.jsonl");
  auto passages = numbered_passages(3);
  ASSERT_TRUE(generate(passages, opt).status.ok());
  test::write_text(opt.journal_path, test::read_text(opt.journal_path) + "{\"key\": \"0123abc");  // killed mid-write

  passages.push_back({"", "fourth passage here now"});
  const GenerateRun run = generate(passages, opt);
  ASSERT_TRUE(run.status.ok()) << run.status.message();
  EXPECT_EQ(server.requests(), 4);
  EXPECT_EQ(run.stats.from_journal, 3);
  EXPECT_EQ(run.results[3].queries, expected_queries(passages[3].text, 3));
  EXPECT_EQ(journal_lines(opt.journal_path).size(), 4u);  // every line parses

  // A last record without its newline (cut just before it) is kept, and the next line starts on
  // a line of its own.
  std::string text = test::read_text(opt.journal_path);
  text.pop_back();
  test::write_text(opt.journal_path, text);
  passages.push_back({"", "fifth passage here now"});
  const GenerateRun fifth = generate(passages, opt);
  ASSERT_TRUE(fifth.status.ok()) << fifth.status.message();
  EXPECT_EQ(fifth.stats.from_journal, 4);
  EXPECT_EQ(server.requests(), 5);
  EXPECT_EQ(journal_lines(opt.journal_path).size(), 5u);
}

TEST(LlmServer, MalformedMiddleJournalLineIsAnError) {
  FakeChatServer server(healthy_reply);
  TempDir dir;
  LlmOptions opt = test_options(server.url());
  opt.journal_path = dir.file("journal.jsonl");
  const auto passages = numbered_passages(2);
  ASSERT_TRUE(generate(passages, opt).status.ok());
  const auto lines = journal_lines(opt.journal_path);
  ASSERT_EQ(lines.size(), 2u);
  test::write_text(opt.journal_path, lines[0].dump() + "\n{\"key\": 5}\n" + lines[1].dump() + "\n");
  const GenerateRun run = generate(passages, opt);
  ASSERT_FALSE(run.status.ok());
  EXPECT_NE(run.status.message().find(opt.journal_path + ": line 2: not a journal record"), std::string::npos)
      << run.status.message();
  EXPECT_EQ(server.requests(), 2);

  opt.journal_path = dir.file("no-such-dir/journal.jsonl");
  const GenerateRun unwritable = generate(passages, opt);
  ASSERT_FALSE(unwritable.status.ok());
  EXPECT_NE(unwritable.status.message().find(opt.journal_path), std::string::npos) << unwritable.status.message();
}

TEST(LlmServer, ConcurrencyDoesNotChangeResults) {
  FakeChatServer server([](const FakeRequest& r) {
    FakeReply reply = r.attempt == 1 && r.passage.find("p3a") == 0 ? FakeReply{500, "{}"} : healthy_reply(r);
    reply.delay_ms = 20;
    return reply;
  });
  const auto passages = numbered_passages(16);
  LlmOptions opt = test_options(server.url());
  opt.concurrency = 1;
  const GenerateRun one = generate(passages, opt);
  EXPECT_EQ(server.max_in_flight(), 1);
  FakeChatServer server4([](const FakeRequest& r) {
    FakeReply reply = healthy_reply(r);
    reply.delay_ms = 20;
    return reply;
  });
  opt.url = server4.url();
  opt.concurrency = 4;
  const GenerateRun four = generate(passages, opt);
  ASSERT_TRUE(one.status.ok() && four.status.ok());
  EXPECT_GE(server4.max_in_flight(), 2);
  EXPECT_LE(server4.max_in_flight(), 4);
  EXPECT_EQ(queries_of(one), queries_of(four));
  EXPECT_EQ(one.stats.generated, 16);
  EXPECT_EQ(four.stats.generated, 16);
  EXPECT_EQ(one.stats.retries, 1);
}

TEST(LlmServer, IdenticalPassagesAreAskedOnce) {
  FakeChatServer server(healthy_reply);
  const std::vector<LlmPassage> passages = {
      {"T", "same words here again"}, {"T", "other words here again"}, {"T", "same words here again"},
      {"U", "same words here again"}};  // another title: another prompt
  const GenerateRun run = generate(passages, test_options(server.url()));
  ASSERT_TRUE(run.status.ok());
  EXPECT_EQ(server.requests(), 3);
  EXPECT_EQ(run.stats.unique_prompts, 3);
  EXPECT_EQ(run.stats.generated, 4);
  EXPECT_EQ(run.results[0].queries, run.results[2].queries);
  EXPECT_EQ(run.results[0].queries, expected_queries(passages[0].text, 3));
}

TEST(LlmServer, PromptTemplateIsSubstitutedAndUnknownPlaceholdersStopTheRun) {
  FakeChatServer server(healthy_reply);
  LlmOptions opt = test_options(server.url());
  opt.prompt_template = "Give {n} queries for \"{title}\".\nPASSAGE={passage}";
  opt.queries_per_passage = 2;
  const GenerateRun run = generate({{"The Title", "w1 w2 w3 w4"}}, opt);
  ASSERT_TRUE(run.status.ok());
  EXPECT_EQ(server.last().prompt, "Give 2 queries for \"The Title\".\nPASSAGE=w1 w2 w3 w4");
  EXPECT_EQ(run.results[0].queries, (Strings{"about w1", "about w2"}));

  opt.prompt_template = "{passage} in {language}";
  const GenerateRun bad = generate({{"", "w1"}}, opt);
  ASSERT_FALSE(bad.status.ok());
  EXPECT_NE(bad.status.message().find("{language}"), std::string::npos) << bad.status.message();
  EXPECT_EQ(server.requests(), 1);

  opt.prompt_template = kLlmDefaultPromptTemplate;
  opt.queries_per_passage = 3;
  const GenerateRun by_default = generate({{"A title", "alpha beta gamma delta"}}, opt);
  ASSERT_TRUE(by_default.status.ok());
  EXPECT_EQ(by_default.results[0].queries, (Strings{"about alpha", "about beta", "about gamma"}));
}

}  // namespace
}  // namespace embtune
