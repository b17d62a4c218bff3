// BERT encoder: config parsing, the parameter layout, loading from safetensors, and the fp32
// forward and backward passes composed from ops/. Not pooling, losses or the optimizer.
#include "model/bert.h"

#include "core/strings.h"

#include <cmath>
#include <random>

#include "io/st_dir.h"
#include "ops/attention.h"
#include "ops/dropout.h"
#include "ops/embedding.h"
#include "ops/layer_norm.h"
#include "ops/matmul.h"

namespace embtune {

namespace {

// v resized to n; when it must grow, with a quarter more room, so that batches of varying token
// counts stop reallocating (and faulting in fresh pages) after the first few.
template <typename T>
void fit(std::vector<T>* v, int64_t n) {
  if (static_cast<int64_t>(v->capacity()) < n) v->reserve(static_cast<size_t>(n + n / 4));
  v->resize(static_cast<size_t>(n));
}

// The inference forward's buffers: qkv (N, 3H), ctx, tmp (N, H), inter (N, I); in bf16, x16 and
// ctx16 (N, H), qkv16 (N, 3H) and inter16 (N, I) in their stead where only products read them.
struct InferenceScratch {
  std::vector<float> qkv, ctx, tmp, inter;
  std::vector<uint16_t> x16, ctx16, qkv16, inter16;
};

// a (n) += b (n)
void add_inplace(float* a, const float* b, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; i++) a[i] += b[i];
}

Status get_int(const nlohmann::json& j, const std::string& file, const char* key, bool required,
               int64_t* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) return make_error("%s: missing required key \"%s\"", file.c_str(), key);
    return Status::ok_status();
  }
  if (!it->is_number_integer())
    return make_error("%s: key \"%s\" must be an integer, got %s", file.c_str(), key, it->dump().c_str());
  *out = it->get<int64_t>();
  if (*out <= 0) return make_error("%s: key \"%s\" must be positive, got %lld", file.c_str(), key, (long long)*out);
  return Status::ok_status();
}

Status get_double(const nlohmann::json& j, const std::string& file, const char* key, double* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return Status::ok_status();
  if (!it->is_number()) return make_error("%s: key \"%s\" must be a number", file.c_str(), key);
  *out = it->get<double>();
  return Status::ok_status();
}

}  // namespace

Status bert_config_from_json(const nlohmann::json& j, const std::string& file, BertConfig* out) {
  if (!j.is_object()) return make_error("%s: not a JSON object", file.c_str());
  BertConfig c;
  c.raw = j;
  std::string model_type = j.value("model_type", std::string());
  bool bert_arch = false;
  if (j.contains("architectures") && j["architectures"].is_array())
    for (auto& a : j["architectures"])
      if (a.is_string() && a.get<std::string>().rfind("Bert", 0) == 0) bert_arch = true;
  if (model_type.empty() && !bert_arch)
    return make_error("%s: missing required key \"model_type\" (expected \"bert\")", file.c_str());
  if (!model_type.empty() && model_type != "bert")
    return make_error("%s: model_type \"%s\" is not supported (supported: bert — BertModel and "
                      "the models that share it: MiniLM, bge, e5, gte)",
                      file.c_str(), model_type.c_str());
  ET_RETURN_IF_ERROR(get_int(j, file, "vocab_size", true, &c.vocab_size));
  ET_RETURN_IF_ERROR(get_int(j, file, "hidden_size", true, &c.hidden_size));
  ET_RETURN_IF_ERROR(get_int(j, file, "num_hidden_layers", true, &c.num_hidden_layers));
  ET_RETURN_IF_ERROR(get_int(j, file, "num_attention_heads", true, &c.num_attention_heads));
  ET_RETURN_IF_ERROR(get_int(j, file, "intermediate_size", true, &c.intermediate_size));
  ET_RETURN_IF_ERROR(get_int(j, file, "max_position_embeddings", true, &c.max_position_embeddings));
  ET_RETURN_IF_ERROR(get_int(j, file, "type_vocab_size", false, &c.type_vocab_size));
  ET_RETURN_IF_ERROR(get_double(j, file, "layer_norm_eps", &c.layer_norm_eps));
  ET_RETURN_IF_ERROR(get_double(j, file, "hidden_dropout_prob", &c.hidden_dropout_prob));
  ET_RETURN_IF_ERROR(get_double(j, file, "attention_probs_dropout_prob", &c.attention_probs_dropout_prob));
  if (c.hidden_size % c.num_attention_heads != 0)
    return make_error("%s: hidden_size %lld is not a multiple of num_attention_heads %lld", file.c_str(),
                      (long long)c.hidden_size, (long long)c.num_attention_heads);
  if (j.contains("hidden_act")) {
    if (!j["hidden_act"].is_string()) return make_error("%s: key \"hidden_act\" must be a string", file.c_str());
    c.hidden_act = j["hidden_act"].get<std::string>();
  }
  if (c.hidden_act != "gelu")
    return make_error("%s: hidden_act \"%s\" is not supported (supported: gelu, the exact erf form)",
                      file.c_str(), c.hidden_act.c_str());
  std::string pet = j.value("position_embedding_type", std::string("absolute"));
  if (pet != "absolute")
    return make_error("%s: position_embedding_type \"%s\" is not supported (supported: absolute)",
                      file.c_str(), pet.c_str());
  *out = std::move(c);
  return Status::ok_status();
}

