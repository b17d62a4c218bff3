// The OpenAI-compatible embedding server: request validation, OpenAI-style error bodies, the
// dynamic batcher and the HTTP routes (cpp-httplib). Not the command line (cli/cmd_serve.cpp).
#include "serve/embed_server.h"

#include <httplib.h>
#include <omp.h>
#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

namespace embtune {

namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

// An OpenAI-style error: {"error": {"message", "type", "param", "code"}}; an empty param or code
// is written as null.
struct ApiError {
  int status = 400;
  std::string message, type = "invalid_request_error", param, code;
};

std::string error_body(const ApiError& e) {
  json err = {{"message", e.message}, {"type", e.type}, {"param", nullptr}, {"code", nullptr}};
  if (!e.param.empty()) err["param"] = e.param;
  if (!e.code.empty()) err["code"] = e.code;
  return json{{"error", err}}.dump();
}

ApiError bad_request(std::string message, std::string param, std::string code) {
  ApiError e;
  e.message = std::move(message);
  e.param = std::move(param);
  e.code = std::move(code);
  return e;
}

const char* json_type_name(const json& j) {
  switch (j.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer";
    case json::value_t::number_float: return "a number";
    case json::value_t::string: return "a string";
    case json::value_t::array: return "an array";
    case json::value_t::object: return "an object";
    default: return "an unsupported value";
  }
}

struct EmbeddingRequest {
  std::vector<std::string> texts;
  bool base64 = false;
  int64_t dimensions = 0;  // 0: the model's
};

// Checks everything but token counts; false with *err set on the first problem.
bool parse_embedding_request(const std::string& body, const ServeOptions& opt, int64_t dim, EmbeddingRequest* r,
                             ApiError* err) {
  json j;
  try {
    j = json::parse(body);
  } catch (const json::parse_error& e) {
    *err = bad_request(std::string("the request body is not valid JSON: ") + e.what(), "", "invalid_json");
    return false;
  }
  if (!j.is_object()) {
    *err = bad_request(std::string("the request body must be a JSON object, not ") + json_type_name(j), "", "invalid_type");
    return false;
  }
  auto in = j.find("input");
  if (in == j.end() || in->is_null()) {
    *err = bad_request("missing required parameter: 'input'", "input", "missing_required_parameter");
    return false;
  }
  if (in->is_string()) {
    r->texts.push_back(in->get<std::string>());
  } else if (in->is_array()) {
    if (in->empty()) {
      *err = bad_request("'input' is an empty list; send at least one string", "input", "empty_input");
      return false;
    }
    if (static_cast<int64_t>(in->size()) > opt.max_inputs) {
      *err = bad_request("'input' holds " + std::to_string(in->size()) + " items; this server takes at most " +
                             std::to_string(opt.max_inputs) + " per request (--max-inputs)",
                         "input", "too_many_inputs");
      return false;
    }
    r->texts.reserve(in->size());
    for (size_t i = 0; i < in->size(); i++) {
      const json& x = (*in)[i];
      const std::string param = "input[" + std::to_string(i) + "]";
      if (x.is_number_integer() || x.is_number_unsigned() || x.is_array()) {
        *err = bad_request("token-id input (arrays of integers) is not supported by this server; send the texts as "
                           "strings",
                           param, "unsupported_input");
        return false;
      }
      if (!x.is_string()) {
        *err = bad_request(param + " must be a string, not " + json_type_name(x), param, "invalid_type");
        return false;
      }
      r->texts.push_back(x.get<std::string>());
    }
  } else {
    *err = bad_request(std::string("'input' must be a string or a list of strings, not ") + json_type_name(*in), "input",
                       "invalid_type");
    return false;
  }
  for (size_t i = 0; i < r->texts.size(); i++) {
    if (!r->texts[i].empty()) continue;
    const std::string param = in->is_string() ? "input" : "input[" + std::to_string(i) + "]";
    *err = bad_request(param + " is an empty string; every input must hold some text", param, "empty_input");
    return false;
  }
  auto model = j.find("model");
  if (model != j.end() && !model->is_null() && !model->is_string()) {
    *err = bad_request(std::string("'model' must be a string, not ") + json_type_name(*model), "model", "invalid_type");
    return false;
  }
  auto fmt = j.find("encoding_format");
  if (fmt != j.end() && !fmt->is_null()) {
    if (!fmt->is_string()) {
      *err = bad_request(std::string("'encoding_format' must be a string, not ") + json_type_name(*fmt),
                         "encoding_format", "invalid_type");
      return false;
    }
    const std::string f = fmt->get<std::string>();
    if (f != "float" && f != "base64") {
      *err = bad_request("'encoding_format' is \"" + f + "\"; it must be \"float\" or \"base64\"", "encoding_format",
                         "invalid_encoding_format");
      return false;
    }
    r->base64 = f == "base64";
  }
  auto dims = j.find("dimensions");
  if (dims != j.end() && !dims->is_null()) {
    if (!dims->is_number_integer() && !dims->is_number_unsigned()) {
      *err = bad_request(std::string("'dimensions' must be an integer, not ") + json_type_name(*dims), "dimensions",
                         "invalid_type");
      return false;
    }
    const bool negative = dims->is_number_integer() && dims->get<int64_t>() < 1;
    if (negative || dims->get<uint64_t>() > static_cast<uint64_t>(dim)) {
      *err = bad_request("'dimensions' is " + dims->dump() + "; it must be between 1 and the model's " +
                             std::to_string(dim),
                         "dimensions", "invalid_dimensions");
      return false;
    }
    r->dimensions = dims->get<int64_t>();
  }
  return true;
}

// Work for the batcher: one request's texts; the batcher fills `embeddings` (texts x dim) and
// completes `done`.
struct Job {
  std::vector<std::string> texts;
  int64_t tokens = 0;
  Clock::time_point queued;
  std::vector<float> embeddings;
  std::promise<Status> done;
};

// Shortest text that reads back as the same float32 (as `embtune embed` writes JSONL).
void append_float(std::string* out, float v) {
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, res.ptr);
}

