// What every subcommand shares: running on parse with an exit code, and printing errors.
// Not a command itself.
#include "cli/commands.h"

#include <cstdio>

#include "core/progress.h"
#include "eval/embed_cache.h"

namespace embtune::cli {

std::string cache_dir_from_flags(const std::string& cache_dir, bool no_cache) {
  if (no_cache) return "";
  return cache_dir.empty() ? embed_cache_default_dir() : cache_dir;
}

void on_parsed(CLI::App* sub, std::function<int()> run) {
  sub->callback([run = std::move(run)]() {
    int rc = run();
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

Status embed_input_file(const std::string& model, const std::string& input, const TextInputOptions& in,
                        EmbedOptions eo, const GlobalOptions& g, EmbeddedFile* out) {
  ET_RETURN_IF_ERROR(read_texts(input, in, &out->texts));
  ET_RETURN_IF_ERROR(SentenceEncoder::load(model, &out->encoder));
  Progress bar("embed", static_cast<int64_t>(out->texts.size()), "texts", !g.quiet);
  eo.progress = [&bar](int64_t done, int64_t) { bar.update(done); };
  ET_RETURN_IF_ERROR(out->encoder->embed(out->texts, eo, &out->embeddings).wrap(input));
  bar.finish();
  return Status::ok_status();
}

int report_error(const std::string& command, const Status& s) {
  std::fprintf(stderr, "embtune %s: error: %s\n", command.c_str(), s.message().c_str());
  return 1;
}

}  // namespace embtune::cli
