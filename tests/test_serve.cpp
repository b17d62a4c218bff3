// `embtune serve` against a tiny random model: concurrent clients get the vectors embed gives,
// base64 and dimensions, OpenAI-style 4xx errors after which the server keeps serving, many
// connections opened at once, and a graceful SIGTERM of the binary. Not a load test (bench/run_serve_bench.sh is).
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "model/sentence_encoder.h"
#include "serve/embed_server.h"
#include "test_util.h"

namespace embtune {
namespace {

using json = nlohmann::json;
using Strings = std::vector<std::string>;
using test::TempDir;

const Strings kWords = {"the", "cat", "sat", "on", "mat", "dog", "runs", "fast", "hello", "world", "query"};

struct Reply {
  int status = 0;  // 0: no answer (connection failed)
  json body;
};

Reply post(int port, const std::string& body, const std::string& path = "/v1/embeddings",
           const std::string& content_type = "application/json") {
  httplib::Client cli("127.0.0.1", port);
  cli.set_read_timeout(30, 0);
  auto res = cli.Post(path.c_str(), body, content_type.c_str());
  Reply r;
  if (!res) return r;
  r.status = res->status;
  r.body = json::parse(res->body, nullptr, false);
  return r;
}

Reply get(int port, const std::string& path) {
  httplib::Client cli("127.0.0.1", port);
  auto res = cli.Get(path.c_str());
  Reply r;
  if (!res) return r;
  r.status = res->status;
  r.body = json::parse(res->body, nullptr, false);
  return r;
}

// A text of `n` words from the vocabulary and some that split into letters.
std::string make_text(int seed, int n) {
  static const Strings extra = {"zebra", "quokka", "x7", "Hello,", "WORLD!", "naïve"};
  std::string t;
  for (int i = 0; i < n; i++) {
    if (i) t += ' ';
    const int k = (seed * 7 + i * 3) % 17;
    t += k < static_cast<int>(kWords.size()) ? kWords[k] : extra[k % extra.size()];
  }
  return t;
}

std::vector<float> floats_of(const json& arr) {
  std::vector<float> v;
  for (const json& x : arr) v.push_back(x.get<float>());
  return v;
}

// One in-process server on a free port over one tiny model, shared by the tests of the suite.
class ServeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    model_ = dir_->file("model");
    const std::string err = test::make_tiny_word_model(model_, kWords);
    ASSERT_EQ(err, "");
    Status s = SentenceEncoder::load(model_, &enc_);
    ASSERT_TRUE(s.ok()) << s.message();
    ServeOptions opt;
    opt.port = 0;
    opt.served_name = "tiny";
    opt.max_inputs = 16;
    opt.max_request_tokens = 400;
    opt.max_body_bytes = 64 * 1024;
    opt.batch_wait_ms = 20;  // so that concurrent clients surely share batches
    opt.log_requests = false;
    server_ = new EmbedServer(*enc_, opt);
    s = server_->bind(&port_);
    ASSERT_TRUE(s.ok()) << s.message();
    thread_ = new std::thread([] { run_status_ = server_->run(); });
  }
  static void TearDownTestSuite() {
    if (server_) server_->stop();
    if (thread_) thread_->join();
    EXPECT_TRUE(run_status_.ok()) << run_status_.message();
    delete thread_;
    delete server_;
    enc_.reset();
    delete dir_;
  }

  // The reference: SentenceEncoder::embed of the same texts, in one call.
  static std::vector<float> reference(const Strings& texts) {
    std::vector<float> out;
    Status s = enc_->embed(texts, EmbedOptions{}, &out);
    EXPECT_TRUE(s.ok()) << s.message();
    return out;
  }
  static int64_t token_count(const Strings& texts) {
    std::vector<Encoding> enc;
    int32_t prompt_tokens = 0;
    EXPECT_TRUE(enc_->tokenize(texts, EmbedOptions{}, &enc, &prompt_tokens).ok());
    int64_t n = 0;
    for (const Encoding& e : enc) n += static_cast<int64_t>(e.ids.size());
    return n;
  }
  // A good request still gets a good answer.
  static void expect_still_serving() {
    const Reply r = post(port_, R"({"input": "the cat sat", "model": "tiny"})");
    ASSERT_EQ(r.status, 200) << r.body.dump();
    EXPECT_EQ(r.body["data"][0]["embedding"].size(), static_cast<size_t>(enc_->dim()));
  }