// Keeps the first `dims` of each `dim`-long row, rescaled to unit length when `renormalize`.
std::vector<float> truncate_rows(const std::vector<float>& e, int64_t rows, int64_t dim, int64_t dims, bool renormalize) {
  std::vector<float> out(static_cast<size_t>(rows * dims));
  for (int64_t r = 0; r < rows; r++) {
    const float* src = e.data() + r * dim;
    float* dst = out.data() + r * dims;
    double ss = 0;
    for (int64_t c = 0; c < dims; c++) ss += static_cast<double>(src[c]) * src[c];
    const double scale = renormalize && ss > 0 ? 1.0 / std::sqrt(ss) : 1.0;
    for (int64_t c = 0; c < dims; c++) dst[c] = static_cast<float>(src[c] * scale);
  }
  return out;
}

const char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace

std::string base64_encode_f32(const float* v, int64_t n) {
  // float32 little-endian bytes, independent of the host's byte order.
  std::vector<unsigned char> bytes(static_cast<size_t>(n * 4));
  for (int64_t i = 0; i < n; i++) {
    uint32_t u;
    std::memcpy(&u, &v[i], 4);
    for (int b = 0; b < 4; b++) bytes[i * 4 + b] = static_cast<unsigned char>(u >> (8 * b));
  }
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const uint32_t a = bytes[i], b = i + 1 < bytes.size() ? bytes[i + 1] : 0, c = i + 2 < bytes.size() ? bytes[i + 2] : 0;
    const uint32_t t = (a << 16) | (b << 8) | c;
    out += kBase64[(t >> 18) & 63];
    out += kBase64[(t >> 12) & 63];
    out += i + 1 < bytes.size() ? kBase64[(t >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kBase64[t & 63] : '=';
  }
  return out;
}

bool base64_decode_f32(const std::string& text, std::vector<float>* out) {
  if (text.size() % 4 != 0) return false;
  std::vector<unsigned char> bytes;
  bytes.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    uint32_t t = 0;
    int pad = 0;
    for (int k = 0; k < 4; k++) {
      const char ch = text[i + k];
      const char* p = ch == '=' ? nullptr : std::strchr(kBase64, ch);
      if (ch == '=') {
        if (i + 4 != text.size() || k < 2) return false;
        pad++;
      } else if (p == nullptr || ch == '\0' || pad) {
        return false;
      }
      t = (t << 6) | (p ? static_cast<uint32_t>(p - kBase64) : 0);
    }
    bytes.push_back(static_cast<unsigned char>(t >> 16));
    if (pad < 2) bytes.push_back(static_cast<unsigned char>(t >> 8));
    if (pad < 1) bytes.push_back(static_cast<unsigned char>(t));
  }
  if (bytes.size() % 4 != 0) return false;
  out->resize(bytes.size() / 4);
  for (size_t i = 0; i < out->size(); i++) {
    const uint32_t u = bytes[i * 4] | (bytes[i * 4 + 1] << 8) | (bytes[i * 4 + 2] << 16) |
                       (static_cast<uint32_t>(bytes[i * 4 + 3]) << 24);
    std::memcpy(&(*out)[i], &u, 4);
  }
  return true;
}

