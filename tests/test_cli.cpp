// The embtune binary end to end: init -> embed -> info, parity of `embed` with the references
// (HF tokenizers ids fed to torch_bert.py), and every kind of bad input failing cleanly.
// Not a unit test of the pieces (test_ops, test_bert_parity, test_tokenizer_*, test_safetensors).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>

#include "io/npy.h"
#include "test_util.h"

namespace embtune {
namespace {

namespace fs = std::filesystem;
using test::run_command;
using test::sh_quote;

std::string bin() { return sh_quote(test::embtune_bin()); }
std::string minilm_dir() { return test::shared_dir() + "/data/tokenizers/sentence-transformers__all-MiniLM-L6-v2"; }

bool skip_without_reference() { return test::skip_without_torch() || test::skip_without_peer(); }

// A tiny random model made by `embtune init` with the all-MiniLM-L6-v2 tokenizer.
std::string init_tiny(const test::TempDir& tmp, const std::string& extra = "") {
  const std::string dir = tmp.file("tiny");
  auto r = run_command(bin() + " init --config tiny --tokenizer " + sh_quote(minilm_dir() + "/tokenizer.json") +
                       " --out " + sh_quote(dir) + " --seed 3 " + extra);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  return dir;
}

std::vector<std::vector<float>> read_jsonl_rows(const std::string& path) {
  std::vector<std::vector<float>> rows;
  std::string text = test::read_text(path);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    rows.push_back(nlohmann::json::parse(text.substr(pos, nl - pos)).get<std::vector<float>>());
    pos = nl + 1;
  }
  return rows;
}

float max_diff(const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& b) {
  EXPECT_EQ(a.size(), b.size());
  float m = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); i++) {
    EXPECT_EQ(a[i].size(), b[i].size());
    for (size_t c = 0; c < a[i].size() && c < b[i].size(); c++) m = std::max(m, std::fabs(a[i][c] - b[i][c]));
  }
  return m;
}

const char* kTexts =
    "A man is eating food.\n"
    "Hello, world! [MASK] café naïve 北京\n"
    "The quick brown fox jumps over the lazy dog 42 times, twice on Tuesdays.\n"
    "x\n"
    "Embeddings map text to vectors; similar meanings land close together in the vector space.\n";

// Ids that HF tokenizers gives for (prompt + text), truncated like sentence-transformers does.
std::string peer_ids(const test::TempDir& tmp, const std::string& texts, int max_length) {
  test::write_text(tmp.file("peer_in.txt"), texts);
  auto r = run_command(test::node_command() + " " + sh_quote(test::shared_dir() + "/reference/tokenize_peer.js") + " " +
                       sh_quote(minilm_dir() + "/tokenizer.json") + " " + sh_quote(tmp.file("peer_in.txt")) +
                       " --max-length " + std::to_string(max_length));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  nlohmann::json ids = nlohmann::json::array();
  size_t pos = 0;
  while (pos < r.out.size()) {
    size_t nl = r.out.find('\n', pos);
    ids.push_back(nlohmann::json::parse(r.out.substr(pos, nl - pos))["ids"]);
    pos = nl + 1;
  }
  const std::string path = tmp.file("peer_ids.json");
  test::write_text(path, ids.dump());
  return path;
}

