// The trainable sentence-transformers head: Max pooling backward (fast against scalar, ties),
// the head's backward against finite differences for every pooling mode, Dense activation and
// Normalize, its training forward against SentenceEncoder's embedding, and saving Dense layers.
// Not the encoder's backward (test_grad_*.cpp) or the loss.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <vector>

#include "io/safetensors.h"
#include "model/sentence_encoder.h"
#include "model/sentence_head.h"
#include "ops/pooling.h"
#include "test_util.h"
#include "train/adamw.h"

namespace embtune {
namespace {

using test::offsets;

namespace fs = std::filesystem;

// ---- Max pooling backward ----

TEST(MaxPoolingBackward, MatchesScalarWithTiesAndSkip) {
  std::mt19937 rng(31);
  for (int64_t H : {1, 7, 33, 65}) {
    const std::vector<int32_t> cu = offsets({1, 6, 9, 3, 4});
    const std::vector<int32_t> skip{0, 2, 9, 1, 3};  // the third sequence is all prompt
    const int64_t S = 5, N = cu.back(), stride = H + 2;
    for (bool ties : {false, true}) {
      for (bool use_skip : {false, true}) {
        auto x = test::random_normal(N * H, rng);
        // Values on a coarse grid tie often, which is where the choice of row shows.
        if (ties) {
          for (float& v : x) v = std::round(v);
        }
        const auto d_out = test::random_normal(S * stride, rng);
        const auto base = test::random_normal(N * H, rng);  // accumulated into
        auto fast = base, ref = base;
        const int32_t* sk = use_skip ? skip.data() : nullptr;
        pooling_backward(fast.data(), d_out.data(), stride, x.data(), cu.data(), sk, S, H, PoolingMode::Max);
        pooling_backward_scalar(ref.data(), d_out.data(), stride, x.data(), cu.data(), sk, S, H, PoolingMode::Max);
        EXPECT_EQ(fast, ref) << "H " << H << " ties " << ties << " skip " << use_skip;
        // Every (sequence, column) with a row to choose sends its whole gradient to one row.
        for (int64_t s = 0; s < S; s++) {
          const int64_t start = std::min<int64_t>(cu[s] + (sk ? sk[s] : 0), cu[s + 1]);
          for (int64_t c = 0; c < H; c++) {
            int64_t moved = 0;
            for (int64_t t = cu[s]; t < cu[s + 1]; t++) moved += fast[t * H + c] != base[t * H + c];
            EXPECT_LE(moved, start < cu[s + 1] ? 1 : 0) << "s " << s << " c " << c;
          }
        }
      }
    }
  }
}

TEST(MaxPoolingBackward, TiesGoToTheFirstRowAsTorchMax) {
  // One sequence of 4 rows, 3 columns: column 0 ties at rows 1 and 3, column 1 ties at every row,
  // column 2 has its maximum in the prompt (row 0, skipped) and then at row 2.
  const std::vector<float> x = {9, 1, 8,
                                2, 1, 0,
                                1, 1, 5,
                                2, 1, 3};
  const std::vector<int32_t> cu{0, 4}, skip{1};
  const std::vector<float> d_out = {10, 20, 30};
  std::vector<float> out(3), d_x(12, 0.0f);
  pooling_forward(out.data(), 3, x.data(), cu.data(), skip.data(), 1, 3, PoolingMode::Max);
  EXPECT_EQ(out, (std::vector<float>{2, 1, 5}));
  pooling_backward(d_x.data(), d_out.data(), 3, x.data(), cu.data(), skip.data(), 1, 3, PoolingMode::Max);
  EXPECT_EQ(d_x, (std::vector<float>{0, 0, 0,
                                     10, 20, 0,
                                     0, 0, 30,
                                     0, 0, 0}));
}

// ---- the head ----

const std::vector<int32_t> kLens{4, 1, 7, 3, 5};
const std::vector<int32_t> kSkip{2, 0, 3, 1, 4};  // every sequence keeps a row: max stays finite
constexpr int64_t kHidden = 6;

SentenceHeadConfig head_config(std::vector<PoolingMode> pooling, const std::vector<HeadModule>& modules,
                               const std::vector<std::pair<Activation, bool>>& dense_act_bias) {
  SentenceHeadConfig c;
  c.hidden_size = kHidden;
  c.pooling = std::move(pooling);
  c.modules = modules;
  int64_t d = kHidden * static_cast<int64_t>(c.pooling.size()), next = 0, out = 5;
  for (HeadModule m : modules) {
    if (m != HeadModule::Dense) continue;
    auto [act, bias] = dense_act_bias[next];
    c.dense.push_back({std::to_string(2 + next) + "_Dense", d, out, bias, act});
    d = out--;
    next++;
  }
  return c;
}

std::string describe(const SentenceHeadConfig& c) {
  static const char* const pooling_names[] = {"cls", "mean", "max", "mean_sqrt_len", "lasttoken"};
  static const char* const act_names[] = {"Identity", "GELU", "Tanh", "ReLU", "Sigmoid"};
  std::string s;
  for (PoolingMode m : c.pooling) s += (s.empty() ? "" : "+") + std::string(pooling_names[static_cast<int>(m)]);
  size_t k = 0;
  for (HeadModule m : c.modules) {
    if (m == HeadModule::Normalize) {
      s += " | Normalize";
    } else {
      s += std::string(" | Dense(") + act_names[static_cast<int>(c.dense[k].act)] + (c.dense[k].bias ? "" : ", no bias") + ")";
      k++;
    }
  }
  return s;
}

// The head's forward in double precision, written from sentence-transformers' definitions
// (Pooling.forward, Dense: act(linear(x)), F.normalize): the scalar twin the finite differences
// run on. params has the head's layout.
std::vector<double> reference_embedding(const SentenceHeadConfig& c, const std::vector<double>& params,
                                        const std::vector<double>& hidden, const std::vector<int32_t>& cu,
                                        const int32_t* skip) {
  const int64_t S = static_cast<int64_t>(cu.size()) - 1, H = c.hidden_size;
  int64_t d = H * static_cast<int64_t>(c.pooling.size());
  std::vector<double> x(S * d);  // (S, H·P)
  for (int64_t s = 0; s < S; s++) {
    const int64_t end = cu[s + 1], start = std::min<int64_t>(cu[s] + (skip ? skip[s] : 0), end);
    for (size_t m = 0; m < c.pooling.size(); m++) {
      for (int64_t col = 0; col < H; col++) {
        double v = 0;
        switch (c.pooling[m]) {
          case PoolingMode::Cls: v = hidden[cu[s] * H + col]; break;
          case PoolingMode::LastToken: v = hidden[(end - 1) * H + col]; break;
          case PoolingMode::Max:
            v = -1e9;
            for (int64_t t = start; t < end; t++) v = std::max(v, hidden[t * H + col]);
            break;
          case PoolingMode::Mean:
          case PoolingMode::MeanSqrtLen: {
            for (int64_t t = start; t < end; t++) v += hidden[t * H + col];
            const double n = std::max<double>(end - start, 1e-9);
            v /= c.pooling[m] == PoolingMode::Mean ? n : std::sqrt(n);
            break;
          }
        }
        x[s * d + m * H + col] = v;
      }
    }
  }
  size_t k = 0;
  int64_t offset = 0;
  for (HeadModule mod : c.modules) {
    if (mod == HeadModule::Normalize) {
      for (int64_t s = 0; s < S; s++) {
        double ss = 0;
        for (int64_t i = 0; i < d; i++) ss += x[s * d + i] * x[s * d + i];
        const double norm = std::max(std::sqrt(ss), 1e-12);
        for (int64_t i = 0; i < d; i++) x[s * d + i] /= norm;
      }
      continue;
    }
    const DenseLayer& L = c.dense[k++];
    const double* w = params.data() + offset;  // (out, in)
    const double* b = L.bias ? w + L.out * L.in : nullptr;
    offset += L.out * L.in + (L.bias ? L.out : 0);
    std::vector<double> y(S * L.out);
    for (int64_t s = 0; s < S; s++) {
      for (int64_t o = 0; o < L.out; o++) {
        double v = b ? b[o] : 0.0;
        for (int64_t i = 0; i < L.in; i++) v += w[o * L.in + i] * x[s * L.in + i];
        switch (L.act) {
          case Activation::None: break;
          case Activation::Tanh: v = std::tanh(v); break;
          case Activation::Relu: v = std::max(v, 0.0); break;
          case Activation::Gelu: v = 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))); break;
          case Activation::Sigmoid: v = 1.0 / (1.0 + std::exp(-v)); break;
        }
        y[s * L.out + o] = v;
      }
    }
    x.swap(y);
    d = L.out;
  }
  return x;
}

