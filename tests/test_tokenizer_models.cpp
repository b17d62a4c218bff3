// Tests of the BPE, Unigram and WordLevel models and the RobertaProcessing, ByteLevel and Sequence
// post-processors: exact tokens and offsets on hand-made vocabularies, and corpus parity with HF
// tokenizers (tokenize_peer.js) on real vocabularies. Not a test of normalizers or pre-tokenizers:
// every file here has no normalizer and the BertPreTokenizer.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "test_util.h"
#include "tokenizer_peer.h"
#include "tokenizer/model.h"
#include "tokenizer/post_processor.h"
#include "tokenizer/tokenizer.h"

namespace embtune {
namespace {

namespace fs = std::filesystem;
using Offsets = std::vector<std::pair<uint32_t, uint32_t>>;

std::string extra_json(const std::string& name) {
  return test::shared_dir() + "/data/tokenizers-extra/" + name + "/tokenizer.json";
}

std::vector<std::string> read_corpus() { return test::read_tokenizer_corpus(); }

// A tokenizer.json isolating the model and post-processor stages.
nlohmann::json isolated(const nlohmann::json& model, const nlohmann::json& post_processor) {
  return {{"version", "1.0"},        {"truncation", nullptr},
          {"padding", nullptr},      {"added_tokens", nlohmann::json::array()},
          {"normalizer", nullptr},   {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
          {"model", model},          {"post_processor", post_processor},
          {"decoder", nullptr}};
}

std::string write_json(const nlohmann::json& j, const test::TempDir& dir, const std::string& name) {
  const std::string path = dir.file(name);
  test::write_text(path, j.dump());
  return path;
}

Status load(const nlohmann::json& j, const test::TempDir& dir, std::unique_ptr<Tokenizer>* tok) {
  return Tokenizer::load(write_json(j, dir, "tokenizer.json"), tok);
}

void expect_tokens(const nlohmann::json& model, const std::string& text,
                   const std::vector<int32_t>& ids, const Offsets& offsets) {
  test::TempDir dir;
  std::unique_ptr<Tokenizer> tok;
  Status st = load(isolated(model, nullptr), dir, &tok);
  ASSERT_TRUE(st.ok()) << st.message();
  Encoding enc;
  ASSERT_TRUE(tok->encode(text, EncodeOptions(), &enc).ok());
  EXPECT_EQ(enc.ids, ids) << text;
  EXPECT_EQ(enc.offsets, offsets) << text;
}

std::string load_error(const nlohmann::json& model) {
  test::TempDir dir;
  std::unique_ptr<Tokenizer> tok;
  Status st = load(isolated(model, nullptr), dir, &tok);
  EXPECT_FALSE(st.ok());
  return st.message();
}

// Compares `ours` (one encoding per corpus line, from `tok`) with the peer on `json`.
void expect_parity(const Tokenizer& tok, const std::vector<Encoding>& ours, const std::string& json,
                   const std::string& label) {
  test::expect_peer_parity(tok, read_corpus(), ours, test::run_tokenizer_peer(json), label);
}

// The model of a real tokenizer.json, with no normalizer, the BertPreTokenizer and no
// post-processor, encoded by us and by the peer.
void expect_model_parity(const std::string& name, const nlohmann::json& post_processor = nullptr) {
  const std::string src = extra_json(name);
  if (!fs::exists(src)) GTEST_SKIP() << "no " << src;
  nlohmann::json model = nlohmann::json::parse(test::read_text(src)).at("model");
  test::TempDir dir;
  std::unique_ptr<Tokenizer> tok;
  Status st = load(isolated(model, nullptr), dir, &tok);
  ASSERT_TRUE(st.ok()) << st.message();
  std::vector<Encoding> ours;
  EncodeOptions opt;
  ASSERT_TRUE(tok->encode_batch(read_corpus(), opt, &ours).ok());
  expect_parity(*tok, ours, write_json(isolated(model, nullptr), dir, "peer.json"), name);
}

nlohmann::json small_bpe() {
  return nlohmann::json::parse(R"({"type": "BPE", "dropout": null, "unk_token": "<unk>",
    "continuing_subword_prefix": null, "end_of_word_suffix": null, "fuse_unk": true,
    "byte_fallback": true, "ignore_merges": false,
    "vocab": {"<unk>": 0, "a": 1, "b": 2, "c": 3, "ab": 4, "bc": 5, "abc": 6, "<0xC3>": 7,
              "<0xA9>": 8, "bab": 9},
    "merges": ["a b", ["b", "c"], "ab c"]})");
}

TEST(TokenizerModels, BpeMergesByRankWithByteFallbackAndFusedUnk) {
  // "abc": a b (rank 0) then ab c (rank 2); "é" is not in the vocab: its two UTF-8 bytes, each
  // with the character's range; "x" has no byte tokens: one fused unknown for "xx".
  expect_tokens(small_bpe(), "abc abé xxa", {6, 4, 7, 8, 0, 1},
                {{0, 3}, {4, 6}, {6, 7}, {6, 7}, {8, 10}, {10, 11}});
  nlohmann::json unfused = small_bpe();
  unfused["fuse_unk"] = false;
  expect_tokens(unfused, "xxa", {0, 0, 1}, {{0, 1}, {1, 2}, {2, 3}});
}

TEST(TokenizerModels, BpeIgnoreMergesKeepsVocabWords) {
  expect_tokens(small_bpe(), "bab", {2, 4}, {{0, 1}, {1, 3}});
  nlohmann::json ignoring = small_bpe();
  ignoring["ignore_merges"] = true;
  expect_tokens(ignoring, "bab", {9}, {{0, 3}});
}

TEST(TokenizerModels, BpePrefixAndSuffix) {
  nlohmann::json m = nlohmann::json::parse(R"({"type": "BPE", "unk_token": "<unk>",
    "continuing_subword_prefix": "##", "end_of_word_suffix": "</w>",
    "vocab": {"<unk>": 0, "a": 1, "##b": 2, "##c</w>": 3, "ab": 4, "abc</w>": 5, "c</w>": 6},
    "merges": [["a", "##b"], ["ab", "##c</w>"]]})");
  expect_tokens(m, "abc c", {5, 6}, {{0, 3}, {4, 5}});
}

TEST(TokenizerModels, BpeRejectsBadInput) {
  nlohmann::json m = small_bpe();
  m["merges"] = {"a z"};
  const std::string e = load_error(m);
  EXPECT_NE(e.find("\"a\" \"z\""), std::string::npos) << e;
  m = small_bpe();
  m["dropout"] = 0.1;
  EXPECT_NE(load_error(m).find("dropout"), std::string::npos);
  m["type"] = "Foo";
  EXPECT_NE(load_error(m).find("supported: WordPiece, BPE, Unigram, WordLevel"),
            std::string::npos);
}

TEST(TokenizerModels, UnigramViterbiTiesAndUnknownRuns) {
  nlohmann::json m = nlohmann::json::parse(R"({"type": "Unigram", "unk_id": 0,
    "vocab": [["<unk>", 0.0], ["a", -1.0], ["b", -1.0], ["ab", -2.0], ["c", -3.0]]})");
  // "ab" ties a+b (-2) and keeps the first path found (the single piece); "xx" fuses to one unk.
  expect_tokens(m, "ab xxa axc", {3, 0, 1, 1, 0, 4},
                {{0, 2}, {3, 5}, {5, 6}, {7, 8}, {8, 9}, {9, 10}});
}

