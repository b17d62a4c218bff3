// GGUF: the file format against hand-assembled bytes and bad files, the export of llama.cpp's bert
// layout checked by an independent reader (npm @huggingface/gguf), and round trips of embeddings.
// Not llama.cpp itself: no test here runs llama.cpp (docs/formats.md says how to).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "core/file.h"
#include "core/half.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "model/gguf_model.h"
#include "model/sentence_encoder.h"
#include "test_util.h"

namespace embtune {
namespace {

namespace fs = std::filesystem;
using test::run_command;
using test::sh_quote;

const std::vector<std::string> kTexts = {"the cat sat on the mat", "a dog ran in the park 42 times",
                                         "hello world", "query: where is the cat", "zebra"};

std::string bin() { return sh_quote(test::embtune_bin()); }

// Every command and load in this file keeps its converted GGUF models in a fresh cache.
class Gguf : public ::testing::Test {
 protected:
  void SetUp() override { setenv("EMBTUNE_CACHE_DIR", tmp_.file("cache").c_str(), 1); }
  // A tiny random model (vocab.txt tokenizer) under `name`.
  std::string tiny(const std::string& name, const std::string& extra = "") {
    const std::string dir = tmp_.file(name);
    std::string err = test::make_tiny_word_model(dir, {"the", "cat", "sat", "on", "mat", "dog", "hello", "world", "zebra"});
    EXPECT_EQ(err, "");
    if (!extra.empty()) {
      auto r = run_command(bin() + " init --config tiny --tokenizer " + sh_quote(dir + "-vocab/vocab.txt") + " --out " +
                           sh_quote(dir) + " --force --quiet " + extra);
      EXPECT_EQ(r.exit_code, 0) << r.out;
    }
    return dir;
  }
  test::CommandResult export_gguf(const std::string& model, const std::string& out, const std::string& type) {
    return run_command(bin() + " export --model " + sh_quote(model) + " --format gguf --out " + sh_quote(out) +
                       " --type " + type + " --quiet");
  }
  test::TempDir tmp_;
};

std::vector<float> embed(const std::string& model, const std::vector<std::string>& texts = kTexts) {
  std::unique_ptr<SentenceEncoder> enc;
  Status s = SentenceEncoder::load(model, &enc);
  EXPECT_TRUE(s.ok()) << s.message();
  if (!s.ok()) return {};
  std::vector<float> out;
  s = enc->embed(texts, EmbedOptions(), &out);
  EXPECT_TRUE(s.ok()) << s.message();
  return out;
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float m = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); i++) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

float min_cosine(const std::vector<float>& a, const std::vector<float>& b, size_t dim) {
  float worst = 1;
  for (size_t r = 0; r * dim < a.size(); r++) {
    double ab = 0, aa = 0, bb = 0;
    for (size_t c = 0; c < dim; c++) {
      const double x = a[r * dim + c], y = b[r * dim + c];
      ab += x * y, aa += x * x, bb += y * y;
    }
    worst = std::min(worst, static_cast<float>(ab / std::sqrt(aa * bb)));
  }
  return worst;
}

template <typename T>
void put(std::string* s, T v) {
  s->append(reinterpret_cast<const char*>(&v), sizeof v);
}

TEST_F(Gguf, WriterBytesMatchTheSpecLayout) {
  // One key and one F32 tensor, assembled by hand from ggml's docs/gguf.md.
  const float data[3] = {1.0f, -2.0f, 0.5f};
  ASSERT_TRUE(gguf_write(tmp_.file("a.gguf"), {{"general.architecture", GgufValue::string("bert")}},
                         {{"w", {3}, GgmlType::F32, data}}).ok());
  std::string want = "GGUF";
  put<uint32_t>(&want, 3);
  put<uint64_t>(&want, 1);  // tensors
  put<uint64_t>(&want, 1);  // keys
  put<uint64_t>(&want, 20);
  want += "general.architecture";
  put<uint32_t>(&want, 8);  // STRING
  put<uint64_t>(&want, 4);
  want += "bert";
  put<uint64_t>(&want, 1);
  want += "w";
  put<uint32_t>(&want, 1);  // n_dims
  put<uint64_t>(&want, 3);
  put<uint32_t>(&want, 0);  // GGML_TYPE_F32
  put<uint64_t>(&want, 0);  // offset
  want.resize((want.size() + 31) / 32 * 32, '\0');
  want.append(reinterpret_cast<const char*>(data), sizeof data);
  want.resize((want.size() + 31) / 32 * 32, '\0');
  EXPECT_EQ(test::read_text(tmp_.file("a.gguf")), want);
}

TEST_F(Gguf, EveryValueTypeAndTensorTypeRoundTrips) {
  std::vector<GgufKV> kv;
  auto add = [&](const std::string& k, GgufType t, auto set) {
    GgufValue v = GgufValue::of(t);
    set(v);
    kv.push_back({k, v});
  };
  add("u8", GgufType::Uint8, [](GgufValue& v) { v.u = 250; });
  add("i8", GgufType::Int8, [](GgufValue& v) { v.i = -120; });
  add("u16", GgufType::Uint16, [](GgufValue& v) { v.u = 65000; });
  add("i16", GgufType::Int16, [](GgufValue& v) { v.i = -32000; });
  add("u32", GgufType::Uint32, [](GgufValue& v) { v.u = 4000000000u; });
  add("i32", GgufType::Int32, [](GgufValue& v) { v.i = -2000000000; });
  add("u64", GgufType::Uint64, [](GgufValue& v) { v.u = 1ull << 60; });
  add("i64", GgufType::Int64, [](GgufValue& v) { v.i = -(1ll << 60); });
  add("f32", GgufType::Float32, [](GgufValue& v) { v.f = 0.25; });
  add("f64", GgufType::Float64, [](GgufValue& v) { v.f = 1e-300; });
  add("bool", GgufType::Bool, [](GgufValue& v) { v.b = true; });
  add("str", GgufType::String, [](GgufValue& v) { v.str = "h\xc3\xa9llo\n"; });
  kv.push_back({"strs", GgufValue::strings({"a", "", "\xe2\x96\x81" "b"})});
  kv.push_back({"ints", GgufValue::i32s({1, -2, 3})});
  GgufValue floats = GgufValue::of(GgufType::Array);
  floats.array_type = GgufType::Float32;
  floats.array = {GgufValue::f32(1.5f), GgufValue::f32(-3.0f)};
  kv.push_back({"floats", floats});

  std::mt19937 rng(1);
  std::vector<float> x = test::random_normal(64 * 3, rng);
  std::vector<GgufTensorToWrite> t = {{"f32", {64, 3}, GgmlType::F32, x.data()},
                                      {"f16", {64, 3}, GgmlType::F16, x.data()},
                                      {"bf16", {3, 64}, GgmlType::BF16, x.data()},
                                      {"q8", {64, 3}, GgmlType::Q8_0, x.data()}};
  for (uint32_t align : {32u, 64u}) {
    const std::string path = tmp_.file("kv" + std::to_string(align) + ".gguf");
    ASSERT_TRUE(gguf_write(path, kv, t, align).ok());
    GgufFile g;
    Status s = g.open(path);
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_EQ(g.version(), 3u);
    EXPECT_EQ(g.alignment(), align);
    for (const GgufKV& e : kv) {
      const GgufValue* v = g.find_kv(e.key);
      ASSERT_NE(v, nullptr) << e.key;
      EXPECT_TRUE(*v == e.value) << e.key;
    }
    std::vector<float> back;
    ASSERT_TRUE(g.tensor_f32(*g.find_tensor("f32"), &back).ok());
    EXPECT_EQ(back, x);
    ASSERT_TRUE(g.tensor_f32(*g.find_tensor("f16"), &back).ok());
    for (size_t i = 0; i < x.size(); i++) ASSERT_EQ(back[i], f16_to_f32(f32_to_f16(x[i])));
    ASSERT_TRUE(g.tensor_f32(*g.find_tensor("bf16"), &back).ok());
    for (size_t i = 0; i < x.size(); i++) ASSERT_EQ(back[i], bf16_to_f32(f32_to_bf16(x[i])));
    EXPECT_EQ(g.find_tensor("bf16")->ne, (std::vector<int64_t>{3, 64}));
    ASSERT_TRUE(g.tensor_f32(*g.find_tensor("q8"), &back).ok());
    for (size_t b = 0; b < x.size() / 32; b++) {
      float amax = 0;
      for (int j = 0; j < 32; j++) amax = std::max(amax, std::fabs(x[b * 32 + j]));
      for (int j = 0; j < 32; j++) ASSERT_LE(std::fabs(back[b * 32 + j] - x[b * 32 + j]), amax / 127 * 0.51f + 1e-3f * amax);
    }
    for (const GgufTensor& tt : g.tensors()) EXPECT_EQ(tt.offset % align, 0u) << tt.name;
  }
}

TEST_F(Gguf, Q8_0BlocksAreGgmlsReference) {
  // quantize_row_q8_0_ref: d = amax / 127 as fp16, q = roundf(x * (1 / d)).
  std::vector<float> x(32);
  for (int j = 0; j < 32; j++) x[j] = static_cast<float>(j) - 15.0f;  // -15 .. 16: amax 16 (the last)
  std::vector<uint8_t> q(34);
  quantize_q8_0(x.data(), 32, q.data());
  uint16_t d;
  std::memcpy(&d, q.data(), 2);
  EXPECT_EQ(d, f32_to_f16(16.0f / 127));
  EXPECT_EQ(static_cast<int8_t>(q[2 + 31]), 127);
  EXPECT_EQ(static_cast<int8_t>(q[2 + 0]), -119);  // -15 * 127 / 16 = -119.06
  EXPECT_EQ(static_cast<int8_t>(q[2 + 15]), 0);
  EXPECT_EQ(static_cast<int8_t>(q[2 + 23]), 64);   // 8 * 127 / 16 = 63.5: half away from zero
  std::vector<float> zeros(32, 0.0f);
  quantize_q8_0(zeros.data(), 32, q.data());
  for (uint8_t b : q) EXPECT_EQ(b, 0);
}

TEST_F(Gguf, BadFilesAreClearErrorsNamingTheFile) {
  const float data[32] = {1.0f};
  const std::string good = tmp_.file("good.gguf");
  ASSERT_TRUE(gguf_write(good, {{"general.architecture", GgufValue::string("bert")}, {"n", GgufValue::u32(7)}},
                         {{"w", {32}, GgmlType::F32, data}}).ok());
  const std::string bytes = test::read_text(good);
  auto expect_error = [&](const std::string& name, const std::string& content, const std::string& needle) {
    const std::string p = tmp_.file(name);
    test::write_text(p, content);
    GgufFile g;
    Status s = g.open(p);
    ASSERT_FALSE(s.ok()) << name;
    EXPECT_NE(s.message().find(p), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(needle), std::string::npos) << s.message();
  };
  for (size_t cut : {size_t(3), size_t(10), size_t(30), size_t(60), bytes.size() - 64, bytes.size() - 1})
    expect_error("cut" + std::to_string(cut) + ".gguf", bytes.substr(0, cut), "truncated");
  expect_error("magic.gguf", "GGML" + bytes.substr(4), "not a GGUF file");
  std::string v4 = bytes;
  v4[4] = 4;
  expect_error("v4.gguf", v4, "version 4 is not supported");
  std::string be = bytes;
  be[4] = 0, be[7] = 3;
  expect_error("be.gguf", be, "big-endian");
  // The tensor's ggml type field: 4 bytes before its 8-byte offset, at the end of the infos.
  const size_t type_at = bytes.find(std::string("\x01\x00\x00\x00\x00\x00\x00\x00w", 9)) + 9 + 4 + 8;
  std::string q4k = bytes;
  q4k[type_at] = 12;
  expect_error("q4k.gguf", q4k, "ggml type 12 (Q4_K)");
  std::string unknown = bytes;
  unknown[type_at] = 99;
  expect_error("t99.gguf", unknown, "ggml type 99");
  std::string misaligned = bytes;
  misaligned[type_at + 4] = 4;
  expect_error("offset.gguf", misaligned, "not a multiple of the alignment");
}

TEST_F(Gguf, ExportEmbedsLikeTheDirectoryInEveryType) {
  const std::string dir = tiny("m", "--prompt query=\"query: \"");
  const std::vector<float> want = embed(dir);
  ASSERT_FALSE(want.empty());
  for (auto [type, tol] : {std::pair<const char*, float>{"f32", 1e-5f}, {"f16", 1e-3f}, {"bf16", 1e-3f}, {"q8_0", 0}}) {
    SCOPED_TRACE(type);
    const std::string out = tmp_.file(std::string("m-") + type + ".gguf");
    auto r = export_gguf(dir, out, type);
    ASSERT_EQ(r.exit_code, 0) << r.out;
    const std::vector<float> got = embed(out);
    if (std::string(type) == "q8_0") EXPECT_GE(min_cosine(got, want, 128), 0.99f);
    else EXPECT_LE(max_abs_diff(got, want), tol);
    GgufFile g;
    ASSERT_TRUE(g.open(out).ok());
    const GgmlType matrix = g.find_tensor("blk.0.ffn_up.weight")->type;
    EXPECT_STREQ(ggml_type_name(matrix), std::string(type) == "q8_0" ? "Q8_0" : std::string(type) == "f32" ? "F32"
                                                                              : std::string(type) == "f16" ? "F16" : "BF16");
    EXPECT_EQ(g.find_tensor("blk.0.ffn_up.bias")->type, GgmlType::F32);
    EXPECT_EQ(g.find_tensor("position_embd.weight")->type, GgmlType::F32);
    EXPECT_EQ(g.find_tensor("token_types.weight")->type, GgmlType::F32);
  }
  // The prompts and settings come back: the GGUF model knows the "query" prompt.
  std::unique_ptr<SentenceEncoder> enc;
  ASSERT_TRUE(SentenceEncoder::load(tmp_.file("m-f32.gguf"), &enc).ok());
  EXPECT_EQ(enc->files().prompts.at("query"), "query: ");
  EXPECT_TRUE(enc->normalizes());
  // The command-line contract: embed --model FILE.gguf.
  test::write_text(tmp_.file("texts.txt"), "the cat sat\nhello world\n");
  auto r = run_command(bin() + " embed --model " + sh_quote(tmp_.file("m-f16.gguf")) + " --input " +
                       sh_quote(tmp_.file("texts.txt")) + " --output " + sh_quote(tmp_.file("e.jsonl")) + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const std::vector<float> direct = embed(dir, {"the cat sat", "hello world"});
  std::vector<float> cli;
  for (const std::string& line : {test::read_text(tmp_.file("e.jsonl"))}) {
    for (size_t pos = 0; pos < line.size();) {
      size_t nl = line.find('\n', pos);
      for (float v : nlohmann::json::parse(line.substr(pos, nl - pos)).get<std::vector<float>>()) cli.push_back(v);
      pos = nl + 1;
    }
  }
  EXPECT_LE(max_abs_diff(cli, direct), 1e-3f);
}

TEST_F(Gguf, IndependentReaderSeesLlamaCppKeysAndShapes) {
  auto probe = run_command(test::node_command() + " -e \"require('@huggingface/gguf')\"");
  if (probe.exit_code != 0) {
    const char* ci = std::getenv("CI");
    if (ci && std::string(ci) == "true") FAIL() << "npm @huggingface/gguf is missing under CI=true (scripts/setup.sh)";
    GTEST_SKIP() << "npm @huggingface/gguf not installed (scripts/setup.sh installs it)";
  }
  const std::string dir = tiny("p");
  const std::string out = tmp_.file("p.gguf");
  ASSERT_EQ(export_gguf(dir, out, "q8_0").exit_code, 0);
  auto r = run_command(test::node_command() + " " + sh_quote(test::source_dir() + "/tests/peer/gguf_peer.js") + " " +
                       sh_quote(out));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const nlohmann::json j = test::last_json_line(r.out);
  EXPECT_EQ(j["version"], 3);
  EXPECT_EQ(j["tensor_data_offset"].get<int64_t>() % 32, 0);
  const auto& k = j["keys"];
  auto expect_key = [&](const char* key, const char* type, const nlohmann::json& value) {
    ASSERT_TRUE(k.contains(key)) << key;
    EXPECT_EQ(k[key]["type"], type) << key;
    if (!value.is_null()) {
      EXPECT_EQ(k[key]["value"], value) << key;
    }
  };
  expect_key("general.architecture", "STRING", "bert");
  expect_key("bert.context_length", "UINT32", 512);
  expect_key("bert.embedding_length", "UINT32", 128);
  expect_key("bert.feed_forward_length", "UINT32", 512);
  expect_key("bert.block_count", "UINT32", 2);
  expect_key("bert.attention.head_count", "UINT32", 2);
  expect_key("bert.attention.layer_norm_epsilon", "FLOAT32", nullptr);
  expect_key("bert.attention.causal", "BOOL", false);
  expect_key("bert.pooling_type", "UINT32", 1);  // mean
  expect_key("general.file_type", "UINT32", 7);  // MOSTLY_Q8_0
  expect_key("tokenizer.ggml.model", "STRING", "bert");
  expect_key("tokenizer.ggml.tokens", "ARRAY", nullptr);
  expect_key("tokenizer.ggml.token_type", "ARRAY", nullptr);
  expect_key("tokenizer.ggml.token_type_count", "UINT32", 2);
  expect_key("tokenizer.ggml.bos_token_id", "UINT32", 2);  // [CLS] in the tiny vocabulary
  expect_key("tokenizer.ggml.seperator_token_id", "UINT32", 3);
  expect_key("tokenizer.ggml.unknown_token_id", "UINT32", 1);
  expect_key("tokenizer.ggml.padding_token_id", "UINT32", 0);
  expect_key("tokenizer.ggml.mask_token_id", "UINT32", 4);
  // The phantom-space vocabulary: specials as they are, words with U+2581, continuations bare.
  EXPECT_EQ(k["tokenizer.ggml.tokens"]["value"]["first"],
            nlohmann::json({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}));
  EXPECT_EQ(k["tokenizer.ggml.token_type"]["value"]["first"], nlohmann::json({3, 3, 3, 3, 3}));
  GgufFile g;
  ASSERT_TRUE(g.open(out).ok());
  const auto& toks = g.find_kv("tokenizer.ggml.tokens")->array;
  EXPECT_EQ(toks[5].str, "\xe2\x96\x81the");
  EXPECT_EQ(toks[15].str, "a");  // "##a"
  const int64_t V = static_cast<int64_t>(toks.size());
  const auto& t = j["tensors"];
  auto expect_tensor = [&](const std::string& name, std::vector<int64_t> shape, int dtype) {
    ASSERT_TRUE(t.contains(name)) << name;
    EXPECT_EQ(t[name]["shape"].get<std::vector<int64_t>>(), shape) << name;
    EXPECT_EQ(t[name]["dtype"], dtype) << name;
  };
  expect_tensor("token_embd.weight", {128, V}, 8);
  expect_tensor("position_embd.weight", {128, 512}, 0);
  expect_tensor("token_types.weight", {128, 2}, 0);
  expect_tensor("token_embd_norm.weight", {128}, 0);
  expect_tensor("token_embd_norm.bias", {128}, 0);
  for (int l = 0; l < 2; l++) {
    const std::string b = "blk." + std::to_string(l) + ".";
    for (const char* m : {"attn_q", "attn_k", "attn_v", "attn_output"}) {
      expect_tensor(b + m + ".weight", {128, 128}, 8);
      expect_tensor(b + m + ".bias", {128}, 0);
    }
    expect_tensor(b + "ffn_up.weight", {128, 512}, 8);
    expect_tensor(b + "ffn_up.bias", {512}, 0);
    expect_tensor(b + "ffn_down.weight", {512, 128}, 8);
    expect_tensor(b + "ffn_down.bias", {128}, 0);
    for (const char* n : {"attn_output_norm", "layer_output_norm"}) {
      expect_tensor(b + n + ".weight", {128}, 0);
      expect_tensor(b + n + ".bias", {128}, 0);
    }
  }
  EXPECT_EQ(t.size(), 5u + 2 * 16);
}

TEST_F(Gguf, RefusesWhatLlamaCppCannotCompute) {
  auto expect_refused = [&](const std::string& dir, const std::string& needle) {
    const std::string out = tmp_.file("refused.gguf");
    auto r = export_gguf(dir, out, "f32");
    EXPECT_NE(r.exit_code, 0) << r.out;
    EXPECT_NE(r.out.find(needle), std::string::npos) << r.out;
    EXPECT_FALSE(fs::exists(out));
  };
  expect_refused(tiny("max", "--pooling max"), "max pooling");

  // A Dense module after pooling (128 -> 32).
  const std::string dense = tiny("dense");
  fs::create_directories(dense + "/3_Dense");
  test::write_text(dense + "/3_Dense/config.json",
                   R"({"in_features": 128, "out_features": 32, "bias": true, "activation_function": "torch.nn.modules.linear.Identity"})");
  std::vector<float> w(32 * 128, 0.01f), b(32, 0.0f);
  ASSERT_TRUE(safetensors_write(dense + "/3_Dense/model.safetensors",
                                {{"linear.weight", {32, 128}, w.data()}, {"linear.bias", {32}, b.data()}}).ok());
  test::write_text(dense + "/modules.json", R"([
    {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
    {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    {"idx": 2, "name": "2", "path": "3_Dense", "type": "sentence_transformers.models.Dense"}])");
  ASSERT_EQ(embed(dense).size(), kTexts.size() * 32);
  expect_refused(dense, "Dense module");

  // A cased vocabulary: llama.cpp's WPM lowercases every input.
  const std::string cased = tiny("cased");
  test::write_text(cased + "/tokenizer_config.json", R"({"do_lower_case": false})");
  expect_refused(cased, "cased");

  // A tokenizer other than WordPiece (tokenizer.json wins over vocab.txt).
  const std::string word_level = tiny("wl");
  test::write_text(word_level + "/tokenizer.json", R"({"version": "1.0", "truncation": null, "padding": null,
    "added_tokens": [], "normalizer": null, "pre_tokenizer": {"type": "Whitespace"}, "post_processor": null,
    "decoder": null, "model": {"type": "WordLevel", "vocab": {"[UNK]": 0, "the": 1, "cat": 2}, "unk_token": "[UNK]"}})");
  expect_refused(word_level, "\"WordLevel\", not WordPiece");
}

TEST_F(Gguf, BrokenModelFilesAreErrorsNamingFileAndTensor) {
  const std::string dir = tiny("b");
  const std::string out = tmp_.file("b.gguf");
  ASSERT_EQ(export_gguf(dir, out, "f16").exit_code, 0);
  GgufFile g;
  ASSERT_TRUE(g.open(out).ok());
  std::vector<std::vector<float>> values(g.tensors().size());
  std::vector<GgufTensorToWrite> tensors;
  for (size_t i = 0; i < g.tensors().size(); i++) {
    const GgufTensor& t = g.tensors()[i];
    ASSERT_TRUE(g.tensor_f32(t, &values[i]).ok());
    if (t.name != "blk.1.ffn_down.weight") tensors.push_back({t.name, t.ne, t.type, values[i].data()});
  }
  const std::string missing = tmp_.file("missing.gguf");
  ASSERT_TRUE(gguf_write(missing, g.kvs(), tensors).ok());
  std::unique_ptr<SentenceEncoder> enc;
  Status s = SentenceEncoder::load(missing, &enc);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(missing), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("missing tensor \"blk.1.ffn_down.weight\""), std::string::npos) << s.message();

  std::vector<GgufKV> kv = g.kvs();
  kv[0].value = GgufValue::string("nomic-bert");
  const std::string arch = tmp_.file("arch.gguf");
  ASSERT_TRUE(gguf_write(arch, kv, {}).ok());
  s = SentenceEncoder::load(arch, &enc);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("architecture \"nomic-bert\" is not supported"), std::string::npos) << s.message();

