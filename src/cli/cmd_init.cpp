// `embtune init`: a new model directory with random weights (normal(0, 0.02), as BERT
// initialises) that sentence-transformers can load. Not pretraining: the weights are random.
#include <filesystem>
#include <memory>
#include <unistd.h>

#include "cli/commands.h"
#include "core/file.h"
#include "io/safetensors.h"
#include "io/st_dir.h"
#include "model/bert.h"
#include "tokenizer/tokenizer.h"

namespace embtune::cli {

namespace {

struct InitArgs {
  std::string config, tokenizer, out, pooling = "mean", dtype = "f32";
  std::vector<std::string> prompts;
  uint64_t seed = 0;
  int64_t max_seq_length = 0;
  bool no_normalize = false, force = false;
};

// Built-in shapes, so a user needs no config.json to start.
Status preset_config(const std::string& name, nlohmann::json* out) {
  struct Shape { const char* name; int layers, hidden, heads, inter; };
  static const Shape kShapes[] = {{"tiny", 2, 128, 2, 512},
                                  {"minilm-l6", 6, 384, 12, 1536},
                                  {"minilm-l12", 12, 384, 12, 1536},
                                  {"bert-base", 12, 768, 12, 3072}};
  for (const Shape& s : kShapes) {
    if (name != s.name) continue;
    *out = {{"architectures", {"BertModel"}}, {"model_type", "bert"}, {"hidden_size", s.hidden},
            {"num_hidden_layers", s.layers}, {"num_attention_heads", s.heads}, {"intermediate_size", s.inter},
            {"vocab_size", 30522}, {"max_position_embeddings", 512}, {"type_vocab_size", 2},
            {"layer_norm_eps", 1e-12}, {"hidden_act", "gelu"}, {"hidden_dropout_prob", 0.1},
            {"attention_probs_dropout_prob", 0.1}, {"initializer_range", 0.02}, {"pad_token_id", 0},
            {"position_embedding_type", "absolute"}};
    return Status::ok_status();
  }
  return make_error("--config \"%s\": no such file, and not a preset (tiny, minilm-l6, minilm-l12, bert-base)",
                    name.c_str());
}

Status copy_file(const std::string& from, const std::string& to) {
  std::string data;
  ET_RETURN_IF_ERROR(read_file(from, &data));
  AtomicFile f;
  ET_RETURN_IF_ERROR(f.open(to));
  ET_RETURN_IF_ERROR(f.write(data));
  return f.commit();
}

Status write_model(const InitArgs& a, const std::string& dir) {
  std::unique_ptr<Tokenizer> tok;
  ET_RETURN_IF_ERROR(Tokenizer::load(a.tokenizer, &tok));
  nlohmann::json cj;
  if (file_exists(a.config)) ET_RETURN_IF_ERROR(read_json_file(a.config, &cj));
  else ET_RETURN_IF_ERROR(preset_config(a.config, &cj));
  if (cj.is_object()) cj["vocab_size"] = tok->vocab_size();  // the embedding table follows the tokenizer
  BertConfig cfg;
  ET_RETURN_IF_ERROR(bert_config_from_json(cj, file_exists(a.config) ? a.config : "preset " + a.config, &cfg));

  StModelDir st;
  st.modules = {{"Transformer", "", ""}, {"Pooling", "", "1_Pooling"}};
  if (!a.no_normalize) st.modules.push_back({"Normalize", "", "2_Normalize"});
  st.pooling.modes = {a.pooling};
  st.pooling.embedding_dimension = cfg.hidden_size;
  st.max_seq_length = a.max_seq_length > 0 ? a.max_seq_length : std::min<int64_t>(512, cfg.max_position_embeddings);
  if (st.max_seq_length > cfg.max_position_embeddings)
    return make_error("--max-seq-length %lld exceeds max_position_embeddings %lld", (long long)st.max_seq_length,
                      (long long)cfg.max_position_embeddings);
  for (const std::string& p : a.prompts) {
    auto eq = p.find('=');
    if (eq == std::string::npos || eq == 0)
      return make_error("--prompt \"%s\": expected NAME=TEXT, e.g. query=\"query: \"", p.c_str());
    st.prompts[p.substr(0, eq)] = p.substr(eq + 1);
  }
  st.similarity_fn_name = "cosine";

  BertModel model;
  model.init_random(cfg, a.seed);
  const DType dt = storage_dtype_from_flag(a.dtype);
  std::vector<TensorToWrite> tensors;
  for (const ParamInfo& p : model.layout()) tensors.push_back({p.name, p.shape, model.params().data() + p.offset, dt});
  ET_RETURN_IF_ERROR(safetensors_write(path_join(dir, "model.safetensors"), tensors, {{"format", "pt"}}));
  ET_RETURN_IF_ERROR(write_json_file(path_join(dir, "config.json"), bert_config_to_json(cfg)));

  // The tokenizer file and the Hugging Face files that describe it, where they exist.
  const std::string src = tok->source_path();
  const std::string src_dir = std::filesystem::path(src).parent_path().string();
  ET_RETURN_IF_ERROR(copy_file(src, path_join(dir, std::filesystem::path(src).filename().string())));
  for (const char* extra : {"vocab.txt", "tokenizer_config.json", "special_tokens_map.json"}) {
    const std::string from = path_join(src_dir.empty() ? "." : src_dir, extra);
    const std::string to = path_join(dir, extra);
    if (file_exists(from) && !file_exists(to)) ET_RETURN_IF_ERROR(copy_file(from, to));
  }
  return st_dir_write_st_files(dir, st);
}

int run_init(const InitArgs& a, const GlobalOptions& g) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(a.out, ec) && !(fs::is_directory(a.out, ec) && fs::is_empty(a.out, ec)) && !a.force)
    return report_error("init", make_error("%s: already exists and is not empty (pass --force to replace it)", a.out.c_str()));
  // Build the directory beside its destination, then rename, so a failure leaves nothing.
  const std::string tmp = a.out + ".tmp-" + std::to_string(getpid());
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) return report_error("init", make_error("%s: cannot create directory: %s", tmp.c_str(), ec.message().c_str()));
  Status s = write_model(a, tmp);
  if (s.ok()) {
    fs::remove_all(a.out, ec);
    fs::rename(tmp, a.out, ec);
    if (ec) s = make_error("%s: cannot move the new model into place: %s", a.out.c_str(), ec.message().c_str());
  }
  if (!s.ok()) {
    fs::remove_all(tmp, ec);
    return report_error("init", s);
  }
  if (!g.quiet) std::fprintf(stderr, "init: wrote a randomly initialised model to %s\n", a.out.c_str());
  return 0;
}

}  // namespace