TEST(Cli, EmbedOfBareTorchModelDirectoryEqualsReference) {
  if (skip_without_reference()) GTEST_SKIP();
  test::TempDir tmp;
  // The contract: config.json + model.safetensors (as torch_bert.py make-model writes) and a
  // tokenizer.json: mean pooling, no normalisation, max length 512.
  const std::string model = tmp.file("bare");
  auto r = run_command(test::torch_python() + " " + sh_quote(test::torch_reference()) +
                       " make-model " + sh_quote(model) + " --layers 2 --hidden 64 --heads 4 --inter 128 --seed 5");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  fs::copy_file(minilm_dir() + "/tokenizer.json", model + "/tokenizer.json");
  std::string texts = kTexts;
  std::string long_text;
  for (int i = 0; i < 400; i++) long_text += "token" + std::to_string(i) + " ";
  texts += long_text.substr(0, long_text.size() - 1) + "\n";  // > 512 tokens: truncated
  test::write_text(tmp.file("in.txt"), texts);
  r = run_command(bin() + " embed --model " + sh_quote(model) + " --input " + sh_quote(tmp.file("in.txt")) +
                  " --output " + sh_quote(tmp.file("out.jsonl")));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto ours = read_jsonl_rows(tmp.file("out.jsonl"));
  auto ref = test::torch_embed(model, peer_ids(tmp, texts, 512), "mean", false, tmp.file("ref.json"));
  float d = max_diff(ours, ref);
  std::printf("bare directory, mean pooling, not normalized: max abs diff %.3g\n", d);
  EXPECT_LE(d, 1e-5f);

  // .npy output holds the same numbers.
  r = run_command(bin() + " embed --model " + sh_quote(model) + " --input " + sh_quote(tmp.file("in.txt")) +
                  " --output " + sh_quote(tmp.file("out.npy")));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::vector<float> data;
  int64_t rows = 0, cols = 0;
  ASSERT_TRUE(npy_read_f32(tmp.file("out.npy"), &data, &rows, &cols).ok());
  ASSERT_EQ(rows, static_cast<int64_t>(ours.size()));
  ASSERT_EQ(cols, 64);
  for (int64_t i = 0; i < rows; i++)
    for (int64_t c = 0; c < cols; c++) ASSERT_EQ(data[i * cols + c], ours[i][c]);
  // numpy agrees on the file format.
  r = run_command(test::torch_python() + " -c 'import numpy,sys; a=numpy.load(sys.argv[1]); print(a.shape, a.dtype)' " +
                  sh_quote(tmp.file("out.npy")));
  EXPECT_NE(r.out.find("(6, 64) float32"), std::string::npos) << r.out;
}

TEST(Cli, InitModelClsNormalizedWithPromptEqualsReference) {
  if (skip_without_reference()) GTEST_SKIP();
  test::TempDir tmp;
  const std::string model = init_tiny(tmp, "--pooling cls --prompt 'query=query: ' --max-seq-length 128");
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.json", "vocab.txt", "modules.json",
                        "1_Pooling/config.json", "sentence_bert_config.json", "config_sentence_transformers.json"})
    EXPECT_TRUE(fs::exists(model + "/" + f)) << f;
  test::write_text(tmp.file("in.txt"), kTexts);
  auto r = run_command(bin() + " embed --model " + sh_quote(model) + " --input " + sh_quote(tmp.file("in.txt")) +
                       " --prompt query --output " + sh_quote(tmp.file("out.jsonl")));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto ours = read_jsonl_rows(tmp.file("out.jsonl"));
  std::string prompted;
  for (const char* p = kTexts; *p;) {
    const char* nl = std::strchr(p, '\n');
    prompted += "query: " + std::string(p, nl) + "\n";
    p = nl + 1;
  }
  auto ref = test::torch_embed(model, peer_ids(tmp, prompted, 128), "cls", true, tmp.file("ref.json"));
  float d = max_diff(ours, ref);
  std::printf("init model, cls pooling, normalized, prompt: max abs diff %.3g\n", d);
  EXPECT_LE(d, 1e-5f);
  for (auto& row : ours) {
    double n = 0;
    for (float v : row) n += v * v;
    EXPECT_NEAR(n, 1.0, 1e-5);
  }
}