// Central differences (step 1e-4) of L = Σ emb · r on the double reference, against the
// analytic gradient at every index of x. In double the quotient is exact to ~1e-8, so what is
// left is the fp32 rounding of the backward (~1e-6 seen): |analytic - numeric| <= 1e-5 · max(1, |numeric|).
// Kinks (ReLU at 0, a max passing to another row) would need a value within 1e-4 of one; the
// fixed seeds put none there. Returns the worst scaled difference.
double check_fd(std::vector<double>& x, const std::vector<float>& analytic, const std::function<double()>& loss,
                const std::string& what) {
  constexpr double h = 1e-4;
  double worst = 0;
  for (size_t i = 0; i < x.size(); i++) {
    const double saved = x[i];
    x[i] = saved + h;
    const double lp = loss();
    x[i] = saved - h;
    const double lm = loss();
    x[i] = saved;
    const double numeric = (lp - lm) / (2 * h), scale = std::max(1.0, std::fabs(numeric));
    worst = std::max(worst, std::fabs(analytic[i] - numeric) / scale);
    EXPECT_NEAR(analytic[i], numeric, 1e-5 * scale) << what << "[" << i << "]";
  }
  return worst;
}

// Builds the head with random Dense layers; checks its forward against the double reference,
// then d_hidden and every parameter gradient against finite differences of that reference.
void check_head_gradients(const SentenceHeadConfig& c, bool use_skip, std::mt19937& rng) {
  SentenceHead head;
  head.init(c);
  for (const ParamInfo& p : head.layout()) {
    auto v = test::random_normal(p.numel, rng, 0.5f);
    std::copy(v.begin(), v.end(), head.params().begin() + p.offset);
  }
  const std::vector<int32_t> cu = offsets(kLens);
  const int64_t S = static_cast<int64_t>(kLens.size()), N = cu.back();
  const int32_t* skip = use_skip ? kSkip.data() : nullptr;
  const auto hidden = test::random_normal(N * kHidden, rng);
  const auto r = test::random_normal(S * head.dim(), rng);  // L = Σ emb · r, so d_emb = r
  const std::string tag = describe(c) + (use_skip ? " skip" : "");

  SentenceHeadActivations acts;
  head.forward_train(&acts, hidden.data(), cu.data(), skip, S);
  std::vector<double> hidden_d(hidden.begin(), hidden.end()), params_d(head.params().begin(), head.params().end());
  const std::vector<double> want = reference_embedding(c, params_d, hidden_d, cu, skip);
  for (int64_t i = 0; i < S * head.dim(); i++) EXPECT_NEAR(acts.embedding()[i], want[i], 1e-5) << tag << " emb[" << i << "]";

  std::vector<float> d_hidden(N * kHidden, 0.0f), grads(head.params().size(), 0.0f);
  head.backward(d_hidden.data(), grads.data(), acts, r.data(), hidden.data(), cu.data(), skip);
  auto loss = [&] {
    const std::vector<double> emb = reference_embedding(c, params_d, hidden_d, cu, skip);
    double l = 0;
    for (size_t i = 0; i < emb.size(); i++) l += emb[i] * r[i];
    return l;
  };
  const double wh = check_fd(hidden_d, d_hidden, loss, tag + " d_hidden");
  const double wp = check_fd(params_d, grads, loss, tag + " d_params");
  std::printf("%-58s worst |fd - analytic|: d_hidden %.2g, d_params %.2g\n", tag.c_str(), wh, wp);
}