nlohmann::json bert_config_to_json(const BertConfig& c) {
  nlohmann::json j = c.raw.is_object() ? c.raw : nlohmann::json::object();
  if (!j.contains("architectures")) j["architectures"] = {"BertModel"};
  j["model_type"] = "bert";
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.hidden_size;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_attention_heads"] = c.num_attention_heads;
  j["intermediate_size"] = c.intermediate_size;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["type_vocab_size"] = c.type_vocab_size;
  j["layer_norm_eps"] = c.layer_norm_eps;
  j["hidden_act"] = c.hidden_act;
  j["hidden_dropout_prob"] = c.hidden_dropout_prob;
  j["attention_probs_dropout_prob"] = c.attention_probs_dropout_prob;
  if (!j.contains("position_embedding_type")) j["position_embedding_type"] = "absolute";
  return j;
}

std::vector<ParamInfo> bert_param_layout(const BertConfig& c, int64_t* total_floats) {
  std::vector<ParamInfo> v;
  int64_t off = 0;
  auto add = [&](const std::string& name, std::vector<int64_t> shape) {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    v.push_back({name, std::move(shape), off, n});
    off += n;
  };
  const int64_t H = c.hidden_size, I = c.intermediate_size;
  add("embeddings.word_embeddings.weight", {c.vocab_size, H});
  add("embeddings.position_embeddings.weight", {c.max_position_embeddings, H});
  add("embeddings.token_type_embeddings.weight", {c.type_vocab_size, H});
  add("embeddings.LayerNorm.weight", {H});
  add("embeddings.LayerNorm.bias", {H});
  for (int64_t l = 0; l < c.num_hidden_layers; l++) {
    const std::string p = "encoder.layer." + std::to_string(l) + ".";
    for (const char* m : {"attention.self.query", "attention.self.key", "attention.self.value"})
      add(p + m + ".weight", {H, H});
    for (const char* m : {"attention.self.query", "attention.self.key", "attention.self.value"})
      add(p + m + ".bias", {H});
    add(p + "attention.output.dense.weight", {H, H});
    add(p + "attention.output.dense.bias", {H});
    add(p + "attention.output.LayerNorm.weight", {H});
    add(p + "attention.output.LayerNorm.bias", {H});
    add(p + "intermediate.dense.weight", {I, H});
    add(p + "intermediate.dense.bias", {I});
    add(p + "output.dense.weight", {H, I});
    add(p + "output.dense.bias", {H});
    add(p + "output.LayerNorm.weight", {H});
    add(p + "output.LayerNorm.bias", {H});
  }
  if (total_floats) *total_floats = off;
  return v;
}

void BertModel::init_empty(const BertConfig& c) {
  config_ = c;
  int64_t total = 0;
  layout_ = bert_param_layout(c, &total);
  params_.assign(static_cast<size_t>(total), 0.0f);
  source_names_.clear();
  for (const ParamInfo& p : layout_) source_names_.push_back(p.name);
  bind_views();
}

