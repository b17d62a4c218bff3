// BERT sentence encoders to and from llama.cpp's GGUF `bert` architecture: key and tensor names,
// the phantom-space vocabulary, refusals, and the cache of model directories converted from GGUF.
// Not the GGUF byte format (io/gguf.cpp) and not a forward pass.
#include "model/gguf_model.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <tuple>

#include "core/file.h"
#include "core/strings.h"
#include "io/safetensors.h"
#include "io/st_dir.h"
#include "model/bert.h"
#include "model/sentence_encoder.h"

namespace embtune {

namespace {

namespace fs = std::filesystem;

// llama.cpp's token types (llama_token_type / gguf-py TokenType).
constexpr int32_t kTokenNormal = 1, kTokenControl = 3, kTokenUnused = 5;
// llama.cpp's enum llama_pooling_type.
constexpr uint32_t kPoolNone = 0, kPoolMean = 1, kPoolCls = 2, kPoolLast = 3;
// general.file_type (llama_ftype): ALL_F32, MOSTLY_F16, MOSTLY_Q8_0, MOSTLY_BF16.
uint32_t file_type_of(GgmlType t) {
  switch (t) {
    case GgmlType::F32: return 0;
    case GgmlType::F16: return 1;
    case GgmlType::Q8_0: return 7;
    case GgmlType::BF16: return 32;
  }
  return 0;
}

const std::string kPhantom = "\xe2\x96\x81";  // U+2581, the word-start mark of llama.cpp's WPM vocabulary

// One HF tensor and its llama.cpp name; `matrix` tensors take the export type, the rest stay F32.
struct TensorName {
  std::string hf, gguf;
  bool matrix;
};

std::vector<TensorName> bert_tensor_names(int64_t layers) {
  // gguf-py/gguf/constants.py MODEL_TENSOR names for MODEL_ARCH.BERT; tensor_mapping.py maps the HF names.
  std::vector<TensorName> v = {
      {"embeddings.word_embeddings.weight", "token_embd.weight", true},
      {"embeddings.position_embeddings.weight", "position_embd.weight", false},
      {"embeddings.token_type_embeddings.weight", "token_types.weight", false},
      {"embeddings.LayerNorm.weight", "token_embd_norm.weight", false},
      {"embeddings.LayerNorm.bias", "token_embd_norm.bias", false}};
  for (int64_t l = 0; l < layers; l++) {
    const std::string h = "encoder.layer." + std::to_string(l) + ".", g = "blk." + std::to_string(l) + ".";
    for (auto [hf, gg, matrix] : std::initializer_list<std::tuple<const char*, const char*, bool>>{
             {"attention.self.query.weight", "attn_q.weight", true},
             {"attention.self.query.bias", "attn_q.bias", false},
             {"attention.self.key.weight", "attn_k.weight", true},
             {"attention.self.key.bias", "attn_k.bias", false},
             {"attention.self.value.weight", "attn_v.weight", true},
             {"attention.self.value.bias", "attn_v.bias", false},
             {"attention.output.dense.weight", "attn_output.weight", true},
             {"attention.output.dense.bias", "attn_output.bias", false},
             {"attention.output.LayerNorm.weight", "attn_output_norm.weight", false},
             {"attention.output.LayerNorm.bias", "attn_output_norm.bias", false},
             {"intermediate.dense.weight", "ffn_up.weight", true},
             {"intermediate.dense.bias", "ffn_up.bias", false},
             {"output.dense.weight", "ffn_down.weight", true},
             {"output.dense.bias", "ffn_down.bias", false},
             {"output.LayerNorm.weight", "layer_output_norm.weight", false},
             {"output.LayerNorm.bias", "layer_output_norm.bias", false}})
      v.push_back({h + hf, g + gg, matrix});
  }
  return v;
}

// The vocabulary as llama.cpp's WPM tokenizer wants it, plus the tokenizer files to carry along.
struct WpmVocab {
  std::vector<std::string> tokens;  // phantom-space spelling
  std::vector<int32_t> types;
  int32_t unk = -1, cls = -1, sep = -1, pad = -1, mask = -1;
  std::string hf_json;  // tokenizer.json content, "" for a vocab.txt model
};

// As BertModel.set_vocab in llama.cpp's convert_hf_to_gguf.py: control tokens as they are,
// "##x" continuations become "x", every other token gets the U+2581 word-start mark.
std::string phantom(const std::string& tok, int32_t type) {
  if (type == kTokenControl) return tok;
  if (tok.rfind("##", 0) == 0) return tok.substr(2);
  return kPhantom + tok;
}

Status refuse(const std::string& file, const std::string& what, const std::string& why) {
  return make_error("%s: cannot export to GGUF: %s (%s)", file.c_str(), what.c_str(), why.c_str());
}

// Reads a WordPiece tokenizer.json and checks that llama.cpp's WPM tokenizer (src/llama-vocab.cpp,
// llm_tokenizer_wpm_session: NFD, always lowercase, split on whitespace, punctuation and CJK,
// greedy longest match, [CLS] text [SEP]) reproduces it.
Status wpm_from_tokenizer_json(const std::string& path, WpmVocab* v) {
  nlohmann::json j;
  ET_RETURN_IF_ERROR(read_json_file(path, &j));
  const char* wpm = "llama.cpp's bert architecture tokenizes with its WordPiece (WPM) tokenizer only";
  if (!j.is_object() || !j.contains("model") || !j["model"].is_object())
    return make_error("%s: not a tokenizer.json (no \"model\")", path.c_str());
  const auto& m = j["model"];
  const std::string type = m.value("type", std::string());
  if (type != "WordPiece") return refuse(path, "the tokenizer model is \"" + type + "\", not WordPiece", wpm);
  if (m.value("continuing_subword_prefix", std::string("##")) != "##")
    return refuse(path, "the WordPiece continuation prefix is not \"##\"", "llama.cpp's vocabulary conversion assumes ##");
  const auto& norm = j.value("normalizer", nlohmann::json());
  if (!norm.is_object() || norm.value("type", std::string()) != "BertNormalizer")
    return refuse(path, "the normalizer is not a BertNormalizer", "llama.cpp's WPM always lowercases and splits CJK");
  if (!norm.value("lowercase", true))
    return refuse(path, "the vocabulary is cased (BertNormalizer lowercase = false)",
                  "llama.cpp's WPM lowercases every input, so cased tokens would never be produced");
  if (!norm.value("handle_chinese_chars", true))
    return refuse(path, "BertNormalizer handle_chinese_chars = false", "llama.cpp's WPM always splits CJK characters");
  const auto& pre = j.value("pre_tokenizer", nlohmann::json());
  if (!pre.is_object() || pre.value("type", std::string()) != "BertPreTokenizer")
    return refuse(path, "the pre-tokenizer is not a BertPreTokenizer", "llama.cpp's WPM splits as BertPreTokenizer does");

  std::map<int64_t, std::string> by_id;
  if (!m.contains("vocab") || !m["vocab"].is_object()) return make_error("%s: model.vocab must be an object", path.c_str());
  for (auto& [tok, id] : m["vocab"].items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0) return make_error("%s: vocab entry \"%s\" has no valid id", path.c_str(), tok.c_str());
    by_id[id.get<int64_t>()] = tok;
  }
  std::map<int64_t, bool> added_special;
  for (const auto& a : j.value("added_tokens", nlohmann::json::array())) {
    if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() || !a.contains("content") ||
        !a["content"].is_string())
      return make_error("%s: malformed added_tokens entry", path.c_str());
    const int64_t id = a["id"].get<int64_t>();
    const std::string content = a["content"].get<std::string>();
    if (!a.value("special", false))
      return refuse(path, "added token \"" + content + "\" is not special",
                    "llama.cpp would treat it as a user-defined token matched in raw text");
    by_id[id] = content;
    added_special[id] = true;
  }
  if (by_id.empty()) return make_error("%s: empty vocabulary", path.c_str());
  const int64_t n = by_id.rbegin()->first + 1;
  v->tokens.assign(n, "");
  v->types.assign(n, kTokenNormal);
  std::map<std::string, int32_t> id_of;
  for (int64_t i = 0; i < n; i++) {
    auto it = by_id.find(i);
    if (it == by_id.end()) {  // a gap: the converter writes "[PAD<id>]" as an unused token
      v->tokens[i] = "[PAD" + std::to_string(i) + "]";
      v->types[i] = kTokenUnused;
      continue;
    }
    v->types[i] = added_special.count(i) ? kTokenControl : kTokenNormal;
    v->tokens[i] = phantom(it->second, v->types[i]);
    id_of[it->second] = static_cast<int32_t>(i);
  }
  auto find = [&](const std::string& t) { auto it = id_of.find(t); return it == id_of.end() ? -1 : it->second; };
  v->unk = find(m.value("unk_token", std::string("[UNK]")));
  v->pad = find("[PAD]");
  v->mask = find("[MASK]");
  const auto& post = j.value("post_processor", nlohmann::json());
  const std::string post_type = post.is_object() ? post.value("type", std::string()) : "";
  if (post_type == "BertProcessing") {
    auto id = [&](const char* k) {
      const auto& e = post.value(k, nlohmann::json());
      return e.is_array() && e.size() == 2 && e[1].is_number_integer() ? e[1].get<int32_t>() : -1;
    };
    v->cls = id("cls");
    v->sep = id("sep");
  } else if (post_type == "TemplateProcessing" && post.contains("single") && post["single"].is_array() &&
             post["single"].size() == 3 && post["single"][0].contains("SpecialToken") &&
             post["single"][1].contains("Sequence") && post["single"][2].contains("SpecialToken")) {
    v->cls = find(post["single"][0]["SpecialToken"].value("id", std::string()));
    v->sep = find(post["single"][2]["SpecialToken"].value("id", std::string()));
  }
  if (v->cls < 0 || v->sep < 0)
    return refuse(path, "the post-processor does not wrap a text as [CLS] text [SEP]",
                  "llama.cpp adds its BOS/CLS and SEP tokens around every input");
  if (v->unk < 0) return refuse(path, "the vocabulary has no unknown token", "llama.cpp's WPM emits it for unmatched words");
  return read_file(path, &v->hf_json);
}

