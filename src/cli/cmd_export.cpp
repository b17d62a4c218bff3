// `embtune export`: a model directory (or GGUF file) out as a GGUF file llama.cpp's bert architecture loads.
// Not the mapping: model/gguf_model.h decides names, types and what must be refused.
#include <cstdio>

#include "cli/commands.h"
#include "model/gguf_model.h"

namespace embtune::cli {

namespace {

struct ExportArgs {
  std::string model, format = "gguf", out, type = "f32", name;
};

int run_export(const ExportArgs& a, const GlobalOptions& g) {
  GgufExportOptions o;
  if (a.type == "f32") o.type = GgmlType::F32;
  else if (a.type == "f16") o.type = GgmlType::F16;
  else if (a.type == "bf16") o.type = GgmlType::BF16;
  else o.type = GgmlType::Q8_0;
  o.name = a.name;
  std::unique_ptr<SentenceEncoder> enc;
  Status s = SentenceEncoder::load(a.model, &enc);
  if (s.ok()) s = gguf_export(*enc, o, a.out);
  if (!s.ok()) return report_error("export", s);
  if (!g.quiet)
    std::fprintf(stderr, "export: wrote %s (GGUF v3, bert, %s weights, %lld-dim embeddings)\n", a.out.c_str(),
                 a.type.c_str(), (long long)enc->dim());
  return 0;
}

}  // namespace

void add_export_command(CLI::App& app, const GlobalOptions& g) {
  auto a = std::make_shared<ExportArgs>();
  CLI::App* sub = app.add_subcommand("export", "Write a model as a GGUF file for llama.cpp");
  sub->add_option("--model", a->model, "Model: a directory (sentence-transformers / Hugging Face layout), a .gguf file or a hub id org/name[@revision]")->required();
  sub->add_option("--format", a->format, "Output format")->check(CLI::IsMember({"gguf"}));
  sub->add_option("--out", a->out, "Output file, e.g. model.gguf")->required();
  sub->add_option("--type", a->type, "Storage of the weight matrices (norms, biases and position/type embeddings stay f32)")
      ->check(CLI::IsMember({"f32", "f16", "bf16", "q8_0"}));
  sub->add_option("--name", a->name, "general.name in the file (default: the model directory's name)");
  on_parsed(sub, [a, &g]() { return run_export(*a, g); });
}

}  // namespace embtune::cli
