// The subcommands of the embtune tool: each file cmd_*.cpp registers one with CLI11.
// Not library code: commands parse flags, call the library and print; no maths here.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "io/text_input.h"
#include "model/sentence_encoder.h"

namespace embtune::cli {

struct GlobalOptions {
  int threads = 0;     // 0: OpenMP's default (all cores)
  bool quiet = false;  // no progress bars
};

void add_init_command(CLI::App& app, const GlobalOptions& g);
void add_embed_command(CLI::App& app, const GlobalOptions& g);
void add_info_command(CLI::App& app, const GlobalOptions& g);
void add_tokenize_command(CLI::App& app, const GlobalOptions& g);
void add_bench_command(CLI::App& app, const GlobalOptions& g);
void add_neighbors_command(CLI::App& app, const GlobalOptions& g);
void add_train_command(CLI::App& app, const GlobalOptions& g);
void add_eval_command(CLI::App& app, const GlobalOptions& g);
void add_check_leakage_command(CLI::App& app, const GlobalOptions& g);
void add_mine_command(CLI::App& app, const GlobalOptions& g);
void add_prepare_command(CLI::App& app, const GlobalOptions& g);
void add_pairs_command(CLI::App& app, const GlobalOptions& g);
void add_export_command(CLI::App& app, const GlobalOptions& g);
void add_download_command(CLI::App& app, const GlobalOptions& g);
void add_serve_command(CLI::App& app, const GlobalOptions& g);
void add_train_tokenizer_command(CLI::App& app, const GlobalOptions& g);

// Runs `run` when `sub` is parsed; a non-zero result becomes the process's exit code.
void on_parsed(CLI::App* sub, std::function<int()> run);

// What embed_input_file gives back: the texts, the model that embedded them, and texts x dim floats.
struct EmbeddedFile {
  std::vector<std::string> texts;
  std::unique_ptr<SentenceEncoder> encoder;
  std::vector<float> embeddings;
};
// Reads `input`, loads the model directory and embeds every text with a progress bar; errors
// name the file.
Status embed_input_file(const std::string& model, const std::string& input, const TextInputOptions& in,
                        EmbedOptions eo, const GlobalOptions& g, EmbeddedFile* out);

// The embedding cache root that --cache-dir DIR / --no-cache ask for: "" for none, DIR, or the
// default (eval/embed_cache.h's embed_cache_default_dir()).
std::string cache_dir_from_flags(const std::string& cache_dir, bool no_cache);

// Prints "embtune <command>: error: <message>" and returns the exit code for user errors (1).
int report_error(const std::string& command, const Status& s);

}  // namespace embtune::cli
