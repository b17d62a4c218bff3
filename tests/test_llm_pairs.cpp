// `embtune pairs --methods llm` against a fake OpenAI-compatible server run in-process (cpp-httplib):
// rows from the server's answers, the journal and resuming, failures and exit code 4, retries, the
// API key, fatal errors, and the round-trip filter checked against a brute-force ranking. Not a
// test of the HTTP client's parsing (test_llm_queries.cpp) or of the heuristics (test_doc_pairs.cpp).
#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "model/sentence_encoder.h"
#include "test_util.h"

namespace embtune {
namespace {

using Strings = std::vector<std::string>;
using test::run_command;
using test::sh_quote;

// The fake server finds n after "N=" and the passage after "PASSAGE=".
constexpr const char* kTestTemplate = "N={n}\nTITLE={title}\nPASSAGE={passage}";

struct FakeReply {
  int status = 200;
  std::string body;
  int delay_ms = 0;
};

// A request as the fake server saw it; attempt is 1 for the first request of its passage.
struct FakeRequest {
  std::string passage, authorization;
  int64_t n = 0;
  int attempt = 0;
};

std::string chat_body(const std::string& content) {
  const nlohmann::json j = {
      {"object", "chat.completion"},
      {"choices", {{{"index", 0}, {"message", {{"role", "assistant"}, {"content", content}}}, {"finish_reason", "stop"}}}}};
  return j.dump();
}

// Lower-case words of a passage without punctuation.
Strings words_of(const std::string& text) {
  Strings w;
  std::istringstream in(text);
  for (std::string x; in >> x;) {
    std::string clean;
    for (char c : x)
      if (std::isalnum(static_cast<unsigned char>(c))) clean.push_back(static_cast<char>(std::tolower(c)));
    if (!clean.empty()) w.push_back(clean);
  }
  return w;
}

// The healthy answer's queries: "what <word k> <word k+1>" for k < n.
Strings healthy_queries(const FakeRequest& r) {
  const Strings w = words_of(r.passage);
  Strings q;
  for (size_t k = 0; k + 1 < w.size() && static_cast<int64_t>(q.size()) < r.n; ++k)
    q.push_back("what " + w[k] + " " + w[k + 1]);
  return q;
}

// An OpenAI-compatible /v1/chat/completions on 127.0.0.1 at a free port, answering through a
// policy (nullptr: the healthy answer). It counts requests and keeps the queries of every
// successful answer per passage: what a correct client must write.
class FakeChatServer {
 public:
  using Policy = std::function<std::optional<FakeReply>(const FakeRequest&)>;

  explicit FakeChatServer(Policy policy = nullptr) : policy_(std::move(policy)) {
    server_.set_tcp_nodelay(true);
    server_.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
      const nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
      const std::string prompt =
          body.is_object() ? body.value("messages", nlohmann::json::array()).at(0).value("content", "") : "";
      FakeRequest r;
      const size_t at = prompt.find("PASSAGE=");
      r.passage = at == std::string::npos ? "" : prompt.substr(at + 8);
      r.n = prompt.size() > 2 ? std::atoll(prompt.c_str() + 2) : 0;
      r.authorization = req.get_header_value("Authorization");
      FakeReply reply;
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++requests_;
        r.attempt = ++attempts_[r.passage];
        authorizations_.insert(r.authorization);
        std::optional<FakeReply> special = policy_ ? policy_(r) : std::nullopt;
        if (special) {
          reply = *special;
        } else {
          const Strings q = healthy_queries(r);
          std::string content = "Here are the queries:\n";
          for (const std::string& x : q) content += x + "\n";
          reply.body = chat_body(content);
          answered_[r.passage] = q;
        }
      }
      if (reply.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(reply.delay_ms));
      res.status = reply.status;
      res.set_content(reply.body, "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeChatServer() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  int64_t requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  int attempts(const std::string& passage) {
    std::lock_guard<std::mutex> lock(mu_);
    return attempts_[passage];
  }
  std::map<std::string, Strings> answered() {
    std::lock_guard<std::mutex> lock(mu_);
    return answered_;
  }
  std::set<std::string> authorizations() {
    std::lock_guard<std::mutex> lock(mu_);
    return authorizations_;
  }

