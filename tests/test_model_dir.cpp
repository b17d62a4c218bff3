// Model directories as sentence-transformers and Hugging Face write them: the real folders in
// shared/data, weights in F32/F16/BF16, with and without the "bert." prefix, sharded, and the
// head settings (pooling formats, include_prompt). Not the CLI (test_cli.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "io/st_dir.h"
#include "model/bert.h"
#include "model/sentence_encoder.h"
#include "ops/pooling.h"
#include "test_util.h"

namespace embtune {
namespace {

namespace fs = std::filesystem;
using test::run_command;
using test::sh_quote;

std::string tokenizers_dir() { return test::shared_dir() + "/data/tokenizers"; }

TEST(StDir, ReadsRealSentenceTransformersFolders) {
  if (test::skip_without_shared()) GTEST_SKIP();
  StModelDir m;
  Status s = st_dir_read(tokenizers_dir() + "/sentence-transformers__all-MiniLM-L6-v2", &m);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(m.modules.size(), 3u);
  EXPECT_EQ(m.modules[1].kind, "Pooling");
  EXPECT_EQ(m.modules[2].kind, "Normalize");
  EXPECT_EQ(m.pooling.modes, std::vector<std::string>{"mean"});
  EXPECT_EQ(m.max_seq_length, 256);
  EXPECT_EQ(fs::path(m.tokenizer_path).filename(), "tokenizer.json");

  // sentence-transformers 5.5 format: "pooling_mode": "cls", new module type names.
  s = st_dir_read(tokenizers_dir() + "/BAAI__bge-small-en-v1.5", &m);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(m.pooling.modes, std::vector<std::string>{"cls"});
  EXPECT_EQ(m.pooling.embedding_dimension, 384);
  EXPECT_EQ(m.modules.back().kind, "Normalize");
  EXPECT_EQ(m.similarity_fn_name, "cosine");
  EXPECT_EQ(m.prompts.at("query"), "");

  s = st_dir_read(tokenizers_dir() + "/intfloat__e5-small-v2", &m);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(m.pooling.modes, std::vector<std::string>{"mean"});
  EXPECT_TRUE(m.pooling.include_prompt);

  // No sentence-transformers files: the contract's defaults.
  s = st_dir_read(tokenizers_dir() + "/bert-base-uncased", &m);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_FALSE(m.has_modules_json);
  EXPECT_EQ(m.pooling.modes, std::vector<std::string>{"mean"});
  EXPECT_EQ(fs::path(m.tokenizer_path).filename(), "vocab.txt");

  for (const char* d : {"BAAI__bge-small-en-v1.5", "intfloat__e5-small-v2", "sentence-transformers__all-MiniLM-L6-v2",
                        "thenlper__gte-small", "bert-base-uncased"}) {
    nlohmann::json j;
    ASSERT_TRUE(read_json_file(tokenizers_dir() + "/" + d + "/config.json", &j).ok());
    BertConfig c;
    s = bert_config_from_json(j, d, &c);
    EXPECT_TRUE(s.ok()) << d << ": " << s.message();
  }
  // Architectures that are not BERT are refused by name.
  for (auto [d, type] : {std::pair<const char*, const char*>{"nomic-ai__nomic-bert-2048", "nomic_bert"},
                         {"google__embeddinggemma-300m", "gemma3_text"}}) {
    nlohmann::json j;
    ASSERT_TRUE(read_json_file(tokenizers_dir() + "/" + d + "/config.json", &j).ok());
    BertConfig c;
    s = bert_config_from_json(j, d, &c);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find(type), std::string::npos) << s.message();
  }
  // EmbeddingGemma's two Dense modules parse (in 768 -> 3072 -> 768, no bias, Identity).
  s = st_dir_read(tokenizers_dir() + "/google__embeddinggemma-300m", &m);
  ASSERT_FALSE(s.ok());  // it ships no tokenizer.json in this folder
  EXPECT_NE(s.message().find("missing tokenizer"), std::string::npos) << s.message();
}

TEST(StDir, PoolingConfigFormatsAndErrors) {
  test::TempDir tmp;
  auto pool = [&](const nlohmann::json& j, StPoolingConfig* out) -> Status {
    fs::create_directories(tmp.file("m/1_Pooling"));
    test::write_text(tmp.file("m/1_Pooling/config.json"), j.dump());
    test::write_text(tmp.file("m/modules.json"),
                     R"([{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},
                         {"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"}])");
    test::write_text(tmp.file("m/config.json"), "{}");
    test::write_text(tmp.file("m/vocab.txt"), "[PAD]\n[UNK]\n[CLS]\n[SEP]\n");
    StModelDir m;
    Status s = st_dir_read(tmp.file("m"), &m);
    if (s.ok()) *out = m.pooling;
    return s;
  };
  StPoolingConfig p;
  ASSERT_TRUE(pool({{"pooling_mode", {"mean", "cls"}}, {"include_prompt", false}}, &p).ok());
  EXPECT_EQ(p.modes, (std::vector<std::string>{"cls", "mean"}));  // sentence-transformers' order
  EXPECT_FALSE(p.include_prompt);
  ASSERT_TRUE(pool({{"pooling_mode_max_tokens", true}, {"pooling_mode_lasttoken", true}}, &p).ok());
  EXPECT_EQ(p.modes, (std::vector<std::string>{"max", "lasttoken"}));
  Status s = pool({{"pooling_mode", "median"}}, &p);
  EXPECT_NE(s.message().find("median"), std::string::npos) << s.message();
  s = pool({{"pooling_mode_mean_tokens", false}}, &p);
  EXPECT_NE(s.message().find("no pooling mode"), std::string::npos) << s.message();
  s = pool({{"include_prompt", "yes"}}, &p);
  EXPECT_NE(s.message().find("include_prompt"), std::string::npos) << s.message();
}