const std::vector<std::vector<PoolingMode>> kPoolings = {
    {PoolingMode::Cls},
    {PoolingMode::Mean},
    {PoolingMode::Max},
    {PoolingMode::MeanSqrtLen},
    {PoolingMode::LastToken},
    {PoolingMode::Max, PoolingMode::Mean},
    {PoolingMode::Cls, PoolingMode::Max, PoolingMode::Mean, PoolingMode::MeanSqrtLen, PoolingMode::LastToken}};

const Activation kActivations[] = {Activation::None, Activation::Tanh, Activation::Relu, Activation::Gelu,
                                   Activation::Sigmoid};

TEST(SentenceHeadBackward, EveryPoolingModeMatchesFiniteDifferences) {
  std::mt19937 rng(41);
  for (const auto& pooling : kPoolings) {
    for (bool use_skip : {false, true}) {
      check_head_gradients(head_config(pooling, {}, {}), use_skip, rng);
      check_head_gradients(head_config(pooling, {HeadModule::Normalize}, {}), use_skip, rng);
      // Two Dense layers (the second without bias, as EmbeddingGemma's) and Normalize.
      check_head_gradients(head_config(pooling, {HeadModule::Dense, HeadModule::Dense, HeadModule::Normalize},
                                       {{Activation::Tanh, true}, {Activation::None, false}}),
                           use_skip, rng);
    }
  }
}