 private:
  Policy policy_;
  httplib::Server server_;
  int port_ = -1;
  std::thread thread_;
  std::mutex mu_;
  int64_t requests_ = 0;
  std::map<std::string, int> attempts_;
  std::map<std::string, Strings> answered_;
  std::set<std::string> authorizations_;
};

// Three Markdown documents of two one-paragraph sections each: six passages at
// --min-passage-words 3.
struct DocsDir {
  test::TempDir tmp;
  std::string dir = tmp.file("docs"), out = tmp.file("pairs.jsonl"), tmpl = tmp.file("prompt.txt");
  DocsDir() {
    for (const char* v : {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"}) unsetenv(v);
    std::filesystem::create_directories(dir);
    test::write_text(dir + "/rivers.md",
                     "# Rivers\n\nRivers carry water from the hills down to the sea.\n\n## Deltas\n\n"
                     "A delta forms where a slow river drops its mud.\n");
    test::write_text(dir + "/stars.md",
                     "# Stars\n\nStars burn hydrogen into helium for billions of years.\n\n## Planets\n\n"
                     "Planets circle stars and shine by reflected light.\n");
    test::write_text(dir + "/bread.md",
                     "# Bread\n\nBread rises when yeast turns sugar into gas.\n\n## Ovens\n\n"
                     "Ovens bake the dough until the crust is brown.\n");
    test::write_text(tmpl, kTestTemplate);
  }
  // The command with the llm method against `url`: n queries per passage, fast retries, the
  // flags of `flags` replacing the defaults (a flag may be given once), then `extra`.
  std::string pairs(const std::string& url, const std::string& extra, int n = 2,
                    const std::map<std::string, std::string>& flags = {}) const {
    std::map<std::string, std::string> f = {{"--methods", "llm"},
                                            {"--llm-url", url},
                                            {"--llm-model", "fake-model"},
                                            {"--llm-prompt-template", tmpl},
                                            {"--llm-queries-per-passage", std::to_string(n)},
                                            {"--min-passage-words", "3"},
                                            {"--llm-backoff-initial-ms", "1"},
                                            {"--llm-backoff-max-ms", "5"},
                                            {"--llm-timeout", "5"}};
    for (const auto& [k, v] : flags) f[k] = v;
    std::string cmd = sh_quote(test::embtune_bin()) + " pairs --docs " + sh_quote(dir) + " --out " + sh_quote(out);
    for (const auto& [k, v] : f) cmd += " " + k + " " + sh_quote(v);
    return cmd + " " + extra;
  }
  std::string journal() const { return out + ".llm-journal.jsonl"; }
};

constexpr int kPassages = 6;

std::vector<nlohmann::json> read_rows(const std::string& path) {
  std::vector<nlohmann::json> rows;
  std::istringstream in(test::read_text(path));
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

size_t count_lines(const std::string& path) { return read_rows(path).size(); }

using PairSet = std::multiset<std::pair<std::string, std::string>>;

PairSet row_pairs(const std::string& path) {
  PairSet s;
  for (const auto& row : read_rows(path)) s.emplace(row["anchor"], row["positive"]);
  return s;
}

// What the server answered, as (query, passage) pairs.
PairSet answered_pairs(FakeChatServer& server) {
  PairSet s;
  for (const auto& [passage, queries] : server.answered())
    for (const auto& q : queries) s.emplace(q, passage);
  return s;
}

TEST(LlmPairs, RowsAreTheServersQueriesAndRerunResumes) {
  DocsDir d;
  FakeChatServer server;
  auto r = run_command(d.pairs(server.url(), "--json --with-source --with-method"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(server.requests(), kPassages);
  ASSERT_EQ(server.answered().size(), static_cast<size_t>(kPassages));
  const PairSet expected = answered_pairs(server);
  EXPECT_EQ(expected.size(), 2u * kPassages);
  EXPECT_EQ(row_pairs(d.out), expected);
  for (const auto& row : read_rows(d.out)) {
    EXPECT_EQ(row["method"], "llm");
    EXPECT_EQ(row["source"].get<std::string>().rfind(d.dir + "/", 0), 0u) << row.dump();
    EXPECT_NE(row["source"].get<std::string>().find(".md#"), std::string::npos) << row.dump();
  }
  const nlohmann::json j = test::last_json_line(r.out);
  EXPECT_EQ(j["pairs"], 2 * kPassages);
  EXPECT_EQ(j["per_method"]["llm"], 2 * kPassages);
  EXPECT_EQ(j["documents_without_pairs"], 0);
  EXPECT_EQ(j["llm"]["passages"], kPassages);
  EXPECT_EQ(j["llm"]["prompts_sent"], kPassages);
  EXPECT_EQ(j["llm"]["from_journal"], 0);
  EXPECT_EQ(j["llm"]["failed"], 0);
  EXPECT_EQ(j["llm"]["queries"], 2 * kPassages);
  EXPECT_EQ(j["llm"]["kept"], 2 * kPassages);
  EXPECT_TRUE(j["llm"]["round_trip_top_k"].is_null());
  EXPECT_EQ(j["llm"]["journal"], d.journal());
  EXPECT_NE(r.out.find("round trip off (no --model)"), std::string::npos) << r.out;
  EXPECT_EQ(count_lines(d.journal()), static_cast<size_t>(kPassages));

  // The same command again: everything from the journal, no request, the same file.
  const std::string first = test::read_text(d.out);
  r = run_command(d.pairs(server.url(), "--json --with-source --with-method"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(server.requests(), kPassages);
  EXPECT_EQ(test::last_json_line(r.out)["llm"]["from_journal"], kPassages);
  EXPECT_EQ(test::last_json_line(r.out)["llm"]["prompts_sent"], 0);
  EXPECT_EQ(test::read_text(d.out), first);

  // Plain rows have two fields; --with-source alone adds only "source".
  r = run_command(d.pairs(server.url(), "--with-source"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  for (const auto& row : read_rows(d.out)) EXPECT_EQ(row.size(), 3u) << row.dump();
  EXPECT_EQ(read_rows(d.out)[0].count("method"), 0u);
  r = run_command(d.pairs(server.url(), ""));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  for (const auto& row : read_rows(d.out)) EXPECT_EQ(row.size(), 2u) << row.dump();
  EXPECT_EQ(server.requests(), kPassages);
}

TEST(LlmPairs, WithHeuristicsTheLlmPairsComeLast) {
  DocsDir d;
  FakeChatServer server;
  auto r = run_command(d.pairs(server.url(), "--with-method --json", 2, {{"--methods", "heading-section,llm"}}));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto rows = read_rows(d.out);
  ASSERT_EQ(rows.size(), 3u + 2 * kPassages);
  for (size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(rows[i]["method"], i < 3 ? "heading-section" : "llm") << i;
  const nlohmann::json j = test::last_json_line(r.out);
  EXPECT_EQ(j["per_method"]["heading-section"], 3);
  EXPECT_EQ(rows[0]["anchor"], "Bread: Ovens");
  EXPECT_EQ(j["per_method"]["llm"], 2 * kPassages);
}

TEST(LlmPairs, FailedPassageExitsFourAndRerunFillsItIn) {
  DocsDir d;
  std::atomic<bool> broken{true};
  FakeChatServer server([&](const FakeRequest& r) -> std::optional<FakeReply> {
    if (broken && r.passage.find("Planets") != std::string::npos) return FakeReply{503, "{\"error\": \"overloaded\"}"};
    return std::nullopt;
  });
  auto r = run_command(d.pairs(server.url(), "--llm-max-retries 2 --json"));
  EXPECT_EQ(r.exit_code, 4) << r.out;
  EXPECT_NE(r.out.find("embtune pairs: 1 passage failed (last error: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("503"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("run the same command again to retry them \xE2\x80\x94 the journal keeps what was generated"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(server.requests(), kPassages - 1 + 3);  // the broken passage: 1 + 2 retries
  const nlohmann::json j = test::last_json_line(r.out);
  EXPECT_EQ(j["llm"]["failed"], 1);
  EXPECT_EQ(j["llm"]["retries"], 2);
  EXPECT_EQ(row_pairs(d.out), answered_pairs(server));
  EXPECT_EQ(count_lines(d.out), 2u * (kPassages - 1));
  EXPECT_EQ(count_lines(d.journal()), static_cast<size_t>(kPassages - 1));

  // Healthy again: only the missing prompt is sent, and every pair is written.
  broken = false;
  const int64_t before = server.requests();
  r = run_command(d.pairs(server.url(), "--json"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(server.requests(), before + 1);
  EXPECT_EQ(test::last_json_line(r.out)["llm"]["prompts_sent"], 1);
  EXPECT_EQ(test::last_json_line(r.out)["llm"]["from_journal"], kPassages - 1);
  EXPECT_EQ(row_pairs(d.out), answered_pairs(server));
  EXPECT_EQ(count_lines(d.out), 2u * kPassages);
}

TEST(LlmPairs, MalformedAnswersErrorsAndTimeoutsAreRetried) {
  DocsDir d;
  FakeChatServer server([&](const FakeRequest& r) -> std::optional<FakeReply> {
    if (r.attempt > 1) return std::nullopt;
    if (r.passage.find("Rivers") == 0) return FakeReply{200, "{\"choices\": [{\"message\": {\"content\": "};
    if (r.passage.find("Stars") == 0) return FakeReply{500, "internal error"};
    if (r.passage.find("Bread") == 0) return FakeReply{200, chat_body("late answer"), 1500};
    return std::nullopt;
  });
  const auto start = std::chrono::steady_clock::now();
  auto r = run_command(d.pairs(server.url(), "--llm-max-retries 3 --json", 2, {{"--llm-timeout", "0.3"}}));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  for (const char* p : {"Rivers carry", "Stars burn", "Bread rises"}) {
    const auto answered = server.answered();
    const auto it = std::find_if(answered.begin(), answered.end(), [&](const auto& a) { return a.first.find(p) == 0; });
    ASSERT_NE(it, answered.end()) << p;
    EXPECT_EQ(server.attempts(it->first), 2) << p;
  }
  const nlohmann::json j = test::last_json_line(r.out);
  EXPECT_EQ(j["llm"]["retries"], 3);
  EXPECT_EQ(j["llm"]["prompts_sent"], kPassages);
  EXPECT_EQ(row_pairs(d.out), answered_pairs(server));
  EXPECT_EQ(count_lines(d.out), 2u * kPassages);
}

TEST(LlmPairs, ApiKeyComesFromTheNamedVariable) {
  DocsDir d;
  FakeChatServer server;
  auto r = run_command("MY_LLM_KEY=sekrit-1 " + d.pairs(server.url(), "--llm-api-key-env MY_LLM_KEY"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(server.authorizations(), (std::set<std::string>{"Bearer sekrit-1"}));
  EXPECT_EQ(r.out.find("sekrit"), std::string::npos) << r.out;

  // The default variable, OPENAI_API_KEY; unset: no header. Fresh journals, so requests are made.
  DocsDir d2;
  FakeChatServer server2;
  r = run_command("OPENAI_API_KEY=sekrit-2 " + d2.pairs(server2.url(), ""));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(server2.authorizations(), (std::set<std::string>{"Bearer sekrit-2"}));
  DocsDir d3;
  FakeChatServer server3;
  r = run_command("env -u OPENAI_API_KEY " + d3.pairs(server3.url(), ""));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(server3.authorizations(), (std::set<std::string>{""}));
}

TEST(LlmPairs, FatalErrorsExitOneWithNothingWritten) {
  DocsDir d;
  FakeChatServer server;
  const auto expect_fatal = [&](const std::string& cmd, const std::string& message) {
    const auto r = run_command(cmd);
    EXPECT_EQ(r.exit_code, 1) << cmd << "\n" << r.out;
    EXPECT_NE(r.out.find(message), std::string::npos) << cmd << "\n" << r.out;
    EXPECT_FALSE(std::filesystem::exists(d.out)) << cmd;
    EXPECT_FALSE(std::filesystem::exists(d.journal())) << cmd;
  };
  expect_fatal(d.pairs("ftp://127.0.0.1/v1", ""), "is not an http:// or https:// URL");
  const std::string bad_template = d.tmp.file("bad.txt");
  test::write_text(bad_template, "Write {n} queries in {lang} for {passage}");
  expect_fatal(d.pairs(server.url(), "", 2, {{"--llm-prompt-template", bad_template}}),
               bad_template + ": prompt template: unknown placeholder {lang}");
  expect_fatal(d.pairs(server.url(), "", 2, {{"--llm-prompt-template", d.tmp.file("missing.txt")}}),
               "--llm-prompt-template");
  expect_fatal(d.pairs(server.url(), "--llm-journal " + sh_quote(d.tmp.file("no/such/dir/journal.jsonl"))),
               "no/such/dir/journal.jsonl");
  const std::string base = sh_quote(test::embtune_bin()) + " pairs --docs " + sh_quote(d.dir) + " --out " +
                           sh_quote(d.out) + " --min-passage-words 3";
  expect_fatal(base + " --methods llm --llm-url " + server.url(), "--methods llm needs --llm-model");
  expect_fatal(base + " --methods llm --llm-model m", "--methods llm needs --llm-url");
  expect_fatal(base + " --methods ict --llm-url " + server.url(), "--llm-url is for the llm method");
  expect_fatal(base + " --methods ict --model " + sh_quote(d.tmp.file("model")), "--model is for the llm method");
  expect_fatal(d.pairs(server.url(), "--model " + sh_quote(d.tmp.file("no-model"))), "--model");
  EXPECT_EQ(server.requests(), 0);
}

// Cosine of two rows in double.
double cosine(const float* a, const float* b, int64_t d) {
  double dot = 0, na = 0, nb = 0;
  for (int64_t i = 0; i < d; ++i) {
    dot += static_cast<double>(a[i]) * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += static_cast<double>(b[i]) * b[i];
  }
  return dot / (std::max(std::sqrt(na), 1e-12) * std::max(std::sqrt(nb), 1e-12));
}

// The round trip's verdicts by brute force: every passage the server saw, every query it wrote,
// embedded by the library with the given prompts and ranked by cosine in double. Queries whose own
// score is within 1e-5 of another passage's go to `ambiguous` (fp32 search may order them either
// way), the others to `expected` when fewer than k passages score higher.
struct BruteForce {
  PairSet expected, all, ambiguous;
};

BruteForce brute_force_round_trip(FakeChatServer& server, const std::string& model, const EmbedOptions& query_options,
                                  const EmbedOptions& passage_options, int k) {
  std::vector<std::string> passages, queries;
  std::vector<size_t> own;
  for (const auto& [passage, qs] : server.answered()) {
    for (const auto& q : qs) {
      queries.push_back(q);
      own.push_back(passages.size());
    }
    passages.push_back(passage);
  }
  EXPECT_EQ(passages.size(), static_cast<size_t>(kPassages));
  std::unique_ptr<SentenceEncoder> enc;
  EXPECT_TRUE(SentenceEncoder::load(model, &enc).ok());
  std::vector<float> qe, pe;
  EXPECT_TRUE(enc->embed(queries, query_options, &qe).ok());
  EXPECT_TRUE(enc->embed(passages, passage_options, &pe).ok());
  const int64_t D = enc->dim();
  BruteForce b;
  for (size_t i = 0; i < queries.size(); ++i) {
    const double mine = cosine(&qe[i * D], &pe[own[i] * D], D);
    int better = 0;
    bool close = false;
    for (size_t p = 0; p < passages.size(); ++p) {
      if (p == own[i]) continue;
      const double s = cosine(&qe[i * D], &pe[p * D], D);
      better += s > mine;
      close = close || std::abs(s - mine) < 1e-5;
    }
    const std::pair<std::string, std::string> pair(queries[i], passages[own[i]]);
    b.all.insert(pair);
    if (close) b.ambiguous.insert(pair);
    else if (better < k) b.expected.insert(pair);
  }
  return b;
}

// The rows of `path` that brute force could decide.
PairSet decided_rows(const std::string& path, const BruteForce& b) {
  PairSet got;
  for (const auto& pair : row_pairs(path))
    if (!b.ambiguous.count(pair)) got.insert(pair);
  return got;
}

TEST(LlmPairs, RoundTripKeepsWhatBruteForceRankingKeeps) {
  DocsDir d;
  const std::string model = d.tmp.file("model");
  ASSERT_EQ(test::make_tiny_word_model(model, {"rivers", "water", "delta", "stars", "planets", "bread", "ovens", "what"}),
            "");
  FakeChatServer server;
  const int n = 3, k = 1;
  const auto run = [&](int top_k, const std::string& cache) {
    return run_command(d.pairs(server.url(), "--model " + sh_quote(model) + " --round-trip-top-k " +
                                                 std::to_string(top_k) + " " + cache + " --json",
                               n));
  };
  auto r = run(k, "--cache-dir " + sh_quote(d.tmp.file("cache")));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  BruteForce b = brute_force_round_trip(server, model, EmbedOptions(), EmbedOptions(), k);
  EXPECT_LE(b.ambiguous.size(), 2u);
  EXPECT_EQ(decided_rows(d.out, b), b.expected);
  // The filter did something either way on this data.
  EXPECT_GT(b.expected.size(), 0u);
  EXPECT_LT(b.expected.size() + b.ambiguous.size(), b.all.size());
  nlohmann::json j = test::last_json_line(r.out);
  EXPECT_EQ(j["llm"]["round_trip_top_k"], k);
  EXPECT_EQ(j["llm"]["queries"], static_cast<int64_t>(b.all.size()));
  EXPECT_EQ(j["llm"]["round_trip_dropped"].get<int64_t>() + j["llm"]["kept"].get<int64_t>(),
            static_cast<int64_t>(b.all.size()));
  EXPECT_EQ(j["llm"]["kept"], static_cast<int64_t>(count_lines(d.out)));
  EXPECT_NE(r.out.find("dropped by round trip (top 1) " + j["llm"]["round_trip_dropped"].dump()), std::string::npos)
      << r.out;

  // k = the number of passages keeps every query (from the journal: no new request).
  const int64_t requests = server.requests();
  r = run(kPassages, "--no-cache");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(row_pairs(d.out), b.all);
  EXPECT_EQ(test::last_json_line(r.out)["llm"]["round_trip_dropped"], 0);
  EXPECT_EQ(server.requests(), requests);

  // A model with prompts: queries get its "query" prompt, passages its "passage" one (there is no
  // "document"), unless the flags say otherwise.
  test::write_text(model + "/config_sentence_transformers.json",
                   R"({"prompts": {"query": "what about ", "passage": "bread stars "}, "default_prompt_name": null,
                       "similarity_fn_name": "cosine"})");
  std::unique_ptr<SentenceEncoder> enc;
  ASSERT_TRUE(SentenceEncoder::load(model, &enc).ok());
  r = run(k, "--no-cache");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const BruteForce prompted = brute_force_round_trip(server, model, enc->prompt_by_name_or_text("query"),
                                                     enc->prompt_by_name_or_text("passage"), k);
  EXPECT_LE(prompted.ambiguous.size(), 2u);
  EXPECT_EQ(decided_rows(d.out, prompted), prompted.expected);
  EXPECT_NE(prompted.expected, b.expected);  // the prompts changed the verdicts
  r = run(k, "--no-cache --query-prompt '' --corpus-prompt ''");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(decided_rows(d.out, b), b.expected);
}

}  // namespace
}  // namespace embtune
