// `embtune bench embed` and `bench train`: inference and training throughput on synthetic ids, with
// the flags and length distributions of the PyTorch reference (`torch_bert.py bench-embed`, `bench`);
// `bench eval`: embedding a synthetic corpus and queries, then exact top-k search over it;
// `bench tokenize`: encoding throughput of a tokenizer on the lines of a file, as
// bench/tokenizer_bench_peer.js measures Hugging Face tokenizers.
// Not a test: it asserts nothing, it measures and prints one JSON line last.
#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>

#include "cli/commands.h"
#include "core/file.h"
#include "eval/dense_search.h"
#include "model/bert.h"
#include "model/sentence_head.h"
#include "ops/matmul.h"
#include "ops/pooling.h"
#include "tokenizer/tokenizer.h"
#include "train/adamw.h"
#include "train/objective.h"
#include "train/train_step.h"

namespace embtune::cli {

namespace {

struct BenchEmbedArgs {
  std::string model;
  int64_t batch = 64, steps = 4, min_len = 16, max_len = 128;
  uint64_t seed = 0;
  std::string precision = "fp32";
  bool json = false;
};

// torch_bert.py bench's flags and defaults, plus --dropout (the reference runs without).
struct BenchTrainArgs {
  std::string model;
  int64_t batch = 32, steps = 5, qmin = 8, qmax = 24, pmin = 64, pmax = 256;
  uint64_t seed = 0;
  double dropout = 0;
  std::string precision = "fp32";
  bool json = false;
};

// Evaluation at retrieval scale: docs and queries embedded, then searched; the default model is
// a random-weight all-MiniLM-L6-v2 (BertConfig's defaults), as the shape is what costs.
struct BenchEvalArgs {
  std::string model;
  int64_t docs = 100000, queries = 1000, doc_min = 16, doc_max = 64, query_min = 8, query_max = 24;
  int64_t k = 100, batch = 64;
  uint64_t seed = 0;
  bool search_only = false, json = false;
};

// The flags of bench/tokenizer_bench_peer.js, so that both sides time the same work.
struct BenchTokenizeArgs {
  std::string tokenizer, input;
  int64_t repeat = 3, batch = 256;
  bool no_special = false, json = false;
};

// --precision: fp32, or bf16 where the CPU has it natively.
Status parse_precision(const std::string& name, Precision* out) {
  *out = name == "bf16" ? Precision::Bf16 : Precision::Fp32;
  if (*out == Precision::Bf16 && !cpu_has_native_bf16())
    return make_error("--precision bf16: this CPU has neither AVX512-BF16 nor AMX; use --precision fp32");
  return Status::ok_status();
}

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The matmul rate of this machine on a BERT-sized product at the given precision (bf16 includes
// its input conversions, as the model's matmuls do), the denominator of MFU.
double measure_matmul_gflops(int64_t H, int64_t I, Precision precision) {
  const int64_t M = 2048;
  std::vector<float> a(M * H, 0.01f), w(I * H, 0.02f), o(M * I);
  matmul_forward(o.data(), a.data(), w.data(), nullptr, M, H, I, Activation::None, precision);
  int reps = 0;
  double t0 = now_s(), t;
  do {
    matmul_forward(o.data(), a.data(), w.data(), nullptr, M, H, I, Activation::None, precision);
    reps++;
    t = now_s();
  } while (t - t0 < 0.5);
  return 2.0 * M * H * I * reps / (t - t0) / 1e9;
}

// The reference's synthetic sequence: [CLS], n − 2 ids uniform in [1000, V), [SEP].
std::vector<int32_t> synthetic_ids(std::mt19937_64& rng, int64_t n, int64_t vocab_size) {
  std::uniform_int_distribution<int32_t> tok(1000, static_cast<int32_t>(vocab_size - 1));
  std::vector<int32_t> ids{101};
  for (int64_t k = 0; k < n - 2; k++) ids.push_back(tok(rng));
  ids.push_back(102);
  return ids;
}

// Matmul FLOPs of the encoder's forward on one sequence of T tokens, 2 per multiply-add: per
// layer and token the Q, K, V and attention-output projections (4H²) and the FFN (2HI), plus
// attention's QKᵀ and PV (2T²H each) per layer. Embeddings, LayerNorm, GELU and softmax are
// not matmuls and are left out, as MFU counts them.
double encoder_forward_flops(const BertConfig& c, int64_t T) {
  const double H = static_cast<double>(c.hidden_size), I = static_cast<double>(c.intermediate_size);
  const double t = static_cast<double>(T);
  return 2.0 * c.num_hidden_layers * (t * (4.0 * H * H + 2.0 * H * I) + 2.0 * t * t * H);
}

// Checks shared by both benches: random ids start at 1000, and every length must fit the model.
Status check_synthetic_lengths(const BertConfig& cfg, int64_t lo, int64_t hi, const char* lo_flag,
                               const char* hi_flag) {
  if (cfg.vocab_size <= 1000)
    return make_error("the synthetic ids are drawn from [1000, vocab_size) but vocab_size is %lld",
                      (long long)cfg.vocab_size);
  if (lo < 2 || hi < lo || hi > cfg.max_position_embeddings)
    return make_error("lengths must satisfy 2 <= %s <= %s <= %lld (max_position_embeddings)", lo_flag, hi_flag,
                      (long long)cfg.max_position_embeddings);
  return Status::ok_status();
}

int run_bench_embed(const BenchEmbedArgs& a) {
  // Only the encoder is measured: config.json and the weights, no tokenizer needed.
  BertModel model;
  Precision precision = Precision::Fp32;
  Status s = parse_precision(a.precision, &precision);
  if (s.ok()) s = model.load_dir(a.model);
  model.set_precision(precision);
  if (!s.ok()) return report_error("bench embed", s);
  const BertConfig& cfg = model.config();
  s = check_synthetic_lengths(cfg, a.min_len, a.max_len, "--min", "--max");
  if (!s.ok()) return report_error("bench embed", s);

  std::mt19937_64 rng(a.seed);
  std::uniform_int_distribution<int64_t> len(a.min_len, a.max_len);
  std::vector<PackedBatch> batches(a.steps + 1);  // the first one warms up
  for (PackedBatch& b : batches)
    for (int64_t i = 0; i < a.batch; i++) b.add(synthetic_ids(rng, len(rng), cfg.vocab_size));
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
  double flops = 0;
  const double t0 = now_s();
  for (size_t i = 1; i < batches.size(); i++) {
    run(batches[i]);
    sentences += batches[i].num_seqs();
    tokens += batches[i].num_tokens();
    for (int64_t q = 0; q < batches[i].num_seqs(); q++)
      flops += encoder_forward_flops(cfg, batches[i].cu_seqlens[q + 1] - batches[i].cu_seqlens[q]);
  }
  const double dt = now_s() - t0;
  const double gflops = flops / dt / 1e9;
  const double peak = measure_matmul_gflops(H, cfg.intermediate_size, precision);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  nlohmann::json j = {{"sentences_per_s", sentences / dt}, {"tokens_per_s", tokens / dt},
                      {"threads", omp_get_max_threads()}, {"peak_rss_mb", ru.ru_maxrss / 1024.0},
                      {"gflops", gflops}, {"matmul_gflops", peak}, {"mfu", gflops / peak},
                      {"precision", a.precision}, {"batch", a.batch}, {"steps", a.steps}};
  if (!a.json)
    std::fprintf(stderr, "bench embed: %.1f sentences/s, %.0f tokens/s, %.1f GFLOP/s (%.0f%% of the %.0f GFLOP/s matmul rate)\n",
                 sentences / dt, tokens / dt, gflops, 100 * gflops / peak, peak);
  std::printf("%s\n", j.dump().c_str());
  return 0;
}

// One training step as torch_bert.py bench times it: the packed anchors then positives through the
// encoder forward and backward, mean pooling + Normalize, MNRL (scale 20), AdamW over every
// parameter. The ids are drawn before the clock starts, as the reference draws them.
int run_bench_train(const BenchTrainArgs& a) {
  BertModel model;
  Precision precision = Precision::Fp32;
  Status s = parse_precision(a.precision, &precision);
  if (s.ok()) s = model.load_dir(a.model);
  model.set_precision(precision);
  if (!s.ok()) return report_error("bench train", s);
  const BertConfig& cfg = model.config();
  s = check_synthetic_lengths(cfg, a.qmin, a.qmax, "--qmin", "--qmax");
  if (s.ok()) s = check_synthetic_lengths(cfg, a.pmin, a.pmax, "--pmin", "--pmax");
  if (s.ok() && !(a.dropout >= 0 && a.dropout < 1)) s = make_error("--dropout must be in [0, 1), got %g", a.dropout);
  if (!s.ok()) return report_error("bench train", s);

  // The reference's head, whatever the directory holds: torch_bert.py make-model writes no
  // modules.json, and a Dense layer would be work the reference does not do.
  SentenceHead head;
  head.init(SentenceHeadConfig{cfg.hidden_size, {PoolingMode::Mean}, {HeadModule::Normalize}, {}});
  const LossSpec loss;  // MNRL, scale 20: torch_bert.py's mnrl_loss
  // torch.optim.AdamW(lr=2e-5) as the reference builds it; its weight decay is the same 0.01,
  // grouped as the trainer groups it (the cost of a step does not depend on the grouping).
  const AdamWConfig adamw;
  const double lr = 2e-5;
  const size_t n = model.params().size();
  std::vector<float> grads(n), m(n, 0.0f), v(n, 0.0f);  // one layout: the encoder's
  TrainStepScratch scratch;

  std::mt19937_64 rng(a.seed);
  std::uniform_int_distribution<int64_t> qlen(a.qmin, a.qmax), plen(a.pmin, a.pmax);
  PackedBatch batch;
  std::vector<double> step_s;
  int64_t tokens = 0;
  double flops = 0, last_loss = 0;
  for (int64_t step = 0; step <= a.steps; step++) {  // step 0 warms up, untimed
    // Column by column, as the trainer packs a micro-batch: the B anchors, then the B positives.
    batch.clear();
    for (int64_t i = 0; i < a.batch; i++) batch.add(synthetic_ids(rng, qlen(rng), cfg.vocab_size));
    for (int64_t i = 0; i < a.batch; i++) batch.add(synthetic_ids(rng, plen(rng), cfg.vocab_size));
    DropoutConfig dropout;
    dropout.hidden = dropout.attention = static_cast<float>(a.dropout);
    dropout.seed = a.seed * 1000003 + static_cast<uint64_t>(step);  // fresh masks every step

    const double t0 = now_s();
    std::fill(grads.begin(), grads.end(), 0.0f);
    const TrainStepResult r = train_micro_batch(model, head, batch, a.batch, 2, {}, loss, nullptr, 1.0f, &scratch,
                                                grads.data(), nullptr, dropout);
    for (const ParamInfo& p : model.layout())
      adamw_step(model.params().data() + p.offset, m.data() + p.offset, v.data() + p.offset,
                 grads.data() + p.offset, p.numel, lr, step + 1, adamw, param_gets_weight_decay(p.name));
    const double dt = now_s() - t0;
    last_loss = r.loss;
    if (step == 0) continue;
    step_s.push_back(dt);
    tokens += r.tokens;
    // The backward runs two matmuls for each of the forward's (the input's gradient and the
    // weight's; for attention dS·K and dSᵀ·Q, dO·Vᵀ and Pᵀ·dO), hence 3× the forward. The
    // loss's (2B)·B·D scores and the head are left out: under 0.01% of the step here.
    for (int64_t q = 0; q < batch.num_seqs(); q++)
      flops += 3.0 * encoder_forward_flops(cfg, batch.cu_seqlens[q + 1] - batch.cu_seqlens[q]);
  }
  double total_s = 0;
  for (double t : step_s) total_s += t;
  std::vector<double> sorted = step_s;
  std::sort(sorted.begin(), sorted.end());
  const size_t k = sorted.size();
  const double median = k % 2 ? sorted[k / 2] : 0.5 * (sorted[k / 2 - 1] + sorted[k / 2]);  // numpy's median
  // Read before the matmul probe below, so that only the training counts.
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  const double gflops = flops / total_s / 1e9;
  const double peak = measure_matmul_gflops(cfg.hidden_size, cfg.intermediate_size, precision);
  nlohmann::json j = {{"pairs_per_s", a.batch * a.steps / total_s},
                      {"tokens_per_s", tokens / total_s},
                      {"s_per_step_median", median},
                      {"bf16", precision == Precision::Bf16},
                      {"threads", omp_get_max_threads()},
                      {"peak_rss_mb", ru.ru_maxrss / 1024.0},
                      {"gflop_per_step", flops / a.steps / 1e9},
                      {"achieved_gflops", gflops},
                      {"matmul_gflops", peak},
                      {"mfu", gflops / peak},
                      {"loss", last_loss},
                      {"precision", a.precision},
                      {"batch", a.batch},
                      {"steps", a.steps},
                      {"dropout", a.dropout}};
  if (!a.json)
    std::fprintf(stderr,
                 "bench train: %.2f pairs/s, %.0f tokens/s, %.2f s/step, %.1f GFLOP/s (%.0f%% of the %.0f GFLOP/s "
                 "matmul rate)\n",
                 a.batch * a.steps / total_s, tokens / total_s, median, gflops, 100 * gflops / peak, peak);
  std::printf("%s\n", j.dump().c_str());
  return 0;
}

// Embeds n synthetic sequences (lengths uniform in [lo, hi]) as `bench embed` does (encoder
// forward, mean pooling), `batch` at a time, into out (n, H). Returns the real tokens embedded.
int64_t embed_synthetic(float* out, const BertModel& model, int64_t n, int64_t lo, int64_t hi, int64_t batch,
                        std::mt19937_64& rng) {
  const BertConfig& cfg = model.config();
  const int64_t H = cfg.hidden_size;
  std::uniform_int_distribution<int64_t> len(lo, hi);
  PackedBatch b;
  std::vector<float> hidden;
  int64_t tokens = 0;
  for (int64_t i0 = 0; i0 < n; i0 += batch) {
    b.clear();
    for (int64_t i = i0; i < std::min(n, i0 + batch); i++) b.add(synthetic_ids(rng, len(rng), cfg.vocab_size));
    hidden.resize(b.num_tokens() * H);
    model.forward(hidden.data(), b);
    pooling_forward(out + i0 * H, H, hidden.data(), b.cu_seqlens.data(), nullptr, b.num_seqs(), H, PoolingMode::Mean);
    tokens += b.num_tokens();
  }
  return tokens;
}

// Docs, then queries, through the model, then one exact cosine top-k search of every query over
// every doc (dense_search: the search of `embtune eval`). --search-only draws normal random
// embeddings instead, to measure the search alone in seconds.
int run_bench_eval(const BenchEvalArgs& a) {
  BertModel model;
  BertConfig cfg;  // all-MiniLM-L6-v2's shape; --search-only without --model needs no weights
  Status s = Status::ok_status();
  if (!a.model.empty()) {
    s = model.load_dir(a.model);
    if (!s.ok()) return report_error("bench eval", s);
    cfg = model.config();
  } else if (!a.search_only) {
    model.init_random(cfg, a.seed);
  }
  if (!a.search_only) {
    s = check_synthetic_lengths(cfg, a.doc_min, a.doc_max, "--doc-min", "--doc-max");
    if (s.ok()) s = check_synthetic_lengths(cfg, a.query_min, a.query_max, "--query-min", "--query-max");
  }
  if (!s.ok()) return report_error("bench eval", s);
  const int64_t H = cfg.hidden_size, M = a.docs, Q = a.queries;

  std::mt19937_64 rng(a.seed);
  std::vector<float> docs(M * H), queries(Q * H);  // (M, H), (Q, H) embeddings
  double docs_s = 0, queries_s = 0;
  int64_t doc_tokens = 0, query_tokens = 0;
  if (a.search_only) {
    std::normal_distribution<float> normal;
    for (float& x : docs) x = normal(rng);
    for (float& x : queries) x = normal(rng);
  } else {
    if (!a.json)
      std::fprintf(stderr, "bench eval: embedding %lld docs of %lld-%lld tokens and %lld queries of %lld-%lld\n",
                   (long long)M, (long long)a.doc_min, (long long)a.doc_max, (long long)Q, (long long)a.query_min,
                   (long long)a.query_max);
    double t0 = now_s();
    doc_tokens = embed_synthetic(docs.data(), model, M, a.doc_min, a.doc_max, a.batch, rng);
    docs_s = now_s() - t0;
    t0 = now_s();
    query_tokens = embed_synthetic(queries.data(), model, Q, a.query_min, a.query_max, a.batch, rng);
    queries_s = now_s() - t0;
  }

  DenseSearchOptions opt;
  opt.k = a.k;
  opt.similarity = Similarity::Cosine;
  const double t0 = now_s();
  const DenseHits hits = dense_search(queries.data(), Q, docs.data(), M, H, opt);
  const double search_s = now_s() - t0;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);  // before the matmul probe, so that only the evaluation counts
  const double search_gflops = 2.0 * Q * M * H / search_s / 1e9;
  const double peak = measure_matmul_gflops(H, cfg.intermediate_size, Precision::Fp32);
  nlohmann::json j = {{"docs", M},
                      {"queries", Q},
                      {"dim", H},
                      {"k", a.k},
                      {"hits_per_query", hits.empty() ? 0 : static_cast<int64_t>(hits[0].size())},
                      {"search_only", a.search_only},
                      {"threads", omp_get_max_threads()},
                      {"embed_s", docs_s + queries_s},
                      {"embed_docs_s", docs_s},
                      {"embed_queries_s", queries_s},
                      {"docs_per_s", a.search_only ? 0.0 : M / docs_s},
                      {"doc_tokens_per_s", a.search_only ? 0.0 : doc_tokens / docs_s},
                      {"queries_per_s", a.search_only ? 0.0 : Q / queries_s},
                      {"doc_tokens", doc_tokens},
                      {"query_tokens", query_tokens},
                      {"search_s", search_s},
                      {"search_gflops", search_gflops},
                      {"matmul_gflops", peak},
                      {"search_fraction_of_matmul", search_gflops / peak},
                      {"peak_rss_mb", ru.ru_maxrss / 1024.0},
                      {"precision", "fp32"}};
  if (!a.json) {
    if (!a.search_only)
      std::fprintf(stderr,
                   "bench eval: docs %.1f s (%.1f docs/s, %.0f tokens/s), queries %.2f s (%.1f queries/s, %.0f "
                   "tokens/s)\n",
                   docs_s, M / docs_s, doc_tokens / docs_s, queries_s, Q / queries_s, query_tokens / queries_s);
    std::fprintf(stderr,
                 "bench eval: search %lld x %lld x %lld, k %lld: %.3f s, %.1f GFLOP/s (%.0f%% of the %.0f GFLOP/s "
                 "matmul rate); peak RSS %.0f MB\n",
                 (long long)Q, (long long)M, (long long)H, (long long)a.k, search_s, search_gflops,
                 100 * search_gflops / peak, peak, ru.ru_maxrss / 1024.0);
  }
  std::printf("%s\n", j.dump().c_str());
  return 0;
}

// The lines of `path` as tokenize_peer.js and tokenizer_bench_peer.js read them: split on '\n'
// (a '\r' stays part of its line), the empty piece after a final newline dropped, and a line
// that starts with '"' and parses as a JSON string replaced by that string.
Status read_bench_lines(const std::string& path, std::vector<std::string>* out) {
  std::string data;
  ET_RETURN_IF_ERROR(read_file(path, &data));
  out->clear();
  size_t pos = 0;
  while (pos < data.size()) {
    const size_t nl = data.find('\n', pos);
    const size_t end = nl == std::string::npos ? data.size() : nl;
    std::string line = data.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line[0] == '"') {
      const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_string()) line = j.get<std::string>();
    }
    out->push_back(std::move(line));
  }
  return Status::ok_status();
}