TEST(SentenceHeadBackward, EveryDenseActivationMatchesFiniteDifferences) {
  std::mt19937 rng(42);
  const std::vector<PoolingMode> all = kPoolings.back();
  for (Activation act : kActivations) {
    for (bool bias : {true, false}) {
      check_head_gradients(head_config(all, {HeadModule::Dense}, {{act, bias}}), true, rng);
      check_head_gradients(head_config({PoolingMode::Mean}, {HeadModule::Dense, HeadModule::Normalize}, {{act, bias}}),
                           false, rng);
    }
    // Normalize before a Dense: unusual, but modules.json allows it and the head keeps the order.
    check_head_gradients(
        head_config({PoolingMode::Max}, {HeadModule::Normalize, HeadModule::Dense, HeadModule::Dense},
                    {{act, true}, {Activation::Sigmoid, true}}),
        true, rng);
  }
}

TEST(SentenceHeadBackward, AccumulatesIntoHiddenAndParameterGradients) {
  std::mt19937 rng(43);
  SentenceHead head;
  head.init(head_config({PoolingMode::Mean, PoolingMode::Max}, {HeadModule::Dense, HeadModule::Normalize},
                        {{Activation::Gelu, true}}));
  for (float& v : head.params()) v = test::random_normal(1, rng, 0.5f)[0];
  const std::vector<int32_t> cu = offsets(kLens);
  const int64_t S = static_cast<int64_t>(kLens.size()), N = cu.back();
  auto hidden = test::random_normal(N * kHidden, rng);
  const auto d_emb = test::random_normal(S * head.dim(), rng);
  SentenceHeadActivations acts;
  head.forward_train(&acts, hidden.data(), cu.data(), kSkip.data(), S);
  const auto base_hidden = test::random_normal(N * kHidden, rng), base_grads = test::random_normal(head.params().size(), rng);
  auto d_hidden = base_hidden, grads = base_grads;
  std::vector<float> once_hidden(N * kHidden, 0.0f), once_grads(head.params().size(), 0.0f);
  head.backward(d_hidden.data(), grads.data(), acts, d_emb.data(), hidden.data(), cu.data(), kSkip.data());
  head.backward(once_hidden.data(), once_grads.data(), acts, d_emb.data(), hidden.data(), cu.data(), kSkip.data());
  for (size_t i = 0; i < d_hidden.size(); i++) EXPECT_FLOAT_EQ(d_hidden[i], base_hidden[i] + once_hidden[i]) << i;
  for (size_t i = 0; i < grads.size(); i++) EXPECT_FLOAT_EQ(grads[i], base_grads[i] + once_grads[i]) << i;
  // Prompt rows are read by neither mean nor max: their gradient is untouched.
  for (int64_t s = 0; s < S; s++)
    for (int64_t t = cu[s]; t < cu[s] + kSkip[s]; t++)
      for (int64_t c = 0; c < kHidden; c++) EXPECT_EQ(d_hidden[t * kHidden + c], base_hidden[t * kHidden + c]);
}

TEST(SentenceHeadForward, TrainingForwardEqualsInferenceBitForBit) {
  std::mt19937 rng(44);
  const std::vector<int32_t> cu = offsets(kLens);
  const int64_t S = static_cast<int64_t>(kLens.size()), N = cu.back();
  for (const auto& pooling : kPoolings) {
    for (Activation act : kActivations) {
      SentenceHead head;
      head.init(head_config(pooling, {HeadModule::Dense, HeadModule::Dense, HeadModule::Normalize},
                            {{act, true}, {act, false}}));
      for (float& v : head.params()) v = test::random_normal(1, rng, 0.5f)[0];
      auto hidden = test::random_normal(N * kHidden, rng);
      std::vector<float> emb(S * head.dim());
      head.forward(emb.data(), hidden.data(), cu.data(), kSkip.data(), S);
      SentenceHeadActivations acts;
      head.forward_train(&acts, hidden.data(), cu.data(), kSkip.data(), S);
      EXPECT_EQ(std::vector<float>(acts.embedding(), acts.embedding() + S * head.dim()), emb) << describe(head.config());
    }
  }
}

