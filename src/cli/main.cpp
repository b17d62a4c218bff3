// embtune command-line entry point: global flags, then one subcommand.
// Not where work happens: each command lives in its own cmd_*.cpp and calls the library.
#include <omp.h>

#include <cstdio>

#include "cli/commands.h"
#include "io/hub.h"

int main(int argc, char** argv) {
  using namespace embtune::cli;
  CLI::App app{"embtune: fine-tune, evaluate and export text-embedding models, natively.", "embtune"};
  app.require_subcommand(1);
  app.fallthrough();
  app.set_version_flag("--version", "embtune 0.1.0");
  GlobalOptions g;
  app.add_option("--threads", g.threads, "Threads for compute (default: all cores)")->check(CLI::NonNegativeNumber);
  app.add_flag("-q,--quiet", g.quiet, "No progress output");
  app.parse_complete_callback([&g]() {
    if (g.threads > 0) omp_set_num_threads(g.threads);
    embtune::hub_set_quiet(g.quiet);
  });
  add_init_command(app, g);
  app.option_defaults()->always_capture_default();  // --help shows every default
  add_train_command(app, g);
  add_embed_command(app, g);
  add_info_command(app, g);
  add_tokenize_command(app, g);
  add_neighbors_command(app, g);
  add_eval_command(app, g);
  add_prepare_command(app, g);
  add_check_leakage_command(app, g);
  add_mine_command(app, g);
  add_pairs_command(app, g);
  add_export_command(app, g);
  add_download_command(app, g);
  add_serve_command(app, g);
  add_train_tokenizer_command(app, g);
  add_bench_command(app, g);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return 0;
}