TEST(Cli, DenseModuleAppliesLinearAndActivation) {
  if (skip_without_reference()) GTEST_SKIP();
  test::TempDir tmp;
  const std::string model = init_tiny(tmp, "--no-normalize");
  test::write_text(tmp.file("in.txt"), kTexts);
  auto r = run_command(bin() + " embed --model " + sh_quote(model) + " --input " + sh_quote(tmp.file("in.txt")) +
                       " --output " + sh_quote(tmp.file("pooled.npy")));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  // Add a Dense(128 -> 16, tanh) module and a Normalize, with weights written by numpy.
  const std::string script = R"PY(
import json, os, struct, sys, numpy as np
m = sys.argv[1]; rng = np.random.default_rng(0)
w = (rng.standard_normal((16, 128)) * 0.1).astype(np.float32); b = (rng.standard_normal(16) * 0.1).astype(np.float32)
os.makedirs(m + "/2_Dense", exist_ok=True)
json.dump({"in_features": 128, "out_features": 16, "bias": True, "activation_function": "torch.nn.modules.activation.Tanh"}, open(m + "/2_Dense/config.json", "w"))
hdr = {"linear.bias": {"dtype": "F32", "shape": [16], "data_offsets": [0, 64]}, "linear.weight": {"dtype": "F32", "shape": [16, 128], "data_offsets": [64, 64 + w.nbytes]}}
h = json.dumps(hdr).encode(); h += b" " * ((8 - len(h) % 8) % 8)
open(m + "/2_Dense/model.safetensors", "wb").write(struct.pack("<Q", len(h)) + h + b.tobytes() + w.tobytes())
mods = json.load(open(m + "/modules.json"))
mods.append({"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"})
mods.append({"idx": 3, "name": "3", "path": "3_Normalize", "type": "sentence_transformers.models.Normalize"})
json.dump(mods, open(m + "/modules.json", "w"))
x = np.load(sys.argv[2]); y = np.tanh(x @ w.T + b); y /= np.linalg.norm(y, axis=1, keepdims=True)
np.save(sys.argv[3], y.astype(np.float32))
)PY";
  test::write_text(tmp.file("dense.py"), script);
  r = run_command(test::torch_python() + " " + sh_quote(tmp.file("dense.py")) + " " + sh_quote(model) + " " +
                  sh_quote(tmp.file("pooled.npy")) + " " + sh_quote(tmp.file("expected.npy")));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = run_command(bin() + " embed --model " + sh_quote(model) + " --input " + sh_quote(tmp.file("in.txt")) +
                  " --output " + sh_quote(tmp.file("dense.npy")));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::vector<float> got, want;
  int64_t r1, c1, r2, c2;
  ASSERT_TRUE(npy_read_f32(tmp.file("dense.npy"), &got, &r1, &c1).ok());
  ASSERT_TRUE(npy_read_f32(tmp.file("expected.npy"), &want, &r2, &c2).ok());
  ASSERT_EQ(r1, r2);
  ASSERT_EQ(c1, 16);
  ASSERT_EQ(c2, 16);
  for (size_t i = 0; i < got.size(); i++) EXPECT_NEAR(got[i], want[i], 1e-5f) << i;
  r = run_command(bin() + " info --model " + sh_quote(model));
  EXPECT_NE(r.out.find("Dense(128->16, Tanh)"), std::string::npos) << r.out;
}

TEST(Cli, InfoDescribesModel) {
  if (test::skip_without_shared()) GTEST_SKIP();
  test::TempDir tmp;
  const std::string model = init_tiny(tmp, "--prompt 'query=query: ' --dtype bf16");
  auto r = run_command(bin() + " info --model " + sh_quote(model) + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["layers"], 2);
  EXPECT_EQ(j["hidden_size"], 128);
  EXPECT_EQ(j["vocab_size"], 30522);
  EXPECT_EQ(j["embedding_dimension"], 128);
  EXPECT_EQ(j["normalized"], true);
  EXPECT_EQ(j["prompts"]["query"], "query: ");
  EXPECT_TRUE(j["weight_dtypes"].contains("BF16"));
}

// ---- bad input: non-zero exit, a message naming the file, no output file ----

struct BadCase {
  std::string name;
  std::string expect_in_message;
};

void expect_clean_failure(const std::string& cmd, const std::string& output, const std::vector<std::string>& needles) {
  auto r = run_command(cmd);
  EXPECT_NE(r.exit_code, 0) << cmd << "\n" << r.out;
  EXPECT_NE(r.exit_code, 134) << "aborted instead of reporting an error: " << r.out;
  for (auto& n : needles) EXPECT_NE(r.out.find(n), std::string::npos) << "message lacks \"" << n << "\": " << r.out;
  EXPECT_FALSE(fs::exists(output)) << "partial output left: " << output;
  for (auto& e : fs::directory_iterator(fs::path(output).parent_path()))
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << "temporary left: " << e.path();
}