TEST(SentenceHead, LayoutNamesEachDenseFolderAndItsTensors) {
  SentenceHead head;
  head.init(head_config({PoolingMode::Cls, PoolingMode::Mean}, {HeadModule::Dense, HeadModule::Dense},
                        {{Activation::Tanh, true}, {Activation::None, false}}));
  ASSERT_EQ(head.layout().size(), 3u);
  EXPECT_EQ(head.layout()[0].name, "2_Dense/linear.weight");
  EXPECT_EQ(head.layout()[0].shape, (std::vector<int64_t>{5, 12}));
  EXPECT_EQ(head.layout()[1].name, "2_Dense/linear.bias");
  EXPECT_EQ(head.layout()[1].offset, 60);
  EXPECT_EQ(head.layout()[2].name, "3_Dense/linear.weight");
  EXPECT_EQ(head.layout()[2].shape, (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(head.layout()[2].offset, 65);
  EXPECT_EQ(head.params().size(), 85u);
  EXPECT_EQ(head.dense_bias(1), nullptr);
  EXPECT_EQ(head.dim(), 4);
  EXPECT_FALSE(head.normalizes());
  EXPECT_TRUE(param_gets_weight_decay(head.layout()[0].name));
  EXPECT_FALSE(param_gets_weight_decay(head.layout()[1].name));
}

// ---- against SentenceEncoder, on a model directory with two Dense layers ----

std::string tokenizers_dir() { return test::shared_dir() + "/data/tokenizers"; }

// A tiny BERT with cls+max+mean pooling (prompt excluded), Dense(3H -> 24, Tanh, bias),
// Dense(24 -> 16, GELU, no bias) and Normalize, written as sentence-transformers lays it out.
void make_dense_model(const std::string& dir, std::mt19937& rng) {
  auto r = test::run_command(test::sh_quote(test::embtune_bin()) + " init --config tiny --tokenizer " +
                             test::sh_quote(tokenizers_dir() + "/sentence-transformers__all-MiniLM-L6-v2") + " --out " +
                             test::sh_quote(dir) + " --no-normalize --prompt 'query=query: ' --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const int64_t H = nlohmann::json::parse(test::read_text(dir + "/config.json"))["hidden_size"].get<int64_t>();
  test::write_text(dir + "/1_Pooling/config.json",
                   R"({"pooling_mode": ["cls", "max", "mean"], "include_prompt": false})");
  nlohmann::json modules = nlohmann::json::parse(test::read_text(dir + "/modules.json"));
  struct Spec {
    const char* folder;
    int64_t in, out;
    bool bias;
    const char* act;
  };
  int idx = static_cast<int>(modules.size());
  for (Spec s : {Spec{"2_Dense", 3 * H, 24, true, "torch.nn.modules.activation.Tanh"},
                 Spec{"3_Dense", 24, 16, false, "torch.nn.modules.activation.GELU"}}) {
    fs::create_directories(dir + "/" + s.folder);
    test::write_text(dir + "/" + s.folder + "/config.json",
                     nlohmann::json{{"in_features", s.in}, {"out_features", s.out}, {"bias", s.bias},
                                    {"activation_function", s.act}}
                         .dump());
    const auto w = test::random_normal(s.out * s.in, rng, 0.2f), b = test::random_normal(s.out, rng, 0.2f);
    std::vector<TensorToWrite> t = {{"linear.weight", {s.out, s.in}, w.data(), DType::F32}};
    if (s.bias) t.push_back({"linear.bias", {s.out}, b.data(), DType::F32});
    ASSERT_TRUE(safetensors_write(dir + "/" + s.folder + "/model.safetensors", t).ok());
    modules.push_back({{"idx", idx}, {"name", std::to_string(idx)}, {"path", s.folder},
                       {"type", "sentence_transformers.models.Dense"}});
    idx++;
  }
  fs::create_directories(dir + "/4_Normalize");
  modules.push_back({{"idx", idx}, {"name", std::to_string(idx)}, {"path", "4_Normalize"},
                     {"type", "sentence_transformers.models.Normalize"}});
  test::write_text(dir + "/modules.json", modules.dump());
}

TEST(SentenceHeadModel, TrainingForwardEqualsEncoderEmbeddingAndSavedDenseReloads) {
  if (test::skip_without_shared()) GTEST_SKIP();
  test::TempDir tmp;
  std::mt19937 rng(45);
  ASSERT_NO_FATAL_FAILURE(make_dense_model(tmp.file("m"), rng));
  std::unique_ptr<SentenceEncoder> enc;
  Status st = SentenceEncoder::load(tmp.file("m"), &enc);
  ASSERT_TRUE(st.ok()) << st.message();
  const SentenceHead& head = enc->head();
  ASSERT_EQ(head.dense().size(), 2u);
  EXPECT_EQ(enc->dim(), 16);
  EXPECT_TRUE(enc->normalizes());
  EXPECT_EQ(head.layout().size(), 3u);  // 2_Dense weight and bias, 3_Dense weight

  // Texts in decreasing token length, so that embed()'s length sort keeps their order and packs
  // them into one batch exactly as built here.
  const std::vector<std::string> texts = {"what is the difference between a hash table and a binary search tree?",
                                          "a short question about hashing", "hash maps", "hi"};
  EmbedOptions opt;
  opt.prompt_name = "query";
  std::vector<float> want;
  ASSERT_TRUE(enc->embed(texts, opt, &want).ok());
  std::vector<Encoding> encs;
  int32_t prompt_tokens = 0;
  ASSERT_TRUE(enc->tokenize(texts, opt, &encs, &prompt_tokens).ok());
  EXPECT_EQ(prompt_tokens, 3);
  PackedBatch batch;
  for (size_t i = 0; i < encs.size(); i++) {
    if (i > 0) {
      ASSERT_GT(encs[i - 1].ids.size(), encs[i].ids.size());
    }
    batch.add(encs[i].ids, &encs[i].type_ids);
  }
  const int64_t S = batch.num_seqs(), H = enc->bert().config().hidden_size;
  const std::vector<int32_t> skip(S, prompt_tokens);
  std::vector<float> hidden(batch.num_tokens() * H);
  enc->bert().forward(hidden.data(), batch);
  SentenceHeadActivations acts;
  head.forward_train(&acts, hidden.data(), batch.cu_seqlens.data(), skip.data(), S);
  EXPECT_EQ(std::vector<float>(acts.embedding(), acts.embedding() + S * 16), want);

  // From the encoder's training forward, whose GELU is not fused, the hidden state (and so the
  // embedding) may differ in the last bits.
  BertActivations bert_acts;
  enc->bert().forward_train(&bert_acts, batch);
  head.forward_train(&acts, bert_acts.hidden(), batch.cu_seqlens.data(), skip.data(), S);
  double worst = 0;
  for (int64_t i = 0; i < S * 16; i++) worst = std::max(worst, static_cast<double>(std::fabs(acts.embedding()[i] - want[i])));
  std::printf("embedding from BertModel::forward_train vs SentenceEncoder::embed: max |diff| = %.3g\n", worst);
  EXPECT_LE(worst, 1e-6);

  // A changed head (as after an optimiser step) embeds differently, and once saved and reloaded
  // gives back the same parameters bit for bit and the same embeddings.
  for (size_t i = 0; i < enc->head().params().size(); i++) enc->head().params()[i] += 0.01f * static_cast<float>(i % 7);
  std::vector<float> changed;
  ASSERT_TRUE(enc->embed(texts, opt, &changed).ok());
  EXPECT_NE(changed, want);
  fs::copy(tmp.file("m"), tmp.file("saved"), fs::copy_options::recursive);
  ASSERT_TRUE(enc->head().save_dense(tmp.file("saved")).ok());
  SafetensorsFile file;
  ASSERT_TRUE(file.open(tmp.file("saved/3_Dense/model.safetensors")).ok());
  ASSERT_EQ(file.tensors().size(), 1u);
  EXPECT_EQ(file.tensors()[0].name, "linear.weight");
  EXPECT_EQ(file.tensors()[0].shape, (std::vector<int64_t>{16, 24}));
  EXPECT_EQ(file.metadata().at("format"), "pt");
  std::unique_ptr<SentenceEncoder> reloaded;
  st = SentenceEncoder::load(tmp.file("saved"), &reloaded);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(reloaded->head().params(), enc->head().params());
  std::vector<float> again;
  ASSERT_TRUE(reloaded->embed(texts, opt, &again).ok());
  EXPECT_EQ(again, changed);
}

}  // namespace
}  // namespace embtune
