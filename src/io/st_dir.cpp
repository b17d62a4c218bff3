// Parsing and writing of the sentence-transformers model-directory files (JSON only).
// Not weight loading (safetensors.h) and not the tokenizer (tokenizer/).
#include "io/st_dir.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "core/file.h"

namespace embtune {

namespace {

std::string last_component(const std::string& type) {
  auto dot = type.rfind('.');
  return dot == std::string::npos ? type : type.substr(dot + 1);
}

Status make_dirs(const std::string& path) {
  std::string cur;
  for (size_t i = 0; i <= path.size(); i++) {
    if (i == path.size() || path[i] == '/') {
      if (!cur.empty() && !dir_exists(cur) && mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST)
        return make_error("%s: cannot create directory: %s", cur.c_str(), std::strerror(errno));
    }
    if (i < path.size()) cur += path[i];
  }
  return Status::ok_status();
}

Status read_pooling(const std::string& file, StPoolingConfig* out) {
  nlohmann::json j;
  ET_RETURN_IF_ERROR(read_json_file(file, &j));
  if (!j.is_object()) return make_error("%s: not a JSON object", file.c_str());
  StPoolingConfig p;
  p.modes.clear();
  for (const char* k : {"word_embedding_dimension", "embedding_dimension"})
    if (j.contains(k) && j[k].is_number_integer()) p.embedding_dimension = j[k].get<int64_t>();
  if (j.contains("include_prompt")) {
    if (!j["include_prompt"].is_boolean()) return make_error("%s: \"include_prompt\" must be true or false", file.c_str());
    p.include_prompt = j["include_prompt"].get<bool>();
  }
  // sentence-transformers 5 writes "pooling_mode" (a name or a list); older versions one flag each.
  std::vector<std::string> named;
  if (j.contains("pooling_mode")) {
    const auto& m = j["pooling_mode"];
    if (m.is_string()) named.push_back(m.get<std::string>());
    else if (m.is_array())
      for (auto& x : m) {
        if (!x.is_string()) return make_error("%s: \"pooling_mode\" entries must be strings", file.c_str());
        named.push_back(x.get<std::string>());
      }
    else return make_error("%s: \"pooling_mode\" must be a string or a list of strings", file.c_str());
  }
  static const std::pair<const char*, const char*> kFlags[] = {
      {"pooling_mode_cls_token", "cls"},
      {"pooling_mode_max_tokens", "max"},
      {"pooling_mode_mean_tokens", "mean"},
      {"pooling_mode_mean_sqrt_len_tokens", "mean_sqrt_len_tokens"},
      {"pooling_mode_weightedmean_tokens", "weightedmean"},
      {"pooling_mode_lasttoken", "lasttoken"}};
  for (auto [key, mode] : kFlags) {
    bool on = false;
    if (j.contains(key)) {
      if (!j[key].is_boolean()) return make_error("%s: \"%s\" must be true or false", file.c_str(), key);
      on = j[key].get<bool>();
    }
    for (auto& n : named) on = on || n == mode || (n == "mean_sqrt_len" && std::string(mode) == "mean_sqrt_len_tokens");
    if (on) p.modes.push_back(mode);
  }
  for (auto& n : named) {
    bool known = n == "mean_sqrt_len";
    for (auto [key, mode] : kFlags) known = known || n == mode;
    if (!known) return make_error("%s: pooling mode \"%s\" is unknown (known: cls, max, mean, mean_sqrt_len_tokens, "
                                  "weightedmean, lasttoken)", file.c_str(), n.c_str());
  }
  if (p.modes.empty()) return make_error("%s: no pooling mode is enabled", file.c_str());
  *out = std::move(p);
  return Status::ok_status();
}

Status read_dense(const std::string& dir, StDenseConfig* out) {
  const std::string file = path_join(dir, "config.json");
  nlohmann::json j;
  ET_RETURN_IF_ERROR(read_json_file(file, &j));
  if (!j.is_object()) return make_error("%s: not a JSON object", file.c_str());
  StDenseConfig d;
  d.dir = dir;
  for (auto [key, dst] : {std::pair<const char*, int64_t*>{"in_features", &d.in_features}, {"out_features", &d.out_features}}) {
    if (!j.contains(key)) return make_error("%s: missing required key \"%s\"", file.c_str(), key);
    if (!j[key].is_number_integer() || j[key].get<int64_t>() <= 0)
      return make_error("%s: \"%s\" must be a positive integer", file.c_str(), key);
    *dst = j[key].get<int64_t>();
  }
  if (j.contains("bias")) {
    if (!j["bias"].is_boolean()) return make_error("%s: \"bias\" must be true or false", file.c_str());
    d.bias = j["bias"].get<bool>();
  }
  if (j.contains("activation_function")) {
    if (!j["activation_function"].is_string()) return make_error("%s: \"activation_function\" must be a string", file.c_str());
    d.activation = j["activation_function"].get<std::string>();
  }
  *out = std::move(d);
  return Status::ok_status();
}

Status read_prompts(const std::string& file, StModelDir* m) {
  nlohmann::json j;
  ET_RETURN_IF_ERROR(read_json_file(file, &j));
  if (!j.is_object()) return make_error("%s: not a JSON object", file.c_str());
  if (j.contains("prompts") && !j["prompts"].is_null()) {
    if (!j["prompts"].is_object()) return make_error("%s: \"prompts\" must be an object of strings", file.c_str());
    for (auto& [k, v] : j["prompts"].items()) {
      if (!v.is_string()) return make_error("%s: prompt \"%s\" must be a string", file.c_str(), k.c_str());
      m->prompts[k] = v.get<std::string>();
    }
  }
  if (j.contains("default_prompt_name") && j["default_prompt_name"].is_string())
    m->default_prompt_name = j["default_prompt_name"].get<std::string>();
  if (j.contains("similarity_fn_name") && j["similarity_fn_name"].is_string())
    m->similarity_fn_name = j["similarity_fn_name"].get<std::string>();
  if (!m->default_prompt_name.empty() && !m->prompts.count(m->default_prompt_name))
    return make_error("%s: default_prompt_name \"%s\" is not one of the prompts", file.c_str(),
                      m->default_prompt_name.c_str());
  return Status::ok_status();
}

}  // namespace

Status read_json_file(const std::string& path, nlohmann::json* out) {
  std::string text;
  ET_RETURN_IF_ERROR(read_file(path, &text));
  try {
    *out = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    return make_error("%s: invalid JSON at byte %zu: %s", path.c_str(), static_cast<size_t>(e.byte), e.what());
  }
  return Status::ok_status();
}

Status write_json_file(const std::string& path, const nlohmann::json& j) {
  AtomicFile f;
  ET_RETURN_IF_ERROR(f.open(path));
  ET_RETURN_IF_ERROR(f.write(j.dump(2) + "\n"));
  return f.commit();
}

Status st_dir_read(const std::string& dir, StModelDir* out) {
  if (!dir_exists(dir)) return make_error("%s: model directory does not exist", dir.c_str());
  StModelDir m;
  m.dir = dir;
  m.transformer_dir = dir;
  const std::string modules_file = path_join(dir, "modules.json");
  if (file_exists(modules_file)) {
    m.has_modules_json = true;
    nlohmann::json j;
    ET_RETURN_IF_ERROR(read_json_file(modules_file, &j));
    if (!j.is_array()) return make_error("%s: expected a list of modules", modules_file.c_str());
    for (size_t i = 0; i < j.size(); i++) {
      const auto& e = j[i];
      if (!e.is_object() || !e.contains("type") || !e["type"].is_string())
        return make_error("%s: module %zu has no \"type\"", modules_file.c_str(), i);
      StModule mod;
      mod.type = e["type"].get<std::string>();
      mod.kind = last_component(mod.type);
      mod.path = e.value("path", std::string());
      if (mod.kind != "Transformer" && mod.kind != "Pooling" && mod.kind != "Dense" && mod.kind != "Normalize")
        return make_error("%s: module %zu \"%s\" is not supported (supported: Transformer, Pooling, Dense, Normalize)",
                          modules_file.c_str(), i, mod.type.c_str());
      m.modules.push_back(mod);
    }
    if (m.modules.empty() || m.modules[0].kind != "Transformer")
      return make_error("%s: the first module must be a Transformer", modules_file.c_str());
    bool pooled = false;
    for (size_t i = 1; i < m.modules.size(); i++) {
      const StModule& mod = m.modules[i];
      const std::string mdir = path_join(dir, mod.path);
      if (mod.kind == "Transformer")
        return make_error("%s: module %zu: only one Transformer module is supported", modules_file.c_str(), i);
      if (mod.kind == "Pooling") {
        if (pooled) return make_error("%s: module %zu: only one Pooling module is supported", modules_file.c_str(), i);
        pooled = true;
        ET_RETURN_IF_ERROR(read_pooling(path_join(mdir, "config.json"), &m.pooling));
      } else if (!pooled) {
        return make_error("%s: module %zu \"%s\" comes before the Pooling module; only sentence-level %s is supported",
                          modules_file.c_str(), i, mod.type.c_str(), mod.kind.c_str());
      } else if (mod.kind == "Dense") {
        StDenseConfig d;
        ET_RETURN_IF_ERROR(read_dense(mdir, &d));
        m.dense.push_back(d);
      }
    }
    if (!pooled) return make_error("%s: no Pooling module (token embeddings only are not supported)", modules_file.c_str());
    m.transformer_dir = path_join(dir, m.modules[0].path);
  } else {
    m.modules = {{"Transformer", "sentence_transformers.models.Transformer", ""},
                 {"Pooling", "sentence_transformers.models.Pooling", "1_Pooling"}};
  }

  const std::string config_file = path_join(m.transformer_dir, "config.json");
  if (!file_exists(config_file))
    return make_error("%s: missing config.json (a Hugging Face model directory needs it)", m.transformer_dir.c_str());
  ET_RETURN_IF_ERROR(read_json_file(config_file, &m.config));

  const std::string sbert = path_join(m.transformer_dir, "sentence_bert_config.json");
  if (file_exists(sbert)) {
    nlohmann::json j;
    ET_RETURN_IF_ERROR(read_json_file(sbert, &j));
    if (!j.is_object()) return make_error("%s: not a JSON object", sbert.c_str());
    if (j.contains("max_seq_length") && !j["max_seq_length"].is_null()) {
      if (!j["max_seq_length"].is_number_integer() || j["max_seq_length"].get<int64_t>() <= 0)
        return make_error("%s: \"max_seq_length\" must be a positive integer", sbert.c_str());
      m.max_seq_length = j["max_seq_length"].get<int64_t>();
    }
    if (j.contains("do_lower_case")) {
      if (!j["do_lower_case"].is_boolean()) return make_error("%s: \"do_lower_case\" must be true or false", sbert.c_str());
      m.do_lower_case = j["do_lower_case"].get<bool>();
    }
  }
  const std::string st_config = path_join(dir, "config_sentence_transformers.json");
  if (file_exists(st_config)) ET_RETURN_IF_ERROR(read_prompts(st_config, &m));

  for (const char* name : {"tokenizer.json", "vocab.txt"}) {
    if (file_exists(path_join(m.transformer_dir, name))) {
      m.tokenizer_path = path_join(m.transformer_dir, name);
      break;
    }
  }
  if (m.tokenizer_path.empty())
    return make_error("%s: missing tokenizer (expected tokenizer.json or vocab.txt)", m.transformer_dir.c_str());
  *out = std::move(m);
  return Status::ok_status();
}

Status st_dir_write_st_files(const std::string& dir, const StModelDir& m) {
  nlohmann::json modules = nlohmann::json::array();
  for (size_t i = 0; i < m.modules.size(); i++) {
    const StModule& mod = m.modules[i];
    modules.push_back({{"idx", i}, {"name", std::to_string(i)}, {"path", mod.path},
                       {"type", "sentence_transformers.models." + mod.kind}});
    if (!mod.path.empty()) ET_RETURN_IF_ERROR(make_dirs(path_join(dir, mod.path)));
    if (mod.kind == "Pooling") {
      nlohmann::json p = {{"word_embedding_dimension", m.pooling.embedding_dimension}};
      for (auto [key, mode] : {std::pair<const char*, const char*>{"pooling_mode_cls_token", "cls"},
                               {"pooling_mode_mean_tokens", "mean"},
                               {"pooling_mode_max_tokens", "max"},
                               {"pooling_mode_mean_sqrt_len_tokens", "mean_sqrt_len_tokens"},
                               {"pooling_mode_weightedmean_tokens", "weightedmean"},
                               {"pooling_mode_lasttoken", "lasttoken"}}) {
        bool on = false;
        for (auto& x : m.pooling.modes) on = on || x == mode;
        p[key] = on;
      }
      p["include_prompt"] = m.pooling.include_prompt;
      ET_RETURN_IF_ERROR(write_json_file(path_join(path_join(dir, mod.path), "config.json"), p));
    }
  }
  ET_RETURN_IF_ERROR(write_json_file(path_join(dir, "modules.json"), modules));
  nlohmann::json sbert = {{"max_seq_length", m.max_seq_length}, {"do_lower_case", m.do_lower_case}};
  ET_RETURN_IF_ERROR(write_json_file(path_join(dir, "sentence_bert_config.json"), sbert));
  nlohmann::json st = {{"model_type", "SentenceTransformer"},
                       {"prompts", m.prompts},
                       {"default_prompt_name", m.default_prompt_name.empty() ? nlohmann::json(nullptr)
                                                                             : nlohmann::json(m.default_prompt_name)},
                       {"similarity_fn_name", m.similarity_fn_name.empty() ? "cosine" : m.similarity_fn_name}};
  return write_json_file(path_join(dir, "config_sentence_transformers.json"), st);
}

}  // namespace embtune
