// oneDNN matmul primitives (cached per shape and pass) for the linear layers, forward with bias
// and activation fused as post-ops, backward for data, weights and bias, and their scalar twins.
// Not used for attention scores (see attention.cpp).
#include "ops/matmul.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>
#include <map>
#include <mutex>
#include <numbers>
#include <oneapi/dnnl/dnnl.hpp>
#include <tuple>

#include "core/status.h"
#include "ops/bf16.h"
#include "ops/vec_math.h"

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

// Which of the three products of a linear layer a primitive computes.
enum class MatmulPass {
  Forward,          // out (M, N) = in (M, K) · weight (N, K)ᵀ
  BackwardData,     // d_in (M, K) = d_out (M, N) · weight (N, K)
  BackwardWeights,  // d_weight (N, K) += d_out (M, N)ᵀ · in (M, K)
};

struct MatmulKey {
  int64_t M, K, N;
  bool bias;
  Activation act;
  MatmulPass pass = MatmulPass::Forward;
  bool bf16 = false;      // bf16 src and weights (else f32)
  bool dst_bf16 = false;  // bf16 dst, the fp32 result rounded to nearest even (else f32)
  bool operator<(const MatmulKey& o) const {
    return std::tie(M, K, N, bias, act, pass, bf16, dst_bf16) <
           std::tie(o.M, o.K, o.N, o.bias, o.act, o.pass, o.bf16, o.dst_bf16);
  }
};

struct MatmulPrim {
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul prim;
};

// The primitives take their scratchpad from the caller (scratchpad_mode::user): oneDNN's own would
// allocate per execution, and a fresh multi-megabyte block faults its pages in on every call.
dnnl::primitive_attr user_scratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

// This thread's scratchpad memory for primitive `pd`, grown (never shrunk) and reused.
dnnl::memory scratchpad_for(const dnnl::matmul::primitive_desc& pd, const dnnl::engine& engine) {
  static thread_local std::vector<uint8_t> buf;
  const dnnl::memory::desc md = pd.scratchpad_desc();
  const size_t bytes = md.get_size();
  if (buf.size() < bytes) buf.resize(bytes + bytes / 4);
  return dnnl::memory(md, engine, buf.data());
}

// Primitive creation costs tens of microseconds; batches repeat shapes, so keep them. Returned
// by value (oneDNN handles are reference-counted) so that a cache flush by another thread
// cannot pull a primitive from under its user.
MatmulPrim matmul_primitive(const MatmulKey& key) {
  static std::mutex mu;
  static std::map<MatmulKey, MatmulPrim> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  // Token counts vary from batch to batch; bound the cache rather than let it grow for ever.
  if (cache.size() >= 512) cache.clear();
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  auto& ctx = dnnl_ctx();
  const dt in_type = key.bf16 ? dt::bf16 : dt::f32;  // of src and weights
  const dt out_type = key.dst_bf16 ? dt::bf16 : dt::f32;
  ET_CHECK(!key.dst_bf16 || key.pass != MatmulPass::BackwardWeights);  // weight gradients accumulate in fp32
  if (key.pass == MatmulPass::BackwardData) {
    dnnl::memory::desc src({key.M, key.N}, in_type, tag::ab);
    dnnl::memory::desc wei({key.N, key.K}, in_type, tag::ab);
    dnnl::memory::desc dst({key.M, key.K}, out_type, tag::ab);
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, wei, dst), user_scratchpad(), ctx.engine);
    return cache.emplace(key, MatmulPrim{pd, dnnl::matmul(pd)}).first->second;
  }
  if (key.pass == MatmulPass::BackwardWeights) {
    dnnl::memory::desc src({key.N, key.M}, in_type, tag::ba);  // d_out (M, N) read transposed
    dnnl::memory::desc wei({key.M, key.K}, in_type, tag::ab);
    dnnl::memory::desc dst({key.N, key.K}, dt::f32, tag::ab);
    // The sum post-op makes the primitive add to what d_weight holds (dst = 1·dst + product).
    dnnl::post_ops po;
    po.append_sum(1.0f);
    dnnl::primitive_attr attr = user_scratchpad();
    attr.set_post_ops(po);
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, wei, dst), attr, ctx.engine);
    return cache.emplace(key, MatmulPrim{pd, dnnl::matmul(pd)}).first->second;
  }
  dnnl::memory::desc src({key.M, key.K}, in_type, tag::ab);
  dnnl::memory::desc wei({key.K, key.N}, in_type, tag::ba);  // (N, K) row-major = Kx N transposed
  dnnl::memory::desc dst({key.M, key.N}, out_type, tag::ab);
  dnnl::primitive_attr attr = user_scratchpad();
  if (key.act != Activation::None) {
    dnnl::post_ops po;
    po.append_eltwise(1.0f, eltwise_of(key.act), 0.0f, 0.0f);
    attr.set_post_ops(po);
  }
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