struct EmbedServer::Impl {
  Impl(const SentenceEncoder& e, ServeOptions o) : enc(e), opt(std::move(o)) {}

  const SentenceEncoder& enc;
  ServeOptions opt;
  httplib::Server http;
  int listen_fd = -1;  // the listening socket, seen by the socket-options callback
  int64_t created = 0;
  std::string bound;  // host:port, for messages

  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::shared_ptr<Job>> queue;  // guarded by mu
  int64_t queued_tokens = 0;               // guarded by mu
  bool batcher_stop = false;               // guarded by mu
  ServeStats stats;                        // guarded by mu

  void setup_routes();
  void handle_embeddings(const httplib::Request& req, httplib::Response& res);
  void batcher_loop();
  void embed_jobs(std::vector<std::shared_ptr<Job>>& jobs);
};

void EmbedServer::Impl::setup_routes() {
  const size_t workers = static_cast<size_t>(std::max(1, opt.http_threads));
  http.new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, with which a second server on the
  // same port would bind too and silently take half of the connections. The callback sees the
  // listening socket before httplib binds it; bind() widens its backlog afterwards.
  http.set_socket_options([this](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listen_fd = sock;
  });
  // httplib writes a response's headers and body with two send()s: with Nagle's algorithm the body
  // waits for the client's ACK of the headers, which the client delays (40 ms on Linux).
  // Accepted sockets inherit TCP_NODELAY from the listening one.
  http.set_tcp_nodelay(true);
  http.set_payload_max_length(static_cast<size_t>(opt.max_body_bytes));
  http.set_keep_alive_max_count(1000);
  // Idle keep-alive connections hold shutdown up to this long.
  http.set_keep_alive_timeout(2);

  http.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", "application/json");
  });
  http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    const json j = {{"object", "list"},
                    {"data", {{{"id", opt.served_name}, {"object", "model"}, {"created", created}, {"owned_by", "embtune"}}}}};
    res.set_content(j.dump(), "application/json");
  });
  http.Post("/v1/embeddings",
            [this](const httplib::Request& req, httplib::Response& res) { handle_embeddings(req, res); });

  // Bodies for the errors httplib itself answers (unknown route, body too large).
  http.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    ApiError e;
    e.status = res.status;
    if (res.status == 404) {
      e.message = "unknown request URL: " + req.method + " " + req.path + " (this server answers POST /v1/embeddings, "
                  "GET /v1/models and GET /health)";
      e.code = "unknown_url";
    } else if (res.status == 413) {
      // httplib caps form-encoded bodies (curl -d's default type) at 8 KiB, whatever the limit.
      if (req.get_header_value("Content-Type") == "application/x-www-form-urlencoded" &&
          static_cast<int64_t>(req.body.size()) <= opt.max_body_bytes)
        e.message = "a body sent as application/x-www-form-urlencoded may hold at most 8192 bytes; send the JSON "
                    "with Content-Type: application/json";
      else
        e.message = "the request body is larger than this server takes (" + std::to_string(opt.max_body_bytes) +
                    " bytes, --max-body-bytes)";
      e.code = "payload_too_large";
    } else {
      e.message = "HTTP status " + std::to_string(res.status) + " for " + req.method + " " + req.path;
      if (res.status >= 500) e.type = "server_error";
    }
    res.set_content(error_body(e), "application/json");
    return httplib::Server::HandlerResponse::Handled;
  }));

  if (opt.log_requests) {
    // A worker handles one request at a time from routing to logging, so a thread_local start
    // time is the request's.
    static thread_local Clock::time_point started;
    http.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
      started = Clock::now();
      return httplib::Server::HandlerResponse::Unhandled;
    });
    http.set_logger([](const httplib::Request& req, const httplib::Response& res) {
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
      char line[512];
      std::snprintf(line, sizeof line, "serve: %s:%d %s %s %d %zu bytes %.1f ms\n", req.remote_addr.c_str(),
                    req.remote_port, req.method.c_str(), req.path.c_str(), res.status, res.body.size(), ms);
      std::fputs(line, stderr);
    });
  }
}