  static TempDir* dir_;
  static std::string model_;
  static std::unique_ptr<SentenceEncoder> enc_;
  static EmbedServer* server_;
  static std::thread* thread_;
  static Status run_status_;
  static int port_;
};

TempDir* ServeTest::dir_ = nullptr;
std::string ServeTest::model_;
std::unique_ptr<SentenceEncoder> ServeTest::enc_;
EmbedServer* ServeTest::server_ = nullptr;
std::thread* ServeTest::thread_ = nullptr;
Status ServeTest::run_status_;
int ServeTest::port_ = 0;

TEST_F(ServeTest, HealthAndModels) {
  Reply h = get(port_, "/health");
  ASSERT_EQ(h.status, 200);
  EXPECT_EQ(h.body, json({{"status", "ok"}}));
  Reply m = get(port_, "/v1/models");
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(m.body["object"], "list");
  ASSERT_EQ(m.body["data"].size(), 1u);
  EXPECT_EQ(m.body["data"][0]["id"], "tiny");
  EXPECT_EQ(m.body["data"][0]["object"], "model");
  EXPECT_EQ(m.body["data"][0]["owned_by"], "embtune");
  EXPECT_TRUE(m.body["data"][0]["created"].is_number_integer());
}

TEST_F(ServeTest, ConcurrentClientsGetTheVectorsEmbedGives) {
  constexpr int kThreads = 8, kRequests = 5;
  std::vector<std::vector<Strings>> sent(kThreads);
  std::vector<std::vector<Reply>> got(kThreads);
  const ServeStats before = server_->stats();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([t, &sent, &got] {
      for (int r = 0; r < kRequests; r++) {
        Strings texts;
        for (int i = 0; i <= (t + r) % 4; i++) texts.push_back(make_text(t * 31 + r * 5 + i, 1 + (t * 3 + r + i) % 12));
        json body = {{"input", texts}, {"model", "tiny"}};
        if (texts.size() == 1 && r % 2) body["input"] = texts[0];  // a bare string, too
        sent[t].push_back(texts);
        got[t].push_back(post(port_, body.dump()));
      }
    });
  }
  for (auto& th : threads) th.join();
  const ServeStats after = server_->stats();
  EXPECT_EQ(after.requests - before.requests, kThreads * kRequests);
  EXPECT_LT(after.batches - before.batches, kThreads * kRequests) << "no two concurrent requests were batched together";

  const int64_t dim = enc_->dim();
  for (int t = 0; t < kThreads; t++) {
    for (int r = 0; r < kRequests; r++) {
      const Strings& texts = sent[t][r];
      const Reply& rep = got[t][r];
      ASSERT_EQ(rep.status, 200) << rep.body.dump();
      EXPECT_EQ(rep.body["object"], "list");
      EXPECT_EQ(rep.body["model"], "tiny");
      const int64_t tokens = token_count(texts);
      EXPECT_EQ(rep.body["usage"]["prompt_tokens"], tokens);
      EXPECT_EQ(rep.body["usage"]["total_tokens"], tokens);
      const std::vector<float> ref = reference(texts);
      ASSERT_EQ(rep.body["data"].size(), texts.size());
      double worst = 0;
      for (size_t i = 0; i < texts.size(); i++) {
        const json& d = rep.body["data"][i];
        EXPECT_EQ(d["object"], "embedding");
        EXPECT_EQ(d["index"], i);
        const std::vector<float> v = floats_of(d["embedding"]);
        ASSERT_EQ(static_cast<int64_t>(v.size()), dim);
        for (int64_t c = 0; c < dim; c++) worst = std::max(worst, (double)std::fabs(v[c] - ref[i * dim + c]));
      }
      // Batched with other requests, a text may sit in another packed batch than in the
      // reference call; the maths per sequence is the same, up to matmul blocking.
      EXPECT_LE(worst, 1e-6) << "thread " << t << " request " << r;
    }
  }
}