// Runs a cached primitive on three plain buffers (src, weights, dst) and waits for it. Each is
// float or uint16 bf16 patterns, as the primitive's key says.
void matmul_execute(const MatmulPrim& p, const void* src, const void* weights, void* dst) {
  auto& ctx = dnnl_ctx();
  p.prim.execute(ctx.stream,
                 {{DNNL_ARG_SRC, dnnl::memory(p.pd.src_desc(), ctx.engine, const_cast<void*>(src))},
                  {DNNL_ARG_WEIGHTS, dnnl::memory(p.pd.weights_desc(), ctx.engine, const_cast<void*>(weights))},
                  {DNNL_ARG_DST, dnnl::memory(p.pd.dst_desc(), ctx.engine, dst)},
                  {DNNL_ARG_SCRATCHPAD, scratchpad_for(p.pd, ctx.engine)}});
  ctx.stream.wait();
}

// Scratch for the bf16 copies of a matmul's inputs, reused call after call (grown, never shrunk).
struct Bf16Scratch {
  std::vector<uint16_t> a, b, c;  // d_out, weight, input
};
Bf16Scratch& bf16_scratch() {
  static thread_local Bf16Scratch s;
  return s;
}

const uint16_t* as_bf16(std::vector<uint16_t>* buf, const float* x, int64_t n) {
  if (static_cast<int64_t>(buf->size()) < n) buf->resize(static_cast<size_t>(n + n / 4));  // room for the next batch
  round_to_bf16(buf->data(), x, n);
  return buf->data();
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

bool cpu_has_native_bf16() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512bf16") || __builtin_cpu_supports("amx-bf16");
}

void round_to_bf16(uint16_t* out, const float* x, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; i++) out[i] = bf16_round(x[i]);
}

namespace {

// The forward product on prepared inputs: fp32 in and weight, or bf16 patterns of both; out fp32,
// or bf16 patterns with `out_bf16`.
void run_forward(void* out, const void* in, const void* weight, const float* bias, int64_t M, int64_t K, int64_t N,
                 Activation act, bool bf16, bool out_bf16 = false) {
  const MatmulPrim p = matmul_primitive({M, K, N, bias != nullptr, act, MatmulPass::Forward, bf16, out_bf16});
  auto& ctx = dnnl_ctx();
  dnnl::memory src(p.pd.src_desc(), ctx.engine, const_cast<void*>(in));
  dnnl::memory wei(p.pd.weights_desc(), ctx.engine, const_cast<void*>(weight));
  dnnl::memory dst(p.pd.dst_desc(), ctx.engine, out);
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_DST, dst},
      {DNNL_ARG_SCRATCHPAD, scratchpad_for(p.pd, ctx.engine)}};
  if (bias) args.emplace(DNNL_ARG_BIAS, dnnl::memory(p.pd.bias_desc(), ctx.engine, const_cast<float*>(bias)));
  p.prim.execute(ctx.stream, args);
  ctx.stream.wait();
}