TEST(TokenizerModels, WordLevelWholeWordsOrUnk) {
  nlohmann::json m = nlohmann::json::parse(
      R"({"type": "WordLevel", "unk_token": "[UNK]", "vocab": {"[UNK]": 0, "hello": 1}})");
  expect_tokens(m, "hello world", {1, 0}, {{0, 5}, {6, 11}});
}

TEST(TokenizerModelsParity, BpeByteFallbackTinyLlama) {
  if (test::skip_without_peer()) GTEST_SKIP() << "no shared data or peer";
  expect_model_parity("TinyLlama__TinyLlama-1.1B-Chat-v1.0");
}

TEST(TokenizerModelsParity, BpeByteFallbackMistral) {
  if (test::skip_without_peer()) GTEST_SKIP() << "no shared data or peer";
  expect_model_parity("mistralai__Mistral-7B-v0.1");
}

TEST(TokenizerModelsParity, BpeByteLevelVocabRoberta) {
  if (test::skip_without_peer()) GTEST_SKIP() << "no shared data or peer";
  expect_model_parity("FacebookAI__roberta-base");
}

TEST(TokenizerModelsParity, UnigramT5Small) {
  if (test::skip_without_peer()) GTEST_SKIP() << "no shared data or peer";
  expect_model_parity("google-t5__t5-small");
}

