// `embtune neighbors`: embeds the lines of a file and prints each line's nearest neighbours by
// cosine similarity. Not retrieval evaluation (`eval`, later): an at-a-glance look at a model.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <numeric>

#include "cli/commands.h"
#include "ops/matmul.h"
#include "ops/pooling.h"

namespace embtune::cli {

namespace {

struct NeighborsArgs {
  std::string model, input, prompt;
  int k = 3;
};

int run_neighbors(const NeighborsArgs& a, const GlobalOptions& g) {
  EmbedOptions eo;
  eo.prompt_name = a.prompt;
  EmbeddedFile f;
  Status s = embed_input_file(a.model, a.input, TextInputOptions{}, eo, g, &f);
  if (!s.ok()) return report_error("neighbors", s);
  const std::vector<std::string>& texts = f.texts;
  std::vector<float>& e = f.embeddings;
  const int64_t n = static_cast<int64_t>(texts.size()), d = f.encoder->dim();
  l2_normalize_forward(e.data(), n, d);  // cosine, whatever the model's own normalisation
  std::vector<float> sim(n * n);       // (n, n)
  matmul_forward(sim.data(), e.data(), e.data(), nullptr, n, d, n);
  const int k = static_cast<int>(std::min<int64_t>(a.k, n - 1));
  for (int64_t i = 0; i < n; i++) {
    std::vector<int64_t> idx(n);
    std::iota(idx.begin(), idx.end(), 0);
    idx.erase(idx.begin() + i);
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                      [&](int64_t x, int64_t y) { return sim[i * n + x] > sim[i * n + y]; });
    std::printf("%s\n", texts[i].c_str());
    for (int j = 0; j < k; j++) std::printf("    %.3f  %s\n", sim[i * n + idx[j]], texts[idx[j]].c_str());
  }
  return 0;
}

}  // namespace

void add_neighbors_command(CLI::App& app, const GlobalOptions& g) {
  auto a = std::make_shared<NeighborsArgs>();
  CLI::App* sub = app.add_subcommand("neighbors", "Print each text's nearest neighbours among the others");
  sub->add_option("--model", a->model, "Model: a directory (sentence-transformers / Hugging Face layout), a .gguf file or a hub id org/name[@revision]")->required();
  sub->add_option("--input", a->input, "Texts, one per line (or JSONL with a text field)")->required();
  sub->add_option("-k,--k", a->k, "Neighbours per text")->check(CLI::PositiveNumber);
  sub->add_option("--prompt", a->prompt, "Prompt name from the model's config_sentence_transformers.json");
  on_parsed(sub, [a, &g]() { return run_neighbors(*a, g); });
}

}  // namespace embtune::cli