TEST_F(ServeTest, SameVectorsAsTheEmbedCommand) {
  const Strings texts = {"the cat sat on the mat", "hello world", "dog runs fast", "Quokka zebra x7"};
  std::string lines;
  for (const auto& t : texts) lines += t + "\n";
  test::write_text(dir_->file("texts.txt"), lines);
  const auto r = test::run_command(test::sh_quote(test::embtune_bin()) + " -q embed --model " + test::sh_quote(model_) +
                                   " --input " + test::sh_quote(dir_->file("texts.txt")) + " --output " +
                                   test::sh_quote(dir_->file("out.jsonl")));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::istringstream in(test::read_text(dir_->file("out.jsonl")));
  const Reply rep = post(port_, json({{"input", texts}}).dump());
  ASSERT_EQ(rep.status, 200) << rep.body.dump();
  std::string line;
  for (size_t i = 0; i < texts.size(); i++) {
    ASSERT_TRUE(std::getline(in, line));
    const std::vector<float> want = floats_of(json::parse(line)), v = floats_of(rep.body["data"][i]["embedding"]);
    ASSERT_EQ(v.size(), want.size());
    for (size_t c = 0; c < v.size(); c++) ASSERT_NEAR(v[c], want[c], 1e-6) << "text " << i << " component " << c;
  }
}

TEST_F(ServeTest, Base64IsLittleEndianFloat32OfTheFloats) {
  // Independent reference: 1.0f is 00 00 80 3f, -2.0f is 00 00 00 c0.
  const float known[2] = {1.0f, -2.0f};
  EXPECT_EQ(base64_encode_f32(known, 2), "AACAPwAAAMA=");
  std::vector<float> back;
  ASSERT_TRUE(base64_decode_f32("AACAPwAAAMA=", &back));
  EXPECT_EQ(back, std::vector<float>({1.0f, -2.0f}));
  EXPECT_FALSE(base64_decode_f32("AACAPw", &back));    // not a multiple of 4 characters
  EXPECT_FALSE(base64_decode_f32("AACA", &back));      // 3 bytes: not a whole float
  EXPECT_FALSE(base64_decode_f32("AA*APw==", &back));  // not base64

  const std::string texts = R"(["hello world", "the dog runs"])";
  const Reply f = post(port_, R"({"input": )" + texts + R"(, "encoding_format": "float"})");
  const Reply b = post(port_, R"({"input": )" + texts + R"(, "encoding_format": "base64"})");
  ASSERT_EQ(f.status, 200);
  ASSERT_EQ(b.status, 200) << b.body.dump();
  for (int i = 0; i < 2; i++) {
    ASSERT_TRUE(b.body["data"][i]["embedding"].is_string());
    std::vector<float> dec;
    ASSERT_TRUE(base64_decode_f32(b.body["data"][i]["embedding"].get<std::string>(), &dec));
    const std::vector<float> want = floats_of(f.body["data"][i]["embedding"]);
    ASSERT_EQ(dec.size(), want.size());
    EXPECT_EQ(std::memcmp(dec.data(), want.data(), 4 * dec.size()), 0) << "row " << i;  // bit for bit
  }
  EXPECT_EQ(b.body["usage"], f.body["usage"]);
}

TEST_F(ServeTest, DimensionsTruncatesAndRescalesToUnitLength) {
  ASSERT_TRUE(enc_->normalizes());
  const Reply full = post(port_, R"({"input": ["the cat sat on the mat"]})");
  const Reply cut = post(port_, R"({"input": ["the cat sat on the mat"], "dimensions": 8})");
  const Reply all = post(port_, R"({"input": ["the cat sat on the mat"], "dimensions": )" + std::to_string(enc_->dim()) + "}");
  ASSERT_EQ(full.status, 200);
  ASSERT_EQ(cut.status, 200) << cut.body.dump();
  ASSERT_EQ(all.status, 200) << all.body.dump();
  const std::vector<float> f = floats_of(full.body["data"][0]["embedding"]), c = floats_of(cut.body["data"][0]["embedding"]);
  ASSERT_EQ(c.size(), 8u);
  double ss = 0;
  for (int i = 0; i < 8; i++) ss += (double)f[i] * f[i];
  double norm = 0;
  for (int i = 0; i < 8; i++) {
    EXPECT_NEAR(c[i], f[i] / std::sqrt(ss), 1e-6);
    norm += (double)c[i] * c[i];
  }
  EXPECT_NEAR(norm, 1.0, 1e-5);
  EXPECT_EQ(all.body["data"][0]["embedding"], full.body["data"][0]["embedding"]);
}

