// `embtune embed`: texts in (lines or JSONL), embeddings out (.npy float32 or JSONL arrays).
// Not a server (that is `serve`, later): one file in, one file out, nothing partial on error.
#include <charconv>
#include <cstdio>

#include "cli/commands.h"
#include "core/file.h"
#include "core/strings.h"
#include "io/npy.h"

namespace embtune::cli {

namespace {

struct EmbedArgs {
  std::string model, input, output, prompt, prompt_text, format = "auto", field = "text";
  bool prompt_text_set = false, allow_empty = false;
  int64_t batch_tokens = 8192;
};

Status write_jsonl(const std::string& path, const std::vector<float>& e, int64_t rows, int64_t dim) {
  AtomicFile f;
  ET_RETURN_IF_ERROR(f.open(path));
  std::string line;
  char buf[32];
  for (int64_t r = 0; r < rows; r++) {
    line.assign("[");
    for (int64_t c = 0; c < dim; c++) {
      if (c) line += ',';
      // Shortest text that reads back as the same float32.
      auto res = std::to_chars(buf, buf + sizeof buf, e[r * dim + c]);
      line.append(buf, res.ptr);
    }
    line += "]\n";
    ET_RETURN_IF_ERROR(f.write(line));
  }
  return f.commit();
}

int run_embed(const EmbedArgs& a, const GlobalOptions& g) {
  const bool npy = ends_with(a.output, ".npy"), jsonl = ends_with(a.output, ".jsonl");
  if (!npy && !jsonl)
    return report_error("embed", make_error("%s: the output must end in .npy (float32 array) or .jsonl (one JSON array "
                                            "per line)", a.output.c_str()));
  TextInputOptions in;
  in.format = a.format;
  in.field = a.field;
  in.allow_empty = a.allow_empty;
  EmbedOptions eo;
  eo.prompt_name = a.prompt;
  eo.prompt_text = a.prompt_text;
  eo.has_prompt_text = a.prompt_text_set;
  eo.batch_tokens = a.batch_tokens;
  EmbeddedFile f;
  Status s = embed_input_file(a.model, a.input, in, eo, g, &f);
  if (!s.ok()) return report_error("embed", s);
  const int64_t rows = static_cast<int64_t>(f.texts.size()), dim = f.encoder->dim();
  s = npy ? npy_write_f32(a.output, f.embeddings.data(), rows, dim) : write_jsonl(a.output, f.embeddings, rows, dim);
  if (!s.ok()) return report_error("embed", s);
  if (!g.quiet) std::fprintf(stderr, "embed: wrote %lld x %lld embeddings to %s\n", (long long)rows, (long long)dim, a.output.c_str());
  return 0;
}

}  // namespace

void add_embed_command(CLI::App& app, const GlobalOptions& g) {
  auto a = std::make_shared<EmbedArgs>();
  CLI::App* sub = app.add_subcommand("embed", "Embed texts with a model directory");
  sub->add_option("--model", a->model, "Model: a directory (sentence-transformers / Hugging Face layout), a .gguf file or a hub id org/name[@revision]")->required();
  sub->add_option("--input", a->input, "Texts: one per line, or JSONL objects with a text field")->required();
  sub->add_option("--output", a->output, "Embeddings: OUT.npy (float32, lines x dim) or OUT.jsonl")->required();
  sub->add_option("--prompt", a->prompt, "Prompt name from the model's config_sentence_transformers.json (query, document, ...)");
  sub->add_option("--prompt-text", a->prompt_text, "Literal prompt text prepended to every input (wins over --prompt)")
      ->each([a](const std::string&) { a->prompt_text_set = true; });
  sub->add_option("--format", a->format, "Input format: auto (by extension), text or jsonl")
      ->check(CLI::IsMember({"auto", "text", "jsonl"}));
  sub->add_option("--field", a->field, "JSONL field holding the text");
  sub->add_flag("--allow-empty", a->allow_empty, "Embed empty lines instead of refusing them");
  sub->add_option("--batch-tokens", a->batch_tokens, "Tokens per packed batch")->check(CLI::PositiveNumber);
  on_parsed(sub, [a, &g]() { return run_embed(*a, g); });
}

}  // namespace embtune::cli