  // The CLI names the file of a truncated model.
  const std::string cut = tmp_.file("cut.gguf");
  test::write_text(cut, test::read_text(out).substr(0, 5000));
  test::write_text(tmp_.file("t.txt"), "hello\n");
  auto r = run_command(bin() + " embed --model " + sh_quote(cut) + " --input " + sh_quote(tmp_.file("t.txt")) +
                       " --output " + sh_quote(tmp_.file("t.npy")));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find(cut + ": truncated"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(tmp_.file("t.npy")));
}

// A file as llama.cpp's converter writes it: no tokenizer.huggingface.json, no embtune.* keys.
// The WordPiece vocabulary is rebuilt from the phantom-space tokens.
std::string strip_to_llama_cpp_keys(const std::string& from, const std::string& to) {
  GgufFile g;
  EXPECT_TRUE(g.open(from).ok());
  std::vector<GgufKV> kv;
  for (const GgufKV& e : g.kvs())
    if (e.key.rfind("embtune.", 0) != 0 && e.key != "tokenizer.huggingface.json") kv.push_back(e);
  std::vector<std::vector<float>> values(g.tensors().size());
  std::vector<GgufTensorToWrite> tensors;
  for (size_t i = 0; i < g.tensors().size(); i++) {
    EXPECT_TRUE(g.tensor_f32(g.tensors()[i], &values[i]).ok());
    tensors.push_back({g.tensors()[i].name, g.tensors()[i].ne, g.tensors()[i].type, values[i].data()});
  }
  EXPECT_TRUE(gguf_write(to, kv, tensors).ok());
  return to;
}