TEST_F(ServeTest, WhitespaceOnlyInputIsEmbeddedAsTheSpecialTokens) {
  // Stripped like every input, " \t" is the empty text between [CLS] and [SEP], as embed sees it.
  const Reply r = post(port_, R"({"input": [" \t", "cat"]})");
  ASSERT_EQ(r.status, 200) << r.body.dump();
  EXPECT_EQ(r.body["usage"]["prompt_tokens"], token_count({" \t", "cat"}));
  const std::vector<float> ref = reference({" \t"}), v = floats_of(r.body["data"][0]["embedding"]);
  ASSERT_EQ(v.size(), ref.size());
  for (size_t c = 0; c < v.size(); c++) EXPECT_NEAR(v[c], ref[c], 1e-6);
}

struct BadCase {
  std::string body;
  int status;
  std::string param, code;  // param "" expects null
};

TEST_F(ServeTest, BadRequestsGetOpenAIErrorsAndTheServerKeepsServing) {
  const std::string dim = std::to_string(enc_->dim()), dim1 = std::to_string(enc_->dim() + 1);
  std::string many = "[";
  for (int i = 0; i < 17; i++) many += std::string(i ? "," : "") + "\"cat\"";
  many += "]";
  std::string long_text;  // 16 texts truncated to 512 tokens: far above max_request_tokens (400)
  for (int i = 0; i < 600; i++) long_text += "cat ";
  const std::string too_many_tokens = json({{"input", Strings(2, long_text)}}).dump();
  const std::vector<BadCase> cases = {
      {"{\"input\": \"cat\"", 400, "", "invalid_json"},
      {"not json at all", 400, "", "invalid_json"},
      {"", 400, "", "invalid_json"},
      {"[\"cat\"]", 400, "", "invalid_type"},
      {"{}", 400, "input", "missing_required_parameter"},
      {R"({"input": null})", 400, "input", "missing_required_parameter"},
      {R"({"input": 5})", 400, "input", "invalid_type"},
      {R"({"input": {"text": "cat"}})", 400, "input", "invalid_type"},
      {R"({"input": ["cat", 2.5]})", 400, "input[1]", "invalid_type"},
      {R"({"input": ["cat", null]})", 400, "input[1]", "invalid_type"},
      {R"({"input": [1, 2, 3]})", 400, "input[0]", "unsupported_input"},
      {R"({"input": [[1, 2], [3]]})", 400, "input[0]", "unsupported_input"},
      {R"({"input": ""})", 400, "input", "empty_input"},
      {R"({"input": []})", 400, "input", "empty_input"},
      {R"({"input": ["cat", ""]})", 400, "input[1]", "empty_input"},
      {R"({"input": )" + many + "}", 400, "input", "too_many_inputs"},
      {too_many_tokens, 400, "input", "too_many_tokens"},
      {R"({"input": "cat", "model": 3})", 400, "model", "invalid_type"},
      {R"({"input": "cat", "encoding_format": "int8"})", 400, "encoding_format", "invalid_encoding_format"},
      {R"({"input": "cat", "encoding_format": 1})", 400, "encoding_format", "invalid_type"},
      {R"({"input": "cat", "dimensions": 0})", 400, "dimensions", "invalid_dimensions"},
      {R"({"input": "cat", "dimensions": -3})", 400, "dimensions", "invalid_dimensions"},
      {R"({"input": "cat", "dimensions": )" + dim1 + "}", 400, "dimensions", "invalid_dimensions"},
      {R"({"input": "cat", "dimensions": 1e30})", 400, "dimensions", "invalid_type"},
      {R"({"input": "cat", "dimensions": 4.0})", 400, "dimensions", "invalid_type"},
      {R"({"input": "cat", "dimensions": "8"})", 400, "dimensions", "invalid_type"},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.body.substr(0, 80));
    const Reply r = post(port_, c.body);
    EXPECT_EQ(r.status, c.status) << r.body.dump();
    ASSERT_TRUE(r.body.is_object()) << "the error body is not JSON";
    const json& e = r.body["error"];
    EXPECT_TRUE(e["message"].is_string() && !e["message"].get<std::string>().empty());
    EXPECT_EQ(e["type"], "invalid_request_error");
    EXPECT_EQ(e["param"], c.param.empty() ? json(nullptr) : json(c.param));
    EXPECT_EQ(e["code"], c.code);
    expect_still_serving();
  }
}

