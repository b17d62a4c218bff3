// `embtune bench embed`: inference throughput on synthetic ids with the same length
// distribution and flags as the PyTorch reference (`torch_bert.py bench-embed`).
// Not a test: it asserts nothing, it measures and prints one JSON line last.
#include <omp.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <random>

#include "cli/commands.h"
#include "model/bert.h"
#include "ops/matmul.h"
#include "ops/pooling.h"

namespace embtune::cli {

namespace {

struct BenchEmbedArgs {
  std::string model;
  int64_t batch = 64, steps = 4, min_len = 16, max_len = 128;
  uint64_t seed = 0;
  bool json = false;
};

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The fp32 matmul rate of this machine on a BERT-sized product, the denominator of MFU.
double measure_matmul_gflops(int64_t H, int64_t I) {
  const int64_t M = 2048;
  std::vector<float> a(M * H, 0.01f), w(I * H, 0.02f), o(M * I);
  matmul_forward(o.data(), a.data(), w.data(), nullptr, M, H, I);
  int reps = 0;
  double t0 = now_s(), t;
  do {
    matmul_forward(o.data(), a.data(), w.data(), nullptr, M, H, I);
    reps++;
    t = now_s();
  } while (t - t0 < 0.5);
  return 2.0 * M * H * I * reps / (t - t0) / 1e9;
}

int run_bench_embed(const BenchEmbedArgs& a) {
  // Only the encoder is measured: config.json and the weights, no tokenizer needed.
  BertModel model;
  Status s = model.load_dir(a.model);
  if (!s.ok()) return report_error("bench embed", s);
  const BertConfig& cfg = model.config();
  if (a.min_len < 2 || a.max_len < a.min_len || a.max_len > cfg.max_position_embeddings)
    return report_error("bench embed", make_error("lengths must satisfy 2 <= --min <= --max <= %lld",
                                                  (long long)cfg.max_position_embeddings));

  std::mt19937_64 rng(a.seed);
  std::uniform_int_distribution<int64_t> len(a.min_len, a.max_len);
  std::uniform_int_distribution<int32_t> tok(1000, static_cast<int32_t>(cfg.vocab_size - 1));
  std::vector<PackedBatch> batches(a.steps + 1);  // the first one warms up
  for (PackedBatch& b : batches) {
    for (int64_t i = 0; i < a.batch; i++) {
      std::vector<int32_t> ids{101};
      int64_t n = len(rng);
      for (int64_t k = 0; k < n - 2; k++) ids.push_back(tok(rng));
      ids.push_back(102);
      b.add(ids);
    }
  }
  const int64_t H = cfg.hidden_size;
  std::vector<float> hidden, pooled;
  auto run = [&](const PackedBatch& b) {
    hidden.resize(b.num_tokens() * H);
    pooled.resize(b.num_seqs() * H);
    model.forward(hidden.data(), b);
    pooling_forward(pooled.data(), H, hidden.data(), b.cu_seqlens.data(), nullptr, b.num_seqs(), H, PoolingMode::Mean);
  };
  run(batches[0]);
  int64_t sentences = 0, tokens = 0;
  double attn_flops = 0;
  const double t0 = now_s();
  for (size_t i = 1; i < batches.size(); i++) {
    run(batches[i]);
    sentences += batches[i].num_seqs();
    tokens += batches[i].num_tokens();
    for (int64_t q = 0; q < batches[i].num_seqs(); q++) {
      double T = batches[i].cu_seqlens[q + 1] - batches[i].cu_seqlens[q];
      attn_flops += 4.0 * T * T * H * cfg.num_hidden_layers;
    }
  }
  const double dt = now_s() - t0;
  // Forward FLOPs: 2 per multiply-add of the linear layers, plus QKᵀ and PV of attention.
  const double linear_per_token = 2.0 * cfg.num_hidden_layers * (4.0 * H * H + 2.0 * H * cfg.intermediate_size);
  const double gflops = (linear_per_token * tokens + attn_flops) / dt / 1e9;
  const double peak = measure_matmul_gflops(H, cfg.intermediate_size);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  nlohmann::json j = {{"sentences_per_s", sentences / dt}, {"tokens_per_s", tokens / dt},
                      {"threads", omp_get_max_threads()}, {"peak_rss_mb", ru.ru_maxrss / 1024.0},
                      {"gflops", gflops}, {"matmul_gflops", peak}, {"mfu", gflops / peak},
                      {"precision", "fp32"}, {"batch", a.batch}, {"steps", a.steps}};
  if (!a.json)
    std::fprintf(stderr, "bench embed: %.1f sentences/s, %.0f tokens/s, %.1f GFLOP/s (%.0f%% of the %.0f GFLOP/s matmul rate)\n",
                 sentences / dt, tokens / dt, gflops, 100 * gflops / peak, peak);
  std::printf("%s\n", j.dump().c_str());
  return 0;
}

}  // namespace

void add_bench_command(CLI::App& app, const GlobalOptions&) {
  CLI::App* bench = app.add_subcommand("bench", "Throughput benchmarks (same flags as torch_bert.py)");
  bench->require_subcommand(1);
  auto a = std::make_shared<BenchEmbedArgs>();
  CLI::App* sub = bench->add_subcommand("embed", "Embedding throughput on synthetic token ids");
  sub->add_option("--model", a->model, "Model directory")->required();
  sub->add_option("--batch", a->batch, "Sentences per batch")->check(CLI::PositiveNumber);
  sub->add_option("--steps", a->steps, "Timed batches (after one warm-up batch)")->check(CLI::PositiveNumber);
  sub->add_option("--min", a->min_len, "Shortest sequence in tokens");
  sub->add_option("--max", a->max_len, "Longest sequence in tokens");
  sub->add_option("--seed", a->seed, "Seed of the synthetic batches");
  sub->add_flag("--json", a->json, "Print only the JSON line");
  on_parsed(sub, [a]() { return run_bench_embed(*a); });
}

}  // namespace embtune::cli