// ---- weights in every dtype and layout, against the reference ----

class Weights : public ::testing::Test {
 protected:
  void SetUp() override {
    if (test::skip_without_torch()) GTEST_SKIP();
    ref_ = test::torch_reference();
    auto r = run_command(test::torch_python() + " " + sh_quote(ref_) + " make-model " + sh_quote(tmp_.file("f32")) +
                         " --layers 2 --hidden 64 --heads 4 --inter 128 --vocab 500 --seed 3");
    ASSERT_EQ(r.exit_code, 0) << r.out;
    seqs_ = {{1, 2, 3}, {4, 5, 6, 7, 8, 9, 10, 11, 12}, {499, 0, 17}};
    test::write_text(tmp_.file("ids.json"), nlohmann::json(seqs_).dump());
    ASSERT_TRUE(src_.open(tmp_.file("f32/model.safetensors")).ok());
  }

  // Writes the reference weights into `dir` with `dtype`, optionally prefixed, in `shards` files.
  void write_variant(const std::string& dir, DType dtype, const std::string& prefix, int shards) {
    fs::create_directories(dir);
    fs::copy_file(tmp_.file("f32/config.json"), dir + "/config.json", fs::copy_options::overwrite_existing);
    std::vector<std::vector<float>> data;
    std::vector<TensorToWrite> all;
    for (const TensorView& t : src_.tensors()) {
      data.emplace_back(t.numel());
      ASSERT_TRUE(tensor_to_f32(t, data.back().data()).ok());
    }
    for (size_t i = 0; i < src_.tensors().size(); i++)
      all.push_back({prefix + src_.tensors()[i].name, src_.tensors()[i].shape, data[i].data(), dtype});
    if (shards == 1) {
      ASSERT_TRUE(safetensors_write(dir + "/model.safetensors", all).ok());
      return;
    }
    nlohmann::json index = {{"metadata", nlohmann::json::object()}, {"weight_map", nlohmann::json::object()}};
    for (int s = 0; s < shards; s++) {
      std::vector<TensorToWrite> part;
      char name[64];
      std::snprintf(name, sizeof name, "model-%05d-of-%05d.safetensors", s + 1, shards);
      for (size_t i = s; i < all.size(); i += shards) {
        part.push_back(all[i]);
        index["weight_map"][all[i].name] = name;
      }
      ASSERT_TRUE(safetensors_write(dir + "/" + name, part).ok());
    }
    test::write_text(dir + "/model.safetensors.index.json", index.dump());
  }

  std::vector<float> ours(const std::string& dir) {
    BertModel m;
    Status s = m.load_dir(dir);
    EXPECT_TRUE(s.ok()) << s.message();
    PackedBatch b;
    for (auto& q : seqs_) b.add(q);
    std::vector<float> h(b.num_tokens() * 64), e(b.num_seqs() * 64);
    m.forward(h.data(), b);
    pooling_forward(e.data(), 64, h.data(), b.cu_seqlens.data(), nullptr, b.num_seqs(), 64, PoolingMode::Mean);
    return e;
  }

  std::vector<float> reference(const std::string& dir) {
    std::vector<float> flat;
    for (auto& row : test::torch_embed(dir, tmp_.file("ids.json"), "mean", false, tmp_.file("ref.json")))
      flat.insert(flat.end(), row.begin(), row.end());
    return flat;
  }

  static float max_diff(const std::vector<float>& a, const std::vector<float>& b) {
    EXPECT_EQ(a.size(), b.size());
    float m = 0;
    for (size_t i = 0; i < a.size() && i < b.size(); i++) m = std::max(m, std::fabs(a[i] - b[i]));
    return m;
  }