TEST_F(ServeTest, OversizedBodyAndUnknownRouteGetErrorBodies) {
  const std::string big = json({{"input", std::string(100 * 1024, 'a')}}).dump();
  Reply r = post(port_, big);
  EXPECT_EQ(r.status, 413);
  ASSERT_TRUE(r.body.is_object());
  EXPECT_EQ(r.body["error"]["code"], "payload_too_large");
  expect_still_serving();

  // curl -d without a JSON content type: httplib caps form bodies at 8 KiB; the message says so.
  r = post(port_, json({{"input", std::string(10 * 1024, 'a')}}).dump(), "/v1/embeddings",
           "application/x-www-form-urlencoded");
  EXPECT_EQ(r.status, 413);
  ASSERT_TRUE(r.body.is_object());
  EXPECT_NE(r.body["error"]["message"].get<std::string>().find("application/json"), std::string::npos) << r.body.dump();
  r = post(port_, R"({"input": "the cat"})", "/v1/embeddings", "application/x-www-form-urlencoded");
  EXPECT_EQ(r.status, 200) << "a small body is JSON whatever its content type";

  r = post(port_, R"({"input": "cat"})", "/v1/completions");
  EXPECT_EQ(r.status, 404);
  ASSERT_TRUE(r.body.is_object());
  EXPECT_EQ(r.body["error"]["code"], "unknown_url");
  r = get(port_, "/v1/embeddings");
  EXPECT_EQ(r.status, 404);
  expect_still_serving();
}

// httplib writes an answer's headers and body with two send()s. Without TCP_NODELAY on the
// server, Nagle's algorithm holds the body until the client ACKs the headers, which Linux delays
// by at least 40 ms: every answer on a keep-alive connection took 40 ms or more.
TEST_F(ServeTest, AnswersAreNotHeldBackByNagle) {
  httplib::Client cli("127.0.0.1", port_);
  cli.set_keep_alive(true);
  std::vector<double> ms;
  for (int i = 0; i < 15; i++) {
    const auto t0 = std::chrono::steady_clock::now();
    auto res = cli.Get("/health");
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    ASSERT_EQ(res->status, 200);
  }
  std::sort(ms.begin(), ms.end());
  EXPECT_LT(ms[ms.size() / 2], 20.0) << "median of " << ms.size() << " GET /health on one connection, in ms";
}

// cpp-httplib 0.11 listens with a backlog of 5. When more clients connect at once than its accept
// thread takes in time, Linux drops their SYNs (the client retries after 1 s) or answers with SYN
// cookies whose final ACK it may refuse with a reset, and the client's first request fails with a
// read error (2 of 8,485 requests in a 16-connection load test). Here the connections are made
// before the server accepts anything, so only the backlog holds them: all must complete at once
// and then be answered.
TEST_F(ServeTest, ConnectionsMadeAtOnceAreQueuedAndAnswered) {
  ServeOptions opt;
  opt.port = 0;
  opt.log_requests = false;
  EmbedServer server(*enc_, opt);
  int port = 0;
  ASSERT_TRUE(server.bind(&port).ok());
  constexpr int kConnections = 64;
  std::vector<int> fds;
  std::vector<pollfd> pending;
  for (int i = 0; i < kConnections; i++) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    fds.push_back(fd);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int rc = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ASSERT_TRUE(rc == 0 || errno == EINPROGRESS) << std::strerror(errno);
    pending.push_back({fd, POLLOUT, 0});
  }
  // A handshake on loopback takes microseconds; a dropped SYN is sent again after 1 s.
  int connected = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  while (!pending.empty() && std::chrono::steady_clock::now() < deadline) {
    ASSERT_GE(poll(pending.data(), pending.size(), 50), 0) << std::strerror(errno);
    for (size_t i = 0; i < pending.size();) {
      if (pending[i].revents == 0) {
        i++;
        continue;
      }
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(pending[i].fd, SOL_SOCKET, SO_ERROR, &err, &len);
      EXPECT_EQ(err, 0) << std::strerror(err);
      connected += err == 0;
      pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  EXPECT_EQ(connected, kConnections) << "connections the server's listen backlog held before it accepted";

  std::thread t([&server] { EXPECT_TRUE(server.run().ok()); });
  int answered = 0;
  for (const int fd : fds) {
    bool still_connecting = false;
    for (const pollfd& p : pending) still_connecting |= p.fd == fd;
    if (still_connecting) continue;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    timeval tv{10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const std::string req = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
      ADD_FAILURE() << "send: " << std::strerror(errno);
      continue;
    }
    std::string reply;
    char buf[1024];
    for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;) reply.append(buf, static_cast<size_t>(n));
    EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << "connection " << answered << ": " << reply;
    answered += reply.rfind("HTTP/1.1 200", 0) == 0;
  }
  EXPECT_EQ(answered, kConnections);
  for (const int fd : fds) close(fd);
  server.stop();
  t.join();
}