void add_init_command(CLI::App& app, const GlobalOptions& g) {
  auto a = std::make_shared<InitArgs>();
  CLI::App* sub = app.add_subcommand("init", "Create a model directory with random weights");
  sub->add_option("--config", a->config, "A BERT config.json, or a preset: tiny, minilm-l6, minilm-l12, bert-base")->required();
  sub->add_option("--tokenizer", a->tokenizer, "tokenizer.json, vocab.txt, or a directory holding one")->required();
  sub->add_option("--out", a->out, "Directory to create")->required();
  sub->add_option("--seed", a->seed, "Random seed of the initial weights");
  sub->add_option("--pooling", a->pooling, "Pooling: mean, cls, max, lasttoken")
      ->check(CLI::IsMember({"mean", "cls", "max", "lasttoken"}));
  sub->add_flag("--no-normalize", a->no_normalize, "Leave out the Normalize module (embeddings not unit length)");
  sub->add_option("--max-seq-length", a->max_seq_length, "Longest input in tokens (default: min(512, positions))");
  sub->add_option("--prompt", a->prompts, "A prompt NAME=TEXT, e.g. --prompt \"query=query: \" (repeatable)");
  sub->add_option("--dtype", a->dtype, "Weight storage: f32, f16 or bf16")->check(CLI::IsMember({"f32", "f16", "bf16"}));
  sub->add_flag("--force", a->force, "Replace DIR if it exists");
  on_parsed(sub, [a, &g]() { return run_init(*a, g); });
}

}  // namespace embtune::cli