TEST_F(Gguf, ReadsFilesWithoutEmbtuneKeys) {
  const std::string dir = tiny("l");
  // A vocab.txt model whose tokenizer_config.json keeps accents: "café" is [UNK]-ended, not "cafe".
  test::write_text(dir + "/tokenizer_config.json", R"({"do_lower_case": true, "strip_accents": false})");
  ASSERT_EQ(export_gguf(dir, tmp_.file("l.gguf"), "f32").exit_code, 0);
  const std::vector<std::string> accented = {"caf\xc3\xa9 zebra", "the cat"};
  EXPECT_LE(max_abs_diff(embed(tmp_.file("l.gguf"), accented), embed(dir, accented)), 1e-5f);
  const std::string bare = strip_to_llama_cpp_keys(tmp_.file("l.gguf"), tmp_.file("bare.gguf"));
  EXPECT_LE(max_abs_diff(embed(bare), embed(dir)), 1e-5f);
  // Without embtune's keys the tokenizer is the plain uncased BERT one, which strips accents.
  EXPECT_GT(max_abs_diff(embed(bare, accented), embed(dir, accented)), 1e-3f);
}

TEST_F(Gguf, RealTokenizerPhantomVocabularyAndRebuild) {
  if (test::skip_without_shared()) GTEST_SKIP() << "no shared data";
  const std::string tok = test::shared_dir() + "/data/tokenizers/sentence-transformers__all-MiniLM-L6-v2/tokenizer.json";
  if (!fs::exists(tok)) {
    const char* ci = std::getenv("CI");
    if (ci && std::string(ci) == "true") FAIL() << tok << " is missing under CI=true";
    GTEST_SKIP() << tok << " is missing";
  }
  const std::string dir = tmp_.file("mini");
  auto r = run_command(bin() + " init --config tiny --tokenizer " + sh_quote(tok) + " --out " + sh_quote(dir) + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const std::string out = tmp_.file("mini.gguf");
  ASSERT_EQ(export_gguf(dir, out, "f32").exit_code, 0);
  GgufFile g;
  ASSERT_TRUE(g.open(out).ok());
  const auto& toks = g.find_kv("tokenizer.ggml.tokens")->array;
  const auto& types = g.find_kv("tokenizer.ggml.token_type")->array;
  ASSERT_EQ(toks.size(), 30522u);
  // bert-base-uncased ids: [PAD] 0, [UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103, "the" 1996, "##s" 2015.
  EXPECT_EQ(toks[0].str, "[PAD]");
  EXPECT_EQ(types[0].as_int(), 3);
  EXPECT_EQ(toks[101].str, "[CLS]");
  EXPECT_EQ(toks[1996].str, "\xe2\x96\x81the");
  EXPECT_EQ(toks[2015].str, "s");
  EXPECT_EQ(types[2015].as_int(), 1);
  EXPECT_EQ(toks[1].str, "\xe2\x96\x81[unused0]");  // not an added token, so not CONTROL (as the converter does)
  EXPECT_EQ(g.find_kv("tokenizer.ggml.bos_token_id")->as_int(), 101);
  EXPECT_EQ(g.find_kv("tokenizer.ggml.seperator_token_id")->as_int(), 102);
  EXPECT_EQ(g.find_kv("tokenizer.ggml.unknown_token_id")->as_int(), 100);
  ASSERT_NE(g.find_kv("tokenizer.huggingface.json"), nullptr);
  const std::vector<float> want = embed(dir);
  EXPECT_LE(max_abs_diff(embed(out), want), 1e-5f);
  // Rebuilt from the phantom-space vocabulary alone, English text tokenizes the same.
  EXPECT_LE(max_abs_diff(embed(strip_to_llama_cpp_keys(out, tmp_.file("bare.gguf"))), want), 1e-5f);
}

TEST_F(Gguf, TrainFromGgufAndExportBack) {
  const std::string dir = tiny("t");
  const std::string base = tmp_.file("t.gguf");
  ASSERT_EQ(export_gguf(dir, base, "f16").exit_code, 0);
  std::string jsonl;
  for (int i = 0; i < 4; i++)
    jsonl += R"({"anchor": "the cat", "positive": "a cat sat"})" "\n" R"({"anchor": "hello", "positive": "hello world"})" "\n";
  test::write_text(tmp_.file("train.jsonl"), jsonl);
  const std::string tuned = tmp_.file("tuned");
  auto r = run_command(bin() + " train --model " + sh_quote(base) + " --train " + sh_quote(tmp_.file("train.jsonl")) +
                       " --out " + sh_quote(tuned) + " --batch-size 2 --max-steps 2 --lr 1e-3 --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const std::string back = tmp_.file("tuned.gguf");
  ASSERT_EQ(export_gguf(tuned, back, "f32").exit_code, 0);
  const std::vector<float> t = embed(tuned);
  EXPECT_LE(max_abs_diff(embed(back), t), 1e-5f);
  EXPECT_GT(max_abs_diff(t, embed(base)), 1e-4f);  // training changed the weights
}

}  // namespace
}  // namespace embtune
