// An OpenAI-compatible embedding server over one loaded SentenceEncoder: POST /v1/embeddings,
// GET /v1/models, GET /health, with dynamic batching of concurrent requests.
// Not a general HTTP framework, and not signal handling: the caller decides when to stop().
//
//   std::unique_ptr<SentenceEncoder> enc;  // SentenceEncoder::load(...)
//   ServeOptions opt;                      // port 0 = any free port
//   EmbedServer server(*enc, opt);
//   int port;
//   ET_RETURN_IF_ERROR(server.bind(&port));
//   std::thread t([&] { (void)server.run(); });  // serves until stop()
//   ...
//   server.stop();                          // async-signal-safe; run() returns once in-flight
//   t.join();                               // requests have been answered
//
// Threads: HTTP workers parse and validate a request and tokenize it (one OpenMP thread each, to
// count tokens and enforce limits), then queue it and wait. One batcher thread takes what is
// queued, up to max_batch_tokens, embeds all of it with one SentenceEncoder::embed call (the only
// caller of embed, so its OpenMP team is the only one doing model maths) and answers each request.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "model/sentence_encoder.h"

namespace embtune {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                      // 0: any free port (bind() reports which)
  std::string served_name = "model";   // the model id of /v1/models and of responses
  EmbedOptions embed;                   // prompt for every input; batch_tokens packs the forward
  int64_t max_inputs = 2048;            // texts per request (OpenAI's limit)
  int64_t max_request_tokens = 65536;   // tokens per request after truncation to max_seq_length
  int64_t max_batch_tokens = 16384;     // tokens the batcher gathers per embed call
  int64_t max_body_bytes = 8 << 20;     // request body size
  int batch_wait_ms = 2;                // how long a lone request waits for company
  int http_threads = 32;                // HTTP workers = connections served at once
  int threads = 0;                      // OpenMP threads of the batcher; 0: OpenMP's default
  bool log_requests = true;             // one line per request on stderr
};

// Counters since start: requests embedded and the embed calls that did it (fewer calls than
// requests means concurrent requests were batched together).
struct ServeStats {
  int64_t requests = 0;
  int64_t batches = 0;
};

class EmbedServer {
 public:
  EmbedServer(const SentenceEncoder& encoder, ServeOptions opt);
  ~EmbedServer();
  EmbedServer(const EmbedServer&) = delete;
  EmbedServer& operator=(const EmbedServer&) = delete;

  // Binds host:port; *port receives the port bound (useful with port 0).
  Status bind(int* port);
  // Serves until stop(): blocks, then waits for the requests in flight and returns.
  Status run();
  // Asks run() to stop accepting and return; callable from any thread, before or during run(),
  // and from a signal handler (it only stores a flag).
  void stop() { stop_requested_.store(true); }
  ServeStats stats() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> stop_requested_{false};
};

// The little-endian float32 bytes of v, base64-encoded (OpenAI's encoding_format "base64").
std::string base64_encode_f32(const float* v, int64_t n);
// The reverse; false when `text` is not base64 of a whole number of float32s.
bool base64_decode_f32(const std::string& text, std::vector<float>* out);

}  // namespace embtune