// d_bias (N) += the column sums of an (M, N) matrix that row_fn(m, acc) makes row by row, adding
// row m into acc (N floats; d_bias null: no sums kept). Rows go in fixed chunks of kSumRows, each
// chunk summed in row order into its own slot and the slots then added in order, so the sums do
// not depend on the thread count, and each thread streams through contiguous rows (walking a
// column block down all rows instead defeats the prefetcher: each row is a page away).
template <typename F>
void column_sums(float* d_bias, int64_t M, int64_t N, F&& row_fn) {
  constexpr int64_t kSumRows = 64;
  const int64_t chunks = (M + kSumRows - 1) / kSumRows;
  static thread_local std::vector<float> partial;  // the caller's: (chunks, N), reused
  if (static_cast<int64_t>(partial.size()) < chunks * N) partial.resize(static_cast<size_t>(chunks * N + chunks * N / 4));
  float* part = partial.data();
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; c++) {
    float* acc = part + c * N;
    std::fill(acc, acc + N, 0.0f);
    for (int64_t m = c * kSumRows, end = std::min(M, m + kSumRows); m < end; m++) row_fn(m, acc);
  }
  if (!d_bias) return;
  for (int64_t c = 0; c < chunks; c++) {
    const float* acc = part + c * N;
#pragma omp simd
    for (int64_t n = 0; n < N; n++) d_bias[n] += acc[n];
  }
}

// d_bias (N) += the column sums of d_out (M, N); with `rounded`, also rounded (M, N) = d_out in
// bf16, in the same pass (column_sums: the same order whatever the thread count).
void bias_sum(float* d_bias, uint16_t* rounded, const float* d_out, int64_t M, int64_t N) {
  column_sums(d_bias, M, N, [&](int64_t m, float* acc) {
    const float* row = d_out + m * N;
#pragma omp simd
    for (int64_t c = 0; c < N; c++) acc[c] += row[c];
    if (rounded) {
      uint16_t* out = rounded + m * N;
#pragma omp simd
      for (int64_t c = 0; c < N; c++) out[c] = bf16_round(row[c]);
    }
  });
}

// The two backward products and the bias sum on a prepared input (`in_data`: fp32, or bf16
// patterns when bf16); d_out and the weight are rounded here in bf16 (d_out in the bias pass),
// unless `d_out16` brings d_out already rounded (the bias is then the caller's). d_in is fp32, or
// bf16 patterns with `d_in_bf16`.
void run_backward(void* d_in, float* d_weight, float* d_bias, const float* d_out, const void* in_data,
                  const float* weight, int64_t M, int64_t K, int64_t N, bool bf16, bool d_in_bf16 = false,
                  const uint16_t* d_out16 = nullptr) {
  Bf16Scratch& scratch = bf16_scratch();
  const void* d_out_data = d_out;
  if (d_out16) {
    ET_CHECK(bf16 && !d_bias);
    d_out_data = d_out16;
  } else if (bf16) {
    if (static_cast<int64_t>(scratch.a.size()) < M * N) scratch.a.resize(static_cast<size_t>(M * N + M * N / 4));
    bias_sum(d_bias, scratch.a.data(), d_out, M, N);  // one read of d_out for both
    d_out_data = scratch.a.data();
  } else if (d_bias) {
    bias_sum(d_bias, nullptr, d_out, M, N);
  }
  if (d_in) {
    const void* weight_data = bf16 ? static_cast<const void*>(as_bf16(&scratch.b, weight, N * K)) : weight;
    matmul_execute(matmul_primitive({M, K, N, false, Activation::None, MatmulPass::BackwardData, bf16, d_in_bf16}),
                   d_out_data, weight_data, d_in);
  }
  matmul_execute(matmul_primitive({M, K, N, false, Activation::None, MatmulPass::BackwardWeights, bf16}), d_out_data,
                 in_data, d_weight);
}

}  // namespace

void matmul_forward(float* out, const float* in, const float* weight, const float* bias,
                    int64_t M, int64_t K, int64_t N, Activation act, Precision precision) {
  if (M == 0 || N == 0) return;
  ET_CHECK(K > 0);
  if (precision == Precision::Bf16) {
    matmul_forward_bf16(out, as_bf16(&bf16_scratch().c, in, M * K), weight, bias, M, K, N, act);
    return;
  }
  run_forward(out, in, weight, bias, M, K, N, act, false);
}

void matmul_forward_bf16(float* out, const uint16_t* in, const float* weight, const float* bias,
                         int64_t M, int64_t K, int64_t N, Activation act) {
  if (M == 0 || N == 0) return;
  ET_CHECK(K > 0);
  run_forward(out, in, as_bf16(&bf16_scratch().b, weight, N * K), bias, M, K, N, act, true);
}