// A BERT vocab.txt (with tokenizer_config.json beside it when there is one), as BertTokenizerFast reads it.
Status wpm_from_vocab_txt(const std::string& path, WpmVocab* v) {
  std::string text;
  ET_RETURN_IF_ERROR(read_file(path, &text));
  std::vector<std::string> lines;
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == std::string::npos ? text.size() : nl;
    lines.push_back(text.substr(pos, (end > pos && text[end - 1] == '\r' ? end - 1 : end) - pos));
    pos = end + 1;
  }
  std::string unk = "[UNK]", cls = "[CLS]", sep = "[SEP]", pad = "[PAD]", mask = "[MASK]";
  const std::string config = path_join(fs::path(path).parent_path().string(), "tokenizer_config.json");
  if (file_exists(config)) {
    nlohmann::json c;
    ET_RETURN_IF_ERROR(read_json_file(config, &c));
    if (c.is_object() && c.value("do_lower_case", true) == false)
      return refuse(config, "the vocabulary is cased (do_lower_case = false)",
                    "llama.cpp's WPM lowercases every input, so cased tokens would never be produced");
    auto name = [&](const char* key, std::string* out) {
      if (c.is_object() && c.contains(key) && c[key].is_string()) *out = c[key].get<std::string>();
    };
    name("unk_token", &unk), name("cls_token", &cls), name("sep_token", &sep), name("pad_token", &pad), name("mask_token", &mask);
  }
  v->tokens.clear();
  v->types.clear();
  for (size_t i = 0; i < lines.size(); i++) {
    const std::string& t = lines[i];
    const bool special = t == unk || t == cls || t == sep || t == pad || t == mask;
    v->types.push_back(special ? kTokenControl : kTokenNormal);
    v->tokens.push_back(phantom(t, v->types.back()));
    if (t == unk) v->unk = static_cast<int32_t>(i);
    if (t == cls) v->cls = static_cast<int32_t>(i);
    if (t == sep) v->sep = static_cast<int32_t>(i);
    if (t == pad) v->pad = static_cast<int32_t>(i);
    if (t == mask) v->mask = static_cast<int32_t>(i);
  }
  if (v->unk < 0 || v->cls < 0 || v->sep < 0)
    return refuse(path, "the vocabulary lacks " + unk + ", " + cls + " or " + sep, "llama.cpp's WPM needs all three");
  return Status::ok_status();
}