// Rewrites model.safetensors with its header JSON passed through `edit` (data kept).
void edit_safetensors_header(const std::string& path, const std::function<void(nlohmann::json&)>& edit) {
  std::string bytes = test::read_text(path);
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  auto j = nlohmann::json::parse(bytes.substr(8, n));
  edit(j);
  std::string h = j.dump();
  h.append((8 - h.size() % 8) % 8, ' ');
  uint64_t hn = h.size();
  std::string out(reinterpret_cast<const char*>(&hn), 8);
  test::write_text(path, out + h + bytes.substr(8 + n));
}

class CliBadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    if (test::skip_without_shared()) GTEST_SKIP();
    model_ = init_tiny(tmp_);
    test::write_text(tmp_.file("in.txt"), kTexts);
  }
  std::string embed_cmd(const std::string& input = "") {
    return bin() + " embed --model " + sh_quote(model_) + " --input " + sh_quote(input.empty() ? tmp_.file("in.txt") : input) +
           " --output " + sh_quote(out());
  }
  std::string out() { return tmp_.file("out.npy"); }
  std::string st() { return model_ + "/model.safetensors"; }
  test::TempDir tmp_;
  std::string model_;
};

TEST_F(CliBadInput, MissingConfigKey) {
  auto j = nlohmann::json::parse(test::read_text(model_ + "/config.json"));
  j.erase("hidden_size");
  test::write_text(model_ + "/config.json", j.dump());
  expect_clean_failure(embed_cmd(), out(), {"config.json", "hidden_size"});
}

TEST_F(CliBadInput, ConfigNotJson) {
  test::write_text(model_ + "/config.json", "{\"hidden_size\": 12,");
  expect_clean_failure(embed_cmd(), out(), {"config.json", "invalid JSON"});
}

TEST_F(CliBadInput, TruncatedSafetensors) {
  std::string b = test::read_text(st());
  test::write_text(st(), b.substr(0, b.size() / 2));
  expect_clean_failure(embed_cmd(), out(), {"model.safetensors"});
}

TEST_F(CliBadInput, HeaderLengthPastEnd) {
  std::string b = test::read_text(st());
  uint64_t huge = b.size() + 100;
  std::memcpy(b.data(), &huge, 8);
  test::write_text(st(), b);
  expect_clean_failure(embed_cmd(), out(), {"model.safetensors"});
}

TEST_F(CliBadInput, OffsetsOutOfRange) {
  edit_safetensors_header(st(), [](nlohmann::json& j) {
    auto& t = j["encoder.layer.1.output.LayerNorm.weight"];
    t["data_offsets"][1] = t["data_offsets"][1].get<uint64_t>() + 1000000000ull;
  });
  expect_clean_failure(embed_cmd(), out(), {"model.safetensors", "encoder.layer.1.output.LayerNorm.weight"});
}

TEST_F(CliBadInput, OverlappingTensors) {
  edit_safetensors_header(st(), [](nlohmann::json& j) {
    j["embeddings.LayerNorm.bias"]["data_offsets"] = j["embeddings.LayerNorm.weight"]["data_offsets"];
  });
  expect_clean_failure(embed_cmd(), out(), {"model.safetensors"});
}

TEST_F(CliBadInput, WrongDtypeForNamedWeight) {
  // Same byte length, integer dtype: F32 (128) -> I32 (128).
  edit_safetensors_header(st(), [](nlohmann::json& j) { j["embeddings.LayerNorm.weight"]["dtype"] = "I32"; });
  expect_clean_failure(embed_cmd(), out(), {"model.safetensors", "embeddings.LayerNorm.weight", "I32"});
}

TEST_F(CliBadInput, WrongShapeForNamedWeight) {
  // Same element count, other shape: (128, 128) -> (64, 256).
  edit_safetensors_header(st(), [](nlohmann::json& j) { j["encoder.layer.0.attention.self.query.weight"]["shape"] = {64, 256}; });
  expect_clean_failure(embed_cmd(), out(), {"model.safetensors", "encoder.layer.0.attention.self.query.weight", "shape"});
}