void BertModel::init_random(const BertConfig& c, uint64_t seed) {
  init_empty(c);
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  for (const ParamInfo& p : layout_) {
    float* d = params_.data() + p.offset;
    const bool ln = p.name.find("LayerNorm") != std::string::npos;
    const bool bias = ends_with(p.name, "bias");
    for (int64_t i = 0; i < p.numel; i++) d[i] = ln ? (bias ? 0.0f : 1.0f) : normal(rng);
  }
}

Status BertModel::load(const BertConfig& c, const SafetensorsSet& st) {
  init_empty(c);
  for (const ParamInfo& p : layout_) {
    const TensorView* t = st.find(p.name);
    if (!t) t = st.find("bert." + p.name);
    if (!t && p.name.find("LayerNorm.") != std::string::npos) {
      // Checkpoints converted from the original TensorFlow BERT name LayerNorm gamma / beta.
      std::string legacy = p.name;
      auto dot = legacy.rfind('.');
      legacy = legacy.substr(0, dot + 1) + (legacy.substr(dot + 1) == "weight" ? "gamma" : "beta");
      t = st.find(legacy);
      if (!t) t = st.find("bert." + legacy);
    }
    if (!t) return make_error("missing weight \"%s\" (looked for it with and without the \"bert.\" prefix)",
                              p.name.c_str());
    if (t->shape != p.shape) {
      std::string want, got;
      for (auto d : p.shape) want += (want.empty() ? "" : ", ") + std::to_string(d);
      for (auto d : t->shape) got += (got.empty() ? "" : ", ") + std::to_string(d);
      return make_error("%s: tensor \"%s\" has shape [%s], the config needs [%s]", st.file_of(t->name).c_str(),
                        t->name.c_str(), got.c_str(), want.c_str());
    }
    Status s = tensor_to_f32(*t, params_.data() + p.offset);
    if (!s.ok()) return s.wrap(st.file_of(t->name));
    source_names_[&p - layout_.data()] = t->name;
  }
  return Status::ok_status();
}

Status BertModel::save_safetensors(const std::string& path, DType dtype) const {
  std::vector<TensorToWrite> tensors;
  for (size_t i = 0; i < layout_.size(); i++)
    tensors.push_back({source_names_[i], layout_[i].shape, params_.data() + layout_[i].offset, dtype});
  return safetensors_write(path, tensors, {{"format", "pt"}});
}

Status BertModel::load_dir(const std::string& dir) {
  const std::string config_file = dir + "/config.json";
  nlohmann::json j;
  ET_RETURN_IF_ERROR(read_json_file(config_file, &j));
  BertConfig c;
  ET_RETURN_IF_ERROR(bert_config_from_json(j, config_file, &c));
  SafetensorsSet st;
  ET_RETURN_IF_ERROR(st.open(dir));
  return load(c, st);
}

void BertModel::bind_views() {
  const float* base = params_.data();
  const int64_t H = config_.hidden_size;
  size_t i = 0;
  auto next = [&]() { return base + layout_[i++].offset; };
  w_.word = next();
  w_.pos = next();
  w_.type = next();
  w_.emb_ln_w = next();
  w_.emb_ln_b = next();
  w_.layers.resize(config_.num_hidden_layers);
  for (auto& L : w_.layers) {
    L.qkv_w = next();
    ET_CHECK(next() == L.qkv_w + H * H && next() == L.qkv_w + 2 * H * H);  // key, value follow query
    L.qkv_b = next();
    ET_CHECK(next() == L.qkv_b + H && next() == L.qkv_b + 2 * H);
    L.attn_out_w = next(); L.attn_out_b = next();
    L.ln1_w = next(); L.ln1_b = next();
    L.inter_w = next(); L.inter_b = next();
    L.out_w = next(); L.out_b = next();
    L.ln2_w = next(); L.ln2_b = next();
  }
  ET_CHECK(i == layout_.size());
}

void PackedBatch::add(const std::vector<int32_t>& seq_ids, const std::vector<int32_t>* seq_type_ids) {
  if (cu_seqlens.empty()) cu_seqlens.push_back(0);
  for (size_t i = 0; i < seq_ids.size(); i++) {
    ids.push_back(seq_ids[i]);
    pos_ids.push_back(static_cast<int32_t>(i));
    type_ids.push_back(seq_type_ids ? (*seq_type_ids)[i] : 0);
  }
  cu_seqlens.push_back(static_cast<int32_t>(ids.size()));
}