std::string optional_text(const std::string& path) {
  std::string s;
  if (file_exists(path) && read_file(path, &s).ok()) return s;
  return "";
}

}  // namespace

Status gguf_export(const SentenceEncoder& enc, const GgufExportOptions& opt, const std::string& path) {
  const StModelDir& f = enc.files();
  const std::string& dir = f.dir;
  // What llama.cpp's bert graph (src/models/bert.cpp + llama_context pooling) cannot compute.
  if (!enc.dense().empty())
    return refuse(dir, "the model has a Dense module (" + enc.dense()[0].folder + ")",
                  "llama.cpp's bert architecture has no projection after pooling");
  if (f.pooling.modes.size() != 1)
    return refuse(dir, "the model concatenates several pooling modes", "llama.cpp pools with exactly one mode");
  const std::string& mode = f.pooling.modes[0];
  uint32_t pooling;
  if (mode == "mean") pooling = kPoolMean;
  else if (mode == "cls") pooling = kPoolCls;
  else if (mode == "lasttoken") pooling = kPoolLast;
  else return refuse(dir, mode + " pooling", "llama.cpp's pooling types are mean, cls and last (enum llama_pooling_type)");
  if (!f.pooling.include_prompt)
    return refuse(dir, "the Pooling module leaves the prompt out (include_prompt = false)",
                  "llama.cpp pools over every token of its input");
  const BertConfig& cfg = enc.bert().config();

  WpmVocab vocab;
  try {  // nlohmann's value() throws on a key of an unexpected type
    if (ends_with(f.tokenizer_path, ".json")) ET_RETURN_IF_ERROR(wpm_from_tokenizer_json(f.tokenizer_path, &vocab));
    else ET_RETURN_IF_ERROR(wpm_from_vocab_txt(f.tokenizer_path, &vocab));
  } catch (const nlohmann::json::exception& e) {
    return make_error("%s: unexpected tokenizer JSON: %s", f.tokenizer_path.c_str(), e.what());
  }
  if (static_cast<int64_t>(vocab.tokens.size()) > cfg.vocab_size)
    return make_error("%s: the tokenizer has %zu tokens but the model only %lld embeddings", f.tokenizer_path.c_str(),
                      vocab.tokens.size(), (long long)cfg.vocab_size);
  // llama.cpp needs one token per embedding row; the converter pads the same way.
  for (int64_t i = static_cast<int64_t>(vocab.tokens.size()); i < cfg.vocab_size; i++) {
    vocab.tokens.push_back("[PAD" + std::to_string(i) + "]");
    vocab.types.push_back(kTokenUnused);
  }

  std::vector<GgufKV> kv;
  auto add = [&](const char* key, GgufValue v) { kv.push_back({key, std::move(v)}); };
  const std::string name = !opt.name.empty() ? opt.name : fs::path(fs::absolute(dir)).lexically_normal().filename().string();
  // Keys: gguf-py/gguf/constants.py (Keys.General / LLM / Attention / Tokenizer), as
  // convert_hf_to_gguf.py's BertModel writes them.
  add("general.architecture", GgufValue::string("bert"));
  add("general.name", GgufValue::string(name.empty() ? "embtune-model" : name));
  add("general.file_type", GgufValue::u32(file_type_of(opt.type)));
  if (opt.type == GgmlType::Q8_0) add("general.quantization_version", GgufValue::u32(2));
  add("bert.context_length", GgufValue::u32(static_cast<uint32_t>(cfg.max_position_embeddings)));
  add("bert.embedding_length", GgufValue::u32(static_cast<uint32_t>(cfg.hidden_size)));
  add("bert.feed_forward_length", GgufValue::u32(static_cast<uint32_t>(cfg.intermediate_size)));
  add("bert.block_count", GgufValue::u32(static_cast<uint32_t>(cfg.num_hidden_layers)));
  add("bert.attention.head_count", GgufValue::u32(static_cast<uint32_t>(cfg.num_attention_heads)));
  add("bert.attention.layer_norm_epsilon", GgufValue::f32(static_cast<float>(cfg.layer_norm_eps)));
  add("bert.attention.causal", GgufValue::boolean(false));
  add("bert.pooling_type", GgufValue::u32(pooling));
  add("tokenizer.ggml.model", GgufValue::string("bert"));
  add("tokenizer.ggml.pre", GgufValue::string("default"));
  add("tokenizer.ggml.tokens", GgufValue::strings(vocab.tokens));
  add("tokenizer.ggml.token_type", GgufValue::i32s(vocab.types));
  add("tokenizer.ggml.token_type_count", GgufValue::u32(static_cast<uint32_t>(cfg.type_vocab_size)));
  add("tokenizer.ggml.bos_token_id", GgufValue::u32(static_cast<uint32_t>(vocab.cls)));
  add("tokenizer.ggml.seperator_token_id", GgufValue::u32(static_cast<uint32_t>(vocab.sep)));
  add("tokenizer.ggml.unknown_token_id", GgufValue::u32(static_cast<uint32_t>(vocab.unk)));
  if (vocab.pad >= 0) add("tokenizer.ggml.padding_token_id", GgufValue::u32(static_cast<uint32_t>(vocab.pad)));
  if (vocab.mask >= 0) add("tokenizer.ggml.mask_token_id", GgufValue::u32(static_cast<uint32_t>(vocab.mask)));
  add("tokenizer.ggml.add_bos_token", GgufValue::boolean(true));
  add("tokenizer.ggml.add_sep_token", GgufValue::boolean(true));
  add("tokenizer.ggml.add_eos_token", GgufValue::boolean(false));
  if (!vocab.hf_json.empty()) add("tokenizer.huggingface.json", GgufValue::string(vocab.hf_json));
  // What embtune needs to read the file back as the same sentence-transformers model.
  add("embtune.format_version", GgufValue::u32(1));
  add("embtune.hf_config", GgufValue::string(bert_config_to_json(cfg).dump(2)));
  add("embtune.max_seq_length", GgufValue::u32(static_cast<uint32_t>(enc.max_seq_length())));
  add("embtune.do_lower_case", GgufValue::boolean(f.do_lower_case));
  add("embtune.normalize", GgufValue::boolean(enc.normalizes()));
  std::vector<std::string> prompt_names, prompt_texts;
  for (auto& [k, t] : f.prompts) prompt_names.push_back(k), prompt_texts.push_back(t);
  add("embtune.prompt_names", GgufValue::strings(prompt_names));
  add("embtune.prompt_texts", GgufValue::strings(prompt_texts));
  add("embtune.default_prompt_name", GgufValue::string(f.default_prompt_name));
  add("embtune.similarity_fn_name", GgufValue::string(f.similarity_fn_name.empty() ? "cosine" : f.similarity_fn_name));
  const std::string tdir = f.transformer_dir;
  if (std::string s = optional_text(path_join(tdir, "tokenizer_config.json")); !s.empty())
    add("embtune.tokenizer_config", GgufValue::string(s));
  if (std::string s = optional_text(path_join(tdir, "special_tokens_map.json")); !s.empty())
    add("embtune.special_tokens_map", GgufValue::string(s));

  std::map<std::string, const ParamInfo*> params;
  for (const ParamInfo& p : enc.bert().layout()) params[p.name] = &p;
  std::vector<GgufTensorToWrite> tensors;
  for (const TensorName& t : bert_tensor_names(cfg.num_hidden_layers)) {
    auto it = params.find(t.hf);
    ET_CHECK(it != params.end());
    const ParamInfo& p = *it->second;
    GgufTensorToWrite w;
    w.name = t.gguf;
    w.ne.assign(p.shape.rbegin(), p.shape.rend());
    w.type = t.matrix ? opt.type : GgmlType::F32;
    // gguf-py's quantize raises QuantError for rows not divisible by the block; the converter then writes F16.
    if (w.type == GgmlType::Q8_0 && w.ne[0] % 32 != 0) w.type = GgmlType::F16;
    w.data = enc.bert().params().data() + p.offset;
    tensors.push_back(std::move(w));
  }
  return gguf_write(path, kv, tensors);
}