void matmul_forward_bf16(uint16_t* out16, const uint16_t* in, const float* weight, const float* bias, int64_t M,
                         int64_t K, int64_t N, Activation act) {
  if (M == 0 || N == 0) return;
  ET_CHECK(K > 0);
  run_forward(out16, in, as_bf16(&bf16_scratch().b, weight, N * K), bias, M, K, N, act, true, true);
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

namespace {

// The guards every backward entry shares: no work for M = 0, d_in (fp32 or bf16) zeroed for N = 0.
template <typename T>
bool backward_has_products(T* d_in, int64_t M, int64_t K, int64_t N) {
  if (M == 0) return false;
  if (N == 0) {
    if (d_in) std::fill(d_in, d_in + M * K, T{0});
    return false;
  }
  ET_CHECK(K > 0);
  return true;
}

}  // namespace

void matmul_backward(float* d_in, float* d_weight, float* d_bias, const float* d_out, const float* in,
                     const float* weight, int64_t M, int64_t K, int64_t N, Precision precision) {
  if (!backward_has_products(d_in, M, K, N)) return;
  if (precision == Precision::Bf16) {
    matmul_backward_bf16(d_in, d_weight, d_bias, d_out, as_bf16(&bf16_scratch().c, in, M * K), weight, M, K, N);
    return;
  }
  run_backward(d_in, d_weight, d_bias, d_out, in, weight, M, K, N, false);
}

void matmul_backward_bf16(float* d_in, float* d_weight, float* d_bias, const float* d_out, const uint16_t* in,
                          const float* weight, int64_t M, int64_t K, int64_t N) {
  if (backward_has_products(d_in, M, K, N)) run_backward(d_in, d_weight, d_bias, d_out, in, weight, M, K, N, true);
}

void matmul_backward_bf16(uint16_t* d_in16, float* d_weight, float* d_bias, const float* d_out, const uint16_t* in,
                          const float* weight, int64_t M, int64_t K, int64_t N) {
  if (backward_has_products(d_in16, M, K, N))
    run_backward(d_in16, d_weight, d_bias, d_out, in, weight, M, K, N, true, true);
}

void matmul_backward_bf16_rounded(float* d_in, float* d_weight, const uint16_t* d_out16, const uint16_t* in,
                                  const float* weight, int64_t M, int64_t K, int64_t N) {
  if (backward_has_products(d_in, M, K, N))
    run_backward(d_in, d_weight, nullptr, nullptr, in, weight, M, K, N, true, false, d_out16);
}

void matmul_backward_scalar(float* d_in, float* d_weight, float* d_bias, const float* d_out, const float* in,
                            const float* weight, int64_t M, int64_t K, int64_t N) {
  for (int64_t m = 0; m < M && d_in; m++) {
    for (int64_t k = 0; k < K; k++) {
      double acc = 0;
      for (int64_t n = 0; n < N; n++) acc += static_cast<double>(d_out[m * N + n]) * weight[n * K + k];
      d_in[m * K + k] = static_cast<float>(acc);
    }
  }
  for (int64_t n = 0; n < N; n++) {
    for (int64_t k = 0; k < K; k++) {
      double acc = d_weight[n * K + k];
      for (int64_t m = 0; m < M; m++) acc += static_cast<double>(d_out[m * N + n]) * in[m * K + k];
      d_weight[n * K + k] = static_cast<float>(acc);
    }
    if (d_bias) {
      double acc = d_bias[n];
      for (int64_t m = 0; m < M; m++) acc += d_out[m * N + n];
      d_bias[n] = static_cast<float>(acc);
    }
  }
}

void activation_forward(float* x, int64_t n, Activation act) { activation_forward(x, x, n, act); }

void activation_forward(float* y, const float* x, int64_t n, Activation act) {
  if (n == 0) return;
  if (act == Activation::None) {
    if (y != x) std::copy(x, x + n, y);
    return;
  }
  using dt = dnnl::memory::data_type;
  auto& ctx = dnnl_ctx();
  dnnl::memory::desc md({n}, dt::f32, dnnl::memory::format_tag::a);
  dnnl::eltwise_forward::primitive_desc pd(
      dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference, eltwise_of(act), md, 0.0f, 0.0f),
      ctx.engine);
  dnnl::eltwise_forward(pd).execute(ctx.stream, {{DNNL_ARG_SRC, dnnl::memory(md, ctx.engine, const_cast<float*>(x))},
                                                 {DNNL_ARG_DST, dnnl::memory(md, ctx.engine, y)}});
  ctx.stream.wait();
}

