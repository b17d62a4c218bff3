// `embtune download org/name[@revision]`: fetches a model from the Hugging Face hub into the hub
// cache and prints its snapshot directory. Not needed before other commands (their --model takes
// hub ids too); handy to download ahead of time or to find the files.
#include <cstdio>

#include "cli/commands.h"
#include "io/hub.h"

namespace embtune::cli {

void add_download_command(CLI::App& app, const GlobalOptions& g) {
  auto spec = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand(
      "download", "Download a model from the Hugging Face hub into its cache and print the snapshot directory");
  sub->add_option("model", *spec, "org/name or org/name@revision (a branch, tag or commit hash)")->required();
  sub->footer(
      "Environment: HF_ENDPOINT (default https://huggingface.co), HF_HOME / HF_HUB_CACHE (cache location),\n"
      "HF_TOKEN (private or gated models), HF_HUB_OFFLINE=1 (cache only). See docs/models.md.");
  on_parsed(sub, [spec, &g]() {
    HubOptions opt = HubOptions::from_env();
    opt.quiet = g.quiet;
    std::string dir;
    const Status s = hub_snapshot(*spec, opt, &dir);
    if (!s.ok()) return report_error("download", s);
    std::printf("%s\n", dir.c_str());
    return 0;
  });
}

}  // namespace embtune::cli