TEST(TokenizerModelsParity, UnigramAlbert) {
  if (test::skip_without_peer()) GTEST_SKIP() << "no shared data or peer";
  expect_model_parity("sentence-transformers__paraphrase-albert-small-v2");
}

// A WordLevel model over all-mpnet's vocabulary whose unknown token starts and ends with spaces,
// so that trim_offsets has work; the post-processor runs with the model attached.
void expect_post_processor_parity(const nlohmann::json& post_processor, const std::string& label) {
  const std::string src = extra_json("sentence-transformers__all-mpnet-base-v2");
  if (!fs::exists(src)) GTEST_SKIP() << "no " << src;
  nlohmann::json vocab = nlohmann::json::parse(test::read_text(src)).at("model").at("vocab");
  vocab["Ġ<unk>Ġ"] = vocab.size();
  const nlohmann::json model = {{"type", "WordLevel"}, {"unk_token", "Ġ<unk>Ġ"}, {"vocab", vocab}};
  test::TempDir dir;
  std::unique_ptr<Tokenizer> tok;
  Status st = load(isolated(model, nullptr), dir, &tok);
  ASSERT_TRUE(st.ok()) << st.message();
  std::unique_ptr<Model> attached;
  ASSERT_TRUE(model_from_json(model, &attached).ok());
  std::unique_ptr<PostProcessor> pp;
  st = post_processor_from_json(post_processor, &pp);
  ASSERT_TRUE(st.ok()) << st.message();
  pp->attach_model(*attached);
  EncodeOptions raw;
  raw.add_special_tokens = false;
  std::vector<Encoding> ours;
  ASSERT_TRUE(tok->encode_batch(read_corpus(), raw, &ours).ok());
  for (Encoding& e : ours) pp->process(&e, true);
  expect_parity(*tok, ours, write_json(isolated(model, post_processor), dir, "peer.json"), label);
}

TEST(TokenizerModelsParity, RobertaProcessingTrimsOffsets) {
  if (test::skip_without_peer()) GTEST_SKIP() << "no shared data or peer";
  expect_post_processor_parity(
      {{"type", "RobertaProcessing"}, {"sep", {"</s>", 2}}, {"cls", {"<s>", 0}},
       {"trim_offsets", true}, {"add_prefix_space", true}},
      "RobertaProcessing");
}

TEST(TokenizerModelsParity, ByteLevelTrimsOffsets) {
  if (test::skip_without_peer()) GTEST_SKIP() << "no shared data or peer";
  expect_post_processor_parity(
      {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true},
       {"use_regex", true}},
      "ByteLevel");
}

TEST(TokenizerModelsParity, SequenceOfByteLevelAndRoberta) {
  if (test::skip_without_peer()) GTEST_SKIP() << "no shared data or peer";
  expect_post_processor_parity(
      {{"type", "Sequence"},
       {"processors",
        {{{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false},
          {"use_regex", true}},
         {{"type", "RobertaProcessing"}, {"sep", {"</s>", 2}}, {"cls", {"<s>", 0}},
          {"trim_offsets", true}, {"add_prefix_space", false}}}}},
      "Sequence");
}

}  // namespace
}  // namespace embtune
