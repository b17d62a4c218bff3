// The sentence-transformers head: loading and saving its Dense layers, forward and backward.
// Not a kernel: pooling, matmul and normalisation live in ops/; this wires them in module order.
#include "model/sentence_head.h"

#include <algorithm>
#include <filesystem>

#include "core/file.h"

namespace embtune {

namespace {

Status activation_from_name(const std::string& name, const std::string& file, Activation* out) {
  std::string last = name.substr(name.rfind('.') == std::string::npos ? 0 : name.rfind('.') + 1);
  if (last == "Identity") *out = Activation::None;
  else if (last == "Tanh") *out = Activation::Tanh;
  else if (last == "ReLU") *out = Activation::Relu;
  else if (last == "GELU") *out = Activation::Gelu;
  else if (last == "Sigmoid") *out = Activation::Sigmoid;
  else return make_error("%s: activation_function \"%s\" is not supported (supported: Identity, Tanh, ReLU, GELU, Sigmoid)",
                         file.c_str(), name.c_str());
  return Status::ok_status();
}

Status pooling_from_name(const std::string& m, const std::string& file, PoolingMode* out) {
  if (m == "cls") *out = PoolingMode::Cls;
  else if (m == "max") *out = PoolingMode::Max;
  else if (m == "mean") *out = PoolingMode::Mean;
  else if (m == "mean_sqrt_len_tokens") *out = PoolingMode::MeanSqrtLen;
  else if (m == "lasttoken") *out = PoolingMode::LastToken;
  else return make_error("%s: pooling mode \"%s\" is not supported (supported: cls, max, mean, mean_sqrt_len_tokens, lasttoken)",
                         file.c_str(), m.c_str());
  return Status::ok_status();
}

// Reads one Dense folder's model.safetensors into weight (out, in) and bias (out, or null).
Status load_dense_weights(const StDenseConfig& c, float* weight, float* bias) {
  const std::string file = path_join(c.dir, "model.safetensors");
  if (!file_exists(file)) {
    if (file_exists(path_join(c.dir, "pytorch_model.bin")))
      return make_error("%s: only pytorch_model.bin (a Python pickle) is present; save the model with "
                        "safetensors (sentence-transformers' default since 2.3)", c.dir.c_str());
    return make_error("%s: missing model.safetensors of the Dense module", c.dir.c_str());
  }
  SafetensorsFile st;
  ET_RETURN_IF_ERROR(st.open(file));
  const TensorView* w = st.find("linear.weight");
  if (!w) return make_error("%s: missing tensor \"linear.weight\"", file.c_str());
  if (w->shape != std::vector<int64_t>{c.out_features, c.in_features})
    return make_error("%s: tensor \"linear.weight\" must have shape [%lld, %lld] (out_features, in_features)",
                      file.c_str(), (long long)c.out_features, (long long)c.in_features);
  ET_RETURN_IF_ERROR(tensor_to_f32(*w, weight).wrap(file));
  if (!c.bias) return Status::ok_status();
  const TensorView* b = st.find("linear.bias");
  if (!b) return make_error("%s: missing tensor \"linear.bias\" (config says bias: true)", file.c_str());
  if (b->shape != std::vector<int64_t>{c.out_features})
    return make_error("%s: tensor \"linear.bias\" must have shape [%lld]", file.c_str(), (long long)c.out_features);
  return tensor_to_f32(*b, bias).wrap(file);
}

}  // namespace

void SentenceHead::init(const SentenceHeadConfig& c) {
  ET_CHECK(c.hidden_size > 0 && !c.pooling.empty());
  config_ = c;
  layout_.clear();
  weight_offset_.clear();
  bias_offset_.clear();
  int64_t d = pooled_dim(), total = 0;
  size_t next_dense = 0;
  for (HeadModule m : c.modules) {
    if (m != HeadModule::Dense) continue;
    ET_CHECK(next_dense < c.dense.size());
    const DenseLayer& L = c.dense[next_dense++];
    ET_CHECK(L.in == d && L.out > 0);
    const std::string prefix = L.folder.empty() ? "" : L.folder + "/";
    weight_offset_.push_back(total);
    layout_.push_back({prefix + "linear.weight", {L.out, L.in}, total, L.out * L.in});
    total += L.out * L.in;
    bias_offset_.push_back(L.bias ? total : -1);
    if (L.bias) {
      layout_.push_back({prefix + "linear.bias", {L.out}, total, L.out});
      total += L.out;
    }
    d = L.out;
  }
  ET_CHECK(next_dense == c.dense.size());
  params_.assign(static_cast<size_t>(total), 0.0f);
}

Status SentenceHead::load(const StModelDir& f, int64_t hidden_size) {
  SentenceHeadConfig c;
  c.hidden_size = hidden_size;
  c.pooling.clear();
  const std::string pool_file = path_join(f.dir, "1_Pooling/config.json");
  for (const std::string& m : f.pooling.modes) {
    PoolingMode mode = PoolingMode::Mean;
    ET_RETURN_IF_ERROR(pooling_from_name(m, pool_file, &mode));
    c.pooling.push_back(mode);
  }
  if (f.pooling.embedding_dimension > 0 && f.pooling.embedding_dimension != hidden_size)
    return make_error("%s: embedding dimension %lld differs from the transformer's hidden_size %lld", pool_file.c_str(),
                      (long long)f.pooling.embedding_dimension, (long long)hidden_size);
  int64_t dim = hidden_size * static_cast<int64_t>(c.pooling.size());
  size_t next_dense = 0;
  for (size_t i = 1; i < f.modules.size(); i++) {
    const StModule& m = f.modules[i];
    if (m.kind == "Dense") {
      const StDenseConfig& dc = f.dense[next_dense++];
      DenseLayer L;
      L.folder = m.path;
      L.in = dc.in_features;
      L.out = dc.out_features;
      L.bias = dc.bias;
      ET_RETURN_IF_ERROR(activation_from_name(dc.activation, path_join(dc.dir, "config.json"), &L.act));
      if (L.in != dim)
        return make_error("%s: in_features %lld does not match the %lld-dimensional input it receives",
                          path_join(dc.dir, "config.json").c_str(), (long long)L.in, (long long)dim);
      dim = L.out;
      c.modules.push_back(HeadModule::Dense);
      c.dense.push_back(std::move(L));
    } else if (m.kind == "Normalize") {
      c.modules.push_back(HeadModule::Normalize);
    }
  }
  init(c);
  for (size_t k = 0; k < c.dense.size(); k++) {
    float* bias = bias_offset_[k] < 0 ? nullptr : params_.data() + bias_offset_[k];
    ET_RETURN_IF_ERROR(load_dense_weights(f.dense[k], params_.data() + weight_offset_[k], bias));
  }
  return Status::ok_status();
}

Status SentenceHead::save_dense(const std::string& model_dir, DType dtype) const {
  for (size_t k = 0; k < config_.dense.size(); k++) {
    const DenseLayer& L = config_.dense[k];
    const std::string dir = path_join(model_dir, L.folder);
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return make_error("%s: cannot create directory: %s", dir.c_str(), ec.message().c_str());
    std::vector<TensorToWrite> tensors = {{"linear.weight", {L.out, L.in}, dense_weight(k), dtype}};
    if (L.bias) tensors.push_back({"linear.bias", {L.out}, dense_bias(k), dtype});
    ET_RETURN_IF_ERROR(safetensors_write(path_join(dir, "model.safetensors"), tensors, {{"format", "pt"}}));
  }
  return Status::ok_status();
}

bool SentenceHead::normalizes() const {
  return std::find(config_.modules.begin(), config_.modules.end(), HeadModule::Normalize) != config_.modules.end();
}

int64_t SentenceHead::pooled_dim() const {
  return config_.hidden_size * static_cast<int64_t>(config_.pooling.size());
}

int64_t SentenceHead::dim() const { return config_.dense.empty() ? pooled_dim() : config_.dense.back().out; }

void SentenceHead::forward(float* emb, const float* hidden, const int32_t* cu, const int32_t* skip,
                           int64_t S) const {
  if (S == 0) return;
  const int64_t H = config_.hidden_size, P = static_cast<int64_t>(config_.pooling.size());
  std::vector<float> x(static_cast<size_t>(S * H * P)), next;  // (S, H·P), then each module's output
  for (int64_t m = 0; m < P; m++)
    pooling_forward(x.data() + m * H, H * P, hidden, cu, skip, S, H, config_.pooling[m]);
  int64_t d = H * P;
  size_t k = 0;
  for (HeadModule mod : config_.modules) {
    if (mod == HeadModule::Dense) {
      const DenseLayer& L = config_.dense[k];
      next.resize(static_cast<size_t>(S * L.out));  // (S, out)
      matmul_forward(next.data(), x.data(), dense_weight(k), dense_bias(k), S, L.in, L.out, L.act);
      x.swap(next);
      d = L.out;
      k++;
    } else {
      l2_normalize_forward(x.data(), S, d);
    }
  }
  std::copy(x.begin(), x.begin() + S * d, emb);
}

void SentenceHead::forward_train(SentenceHeadActivations* acts, const float* hidden, const int32_t* cu,
                                 const int32_t* skip, int64_t S) const {
  const int64_t H = config_.hidden_size, P = static_cast<int64_t>(config_.pooling.size());
  const size_t M = config_.modules.size();
  acts->num_seqs = S;
  acts->values.resize(M + 1);
  acts->saved.resize(M);
  acts->values[0].resize(static_cast<size_t>(S * H * P));  // (S, H·P)
  if (S == 0) {
    for (size_t i = 0; i < M; i++) {
      acts->values[i + 1].clear();
      acts->saved[i].clear();
    }
    return;
  }
  for (int64_t m = 0; m < P; m++)
    pooling_forward(acts->values[0].data() + m * H, H * P, hidden, cu, skip, S, H, config_.pooling[m]);
  int64_t d = H * P;
  size_t k = 0;
  for (size_t i = 0; i < M; i++) {
    const std::vector<float>& x = acts->values[i];  // (S, d)
    std::vector<float>& y = acts->values[i + 1];
    std::vector<float>& saved = acts->saved[i];
    if (config_.modules[i] == HeadModule::Dense) {
      const DenseLayer& L = config_.dense[k];
      y.resize(static_cast<size_t>(S * L.out));  // (S, out)
      // The output comes from the same fused call as inference, so the two agree bit for bit;
      // the pre-activation for the backward is a second (small) product rather than the
      // unfused route, whose activation kernel need not round as the fused post-op does.
      matmul_forward(y.data(), x.data(), dense_weight(k), dense_bias(k), S, L.in, L.out, L.act);
      if (L.act != Activation::None) {
        saved.resize(static_cast<size_t>(S * L.out));  // (S, out)
        matmul_forward(saved.data(), x.data(), dense_weight(k), dense_bias(k), S, L.in, L.out);
      } else {
        saved.clear();
      }
      d = L.out;
      k++;
    } else {
      y.resize(static_cast<size_t>(S * d));  // (S, d)
      saved.resize(static_cast<size_t>(S));  // (S) row norms
      l2_normalize_forward(y.data(), saved.data(), x.data(), S, d);
    }
  }
}

void SentenceHead::backward(float* d_hidden, float* grads, const SentenceHeadActivations& acts, const float* d_emb,
                            const float* hidden, const int32_t* cu, const int32_t* skip) const {
  const int64_t S = acts.num_seqs, H = config_.hidden_size, P = static_cast<int64_t>(config_.pooling.size());
  if (S == 0) return;
  std::vector<float> g(d_emb, d_emb + S * dim()), g_in;  // (S, d) the gradient at the current module's output
  size_t k = config_.dense.size();
  for (size_t i = config_.modules.size(); i-- > 0;) {
    const std::vector<float>& x = acts.values[i];
    if (config_.modules[i] == HeadModule::Normalize) {
      const int64_t d = static_cast<int64_t>(x.size()) / S;
      l2_normalize_backward(g.data(), g.data(), acts.values[i + 1].data(), acts.saved[i].data(), S, d);
      continue;
    }
    const DenseLayer& L = config_.dense[--k];
    if (L.act != Activation::None) activation_backward(g.data(), g.data(), acts.saved[i].data(), S * L.out, L.act);
    g_in.resize(static_cast<size_t>(S * L.in));  // (S, in)
    matmul_backward(g_in.data(), grads + weight_offset_[k], bias_offset_[k] < 0 ? nullptr : grads + bias_offset_[k],
                    g.data(), x.data(), dense_weight(k), S, L.in, L.out);
    g.swap(g_in);
  }
  for (int64_t m = 0; m < P; m++)
    pooling_backward(d_hidden, g.data() + m * H, H * P, hidden, cu, skip, S, H, config_.pooling[m]);
}

}  // namespace embtune