// Word-wise FNV-1a over each text's token count, then its ids; tokenizer_bench_peer.js computes
// the same, so equal hashes say both sides produced the same ids, not only as many.
uint32_t ids_hash_update(uint32_t h, const Encoding& e) {
  h = (h ^ static_cast<uint32_t>(e.ids.size())) * 16777619u;
  for (int32_t id : e.ids) h = (h ^ static_cast<uint32_t>(id)) * 16777619u;
  return h;
}

// CPU seconds of every thread of the process: on a busy machine the wall clock also counts the
// time other processes held the cores, this does not.
double cpu_now_s() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

// Rates of `repeat` passes over texts that hold `bytes` of UTF-8 and give `tokens` per pass.
nlohmann::json tokenize_rates_json(double seconds, double cpu_seconds, int64_t repeat, size_t texts, int64_t bytes,
                                   int64_t tokens) {
  const double r = static_cast<double>(repeat);
  return {{"seconds", seconds},
          {"cpu_seconds", cpu_seconds},
          {"mb_per_s", r * bytes / seconds / 1e6},
          {"texts_per_s", r * texts / seconds},
          {"tokens_per_s", r * tokens / seconds}};
}

// One untimed pass (which also hashes the ids), then `repeat` timed passes of encode_batch over
// batches of `batch` lines; at one thread also `repeat` passes of encode, one text at a time.
// No truncation and no padding, as the peer sets them.
int run_bench_tokenize(const BenchTokenizeArgs& a) {
  std::unique_ptr<Tokenizer> tok;
  std::vector<std::string> texts;
  Status s = Tokenizer::load(a.tokenizer, &tok);
  if (s.ok()) s = read_bench_lines(a.input, &texts);
  if (s.ok() && texts.empty()) s = make_error("%s: no lines to tokenize", a.input.c_str());
  if (!s.ok()) return report_error("bench tokenize", s);
  EncodeOptions eo;
  eo.add_special_tokens = !a.no_special;
  eo.max_length = 0;

  // Batches are copied out before the clock starts: encode_batch takes a vector of strings.
  std::vector<std::vector<std::string>> batches;
  std::vector<size_t> batch_first;  // index of each batch's first text, for error messages
  int64_t bytes = 0;
  for (size_t i = 0; i < texts.size(); i += a.batch) {
    const size_t end = std::min(texts.size(), i + static_cast<size_t>(a.batch));
    batches.emplace_back(texts.begin() + i, texts.begin() + end);
    batch_first.push_back(i);
  }
  for (const std::string& t : texts) bytes += static_cast<int64_t>(t.size());

  std::vector<Encoding> enc;
  auto batch_pass = [&](int64_t* tokens, uint32_t* hash) -> Status {
    for (size_t b = 0; b < batches.size(); b++) {
      Status st = tok->encode_batch(batches[b], eo, &enc);
      if (!st.ok())
        return st.wrap(a.input + ": batch from line " + std::to_string(batch_first[b] + 1));
      for (const Encoding& e : enc) {
        *tokens += static_cast<int64_t>(e.ids.size());
        if (hash) *hash = ids_hash_update(*hash, e);
      }
    }
    return Status::ok_status();
  };
  auto encode_pass = [&](int64_t* tokens) -> Status {
    for (size_t i = 0; i < texts.size(); i++) {
      Encoding e;  // a fresh one per text, as a caller of encode would have
      Status st = tok->encode(texts[i], eo, &e);
      if (!st.ok()) return st.wrap(a.input + ": line " + std::to_string(i + 1));
      *tokens += static_cast<int64_t>(e.ids.size());
    }
    return Status::ok_status();
  };

  int64_t tokens = 0;  // per pass
  uint32_t hash = 2166136261u;
  s = batch_pass(&tokens, &hash);
  if (!s.ok()) return report_error("bench tokenize", s);

  const int threads = omp_get_max_threads();
  nlohmann::json encode_json;
  if (threads == 1) {
    int64_t t = 0;
    const double t0 = now_s(), c0 = cpu_now_s();
    for (int64_t r = 0; r < a.repeat && s.ok(); r++) s = encode_pass(&t);
    const double dt = now_s() - t0, dc = cpu_now_s() - c0;
    if (!s.ok()) return report_error("bench tokenize", s);
    encode_json = tokenize_rates_json(dt, dc, a.repeat, texts.size(), bytes, tokens);
    encode_json["tokens"] = t / a.repeat;
  }
  int64_t t = 0;
  const double t0 = now_s(), c0 = cpu_now_s();
  for (int64_t r = 0; r < a.repeat && s.ok(); r++) s = batch_pass(&t, nullptr);
  const double dt = now_s() - t0, dc = cpu_now_s() - c0;
  if (!s.ok()) return report_error("bench tokenize", s);

  nlohmann::json j = {{"tokenizer", a.tokenizer}, {"input", a.input},
                      {"texts", texts.size()},    {"bytes", bytes},
                      {"tokens", tokens},         {"ids_hash", hash},
                      {"threads", threads},       {"repeat", a.repeat},
                      {"batch", a.batch},         {"special", !a.no_special},
                      {"mode", "encode_batch"}};
  j.update(tokenize_rates_json(dt, dc, a.repeat, texts.size(), bytes, tokens));
  if (t != tokens * a.repeat) j["tokens_mismatch"] = t / a.repeat;  // passes must agree
  if (!encode_json.is_null()) j["encode"] = encode_json;
  if (!a.json) {
    std::fprintf(stderr, "bench tokenize: %zu texts, %.2f MB, %lld tokens a pass; %d thread%s\n", texts.size(),
                 bytes / 1e6, (long long)tokens, threads, threads == 1 ? "" : "s");
    if (!encode_json.is_null())
      std::fprintf(stderr, "bench tokenize: encode       %.2f MB/s, %.0f texts/s, %.0f tokens/s\n",
                   encode_json["mb_per_s"].get<double>(), encode_json["texts_per_s"].get<double>(),
                   encode_json["tokens_per_s"].get<double>());
    std::fprintf(stderr, "bench tokenize: encode_batch %.2f MB/s, %.0f texts/s, %.0f tokens/s (batches of %lld)\n",
                 j["mb_per_s"].get<double>(), j["texts_per_s"].get<double>(), j["tokens_per_s"].get<double>(),
                 (long long)a.batch);
  }
  std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
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
  sub->add_option("--precision", a->precision, "Matmul arithmetic: fp32, or bf16 (fp32 accumulation)")
      ->check(CLI::IsMember({"fp32", "bf16"}));
  sub->add_flag("--json", a->json, "Print only the JSON line");
  on_parsed(sub, [a]() { return run_bench_embed(*a); });

  auto t = std::make_shared<BenchTrainArgs>();
  sub = bench->add_subcommand("train", "Training throughput (MNRL, AdamW) on synthetic (query, passage) pairs");
  sub->add_option("--model", t->model, "Model directory (config.json and weights)")->required();
  sub->add_option("--batch", t->batch, "Pairs per step")->check(CLI::PositiveNumber);
  sub->add_option("--steps", t->steps, "Timed steps (after one warm-up step)")->check(CLI::PositiveNumber);
  sub->add_option("--qmin", t->qmin, "Shortest query in tokens");
  sub->add_option("--qmax", t->qmax, "Longest query in tokens");
  sub->add_option("--pmin", t->pmin, "Shortest passage in tokens");
  sub->add_option("--pmax", t->pmax, "Longest passage in tokens");
  sub->add_option("--seed", t->seed, "Seed of the synthetic batches (and of the dropout masks)");
  sub->add_option("--dropout", t->dropout, "Hidden and attention dropout (the reference runs without)");
  sub->add_option("--precision", t->precision, "Matmul arithmetic: fp32, or bf16 (fp32 accumulation, fp32 master weights)")
      ->check(CLI::IsMember({"fp32", "bf16"}));
  sub->add_flag("--json", t->json, "Print only the JSON line");
  on_parsed(sub, [t]() { return run_bench_train(*t); });

  auto e = std::make_shared<BenchEvalArgs>();
  sub = bench->add_subcommand("eval", "Evaluation at scale: embed synthetic docs and queries, then exact top-k search");
  sub->add_option("--model", e->model, "Model directory (default: random all-MiniLM-L6-v2-shaped weights)");
  sub->add_option("--docs", e->docs, "Corpus documents")->check(CLI::PositiveNumber);
  sub->add_option("--queries", e->queries, "Queries")->check(CLI::PositiveNumber);
  sub->add_option("--doc-min", e->doc_min, "Shortest document in tokens");
  sub->add_option("--doc-max", e->doc_max, "Longest document in tokens");
  sub->add_option("--query-min", e->query_min, "Shortest query in tokens");
  sub->add_option("--query-max", e->query_max, "Longest query in tokens");
  sub->add_option("--k", e->k, "Hits kept per query")->check(CLI::PositiveNumber);
  sub->add_option("--batch", e->batch, "Sequences per embedding batch")->check(CLI::PositiveNumber);
  sub->add_option("--seed", e->seed, "Seed of the synthetic ids, embeddings and random weights");
  sub->add_flag("--search-only", e->search_only, "Random embeddings instead of the model: time the search alone");
  sub->add_flag("--json", e->json, "Print only the JSON line");
  on_parsed(sub, [e]() { return run_bench_eval(*e); });

  auto k = std::make_shared<BenchTokenizeArgs>();
  sub = bench->add_subcommand("tokenize", "Encoding throughput of a tokenizer on the lines of a file (threads: --threads)");
  sub->add_option("--tokenizer", k->tokenizer, "tokenizer.json, vocab.txt, or a model directory")->required();
  sub->add_option("--input", k->input, "Text file, one text per line (a line holding a JSON string is decoded)")
      ->required();
  sub->add_option("--repeat", k->repeat, "Timed passes over the file (after one warm-up pass)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--batch", k->batch, "Lines per encode_batch call")->check(CLI::PositiveNumber);
  sub->add_flag("--no-special", k->no_special, "Leave out the special tokens the post-processor adds");
  sub->add_flag("--json", k->json, "Print only the JSON line");
  on_parsed(sub, [k]() { return run_bench_tokenize(*k); });
}

}  // namespace embtune::cli