void PackedBatch::clear() {
  ids.clear();
  type_ids.clear();
  pos_ids.clear();
  cu_seqlens.clear();
}

Status BertModel::validate_batch(const PackedBatch& b) const {
  for (int64_t s = 0; s < b.num_seqs(); s++) {
    for (int64_t i = b.cu_seqlens[s]; i < b.cu_seqlens[s + 1]; i++) {
      if (b.ids[i] < 0 || b.ids[i] >= config_.vocab_size)
        return make_error("sequence %lld: token id %d is outside the vocabulary (size %lld)", (long long)s + 1,
                          b.ids[i], (long long)config_.vocab_size);
      if (b.pos_ids[i] >= config_.max_position_embeddings)
        return make_error("sequence %lld: %d tokens exceed max_position_embeddings %lld", (long long)s + 1,
                          b.cu_seqlens[s + 1] - b.cu_seqlens[s], (long long)config_.max_position_embeddings);
      if ((b.type_ids[i] < 0 || b.type_ids[i] >= config_.type_vocab_size))
        return make_error("sequence %lld: token type id %d is outside type_vocab_size %lld", (long long)s + 1,
                          b.type_ids[i], (long long)config_.type_vocab_size);
    }
  }
  return Status::ok_status();
}

void BertModel::forward(float* out, const PackedBatch& b) const {
  const int64_t N = b.num_tokens(), S = b.num_seqs();
  const int64_t H = config_.hidden_size, I = config_.intermediate_size;
  const int64_t heads = config_.num_attention_heads;
  const float eps = static_cast<float>(config_.layer_norm_eps);
  if (N == 0) return;
  // Kept from batch to batch on this thread (grown with room, never shrunk): a fresh buffer per
  // batch would fault its pages in again inside the products.
  static thread_local InferenceScratch sc;
  auto& [qkv, ctx, tmp, inter, x16, ctx16, qkv16, inter16] = sc;
  const bool bf16 = precision_ == Precision::Bf16;
  fit(&tmp, N * H);  // (N, H)
  // In bf16, each LayerNorm also writes its output rounded (x16): the next products' input; q, k,
  // v and ctx exist only rounded.
  uint16_t* r = nullptr;
  if (bf16) {
    fit(&x16, N * H);
    fit(&ctx16, N * H);
    fit(&qkv16, N * 3 * H);
    fit(&inter16, N * I);
    r = x16.data();
  } else {
    fit(&qkv, N * 3 * H);
    fit(&ctx, N * H);
    fit(&inter, N * I);
  }
  float* x = out;  // (N, H) the residual stream lives in out

  embedding_forward(tmp.data(), b.ids.data(), b.pos_ids.data(), b.type_ids.data(),
                    w_.word, w_.pos, w_.type, N, H);
  layer_norm_forward(x, nullptr, nullptr, tmp.data(), nullptr, w_.emb_ln_w, w_.emb_ln_b, N, H, eps, r);
  for (const BertLayerWeights& L : w_.layers) {
    if (bf16) {  // q, k, v in one product, written rounded; attention writes ctx rounded
      matmul_forward_bf16(qkv16.data(), r, L.qkv_w, L.qkv_b, N, H, 3 * H);
      attention_forward_bf16(ctx16.data(), qkv16.data(), b.cu_seqlens.data(), S, H, heads);
      matmul_forward_bf16(tmp.data(), ctx16.data(), L.attn_out_w, L.attn_out_b, N, H, H);
    } else {
      matmul_forward(qkv.data(), x, L.qkv_w, L.qkv_b, N, H, 3 * H);  // q, k, v in one product
      const float* q = qkv.data();
      attention_forward(ctx.data(), q, q + H, q + 2 * H, b.cu_seqlens.data(), S, H, heads, {}, precision_, 3 * H);
      matmul_forward(tmp.data(), ctx.data(), L.attn_out_w, L.attn_out_b, N, H, H);
    }
    layer_norm_forward(x, nullptr, nullptr, tmp.data(), x, L.ln1_w, L.ln1_b, N, H, eps, r);  // LN(attn + x)
    // fp32: GELU as the product's post-op. bf16: as the training forward runs it (the
    // pre-activation written rounded, then GELU in a pass of its own, in place), so that the two
    // forwards round at the same places and give the same embeddings.
    if (bf16) {
      matmul_forward_bf16(inter16.data(), r, L.inter_w, L.inter_b, N, H, I);
      gelu_forward_bf16(inter16.data(), inter16.data(), N * I);
      matmul_forward_bf16(tmp.data(), inter16.data(), L.out_w, L.out_b, N, I, H);
    } else {
      matmul_forward(inter.data(), x, L.inter_w, L.inter_b, N, H, I, Activation::Gelu);  // (N, I)
      matmul_forward(tmp.data(), inter.data(), L.out_w, L.out_b, N, I, H);
    }
    layer_norm_forward(x, nullptr, nullptr, tmp.data(), x, L.ln2_w, L.ln2_b, N, H, eps, r);  // LN(ffn + x)
  }
}

}  // namespace embtune