bool is_gguf_file(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::memcmp(magic, "GGUF", 4) == 0;
}

namespace {

Status get_u32(const GgufFile& g, const char* key, int64_t* out) {
  const GgufValue* v = g.find_kv(key);
  if (!v) return make_error("%s: missing metadata key \"%s\"", g.path().c_str(), key);
  if (!v->is_integer() || v->as_int() <= 0)
    return make_error("%s: metadata \"%s\" must be a positive integer (it is %s)", g.path().c_str(), key, gguf_type_name(v->type));
  *out = v->as_int();
  return Status::ok_status();
}

const std::string* get_string(const GgufFile& g, const char* key) {
  const GgufValue* v = g.find_kv(key);
  return v && v->type == GgufType::String ? &v->str : nullptr;
}

int64_t get_int_or(const GgufFile& g, const char* key, int64_t dflt) {
  const GgufValue* v = g.find_kv(key);
  return v && v->is_integer() ? v->as_int() : dflt;
}

bool get_bool_or(const GgufFile& g, const char* key, bool dflt) {
  const GgufValue* v = g.find_kv(key);
  return v && v->type == GgufType::Bool ? v->b : dflt;
}

std::vector<std::string> get_strings(const GgufFile& g, const char* key) {
  std::vector<std::string> out;
  const GgufValue* v = g.find_kv(key);
  if (v && v->type == GgufType::Array && v->array_type == GgufType::String)
    for (const GgufValue& e : v->array) out.push_back(e.str);
  return out;
}

// The vocab.txt + tokenizer_config.json of a file without tokenizer.huggingface.json: the
// phantom-space spelling undone (a word-start token loses U+2581, any other normal token
// gets "##" back; control and "[PAD<id>]" filler tokens stay as they are).
Status write_wordpiece_files(const GgufFile& g, const std::string& dir) {
  const std::string* model = get_string(g, "tokenizer.ggml.model");
  if (!model) return make_error("%s: missing metadata key \"tokenizer.ggml.model\"", g.path().c_str());
  if (*model != "bert")
    return make_error("%s: tokenizer.ggml.model is \"%s\" and there is no tokenizer.huggingface.json; embtune can rebuild "
                      "only a bert (WordPiece) vocabulary", g.path().c_str(), model->c_str());
  const GgufValue* toks = g.find_kv("tokenizer.ggml.tokens");
  if (!toks || toks->type != GgufType::Array || toks->array_type != GgufType::String || toks->array.empty())
    return make_error("%s: missing or malformed \"tokenizer.ggml.tokens\" (an array of strings)", g.path().c_str());
  const GgufValue* types = g.find_kv("tokenizer.ggml.token_type");
  if (types && (types->type != GgufType::Array || types->array.size() != toks->array.size()))
    return make_error("%s: \"tokenizer.ggml.token_type\" must be an array as long as tokenizer.ggml.tokens", g.path().c_str());
  std::string vocab;
  std::vector<std::string> plain;
  for (size_t i = 0; i < toks->array.size(); i++) {
    const std::string& t = toks->array[i].str;
    const int64_t type = types ? types->array[i].as_int() : kTokenNormal;
    std::string p;
    if (type == kTokenControl || type == kTokenUnused) p = t;
    else if (t.rfind(kPhantom, 0) == 0) p = t.substr(kPhantom.size());
    else p = "##" + t;
    if (p.find('\n') != std::string::npos)
      return make_error("%s: token %zu contains a newline; it cannot be written to vocab.txt", g.path().c_str(), i);
    plain.push_back(p);
    vocab += p + "\n";
  }
  auto name_of = [&](const char* key, const char* dflt) -> std::string {
    const int64_t id = get_int_or(g, key, -1);
    return id >= 0 && id < static_cast<int64_t>(plain.size()) ? plain[id] : std::string(dflt);
  };
  nlohmann::json tc = {{"do_lower_case", true},
                       {"tokenizer_class", "BertTokenizer"},
                       {"unk_token", name_of("tokenizer.ggml.unknown_token_id", "[UNK]")},
                       {"cls_token", name_of("tokenizer.ggml.bos_token_id", "[CLS]")},
                       {"sep_token", name_of("tokenizer.ggml.seperator_token_id", "[SEP]")},
                       {"pad_token", name_of("tokenizer.ggml.padding_token_id", "[PAD]")},
                       {"mask_token", name_of("tokenizer.ggml.mask_token_id", "[MASK]")}};
  AtomicFile f;
  ET_RETURN_IF_ERROR(f.open(path_join(dir, "vocab.txt")));
  ET_RETURN_IF_ERROR(f.write(vocab));
  ET_RETURN_IF_ERROR(f.commit());
  if (const std::string* kept = get_string(g, "embtune.tokenizer_config")) {  // embtune's export of a vocab.txt model
    AtomicFile c;
    ET_RETURN_IF_ERROR(c.open(path_join(dir, "tokenizer_config.json")));
    ET_RETURN_IF_ERROR(c.write(*kept));
    return c.commit();
  }
  return write_json_file(path_join(dir, "tokenizer_config.json"), tc);
}

Status write_text_file(const std::string& path, const std::string& text) {
  AtomicFile f;
  ET_RETURN_IF_ERROR(f.open(path));
  ET_RETURN_IF_ERROR(f.write(text));
  return f.commit();
}

Status convert_into(const GgufFile& g, const std::string& dir) {
  const std::string& file = g.path();
  const std::string* arch = get_string(g, "general.architecture");
  if (!arch) return make_error("%s: missing metadata key \"general.architecture\"", file.c_str());
  if (*arch != "bert")
    return make_error("%s: architecture \"%s\" is not supported (embtune reads GGUF of llama.cpp's \"bert\")", file.c_str(),
                      arch->c_str());
  int64_t H, L, heads, I, P;
  ET_RETURN_IF_ERROR(get_u32(g, "bert.embedding_length", &H));
  ET_RETURN_IF_ERROR(get_u32(g, "bert.block_count", &L));
  ET_RETURN_IF_ERROR(get_u32(g, "bert.attention.head_count", &heads));
  ET_RETURN_IF_ERROR(get_u32(g, "bert.feed_forward_length", &I));
  ET_RETURN_IF_ERROR(get_u32(g, "bert.context_length", &P));
  const GgufValue* eps = g.find_kv("bert.attention.layer_norm_epsilon");
  if (!eps || (eps->type != GgufType::Float32 && eps->type != GgufType::Float64))
    return make_error("%s: missing or non-float metadata \"bert.attention.layer_norm_epsilon\"", file.c_str());
  const GgufTensor* tok = g.find_tensor("token_embd.weight");
  const GgufTensor* types = g.find_tensor("token_types.weight");
  if (!tok) return make_error("%s: missing tensor \"token_embd.weight\"", file.c_str());
  if (!types) return make_error("%s: missing tensor \"token_types.weight\"", file.c_str());
  if (tok->ne.size() != 2 || types->ne.size() != 2)
    return make_error("%s: token_embd.weight and token_types.weight must be 2-D", file.c_str());

  nlohmann::json cj;
  if (const std::string* hf = get_string(g, "embtune.hf_config")) {
    cj = nlohmann::json::parse(*hf, nullptr, false);
    if (cj.is_discarded() || !cj.is_object()) return make_error("%s: embtune.hf_config is not a JSON object", file.c_str());
  } else {
    cj = {{"architectures", {"BertModel"}}, {"model_type", "bert"}, {"hidden_act", "gelu"},
          {"hidden_dropout_prob", 0.1}, {"attention_probs_dropout_prob", 0.1}, {"initializer_range", 0.02},
          {"position_embedding_type", "absolute"}};
  }
  cj["hidden_size"] = H;
  cj["num_hidden_layers"] = L;
  cj["num_attention_heads"] = heads;
  cj["intermediate_size"] = I;
  cj["max_position_embeddings"] = P;
  cj["vocab_size"] = tok->ne[1];
  cj["type_vocab_size"] = types->ne[1];
  cj["layer_norm_eps"] = eps->f;
  BertConfig cfg;
  ET_RETURN_IF_ERROR(bert_config_from_json(cj, file + " (bert.* metadata)", &cfg));

  int64_t total = 0;
  const std::vector<ParamInfo> layout = bert_param_layout(cfg, &total);
  std::map<std::string, const ParamInfo*> by_name;
  for (const ParamInfo& p : layout) by_name[p.name] = &p;
  std::vector<float> params(static_cast<size_t>(total));
  std::vector<float> buf;
  for (const TensorName& t : bert_tensor_names(L)) {
    const GgufTensor* gt = g.find_tensor(t.gguf);
    if (!gt) return make_error("%s: missing tensor \"%s\"", file.c_str(), t.gguf.c_str());
    const ParamInfo& p = *by_name.at(t.hf);
    std::vector<int64_t> want(p.shape.rbegin(), p.shape.rend());
    if (gt->ne != want) {
      std::string got, exp;
      for (int64_t d : gt->ne) got += (got.empty() ? "" : ", ") + std::to_string(d);
      for (int64_t d : want) exp += (exp.empty() ? "" : ", ") + std::to_string(d);
      return make_error("%s: tensor \"%s\" has ne [%s], expected [%s]", file.c_str(), t.gguf.c_str(), got.c_str(), exp.c_str());
    }
    ET_RETURN_IF_ERROR(g.tensor_f32(*gt, &buf));
    std::copy(buf.begin(), buf.end(), params.begin() + p.offset);
  }
  std::vector<TensorToWrite> st;
  for (const ParamInfo& p : layout) st.push_back({p.name, p.shape, params.data() + p.offset, DType::F32});
  ET_RETURN_IF_ERROR(safetensors_write(path_join(dir, "model.safetensors"), st, {{"format", "pt"}}));
  ET_RETURN_IF_ERROR(write_json_file(path_join(dir, "config.json"), bert_config_to_json(cfg)));

  if (const std::string* hf = get_string(g, "tokenizer.huggingface.json")) {
    ET_RETURN_IF_ERROR(write_text_file(path_join(dir, "tokenizer.json"), *hf));
    if (const std::string* tc = get_string(g, "embtune.tokenizer_config"))
      ET_RETURN_IF_ERROR(write_text_file(path_join(dir, "tokenizer_config.json"), *tc));
  } else {
    ET_RETURN_IF_ERROR(write_wordpiece_files(g, dir));
  }
  if (const std::string* sm = get_string(g, "embtune.special_tokens_map"))
    ET_RETURN_IF_ERROR(write_text_file(path_join(dir, "special_tokens_map.json"), *sm));

  StModelDir m;
  m.modules = {{"Transformer", "", ""}, {"Pooling", "", "1_Pooling"}};
  // llama.cpp's embedding tools normalize by default (--embd-normalize 2); without embtune's key, do the same.
  if (get_bool_or(g, "embtune.normalize", true)) m.modules.push_back({"Normalize", "", "2_Normalize"});
  const int64_t pooling = get_int_or(g, "bert.pooling_type", kPoolMean);
  if (pooling == kPoolMean) m.pooling.modes = {"mean"};
  else if (pooling == kPoolCls) m.pooling.modes = {"cls"};
  else if (pooling == kPoolLast) m.pooling.modes = {"lasttoken"};
  else
    return make_error("%s: bert.pooling_type %lld is not a sentence pooling embtune supports (1 mean, 2 cls, 3 last)%s",
                      file.c_str(), (long long)pooling, pooling == kPoolNone ? "; 0 means token embeddings only" : "");
  m.pooling.embedding_dimension = H;
  m.max_seq_length = get_int_or(g, "embtune.max_seq_length", std::min<int64_t>(512, P));
  m.do_lower_case = get_bool_or(g, "embtune.do_lower_case", false);
  const std::vector<std::string> names = get_strings(g, "embtune.prompt_names"), texts = get_strings(g, "embtune.prompt_texts");
  if (names.size() != texts.size())
    return make_error("%s: embtune.prompt_names and embtune.prompt_texts differ in length", file.c_str());
  for (size_t i = 0; i < names.size(); i++) m.prompts[names[i]] = texts[i];
  if (const std::string* d = get_string(g, "embtune.default_prompt_name")) m.default_prompt_name = *d;
  if (const std::string* s = get_string(g, "embtune.similarity_fn_name")) m.similarity_fn_name = *s;
  return st_dir_write_st_files(dir, m);
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

std::string gguf_cache_root() {
  if (const char* d = std::getenv("EMBTUNE_CACHE_DIR"); d && *d) return path_join(d, "gguf");
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return path_join(x, "embtune/gguf");
  if (const char* h = std::getenv("HOME"); h && *h) return path_join(h, ".cache/embtune/gguf");
  std::error_code ec;
  return (fs::temp_directory_path(ec) / "embtune-gguf").string();
}

}  // namespace

Status gguf_to_model_dir(const std::string& gguf_path, const std::string& dir) {
  GgufFile g;
  ET_RETURN_IF_ERROR(g.open(gguf_path));
  std::error_code ec;
  if (fs::exists(dir, ec)) return make_error("%s: already exists", dir.c_str());
  const std::string tmp = dir + ".tmp-" + std::to_string(getpid());
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) return make_error("%s: cannot create directory: %s", tmp.c_str(), ec.message().c_str());
  Status s = convert_into(g, tmp);
  if (s.ok()) {
    fs::rename(tmp, dir, ec);
    if (ec && !fs::exists(path_join(dir, "modules.json")))
      s = make_error("%s: cannot move the converted model into place: %s", dir.c_str(), ec.message().c_str());
  }
  fs::remove_all(tmp, ec);  // gone after a rename; what is left after an error or a lost race
  return s;
}

Status gguf_resolve_model_path(const std::string& path, std::string* model_dir) {
  *model_dir = path;
  if (!is_gguf_file(path)) return Status::ok_status();
  std::error_code ec;
  const std::string abs = fs::absolute(path, ec).lexically_normal().string();
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return make_error("%s: cannot stat: %s", path.c_str(), std::strerror(errno));
  char stamp[96];  // size, modification time, and the version of the conversion
  std::snprintf(stamp, sizeof stamp, "|%lld|%lld.%09ld|v1", (long long)st.st_size, (long long)st.st_mtim.tv_sec,
                (long)st.st_mtim.tv_nsec);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", (unsigned long long)fnv1a(abs + stamp));
  const std::string root = gguf_cache_root();
  fs::create_directories(root, ec);
  if (ec) return make_error("%s: cannot create the GGUF cache directory: %s (set EMBTUNE_CACHE_DIR)", root.c_str(),
                            ec.message().c_str());
  const std::string dir = path_join(root, fs::path(abs).stem().string() + "-" + hex);
  if (!fs::exists(path_join(dir, "modules.json"), ec)) ET_RETURN_IF_ERROR(gguf_to_model_dir(path, dir));
  *model_dir = dir;
  return Status::ok_status();
}

}  // namespace embtune