TEST_F(CliBadInput, MissingWeight) {
  edit_safetensors_header(st(), [](nlohmann::json& j) {
    // Rename keeps the file valid but the encoder lacks a tensor.
    j["unused.weight"] = j["encoder.layer.1.intermediate.dense.bias"];
    j.erase("encoder.layer.1.intermediate.dense.bias");
  });
  expect_clean_failure(embed_cmd(), out(), {"encoder.layer.1.intermediate.dense.bias"});
}

TEST_F(CliBadInput, MissingTokenizer) {
  fs::remove(model_ + "/tokenizer.json");
  fs::remove(model_ + "/vocab.txt");
  expect_clean_failure(embed_cmd(), out(), {"tokenizer"});
}

TEST_F(CliBadInput, CorruptTokenizer) {
  test::write_text(model_ + "/tokenizer.json", "{\"model\": ");
  expect_clean_failure(embed_cmd(), out(), {"tokenizer.json"});
}

TEST_F(CliBadInput, UnknownModule) {
  auto j = nlohmann::json::parse(test::read_text(model_ + "/modules.json"));
  j.push_back({{"idx", 3}, {"name", "3"}, {"path", "3_CNN"}, {"type", "sentence_transformers.models.CNN"}});
  test::write_text(model_ + "/modules.json", j.dump());
  expect_clean_failure(embed_cmd(), out(), {"modules.json", "sentence_transformers.models.CNN"});
}

TEST_F(CliBadInput, InvalidUtf8Input) {
  test::write_text(tmp_.file("bad.txt"), "fine line\nbad \xff\xfe line\n");
  expect_clean_failure(embed_cmd(tmp_.file("bad.txt")), out(), {"bad.txt", "line 2", "UTF-8"});
}

TEST_F(CliBadInput, EmptyInputFile) {
  test::write_text(tmp_.file("empty.txt"), "");
  expect_clean_failure(embed_cmd(tmp_.file("empty.txt")), out(), {"empty.txt", "empty"});
}

TEST_F(CliBadInput, EmptyLine) {
  test::write_text(tmp_.file("gap.txt"), "one\n\nthree\n");
  expect_clean_failure(embed_cmd(tmp_.file("gap.txt")), out(), {"gap.txt", "line 2"});
}

TEST_F(CliBadInput, JsonlMissingField) {
  test::write_text(tmp_.file("in.jsonl"), "{\"text\": \"a\"}\n{\"body\": \"b\"}\n");
  expect_clean_failure(embed_cmd(tmp_.file("in.jsonl")), out(), {"in.jsonl", "line 2", "text"});
}

TEST_F(CliBadInput, UnknownPrompt) {
  expect_clean_failure(embed_cmd() + " --prompt nonesuch", out(), {"nonesuch"});
}

TEST_F(CliBadInput, BadOutputExtension) {
  expect_clean_failure(bin() + " embed --model " + sh_quote(model_) + " --input " + sh_quote(tmp_.file("in.txt")) +
                           " --output " + sh_quote(tmp_.file("out.csv")),
                       tmp_.file("out.csv"), {".npy"});
}

TEST(CliInit, RefusesNonEmptyDirectoryAndBadConfig) {
  if (test::skip_without_shared()) GTEST_SKIP();
  test::TempDir tmp;
  fs::create_directories(tmp.file("taken"));
  test::write_text(tmp.file("taken/x"), "x");
  auto r = run_command(bin() + " init --config tiny --tokenizer " + sh_quote(minilm_dir()) + " --out " + sh_quote(tmp.file("taken")));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("not empty"), std::string::npos) << r.out;
  r = run_command(bin() + " init --config nonesuch --tokenizer " + sh_quote(minilm_dir()) + " --out " + sh_quote(tmp.file("m")));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("nonesuch"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(tmp.file("m")));
}

}  // namespace
}  // namespace embtune