// The binary as a child: stderr and stdout into `log`.
pid_t spawn(const Strings& args, const std::string& log) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

// The port of "serve: listening on http://127.0.0.1:PORT", or 0 after 30 s without it.
int wait_for_port(const std::string& log) {
  const std::string marker = "listening on http://127.0.0.1:";
  for (int i = 0; i < 3000; i++) {
    const std::string text = test::read_text(log);
    const size_t at = text.find(marker);
    if (at != std::string::npos && text.find('(', at) != std::string::npos)
      return std::atoi(text.c_str() + at + marker.size());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return 0;
}

// Exit status of pid, or -1 if it has not exited within `seconds`.
int wait_exit(pid_t pid, int seconds) {
  for (int i = 0; i < seconds * 100; i++) {
    int st = 0;
    if (waitpid(pid, &st, WNOHANG) == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -1;
}

TEST_F(ServeTest, SigtermFinishesTheRequestInFlightAndExitsZero) {
  const std::string log = dir_->file("serve.log");
  // A long batch wait keeps the request queued while SIGTERM arrives.
  const pid_t pid = spawn({test::embtune_bin(), "--threads", "1", "serve", "--model", model_, "--host", "127.0.0.1",
                           "--port", "0", "--batch-wait-ms", "600", "--served-name", "child"},
                          log);
  ASSERT_GT(pid, 0);
  const int port = wait_for_port(log);
  ASSERT_GT(port, 0) << test::read_text(log);
  Reply r;
  std::thread client([&] { r = post(port, R"({"input": ["the cat sat", "hello world"]})"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  client.join();
  EXPECT_EQ(r.status, 200) << r.body.dump();
  EXPECT_EQ(r.body["model"], "child");
  EXPECT_EQ(r.body["data"].size(), 2u);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(wait_exit(pid, 20), 0) << test::read_text(log);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  const std::string text = test::read_text(log);
  EXPECT_NE(text.find("POST /v1/embeddings 200"), std::string::npos) << text;  // the request log line
  EXPECT_NE(text.find("SIGTERM"), std::string::npos) << text;
  EXPECT_EQ(get(port, "/health").status, 0);  // no longer listening
}

TEST_F(ServeTest, StartUpErrorsExitNonZero) {
  // An unknown prompt name fails at start, not on every request.
  auto r = test::run_command(test::sh_quote(test::embtune_bin()) + " serve --model " + test::sh_quote(model_) +
                             " --port 0 --prompt nosuchprompt");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("nosuchprompt"), std::string::npos) << r.out;
  // The port the in-process server holds is taken (`timeout`: were it bound twice, it would serve).
  r = test::run_command("timeout 30 " + test::sh_quote(test::embtune_bin()) + " serve --model " + test::sh_quote(model_) +
                        " --host 127.0.0.1 --port " + std::to_string(port_));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("cannot listen"), std::string::npos) << r.out;
  r = test::run_command(test::sh_quote(test::embtune_bin()) + " serve --model " + test::sh_quote(dir_->file("nope")) +
                        " --port 0");
  EXPECT_EQ(r.exit_code, 1) << r.out;
}

}  // namespace
}  // namespace embtune
