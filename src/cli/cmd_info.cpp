// `embtune info`: what a model directory holds (architecture, sizes, pooling, prompts).
// Not a validator of weights' values: it loads the model fully, so any file error shows here.
#include <cstdio>
#include <map>
#include <memory>

#include "cli/commands.h"
#include "io/safetensors.h"
#include "model/sentence_encoder.h"

namespace embtune::cli {

namespace {

struct InfoArgs {
  std::string model;
  bool json = false;
};

const char* pooling_name(PoolingMode m) {
  switch (m) {
    case PoolingMode::Cls: return "cls";
    case PoolingMode::Mean: return "mean";
    case PoolingMode::Max: return "max";
    case PoolingMode::MeanSqrtLen: return "mean_sqrt_len_tokens";
    case PoolingMode::LastToken: return "lasttoken";
  }
  return "?";
}

int run_info(const InfoArgs& a) {
  std::unique_ptr<SentenceEncoder> enc;
  Status s = SentenceEncoder::load(a.model, &enc);
  if (!s.ok()) return report_error("info", s);
  SafetensorsSet st;
  s = st.open(enc->files().transformer_dir);
  if (!s.ok()) return report_error("info", s);
  std::map<std::string, int64_t> dtypes;
  for (const TensorView* t : st.all()) dtypes[dtype_name(t->dtype)] += t->numel();

  const BertConfig& c = enc->bert().config();
  const StModelDir& f = enc->files();
  nlohmann::json j;
  j["model"] = a.model;
  j["architecture"] = "bert";
  j["layers"] = c.num_hidden_layers;
  j["hidden_size"] = c.hidden_size;
  j["attention_heads"] = c.num_attention_heads;
  j["intermediate_size"] = c.intermediate_size;
  j["vocab_size"] = c.vocab_size;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["max_seq_length"] = enc->max_seq_length();
  j["parameters"] = enc->bert().params().size();
  j["weight_dtypes"] = dtypes;
  j["tokenizer"] = enc->tokenizer().describe();
  j["tokenizer_file"] = f.tokenizer_path;
  nlohmann::json modules = nlohmann::json::array();
  std::vector<std::string> pools;
  for (PoolingMode m : enc->pooling_modes()) pools.push_back(pooling_name(m));
  size_t di = 0;
  for (const StModule& m : f.modules) {
    if (m.kind == "Pooling") modules.push_back({{"kind", "Pooling"}, {"modes", pools}, {"include_prompt", f.pooling.include_prompt}});
    else if (m.kind == "Dense") {
      const StDenseConfig& d = f.dense[di++];
      modules.push_back({{"kind", "Dense"}, {"in", d.in_features}, {"out", d.out_features}, {"bias", d.bias},
                         {"activation", d.activation}});
    } else modules.push_back({{"kind", m.kind}});
  }
  j["modules"] = modules;
  j["embedding_dimension"] = enc->dim();
  j["normalized"] = enc->normalizes();
  j["similarity_fn_name"] = f.similarity_fn_name.empty() ? "cosine" : f.similarity_fn_name;
  j["prompts"] = f.prompts;
  j["default_prompt_name"] = f.default_prompt_name;
  if (a.json) {
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("model:         %s\n", a.model.c_str());
  std::printf("architecture:  BERT encoder, %lld layers, hidden %lld, %lld heads, intermediate %lld\n",
              (long long)c.num_hidden_layers, (long long)c.hidden_size, (long long)c.num_attention_heads,
              (long long)c.intermediate_size);
  std::printf("vocabulary:    %lld tokens, %lld positions, max_seq_length %lld\n", (long long)c.vocab_size,
              (long long)c.max_position_embeddings, (long long)enc->max_seq_length());
  std::string dt;
  for (auto& [k, v] : dtypes) dt += (dt.empty() ? "" : ", ") + k + " " + std::to_string(v);
  std::printf("parameters:    %zu (stored: %s)\n", enc->bert().params().size(), dt.c_str());
  std::printf("tokenizer:     %s (%s)\n", enc->tokenizer().describe().c_str(), f.tokenizer_path.c_str());
  std::string chain;
  for (auto& m : modules) {
    std::string k = m["kind"].get<std::string>();
    if (k == "Pooling") {
      std::string ps;
      for (auto& p : pools) ps += (ps.empty() ? "" : "+") + p;
      k += "(" + ps + (f.pooling.include_prompt ? "" : ", prompt excluded") + ")";
    } else if (k == "Dense") {
      k += "(" + std::to_string(m["in"].get<int64_t>()) + "->" + std::to_string(m["out"].get<int64_t>()) + ", " +
           m["activation"].get<std::string>().substr(m["activation"].get<std::string>().rfind('.') + 1) + ")";
    }
    chain += (chain.empty() ? "" : " -> ") + k;
  }
  std::printf("modules:       %s%s\n", chain.c_str(), f.has_modules_json ? "" : " (defaults: no modules.json)");
  std::printf("output:        %lld dimensions, %s, similarity %s\n", (long long)enc->dim(),
              enc->normalizes() ? "unit length" : "not normalised", j["similarity_fn_name"].get<std::string>().c_str());
  if (f.prompts.empty()) std::printf("prompts:       none\n");
  for (auto& [k, v] : f.prompts)
    std::printf("prompt:        %s = \"%s\"%s\n", k.c_str(), v.c_str(), k == f.default_prompt_name ? " (default)" : "");
  return 0;
}

}  // namespace

void add_info_command(CLI::App& app, const GlobalOptions&) {
  auto a = std::make_shared<InfoArgs>();
  CLI::App* sub = app.add_subcommand("info", "Describe a model directory");
  sub->add_option("--model", a->model, "Model: a directory (sentence-transformers / Hugging Face layout), a .gguf file or a hub id org/name[@revision]")->required();
  sub->add_flag("--json", a->json, "Print JSON instead of text");
  on_parsed(sub, [a]() { return run_info(*a); });
}

}  // namespace embtune::cli