void EmbedServer::Impl::handle_embeddings(const httplib::Request& req, httplib::Response& res) {
  // Tokenizing here runs in this worker alone: the batcher's OpenMP team owns the cores.
  omp_set_num_threads(1);
  auto fail = [&res](const ApiError& e) {
    res.status = e.status;
    res.set_content(error_body(e), "application/json");
  };
  const int64_t dim = enc.dim();
  EmbeddingRequest r;
  ApiError err;
  if (!parse_embedding_request(req.body, opt, dim, &r, &err)) return fail(err);

  std::vector<Encoding> encs;
  int32_t prompt_tokens = 0;
  Status s = enc.tokenize(r.texts, opt.embed, &encs, &prompt_tokens);
  if (!s.ok()) {
    ApiError e;
    e.status = 500;
    e.type = "server_error";
    e.message = s.message();
    return fail(e);
  }
  auto job = std::make_shared<Job>();
  for (const Encoding& e : encs) job->tokens += static_cast<int64_t>(e.ids.size());
  if (job->tokens > opt.max_request_tokens)
    return fail(bad_request("the inputs come to " + std::to_string(job->tokens) +
                                " tokens (after truncation to the model's " + std::to_string(enc.max_seq_length()) +
                                " per input); this server takes at most " + std::to_string(opt.max_request_tokens) +
                                " per request (--max-request-tokens)",
                            "input", "too_many_tokens"));
  job->texts = std::move(r.texts);
  job->queued = Clock::now();
  std::future<Status> done = job->done.get_future();
  {
    std::lock_guard<std::mutex> lock(mu);
    queue.push_back(job);
    queued_tokens += job->tokens;
  }
  cv.notify_one();
  s = done.get();
  if (!s.ok()) {
    ApiError e;
    e.status = 500;
    e.type = "server_error";
    e.message = "embedding failed: " + s.message();
    return fail(e);
  }

  const int64_t rows = static_cast<int64_t>(job->texts.size());
  const int64_t dims = r.dimensions > 0 ? r.dimensions : dim;
  std::vector<float> cut;
  const float* e = job->embeddings.data();
  if (dims != dim) {
    cut = truncate_rows(job->embeddings, rows, dim, dims, enc.normalizes());
    e = cut.data();
  }
  std::string out;
  out.reserve(static_cast<size_t>(rows * (r.base64 ? dims * 4 / 3 + 64 : dims * 12 + 64) + 256));
  out += R"({"object":"list","data":[)";
  for (int64_t i = 0; i < rows; i++) {
    if (i) out += ',';
    out += R"({"object":"embedding","index":)";
    out += std::to_string(i);
    out += R"(,"embedding":)";
    const float* row = e + i * dims;
    if (r.base64) {
      out += '"';
      out += base64_encode_f32(row, dims);
      out += '"';
    } else {
      out += '[';
      for (int64_t c = 0; c < dims; c++) {
        if (c) out += ',';
        append_float(&out, row[c]);
      }
      out += ']';
    }
    out += '}';
  }
  out += R"(],"model":)";
  out += json(opt.served_name).dump();
  const std::string n = std::to_string(job->tokens);
  out += R"(,"usage":{"prompt_tokens":)" + n + R"(,"total_tokens":)" + n + "}}";
  res.set_content(out, "application/json");
}

void EmbedServer::Impl::embed_jobs(std::vector<std::shared_ptr<Job>>& jobs) {
  std::vector<std::string> texts;
  for (const auto& j : jobs) texts.insert(texts.end(), j->texts.begin(), j->texts.end());
  std::vector<float> all;
  Status s = enc.embed(texts, opt.embed, &all);
  if (s.ok()) {
    const int64_t dim = enc.dim();
    size_t at = 0;
    for (const auto& j : jobs) {
      const size_t n = j->texts.size() * static_cast<size_t>(dim);
      j->embeddings.assign(all.begin() + at, all.begin() + at + n);
      at += n;
      j->done.set_value(Status::ok_status());
    }
    return;
  }
  // One bad request must not fail the others gathered with it: each alone, then.
  for (const auto& j : jobs) {
    Status one = jobs.size() == 1 ? s : enc.embed(j->texts, opt.embed, &j->embeddings);
    j->done.set_value(one);
  }
}

