// Load generator for `embtune serve`: N client threads, each with its own keep-alive connection,
// POST /v1/embeddings back to back for a fixed time; prints one JSON line with requests/s,
// latency percentiles and errors. Not a test: nothing is asserted (bench/run_serve_bench.sh).
//
// Usage: serve_load --port P [--host H] [--connections 16] [--seconds 60] [--inputs 1]
#include <httplib.h>

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
  int64_t errors = 0, tokens = 0;
  std::string first_error;
  const Clock::time_point start = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; c++) {
    threads.emplace_back([&, c] {
      httplib::Client cli(host, port);
      cli.set_keep_alive(true);
      cli.set_read_timeout(60, 0);
      std::vector<double> mine;
      int64_t my_errors = 0, my_tokens = 0;
      std::string my_error;
      for (unsigned r = 0; !stop.load(); r++) {
        nlohmann::json texts = nlohmann::json::array();
        for (int i = 0; i < inputs; i++) texts.push_back(sentence(c * 100003u + r * 17u + i));
        const std::string body = nlohmann::json{{"input", texts}, {"model", "bench"}}.dump();
        const Clock::time_point t0 = Clock::now();
        auto res = cli.Post("/v1/embeddings", body, "application/json");
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        bool ok = res && res->status == 200;
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
      }
      std::lock_guard<std::mutex> lock(mu);
      latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
      errors += my_errors;
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