namespace embtune {

namespace {

// The dropout sites of one forward, each its own hash stream: stream 0 after the embeddings,
// then three per layer. Hidden sites index their (N, H) tensor by flat element index; the
// attention site by (row, head, key) as attention.h describes.
enum class DropoutSite { AttentionProbs = 0, AttentionOutput = 1, FfnOutput = 2 };

DropoutMask embedding_dropout(const DropoutConfig& d) {
  return d.hidden > 0.0f ? dropout_mask(d.hidden, d.seed, 0) : DropoutMask{};
}

DropoutMask layer_dropout(const DropoutConfig& d, size_t layer, DropoutSite site) {
  const float p = site == DropoutSite::AttentionProbs ? d.attention : d.hidden;
  return p > 0.0f ? dropout_mask(p, d.seed, 1 + 3 * layer + static_cast<uint64_t>(site)) : DropoutMask{};
}

}  // namespace

void BertModel::forward_train(BertActivations* acts, const PackedBatch& b, const DropoutConfig& dropout) const {
  const int64_t N = b.num_tokens(), S = b.num_seqs();
  const int64_t H = config_.hidden_size, I = config_.intermediate_size;
  const int64_t heads = config_.num_attention_heads;
  const float eps = static_cast<float>(config_.layer_norm_eps);
  ET_CHECK(dropout.hidden >= 0.0f && dropout.hidden < 1.0f && dropout.attention >= 0.0f && dropout.attention < 1.0f);
  acts->dropout = dropout;
  fit(&acts->emb_sum, N * H);
  fit(&acts->emb_mean, N);
  fit(&acts->emb_rstd, N);
  fit(&acts->emb_out, N * H);
  embedding_forward(acts->emb_sum.data(), b.ids.data(), b.pos_ids.data(), b.type_ids.data(), w_.word, w_.pos, w_.type,
                    N, H);
  acts->layers.resize(w_.layers.size());
  const bool bf16 = precision_ == Precision::Bf16;
  // In bf16 a product's input is rounded once, where it is made if it can be (LayerNorm writes
  // its bf16 copy in the same pass), and kept in the layer's activations for the backward.
  auto rounded = [&](std::vector<uint16_t>* v, int64_t n) -> uint16_t* {
    if (!bf16) {
      v->clear();
      return nullptr;
    }
    fit(v, n);
    return v->data();
  };
  auto round_into = [&](std::vector<uint16_t>* v, const float* x, int64_t n) {
    if (uint16_t* r = rounded(v, n)) round_to_bf16(r, x, n);
  };
  // The forward product of one linear layer, fp32 or on the input's kept bf16 rounding.
  auto linear = [&](float* out, const float* in, const std::vector<uint16_t>& in16, const float* w, const float* bias,
                    int64_t K, int64_t Nout) {
    if (bf16)
      matmul_forward_bf16(out, in16.data(), w, bias, N, K, Nout);
    else
      matmul_forward(out, in, w, bias, N, K, Nout);
  };
  const DropoutMask emb_drop = embedding_dropout(dropout);
  std::vector<uint16_t>* first_x16 = acts->layers.empty() ? nullptr : &acts->layers[0].x16;
  layer_norm_forward(acts->emb_out.data(), acts->emb_mean.data(), acts->emb_rstd.data(), acts->emb_sum.data(), nullptr,
                     w_.emb_ln_w, w_.emb_ln_b, N, H, eps,
                     first_x16 && !emb_drop.active() ? rounded(first_x16, N * H) : nullptr);
  if (emb_drop.active()) {
    dropout_forward(acts->emb_out.data(), acts->emb_out.data(), N * H, emb_drop);
    if (first_x16) round_into(first_x16, acts->emb_out.data(), N * H);  // the dropped values, rounded
  }
  const float* x = acts->emb_out.data();  // (N, H) the layer input; its rounding is in A.x16
  for (size_t l = 0; l < w_.layers.size(); l++) {
    const BertLayerWeights& L = w_.layers[l];
    BertLayerActivations& A = acts->layers[l];
    if (bf16) {
      A.qkv.clear();  // q, k, v and ctx live in bf16 only (qkv16, ctx16): only bf16 products read them
      A.ctx.clear();
    } else {
      fit(&A.qkv, N * 3 * H);
      fit(&A.ctx, N * H);
    }
    for (auto* v : {&A.res1, &A.x1, &A.res2, &A.out}) fit(v, N * H);
    for (auto* v : {&A.mean1, &A.rstd1, &A.mean2, &A.rstd2}) fit(v, N);
    if (bf16) {  // bf16 keeps only h_pre16 and h16: no product or gradient reads the fp32 ones
      A.h_pre.clear();
      A.h.clear();
    } else {
      fit(&A.h_pre, N * I);
      fit(&A.h, N * I);
      A.h_pre16.clear();
    }
    const DropoutMask attn_drop = layer_dropout(dropout, l, DropoutSite::AttentionProbs);
    if (bf16) {  // q, k, v in one product, written rounded; attention writes ctx rounded
      matmul_forward_bf16(rounded(&A.qkv16, N * 3 * H), A.x16.data(), L.qkv_w, L.qkv_b, N, H, 3 * H);
      attention_forward_bf16(rounded(&A.ctx16, N * H), A.qkv16.data(), b.cu_seqlens.data(), S, H, heads, attn_drop);
    } else {
      A.qkv16.clear();
      linear(A.qkv.data(), x, A.x16, L.qkv_w, L.qkv_b, H, 3 * H);  // q, k, v in one product
      const float* q = A.qkv.data();
      attention_forward(A.ctx.data(), q, q + H, q + 2 * H, b.cu_seqlens.data(), S, H, heads, attn_drop, precision_,
                        3 * H);
      A.ctx16.clear();
    }
    linear(A.res1.data(), A.ctx.data(), A.ctx16, L.attn_out_w, L.attn_out_b, H, H);
    const DropoutMask attn_out_drop = layer_dropout(dropout, l, DropoutSite::AttentionOutput);
    if (attn_out_drop.active()) dropout_forward(A.res1.data(), A.res1.data(), N * H, attn_out_drop);
    add_inplace(A.res1.data(), x, N * H);  // attention + residual: LN1's input, kept for backward
    layer_norm_forward(A.x1.data(), A.mean1.data(), A.rstd1.data(), A.res1.data(), nullptr, L.ln1_w, L.ln1_b, N, H, eps,
                       rounded(&A.x1_16, N * H));
    if (bf16) {  // the pre-activation written rounded, GELU from it (as autocast runs F.gelu on bf16)
      matmul_forward_bf16(rounded(&A.h_pre16, N * I), A.x1_16.data(), L.inter_w, L.inter_b, N, H, I);
      gelu_forward_bf16(rounded(&A.h16, N * I), A.h_pre16.data(), N * I);
    } else {
      linear(A.h_pre.data(), A.x1.data(), A.x1_16, L.inter_w, L.inter_b, H, I);
      activation_forward(A.h.data(), A.h_pre.data(), N * I, Activation::Gelu);
    }
    linear(A.res2.data(), A.h.data(), A.h16, L.out_w, L.out_b, I, H);
    const DropoutMask ffn_out_drop = layer_dropout(dropout, l, DropoutSite::FfnOutput);
    if (ffn_out_drop.active()) dropout_forward(A.res2.data(), A.res2.data(), N * H, ffn_out_drop);
    add_inplace(A.res2.data(), A.x1.data(), N * H);
    std::vector<uint16_t>* next_x16 = l + 1 < w_.layers.size() ? &acts->layers[l + 1].x16 : nullptr;
    layer_norm_forward(A.out.data(), A.mean2.data(), A.rstd2.data(), A.res2.data(), nullptr, L.ln2_w, L.ln2_b, N, H, eps,
                       next_x16 ? rounded(next_x16, N * H) : nullptr);
    x = A.out.data();
  }
}

namespace {

// The backward's (N, H) and (N, I) gradient buffers, kept from call to call (fit() keeps their
// capacity) so that a training step allocates nothing.
struct BackwardScratch {
  std::vector<float> d, d_res, d_tmp, d_qkv, d_h;  // d_qkv and d_h: fp32 only
  // bf16: attention's d_out, the intermediate's gradient and q, k, v's, each rounded
  std::vector<uint16_t> d_ctx16, d_h16, d_qkv16;
};

BackwardScratch& backward_scratch() {
  static thread_local BackwardScratch s;
  return s;
}

}  // namespace

void BertModel::backward(float* grads, const BertActivations& acts, const float* d_hidden, const PackedBatch& b,
                         const DropoutConfig& dropout) const {
  ET_CHECK(dropout == acts.dropout);  // the masks are regenerated: they must be the forward's
  const int64_t N = b.num_tokens(), S = b.num_seqs();
  const int64_t H = config_.hidden_size, I = config_.intermediate_size;
  const int64_t heads = config_.num_attention_heads;
  // The gradient of a weight lives at the same offset in `grads` as the weight in the arena.
  auto g = [&](const float* w) { return grads + (w - params_.data()); };
  BackwardScratch& sc = backward_scratch();
  for (auto* v : {&sc.d, &sc.d_res, &sc.d_tmp}) fit(v, N * H);
  const bool bf16 = precision_ == Precision::Bf16;
  if (!bf16) {  // bf16 keeps d h and d q, k, v in bf16 only (sc.d_h16, sc.d_qkv16)
    fit(&sc.d_h, N * I);
    fit(&sc.d_qkv, N * 3 * H);
  }
  float *d = sc.d.data(), *d_res = sc.d_res.data(), *d_tmp = sc.d_tmp.data();  // (N, H); d: the layer output's
  float* d_qkv = sc.d_qkv.data();                                               // (N, 3H), fp32 only
  float* d_h = sc.d_h.data();                                                   // (N, I), fp32 only
  std::copy(d_hidden, d_hidden + N * H, d);
  // The backward of one linear layer whose forward input was `in` (fp32) or its kept rounding.
  auto linear_backward = [&](float* d_in, const float* w, const float* bias, const float* d_out, const float* in,
                             const std::vector<uint16_t>& in16, int64_t K, int64_t Nout) {
    if (bf16) {
      ET_CHECK(static_cast<int64_t>(in16.size()) == N * K);  // the forward ran in bf16 too
      matmul_backward_bf16(d_in, g(w), g(bias), d_out, in16.data(), w, N, K, Nout);
    } else {
      matmul_backward(d_in, g(w), g(bias), d_out, in, w, N, K, Nout);
    }
  };
  for (size_t l = w_.layers.size(); l-- > 0;) {
    const BertLayerWeights& L = w_.layers[l];
    const BertLayerActivations& A = acts.layers[l];
    const float* x = l == 0 ? acts.emb_out.data() : acts.layers[l - 1].out.data();
    // out = LN2(res2), res2 = dense(h) + x1
    layer_norm_backward(d_res, g(L.ln2_w), g(L.ln2_b), d, A.res2.data(), A.mean2.data(), A.rstd2.data(), L.ln2_w, N,
                        H);
    const DropoutMask ffn_out_drop = layer_dropout(dropout, l, DropoutSite::FfnOutput);
    const float* d_ffn_out = d_res;  // d res2 reaches the dense output through its dropout
    if (ffn_out_drop.active()) {
      dropout_backward(d_tmp, d_res, N * H, ffn_out_drop);
      d_ffn_out = d_tmp;
    }
    if (bf16) {
      // d h comes rounded from its product (only GELU's backward reads it); GELU's backward, the
      // intermediate's bias gradient and the rounding of d h_pre then go in one pass, in place.
      ET_CHECK(static_cast<int64_t>(A.h_pre16.size()) == N * I);
      fit(&sc.d_h16, N * I);
      uint16_t* d_h16 = sc.d_h16.data();
      matmul_backward_bf16(d_h16, g(L.out_w), g(L.out_b), d_ffn_out, A.h16.data(), L.out_w, N, I, H);
      gelu_backward_bias_bf16(d_h16, g(L.inter_b), d_h16, A.h_pre16.data(), N, I);
      matmul_backward_bf16_rounded(d_tmp, g(L.inter_w), d_h16, A.x1_16.data(), L.inter_w, N, H, I);
    } else {
      linear_backward(d_h, L.out_w, L.out_b, d_ffn_out, A.h.data(), A.h16, I, H);
      activation_backward(d_h, d_h, A.h_pre.data(), N * I, Activation::Gelu);
      linear_backward(d_tmp, L.inter_w, L.inter_b, d_h, A.x1.data(), A.x1_16, H, I);
    }
    add_inplace(d_tmp, d_res, N * H);  // d x1: through the intermediate layer and the residual
    // x1 = LN1(res1), res1 = dense(ctx) + x
    layer_norm_backward(d_res, g(L.ln1_w), g(L.ln1_b), d_tmp, A.res1.data(), A.mean1.data(), A.rstd1.data(), L.ln1_w,
                        N, H);
    const DropoutMask attn_out_drop = layer_dropout(dropout, l, DropoutSite::AttentionOutput);
    // d res1 through the dropout, into a buffer free until the product: d_tmp in bf16 (its
    // product writes d ctx16), d_qkv in fp32 (free until attention)
    const float* d_attn_out = d_res;
    if (attn_out_drop.active()) {
      float* into = bf16 ? d_tmp : d_qkv;
      dropout_backward(into, d_res, N * H, attn_out_drop);
      d_attn_out = into;
    }
    const DropoutMask attn_drop = layer_dropout(dropout, l, DropoutSite::AttentionProbs);
    if (bf16) {  // d ctx, which only attention's bf16 products read, comes rounded from its product
      ET_CHECK(static_cast<int64_t>(A.qkv16.size()) == N * 3 * H);
      fit(&sc.d_ctx16, N * H);
      matmul_backward_bf16(sc.d_ctx16.data(), g(L.attn_out_w), g(L.attn_out_b), d_attn_out, A.ctx16.data(),
                           L.attn_out_w, N, H, H);
      // d q, k, v come rounded, the projections' bias gradient summed on the way
      fit(&sc.d_qkv16, N * 3 * H);
      attention_backward_bf16(sc.d_qkv16.data(), g(L.qkv_b), sc.d_ctx16.data(), A.qkv16.data(), b.cu_seqlens.data(), S,
                              H, heads, attn_drop);
    } else {
      linear_backward(d_tmp, L.attn_out_w, L.attn_out_b, d_attn_out, A.ctx.data(), A.ctx16, H, H);
      const float* q = A.qkv.data();
      attention_backward(d_qkv, d_qkv + H, d_qkv + 2 * H, d_tmp, q, q + H, q + 2 * H, b.cu_seqlens.data(), S, H,
                         heads, attn_drop, precision_, 3 * H);
    }
    // d x = residual + the three projections (one product): d_res becomes d (its buffer is free
    // until the next layer)
    std::swap(d, d_res);
    if (bf16)
      matmul_backward_bf16_rounded(d_tmp, g(L.qkv_w), sc.d_qkv16.data(), A.x16.data(), L.qkv_w, N, H, 3 * H);
    else
      linear_backward(d_tmp, L.qkv_w, L.qkv_b, d_qkv, x, A.x16, H, 3 * H);
    add_inplace(d, d_tmp, N * H);
  }
  const DropoutMask emb_drop = embedding_dropout(dropout);
  if (emb_drop.active()) dropout_backward(d, d, N * H, emb_drop);
  layer_norm_backward(d_res, g(w_.emb_ln_w), g(w_.emb_ln_b), d, acts.emb_sum.data(),
                      acts.emb_mean.data(), acts.emb_rstd.data(), w_.emb_ln_w, N, H);
  embedding_backward(g(w_.word), g(w_.pos), g(w_.type), d_res, b.ids.data(), b.pos_ids.data(),
                     b.type_ids.data(), N, H);
}

}  // namespace embtune
