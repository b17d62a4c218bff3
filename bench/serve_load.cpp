// Load generator for `embtune serve`: N client threads, each with its own keep-alive connection,
// POST /v1/embeddings back to back for a fixed time; prints one JSON line with requests/s,
// latency percentiles and errors. Not a test: nothing is asserted (bench/run_serve_bench.sh).
//
// A request that fails on a reused keep-alive connection before any byte of the answer came
// back (the server closed the connection as the request went out) is sent once more on a new
// connection, as HTTP clients do; such retries are counted apart ("retries") and each is logged
// on stderr, as is every error, with the connection's history (reused or new, requests on it,
// idle time before the request).
//
// Usage: serve_load --port P [--host H] [--connections 16] [--seconds 60] [--inputs 1]
#include <arpa/inet.h>
#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

// Sentences of 5 to 30 words, so that requests differ in length as real traffic does.
std::string sentence(unsigned seed) {
  static const char* const kWords[] = {"the",     "model",  "embeds",   "short",  "queries", "and",    "long",
                                       "passages", "about", "search",   "ranking", "with",   "vectors", "of",
                                       "numbers", "that",   "capture",  "meaning", "in",     "a",       "space"};
  const unsigned n = 5 + seed % 26;
  std::string s;
  for (unsigned i = 0; i < n; i++) {
    if (i) s += ' ';
    s += kWords[(seed * 2654435761u + i * 40503u) % (sizeof kWords / sizeof kWords[0])];
  }
  return s;
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5));
  std::nth_element(v.begin(), v.begin() + k, v.end());
  return v[k];
}

// The local port of the client's socket (to match the server's log), or -1.
int local_port(const httplib::Client& cli) {
  const auto sock = cli.socket();
  if (sock == INVALID_SOCKET) return -1;
  sockaddr_storage a{};
  socklen_t n = sizeof a;
  if (getsockname(sock, reinterpret_cast<sockaddr*>(&a), &n) != 0) return -1;
  if (a.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&a)->sin_port);
  if (a.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&a)->sin6_port);
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int port = 0, connections = 16, inputs = 1;
  double seconds = 60;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--host") host = argv[i + 1];
    else if (k == "--port") port = std::atoi(argv[i + 1]);
    else if (k == "--connections") connections = std::atoi(argv[i + 1]);
    else if (k == "--seconds") seconds = std::atof(argv[i + 1]);
    else if (k == "--inputs") inputs = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "serve_load: unknown flag %s\n", k.c_str());
      return 2;
    }
  }
  if (port <= 0 || connections <= 0 || inputs <= 0 || seconds <= 0) {
    std::fprintf(stderr, "usage: serve_load --port P [--host H] [--connections 16] [--seconds 60] [--inputs 1]\n");
    return 2;
  }

  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<double> latencies_ms;
  int64_t errors = 0, retries = 0, tokens = 0;
  std::string first_error;
  const Clock::time_point start = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; c++) {
    threads.emplace_back([&, c] {
      httplib::Client cli(host, port);
      cli.set_keep_alive(true);
      // httplib sends a request's headers and body with two send()s; without TCP_NODELAY the body
      // waits for the server's delayed ACK of the headers (40 ms). Clients that send a request
      // in one write (Python's http.client) never wait so; neither should the load test.
      cli.set_tcp_nodelay(true);
      cli.set_read_timeout(60, 0);
      std::vector<double> mine;
      int64_t my_errors = 0, my_tokens = 0, my_retries = 0;
      std::string my_error;
      int64_t on_conn = 0;  // requests answered on the current connection
      Clock::time_point prev_done = Clock::now();
      for (unsigned r = 0; !stop.load(); r++) {
        nlohmann::json texts = nlohmann::json::array();
        for (int i = 0; i < inputs; i++) texts.push_back(sentence(c * 100003u + r * 17u + i));
        httplib::Request req;
        req.method = "POST";
        req.path = "/v1/embeddings";
        req.body = nlohmann::json{{"input", texts}, {"model", "bench"}}.dump();
        req.set_header("Content-Type", "application/json");
        bool answered = false;  // the status line and headers came back
        req.response_handler = [&answered](const httplib::Response&) {
          answered = true;
          return true;
        };
        const Clock::time_point t0 = Clock::now();
        httplib::Result res{nullptr, httplib::Error::Unknown};
        for (int attempt = 0;; attempt++) {
          const bool reused = cli.is_socket_open() != 0;
          const int port_before = local_port(cli);
          const Clock::time_point a0 = Clock::now();
          answered = false;
          res = cli.send(req);
          if (res) break;
          const double idle_ms = std::chrono::duration<double, std::milli>(a0 - prev_done).count();
          const double took_ms = std::chrono::duration<double, std::milli>(Clock::now() - a0).count();
          const double at_s = std::chrono::duration<double>(a0 - start).count();
          const double unix_s = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
          const bool retry = attempt == 0 && reused && !answered &&
                             (res.error() == httplib::Error::Read || res.error() == httplib::Error::Write);
          std::fprintf(stderr,
                       "serve_load: conn %d local port %d: %s (error %d) at %.3f s (unix %.3f), %s connection after %lld "
                       "requests on it, idle %.1f ms before the request, failed after %.1f ms, answer %s; %s\n",
                       c, port_before, httplib::to_string(res.error()).c_str(), static_cast<int>(res.error()), at_s, unix_s,
                       reused ? "reused" : "new", static_cast<long long>(on_conn), idle_ms, took_ms,
                       answered ? "begun" : "not begun", retry ? "retrying on a new connection" : "counted as an error");
          on_conn = 0;
          if (!retry) break;
          my_retries++;
          cli.stop();  // drop the dead connection; the retry connects anew
        }
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        prev_done = Clock::now();
        bool ok = res && res->status == 200;
        if (res) on_conn++;
        if (ok) {
          const auto j = nlohmann::json::parse(res->body, nullptr, false);
          ok = j.is_object() && j.contains("data") && j["data"].size() == static_cast<size_t>(inputs);
          if (ok) my_tokens += j["usage"]["prompt_tokens"].get<int64_t>();
        }
        if (ok) {
          mine.push_back(ms);
        } else {
          my_errors++;
          if (my_error.empty())
            my_error = res ? "HTTP " + std::to_string(res->status) + ": " + res->body.substr(0, 200)
                           : "transport: " + httplib::to_string(res.error());
        }
        if (res && res->get_header_value("Connection") == "close") on_conn = 0;
      }
      std::lock_guard<std::mutex> lock(mu);
      latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
      errors += my_errors;
      retries += my_retries;
      tokens += my_tokens;
      if (first_error.empty()) first_error = my_error;
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop.store(true);
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();

  const size_t ok = latencies_ms.size();
  double mean = 0;
  for (double x : latencies_ms) mean += x;
  mean = ok ? mean / ok : 0;
  nlohmann::json out = {{"connections", connections},
                        {"inputs_per_request", inputs},
                        {"seconds", elapsed},
                        {"requests", ok + errors},
                        {"errors", errors},
                        {"retries", retries},
                        {"requests_per_s", ok / elapsed},
                        {"tokens_per_s", tokens / elapsed},
                        {"mean_ms", mean},
                        {"p50_ms", percentile(latencies_ms, 0.50)},
                        {"p90_ms", percentile(latencies_ms, 0.90)},
                        {"p99_ms", percentile(latencies_ms, 0.99)},
                        {"max_ms", percentile(latencies_ms, 1.0)}};
  if (!first_error.empty()) out["first_error"] = first_error;
  std::printf("%s\n", out.dump().c_str());
  return errors == 0 ? 0 : 1;
}
