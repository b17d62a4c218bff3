// oneDNN matmul primitives (cached per shape) for the linear layers, with bias and activation
// fused as post-ops, and their scalar twins. Not used for attention scores (see attention.cpp).
#include "ops/matmul.h"

#include <cmath>
#include <map>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <tuple>

#include "core/status.h"

namespace embtune {
namespace {

struct Dnnl {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
};

Dnnl& dnnl_ctx() {
  static Dnnl ctx;
  return ctx;
}

dnnl::algorithm eltwise_of(Activation act) {
  switch (act) {
    case Activation::Gelu: return dnnl::algorithm::eltwise_gelu_erf;
    case Activation::Tanh: return dnnl::algorithm::eltwise_tanh;
    case Activation::Relu: return dnnl::algorithm::eltwise_relu;
    case Activation::Sigmoid: return dnnl::algorithm::eltwise_logistic;
    case Activation::None: break;
  }
  return dnnl::algorithm::undef;
}

struct MatmulKey {
  int64_t M, K, N;
  bool bias;
  Activation act;
  bool operator<(const MatmulKey& o) const {
    return std::tie(M, K, N, bias, act) < std::tie(o.M, o.K, o.N, o.bias, o.act);
  }
};

struct MatmulPrim {
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul prim;
};

// Primitive creation costs tens of microseconds; batches repeat shapes, so keep them.
const MatmulPrim& matmul_primitive(const MatmulKey& key) {
  static std::mutex mu;
  static std::map<MatmulKey, MatmulPrim> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  // Token counts vary from batch to batch; bound the cache rather than let it grow for ever.
  if (cache.size() >= 512) cache.clear();
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  dnnl::memory::desc src({key.M, key.K}, dt::f32, tag::ab);
  dnnl::memory::desc wei({key.K, key.N}, dt::f32, tag::ba);  // (N, K) row-major = Kx N transposed
  dnnl::memory::desc dst({key.M, key.N}, dt::f32, tag::ab);
  dnnl::primitive_attr attr;
  if (key.act != Activation::None) {
    dnnl::post_ops po;
    po.append_eltwise(1.0f, eltwise_of(key.act), 0.0f, 0.0f);
    attr.set_post_ops(po);
  }
  auto& ctx = dnnl_ctx();
  dnnl::matmul::primitive_desc pd;
  if (key.bias) {
    dnnl::memory::desc bia({1, key.N}, dt::f32, tag::ab);
    pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, wei, bia, dst), attr, ctx.engine);
  } else {
    pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, wei, dst), attr, ctx.engine);
  }
  auto res = cache.emplace(key, MatmulPrim{pd, dnnl::matmul(pd)});
  return res.first->second;
}

float activation_scalar(double v, Activation act) {
  switch (act) {
    case Activation::Gelu: return static_cast<float>(0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))));
    case Activation::Tanh: return static_cast<float>(std::tanh(v));
    case Activation::Relu: return static_cast<float>(v > 0 ? v : 0);
    case Activation::Sigmoid: return static_cast<float>(1.0 / (1.0 + std::exp(-v)));
    case Activation::None: break;
  }
  return static_cast<float>(v);
}

}  // namespace

void matmul_forward(float* out, const float* in, const float* weight, const float* bias,
                    int64_t M, int64_t K, int64_t N, Activation act) {
  if (M == 0 || N == 0) return;
  ET_CHECK(K > 0);
  const MatmulPrim& p = matmul_primitive({M, K, N, bias != nullptr, act});
  auto& ctx = dnnl_ctx();
  dnnl::memory src(p.pd.src_desc(), ctx.engine, const_cast<float*>(in));
  dnnl::memory wei(p.pd.weights_desc(), ctx.engine, const_cast<float*>(weight));
  dnnl::memory dst(p.pd.dst_desc(), ctx.engine, out);
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_DST, dst}};
  if (bias) args.emplace(DNNL_ARG_BIAS, dnnl::memory(p.pd.bias_desc(), ctx.engine, const_cast<float*>(bias)));
  p.prim.execute(ctx.stream, args);
  ctx.stream.wait();
}

void matmul_forward_scalar(float* out, const float* in, const float* weight, const float* bias,
                           int64_t M, int64_t K, int64_t N, Activation act) {
  for (int64_t m = 0; m < M; m++) {
    for (int64_t n = 0; n < N; n++) {
      double acc = bias ? bias[n] : 0.0;
      for (int64_t k = 0; k < K; k++) acc += static_cast<double>(in[m * K + k]) * weight[n * K + k];
      out[m * N + n] = activation_scalar(acc, act);
    }
  }
}

void activation_forward(float* x, int64_t n, Activation act) {
  if (act == Activation::None || n == 0) return;
  using dt = dnnl::memory::data_type;
  auto& ctx = dnnl_ctx();
  dnnl::memory::desc md({n}, dt::f32, dnnl::memory::format_tag::a);
  dnnl::eltwise_forward::primitive_desc pd(
      dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference, eltwise_of(act), md, 0.0f, 0.0f),
      ctx.engine);
  dnnl::memory mem(md, ctx.engine, x);
  dnnl::eltwise_forward(pd).execute(ctx.stream, {{DNNL_ARG_SRC, mem}, {DNNL_ARG_DST, mem}});
  ctx.stream.wait();
}

void activation_forward_scalar(float* x, int64_t n, Activation act) {
  for (int64_t i = 0; i < n; i++) x[i] = activation_scalar(x[i], act);
}

}  // namespace embtune
