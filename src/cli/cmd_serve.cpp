// `embtune serve`: an OpenAI-compatible /v1/embeddings server over one model, until SIGTERM/SIGINT.
// Not the server itself (serve/embed_server.cpp): flags, model loading, signals and the exit code.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "cli/commands.h"
#include "core/strings.h"
#include "serve/embed_server.h"

namespace embtune::cli {

namespace {

struct ServeArgs {
  std::string model, prompt, prompt_text;
  bool prompt_text_set = false;
  ServeOptions opt;
};

// The model id a client sees: the directory's (or file's, less .gguf) name for a local path,
// the string as given otherwise (a hub id such as org/name).
std::string default_served_name(const std::string& model) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(model, ec)) return model;
  fs::path p = fs::path(model).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  p = fs::absolute(p, ec);
  std::string name = p.filename().string();
  if (ends_with(name, ".gguf")) name.resize(name.size() - 5);
  return name.empty() ? model : name;
}

int run_serve(ServeArgs& a, const GlobalOptions& g) {
  // Blocked before any thread starts (loading may start OpenMP's): every thread (httplib's
  // workers, the batcher, OpenMP's) inherits the mask, so signals reach only the thread that
  // waits for them and interrupt no system call of the others.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::unique_ptr<SentenceEncoder> enc;
  Status s = SentenceEncoder::load(a.model, &enc);
  if (!s.ok()) return report_error("serve", s);
  ServeOptions opt = a.opt;
  opt.embed.prompt_name = a.prompt;  // as `embed` reads --prompt / --prompt-text
  opt.embed.prompt_text = a.prompt_text;
  opt.embed.has_prompt_text = a.prompt_text_set;
  std::string prompt;
  int32_t prompt_tokens = 0;
  s = enc->resolve_prompt(opt.embed, &prompt, &prompt_tokens);  // an unknown --prompt fails now, not per request
  if (!s.ok()) return report_error("serve", s.wrap(a.model));
  if (opt.served_name.empty()) opt.served_name = default_served_name(a.model);
  opt.threads = g.threads;
  opt.log_requests = !g.quiet;

  EmbedServer server(*enc, opt);
  int port = 0;
  s = server.bind(&port);
  if (!s.ok()) return report_error("serve", s);
  std::fprintf(stderr, "serve: listening on http://%s:%d (model %s, %lld dimensions, max_seq_length %lld)\n",
               opt.host.c_str(), port, opt.served_name.c_str(), (long long)enc->dim(), (long long)enc->max_seq_length());

  std::atomic<bool> done{false};
  std::thread waiter([&server, &done, &signals, &g] {
    const timespec tick{0, 100 * 1000 * 1000};
    int received = 0;
    while (!done.load()) {
      const int sig = sigtimedwait(&signals, nullptr, &tick);
      if (sig <= 0) continue;
      if (++received > 1) {
        std::fprintf(stderr, "serve: second signal, exiting without waiting\n");
        std::_Exit(1);
      }
      if (!g.quiet) std::fprintf(stderr, "serve: %s, finishing requests in flight\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      server.stop();
    }
  });
  s = server.run();
  done.store(true);
  waiter.join();
  if (!s.ok()) return report_error("serve", s);
  if (!g.quiet) std::fprintf(stderr, "serve: stopped\n");
  return 0;
}

}  // namespace

void add_serve_command(CLI::App& app, const GlobalOptions& g) {
  auto a = std::make_shared<ServeArgs>();
  a->opt.served_name.clear();
  CLI::App* sub = app.add_subcommand("serve", "Serve a model over an OpenAI-compatible /v1/embeddings HTTP API");
  sub->add_option("--model", a->model, "Model: a directory (sentence-transformers / Hugging Face layout), a .gguf file or a hub id org/name[@revision]")->required();
  sub->add_option("--host", a->opt.host, "Address to listen on");
  sub->add_option("--port", a->opt.port, "Port to listen on (0: any free port, printed at start)")
      ->check(CLI::Range(0, 65535));
  sub->add_option("--served-name", a->opt.served_name, "Model id of /v1/models and responses (default: the model's directory name)");
  sub->add_option("--prompt", a->prompt, "Prompt name from the model's config_sentence_transformers.json, for every input");
  sub->add_option("--prompt-text", a->prompt_text, "Literal prompt text prepended to every input (wins over --prompt)")
      ->each([a](const std::string&) { a->prompt_text_set = true; });
  sub->add_option("--max-inputs", a->opt.max_inputs, "Most texts in one request")->check(CLI::PositiveNumber);
  sub->add_option("--max-request-tokens", a->opt.max_request_tokens,
                  "Most tokens in one request, counted after truncation to max_seq_length")
      ->check(CLI::PositiveNumber);
  sub->add_option("--max-batch-tokens", a->opt.max_batch_tokens,
                  "Tokens the batcher gathers from concurrent requests for one forward pass")
      ->check(CLI::PositiveNumber);
  sub->add_option("--max-body-bytes", a->opt.max_body_bytes, "Largest request body (413 beyond)")->check(CLI::PositiveNumber);
  sub->add_option("--batch-wait-ms", a->opt.batch_wait_ms, "How long a request waits for others to batch with")
      ->check(CLI::Range(0, 10000));
  sub->add_option("--http-threads", a->opt.http_threads, "HTTP worker threads: connections served at once")
      ->check(CLI::Range(1, 1024));
  on_parsed(sub, [a, &g]() { return run_serve(*a, g); });
}

}  // namespace embtune::cli