void EmbedServer::Impl::batcher_loop() {
  if (opt.threads > 0) omp_set_num_threads(opt.threads);  // OpenMP's thread count is per thread
  std::unique_lock<std::mutex> lock(mu);
  for (;;) {
    cv.wait(lock, [this] { return batcher_stop || !queue.empty(); });
    if (queue.empty()) return;  // stopping, nothing left
    // Gather: wait until the oldest request has waited batch_wait_ms or the budget is full.
    const Clock::time_point deadline = queue.front()->queued + std::chrono::milliseconds(opt.batch_wait_ms);
    while (!batcher_stop && queued_tokens < opt.max_batch_tokens && Clock::now() < deadline)
      cv.wait_until(lock, deadline);
    std::vector<std::shared_ptr<Job>> jobs;
    int64_t tokens = 0;
    while (!queue.empty() && (jobs.empty() || tokens + queue.front()->tokens <= opt.max_batch_tokens)) {
      tokens += queue.front()->tokens;
      queued_tokens -= queue.front()->tokens;
      jobs.push_back(std::move(queue.front()));
      queue.pop_front();
    }
    stats.requests += static_cast<int64_t>(jobs.size());
    stats.batches++;
    lock.unlock();
    embed_jobs(jobs);
    lock.lock();
  }
}

EmbedServer::EmbedServer(const SentenceEncoder& encoder, ServeOptions opt)
    : impl_(std::make_unique<Impl>(encoder, std::move(opt))) {
  impl_->created = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  impl_->setup_routes();
}

EmbedServer::~EmbedServer() = default;

ServeStats EmbedServer::stats() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->stats;
}

Status EmbedServer::bind(int* port) {
  const ServeOptions& o = impl_->opt;
  int p = o.port;
  if (o.port == 0) {
    p = impl_->http.bind_to_any_port(o.host);
  } else if (!impl_->http.bind_to_port(o.host, o.port)) {
    p = -1;
  }
  if (p <= 0)
    return make_error("%s:%d: cannot listen there (is the port in use, or the host not an address of this machine?)",
                      o.host.c_str(), o.port);
  impl_->bound = o.host + ":" + std::to_string(p);
  // cpp-httplib 0.11 listens with a backlog of 5 (CPPHTTPLIB_LISTEN_BACKLOG, fixed when Debian
  // built the library). When more clients connect at once than the accept thread takes in time,
  // Linux drops their SYNs (a 1 s retransmit) or answers with SYN cookies whose final ACK it may
  // then refuse with a reset: the client's first request fails with a read error. listen() on a
  // listening socket only changes its backlog; SOMAXCONN is capped by net.core.somaxconn.
  if (impl_->listen_fd < 0 || ::listen(impl_->listen_fd, SOMAXCONN) != 0)
    return make_error("%s: cannot widen the listen backlog: %s", impl_->bound.c_str(),
                      impl_->listen_fd < 0 ? "the listening socket was not seen" : std::strerror(errno));
  *port = p;
  return Status::ok_status();
}

Status EmbedServer::run() {
  Impl& im = *impl_;
  std::thread batcher([&im] { im.batcher_loop(); });
  std::atomic<bool> listen_done{false};
  // stop() only sets a flag (so a signal handler may call it); this thread turns it into
  // httplib's stop once the server runs.
  std::thread watcher([this, &im, &listen_done] {
    while (!listen_done.load()) {
      if (stop_requested_.load() && im.http.is_running()) {
        im.http.stop();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  // Returns once the listening socket is closed and every worker has answered its request.
  const bool ok = im.http.listen_after_bind();
  listen_done.store(true);
  watcher.join();
  {
    std::lock_guard<std::mutex> lock(im.mu);
    im.batcher_stop = true;
  }
  im.cv.notify_one();
  batcher.join();
  if (!ok && !stop_requested_.load()) return make_error("%s: the server stopped accepting connections", im.bound.c_str());
  return Status::ok_status();
}

}  // namespace embtune
