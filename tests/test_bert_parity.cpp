// BERT encoder + pooling + normalisation against the PyTorch reference (shared/reference/
// torch_bert.py) on random-weight models of three shapes. Not a tokenizer test: ids go in.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "io/safetensors.h"
#include "model/bert.h"
#include "ops/pooling.h"
#include "test_util.h"

namespace embtune {
namespace {

using test::run_command;
using test::sh_quote;

struct Shape {
  const char* name;
  int layers, hidden, heads, inter, vocab;
};

std::vector<std::vector<int32_t>> make_sequences(const std::vector<int>& lengths, int vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> tok(0, vocab - 1);
  std::vector<std::vector<int32_t>> seqs;
  for (int n : lengths) {
    std::vector<int32_t> s;
    for (int i = 0; i < n; i++) s.push_back(tok(rng));
    seqs.push_back(s);
  }
  return seqs;
}

void check_shape(const Shape& sh, const std::vector<int>& lengths,
                 const std::vector<std::pair<std::string, bool>>& variants) {
  test::TempDir tmp;
  const std::string dir = tmp.file("model");
  auto r = run_command(test::torch_python() + " " + sh_quote(test::torch_reference()) + " make-model " + sh_quote(dir) +
                       " --layers " + std::to_string(sh.layers) + " --hidden " + std::to_string(sh.hidden) +
                       " --heads " + std::to_string(sh.heads) + " --inter " + std::to_string(sh.inter) +
                       " --vocab " + std::to_string(sh.vocab) + " --seed 7");
  ASSERT_EQ(r.exit_code, 0) << r.out;

  auto seqs = make_sequences(lengths, sh.vocab, 11);
  test::write_text(tmp.file("ids.json"), nlohmann::json(seqs).dump());

  BertModel model;
  Status s = model.load_dir(dir);
  ASSERT_TRUE(s.ok()) << s.message();
  const BertConfig& cfg = model.config();

  PackedBatch batch;
  for (auto& q : seqs) batch.add(q);
  ASSERT_TRUE(model.validate_batch(batch).ok());
  const int64_t H = cfg.hidden_size, S = batch.num_seqs();
  std::vector<float> hidden(batch.num_tokens() * H);
  model.forward(hidden.data(), batch);

  for (auto& [pooling, normalize] : variants) {
    auto ref = test::torch_embed(dir, tmp.file("ids.json"), pooling, normalize, tmp.file("ref.json"));
    ASSERT_EQ(ref.size(), seqs.size());
    std::vector<float> ours(S * H);
    pooling_forward(ours.data(), H, hidden.data(), batch.cu_seqlens.data(), nullptr, S, H,
                    pooling == "cls" ? PoolingMode::Cls : PoolingMode::Mean);
    if (normalize) l2_normalize_forward(ours.data(), S, H);
    float worst = 0;
    for (int64_t i = 0; i < S; i++)
      for (int64_t c = 0; c < H; c++) worst = std::max(worst, std::fabs(ours[i * H + c] - ref[i][c]));
    std::printf("[%s, %s pooling, %s] max abs diff vs torch: %.3g\n", sh.name, pooling.c_str(),
                normalize ? "normalized" : "not normalized", worst);
    EXPECT_LE(worst, 1e-5f) << sh.name << " " << pooling << (normalize ? " normalized" : "");
  }
}

TEST(BertParity, TinyAllPoolingAndNormalisation) {
  if (test::skip_without_torch()) GTEST_SKIP() << "reference not available";
  check_shape({"tiny 2x64x4", 2, 64, 4, 128, 1000}, {1, 2, 3, 5, 8, 13, 40, 127, 128, 129, 300, 512},
              {{"mean", true}, {"mean", false}, {"cls", true}, {"cls", false}});
}

TEST(BertParity, MiniLmL6Shape) {
  if (test::skip_without_torch()) GTEST_SKIP() << "reference not available";
  check_shape({"all-MiniLM-L6-v2 shape 6x384x12", 6, 384, 12, 1536, 30522}, {2, 3, 9, 17, 33, 64, 100, 200, 256, 511},
              {{"mean", true}, {"cls", false}});
}

TEST(BertParity, TwelveLayers) {
  if (test::skip_without_torch()) GTEST_SKIP() << "reference not available";
  check_shape({"12-layer 12x384x12 (MiniLM-L12 shape)", 12, 384, 12, 1536, 5000}, {2, 7, 50, 128, 384},
              {{"mean", false}, {"cls", true}});
}

}  // namespace
}  // namespace embtune
