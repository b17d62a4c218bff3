// Google Benchmark micro-benchmarks of the hot ops at BERT sizes (all-MiniLM-L6-v2 shape).
// Not comparisons with PyTorch: bench/run_embed_bench.sh measures both side by side.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "ops/attention.h"
#include "ops/layer_norm.h"
#include "ops/matmul.h"

namespace {

std::vector<float> random_vec(size_t n) {
  std::mt19937 rng(0);
  std::normal_distribution<float> d(0.0f, 0.1f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

void BM_Matmul(benchmark::State& st) {
  const int64_t M = st.range(0), K = st.range(1), N = st.range(2);
  auto a = random_vec(M * K), w = random_vec(N * K), b = random_vec(N);
  std::vector<float> o(M * N);
  for (auto _ : st) embtune::matmul_forward(o.data(), a.data(), w.data(), b.data(), M, K, N);
  st.counters["GFLOP/s"] = benchmark::Counter(2.0 * M * K * N, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}
BENCHMARK(BM_Matmul)->Args({4096, 384, 384})->Args({4096, 384, 1536})->Args({4096, 1536, 384})->UseRealTime();

void BM_Attention(benchmark::State& st) {
  const int64_t T = st.range(0), S = 16, H = 384, heads = 12;
  std::vector<int32_t> cu{0};
  for (int64_t s = 0; s < S; s++) cu.push_back(cu.back() + static_cast<int32_t>(T));
  auto q = random_vec(S * T * H), k = random_vec(S * T * H), v = random_vec(S * T * H);
  std::vector<float> o(S * T * H);
  for (auto _ : st) embtune::attention_forward(o.data(), q.data(), k.data(), v.data(), cu.data(), S, H, heads);
  st.counters["tokens/s"] = benchmark::Counter(static_cast<double>(S * T), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Attention)->Arg(64)->Arg(128)->Arg(256)->UseRealTime();

// One layer's attention over the training benchmark's batch shape (bench train's defaults): 32
// queries of 8–24 tokens and 32 passages of 64–256, hidden 384, 12 heads; forward, and forward
// plus backward, in fp32 and (where the CPU has it) bf16. The GFLOP/s counter counts the four
// products of the forward (QKᵀ, PV: 4·T²·H per sequence) and 2.5× that for the backward's five.
struct RaggedBatch {
  std::vector<int32_t> cu{0};
  int64_t N = 0;
  double forward_flops = 0;
  RaggedBatch() {
    std::mt19937 rng(0);
    std::uniform_int_distribution<int> query(8, 24), passage(64, 256);
    for (int i = 0; i < 64; i++) cu.push_back(cu.back() + (i < 32 ? query(rng) : passage(rng)));
    N = cu.back();
    for (int i = 0; i < 64; i++) forward_flops += 4.0 * (cu[i + 1] - cu[i]) * (cu[i + 1] - cu[i]) * 384;
  }
};

void BM_AttentionTrainBatch(benchmark::State& st) {
  const bool backward = st.range(0) != 0;
  const auto precision = st.range(1) != 0 ? embtune::Precision::Bf16 : embtune::Precision::Fp32;
  if (precision == embtune::Precision::Bf16 && !embtune::cpu_has_native_bf16()) {
    st.SkipWithError("no native bf16 on this CPU");
    return;
  }
  const RaggedBatch b;
  const int64_t H = 384, heads = 12, S = 64;
  auto q = random_vec(b.N * H), k = random_vec(b.N * H), v = random_vec(b.N * H), g = random_vec(b.N * H);
  std::vector<float> o(b.N * H), dq(b.N * H), dk(b.N * H), dv(b.N * H);
  for (auto _ : st) {
    embtune::attention_forward(o.data(), q.data(), k.data(), v.data(), b.cu.data(), S, H, heads, {}, precision);
    if (backward)
      embtune::attention_backward(dq.data(), dk.data(), dv.data(), g.data(), q.data(), k.data(), v.data(), b.cu.data(),
                                  S, H, heads, {}, precision);
  }
  st.counters["GFLOP/s"] = benchmark::Counter(b.forward_flops * (backward ? 3.5 : 1.0),
                                              benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}
BENCHMARK(BM_AttentionTrainBatch)
    ->ArgNames({"backward", "bf16"})
    ->Args({0, 0})
    ->Args({1, 0})
    ->Args({0, 1})
    ->Args({1, 1})
    ->UseRealTime();

void BM_LayerNorm(benchmark::State& st) {
  const int64_t N = 4096, C = 384;
  auto a = random_vec(N * C), b = random_vec(N * C), w = random_vec(C), bias = random_vec(C);
  std::vector<float> o(N * C);
  for (auto _ : st) embtune::layer_norm_forward(o.data(), nullptr, nullptr, a.data(), b.data(), w.data(), bias.data(), N, C, 1e-12f);
  st.counters["rows/s"] = benchmark::Counter(static_cast<double>(N), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_LayerNorm)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