void gelu_forward_bf16(uint16_t* y16, const float* x, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; i++) y16[i] = bf16_round(gelu_kernel(x[i]));
}

void gelu_forward_bf16(uint16_t* y16, const uint16_t* x16, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; i++) y16[i] = bf16_round(gelu_kernel(bf16_to_float(x16[i])));
}

namespace {

inline float as_float(float x) { return x; }
inline float as_float(uint16_t b) { return bf16_to_float(b); }

// gelu_backward_bias_bf16 on fp32 (T = float) or bf16 (T = uint16_t) d_y and x.
template <typename T>
void gelu_backward_bias(uint16_t* d_x16, float* d_bias, const T* d_y, const T* x, int64_t M, int64_t N) {
  column_sums(d_bias, M, N, [&](int64_t m, float* acc) {
    const T* dy = d_y + m * N;
    const T* xr = x + m * N;
    uint16_t* out = d_x16 + m * N;
#pragma omp simd
    for (int64_t c = 0; c < N; c++) {
      const float g = as_float(dy[c]) * gelu_grad_kernel(as_float(xr[c]));
      acc[c] += g;
      out[c] = bf16_round(g);
    }
  });
}

}  // namespace

void gelu_backward_bias_bf16(uint16_t* d_x16, float* d_bias, const uint16_t* d_y16, const uint16_t* x16, int64_t M,
                             int64_t N) {
  gelu_backward_bias(d_x16, d_bias, d_y16, x16, M, N);
}

void gelu_backward_bias_bf16(uint16_t* d_x16, float* d_bias, const float* d_y, const float* x, int64_t M, int64_t N) {
  gelu_backward_bias(d_x16, d_bias, d_y, x, M, N);
}

void activation_forward_scalar(float* x, int64_t n, Activation act) {
  for (int64_t i = 0; i < n; i++) x[i] = activation_scalar(x[i], act);
}

void activation_backward(float* d_x, const float* d_y, const float* x, int64_t n, Activation act) {
  if (n == 0) return;
  if (act == Activation::None) {
    if (d_x != d_y) std::copy(d_y, d_y + n, d_x);
    return;
  }
  using dt = dnnl::memory::data_type;
  auto& ctx = dnnl_ctx();
  dnnl::memory::desc md({n}, dt::f32, dnnl::memory::format_tag::a);
  // oneDNN wants the forward descriptor as a hint; its backward reads the pre-activation (src).
  dnnl::eltwise_forward::primitive_desc fwd_pd(
      dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_training, eltwise_of(act), md, 0.0f, 0.0f),
      ctx.engine);
  dnnl::eltwise_backward::primitive_desc pd(dnnl::eltwise_backward::desc(eltwise_of(act), md, md, 0.0f, 0.0f),
                                            ctx.engine, fwd_pd);
  dnnl::eltwise_backward(pd).execute(ctx.stream, {{DNNL_ARG_SRC, dnnl::memory(md, ctx.engine, const_cast<float*>(x))},
                                                  {DNNL_ARG_DIFF_DST, dnnl::memory(md, ctx.engine, const_cast<float*>(d_y))},
                                                  {DNNL_ARG_DIFF_SRC, dnnl::memory(md, ctx.engine, d_x)}});
  ctx.stream.wait();
}

void activation_backward_scalar(float* d_x, const float* d_y, const float* x, int64_t n, Activation act) {
  for (int64_t i = 0; i < n; i++) {
    const double v = x[i];
    double slope = 1.0;
    switch (act) {
      case Activation::Gelu:
        slope = 0.5 * (1.0 + std::erf(v / std::sqrt(2.0))) + v * std::exp(-0.5 * v * v) / std::sqrt(2.0 * std::numbers::pi);
        break;
      case Activation::Tanh: slope = 1.0 - std::tanh(v) * std::tanh(v); break;
      case Activation::Relu: slope = v > 0 ? 1.0 : 0.0; break;
      case Activation::Sigmoid: {
        const double s = 1.0 / (1.0 + std::exp(-v));
        slope = s * (1.0 - s);
        break;
      }
      case Activation::None: break;
    }
    d_x[i] = static_cast<float>(d_y[i] * slope);
  }
}

}  // namespace embtune