  test::TempDir tmp_;
  std::string ref_;
  std::vector<std::vector<int32_t>> seqs_;
  SafetensorsFile src_;
};

TEST_F(Weights, F16WithBertPrefixEqualsReference) {
  write_variant(tmp_.file("f16"), DType::F16, "bert.", 1);
  float d = max_diff(ours(tmp_.file("f16")), reference(tmp_.file("f16")));
  std::printf("F16 weights with bert. prefix: max abs diff %.3g\n", d);
  EXPECT_LE(d, 1e-5f);
}

TEST_F(Weights, Bf16EqualsReference) {
  write_variant(tmp_.file("bf16"), DType::BF16, "", 1);
  float d = max_diff(ours(tmp_.file("bf16")), reference(tmp_.file("bf16")));
  std::printf("BF16 weights: max abs diff %.3g\n", d);
  EXPECT_LE(d, 1e-5f);
}

TEST_F(Weights, ShardedEqualsSingleFileBitForBit) {
  write_variant(tmp_.file("sharded"), DType::F32, "bert.", 3);
  EXPECT_FALSE(fs::exists(tmp_.file("sharded/model.safetensors")));
  EXPECT_EQ(ours(tmp_.file("sharded")), ours(tmp_.file("f32")));
  EXPECT_LE(max_diff(ours(tmp_.file("f32")), reference(tmp_.file("f32"))), 1e-5f);
}

// ---- the sentence-transformers head ----

TEST(SentenceEncoder, PromptExcludedFromPoolingLikeSentenceTransformers) {
  if (test::skip_without_shared()) GTEST_SKIP();
  test::TempDir tmp;
  auto r = run_command(sh_quote(test::embtune_bin()) + " init --config tiny --tokenizer " +
                       sh_quote(tokenizers_dir() + "/sentence-transformers__all-MiniLM-L6-v2") + " --out " +
                       sh_quote(tmp.file("m")) + " --no-normalize --prompt 'query=query: ' --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto pool = nlohmann::json::parse(test::read_text(tmp.file("m/1_Pooling/config.json")));
  pool["include_prompt"] = false;
  test::write_text(tmp.file("m/1_Pooling/config.json"), pool.dump());
  std::unique_ptr<SentenceEncoder> enc;
  Status s = SentenceEncoder::load(tmp.file("m"), &enc);
  ASSERT_TRUE(s.ok()) << s.message();
  EmbedOptions opt;
  opt.prompt_name = "query";
  std::vector<float> got;
  ASSERT_TRUE(enc->embed({"what is a hash table?"}, opt, &got).ok());

  // sentence-transformers: prompt_length = len(tokenize("query:")) - 1 = [CLS] query : -> 3;
  // the mean then runs over the tokens after them.
  std::string prompt;
  int32_t prompt_tokens = 0;
  ASSERT_TRUE(enc->resolve_prompt(opt, &prompt, &prompt_tokens).ok());
  EXPECT_EQ(prompt_tokens, 3);
  Encoding e;
  ASSERT_TRUE(enc->tokenizer().encode("query: what is a hash table?", {}, &e).ok());
  PackedBatch b;
  b.add(e.ids);
  const int64_t H = enc->bert().config().hidden_size, T = b.num_tokens();
  std::vector<float> h(T * H), want(H, 0.0f);
  enc->bert().forward(h.data(), b);
  for (int64_t t = 3; t < T; t++)
    for (int64_t c = 0; c < H; c++) want[c] += h[t * H + c] / static_cast<float>(T - 3);
  for (int64_t c = 0; c < H; c++) EXPECT_NEAR(got[c], want[c], 1e-6f);
}

TEST(SentenceEncoder, StripsTextAndConcatenatesPoolingModes) {
  if (test::skip_without_shared()) GTEST_SKIP();
  test::TempDir tmp;
  auto r = run_command(sh_quote(test::embtune_bin()) + " init --config tiny --tokenizer " +
                       sh_quote(tokenizers_dir() + "/sentence-transformers__all-MiniLM-L6-v2") + " --out " +
                       sh_quote(tmp.file("m")) + " --no-normalize --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  test::write_text(tmp.file("m/1_Pooling/config.json"), R"({"pooling_mode": ["mean", "cls"]})");
  std::unique_ptr<SentenceEncoder> enc;
  Status s = SentenceEncoder::load(tmp.file("m"), &enc);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(enc->dim(), 256);
  std::vector<float> a, b;
  ASSERT_TRUE(enc->embed({"hello world"}, {}, &a).ok());
  ASSERT_TRUE(enc->embed({" \t hello world\u3000 "}, {}, &b).ok());  // sentence-transformers strips
  EXPECT_EQ(a, b);
  EXPECT_EQ(strip_unicode_whitespace("\x1c a b \xe2\x80\x83"), "a b");
}

}  // namespace
}  // namespace embtune
