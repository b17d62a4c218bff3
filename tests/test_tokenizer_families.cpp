// End-to-end parity of every real tokenizer.json that is not WordPiece (test_tokenizer_parity.cpp
// has those): byte-level BPE (roberta, gpt2, ModernBERT, distilroberta, CLIP, Falcon), Llama-style
// byte-fallback BPE (TinyLlama in both merge serialisations, Mistral, Phi-3), SentencePiece
// Unigram with Precompiled (t5-small, albert) and MPNet — ids and offsets equal to HF tokenizers
// on the corpus, with and without special tokens and truncated. One test per file, so ctest runs
// them in parallel. Not a test of single stages (test_tokenizer_{normalizers,pretokenizers,models}).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer_peer.h"

namespace embtune {
namespace {

namespace fs = std::filesystem;

// The tokenizer.json files under shared/data/tokenizers-extra, relative to it.
const char* const kFiles[] = {
    "FacebookAI__roberta-base/tokenizer.json",
    "TinyLlama__TinyLlama-1.1B-Chat-v1.0/tokenizer.json",
    "TinyLlama__TinyLlama-1.1B-Chat-v1.0/merges-as-pairs/tokenizer.json",
    "answerdotai__ModernBERT-large/tokenizer.json",
    "google-t5__t5-small/tokenizer.json",
    "microsoft__Phi-3-mini-4k-instruct/tokenizer.json",
    "mistralai__Mistral-7B-v0.1/tokenizer.json",
    "openai-community__gpt2/tokenizer.json",
    "openai__clip-vit-base-patch32/tokenizer.json",
    "sentence-transformers__all-distilroberta-v1/tokenizer.json",
    "sentence-transformers__all-mpnet-base-v2/tokenizer.json",
    "sentence-transformers__paraphrase-albert-small-v2/tokenizer.json",
    "tiiuae__falcon-7b/tokenizer.json",
};

class TokenizerFamilyParity : public ::testing::TestWithParam<const char*> {};

TEST_P(TokenizerFamilyParity, IdsAndOffsetsEqualThePeer) {
  if (test::skip_without_peer()) GTEST_SKIP() << "no shared data or peer";
  const std::string json = test::shared_dir() + "/data/tokenizers-extra/" + GetParam();
  ASSERT_TRUE(fs::exists(json)) << json;
  const std::string name = GetParam();
  test::CorpusParityChecks checks;
  checks.add_file(json, name);
  EncodeOptions no_special;
  no_special.add_special_tokens = false;
  checks.add_file(json, name + " --no-special", no_special, "--no-special");
  EncodeOptions cut;
  cut.max_length = 16;
  checks.add_file(json, name + " --max-length 16", cut, "--max-length 16");
  checks.check();
}

std::string param_name(const ::testing::TestParamInfo<const char*>& info) {
  std::string s = info.param;
  s = s.substr(0, s.rfind("/tokenizer.json"));
  std::replace_if(s.begin(), s.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
  return s;
}

INSTANTIATE_TEST_SUITE_P(Files, TokenizerFamilyParity, ::testing::ValuesIn(kFiles), param_name);

// Added tokens with every option (special or not, single_word, lstrip, rstrip, normalized), put
// on a WordPiece (BertNormalizer lowercases: normalized matters) and a byte-level BPE file
// (trim_offsets meets lstrip/rstrip), over the corpus, whose lines hold these strings in every
// position.
TEST(TokenizerAddedTokens, EveryOptionEqualsThePeer) {
  if (test::skip_without_peer()) GTEST_SKIP() << "no shared data or peer";
  const std::string files[] = {
      test::shared_dir() + "/data/tokenizers/sentence-transformers__all-MiniLM-L6-v2/tokenizer.json",
      test::shared_dir() + "/data/tokenizers-extra/FacebookAI__roberta-base/tokenizer.json"};
  struct Option {
    const char* content;
    bool special, single_word, lstrip, rstrip, normalized;
  };
  const Option options[] = {
      {"[MASK]", true, false, true, true, false},   {"[SEP]", true, true, false, false, false},
      {"<s>", true, false, false, true, true},      {"the", false, true, false, false, true},
      {"ing", false, false, false, false, false},   {"HELLO", false, false, true, false, false},
      {"Hello", false, false, true, false, true},   {"\u00e9t\u00e9", false, true, true, true, true},
      {"\u4e2d\u6587", false, false, false, true, false}, {"...", false, false, true, true, false},
  };
  test::TempDir tmp;
  test::CorpusParityChecks checks;
  for (const std::string& src : files) {
    nlohmann::json j = nlohmann::json::parse(test::read_text(src));
    int next = 0;
    for (const auto& [token, id] : j.at("model").at("vocab").items()) next = std::max(next, id.get<int>() + 1);
    for (const auto& t : j.at("added_tokens")) next = std::max(next, t.at("id").get<int>() + 1);
    nlohmann::json added = nlohmann::json::array();
    for (const Option& o : options) {
      const std::string content = nlohmann::json::parse(std::string("\"") + o.content + "\"").get<std::string>();
      int id = -1;
      for (const auto& t : j.at("added_tokens")) {
        if (t.at("content") == content) id = t.at("id");
      }
      if (id < 0 && j.at("model").at("vocab").contains(content)) id = j.at("model").at("vocab").at(content);
      if (id < 0) id = next++;
      added.push_back({{"id", id}, {"content", content}, {"single_word", o.single_word},
                       {"lstrip", o.lstrip}, {"rstrip", o.rstrip}, {"normalized", o.normalized},
                       {"special", o.special}});
    }
    for (const auto& t : j.at("added_tokens")) {
      bool listed = false;
      for (const auto& a : added) listed = listed || a.at("content") == t.at("content");
      if (!listed) added.push_back(t);
    }
    j["added_tokens"] = added;
    const std::string name = fs::path(src).parent_path().filename().string();
    const std::string path = tmp.file(name + ".json");
    test::write_text(path, j.dump());
    checks.add_file(path, name + " added tokens");
    EncodeOptions no_special;
    no_special.add_special_tokens = false;
    checks.add_file(path, name + " added tokens --no-special", no_special, "--no-special");
  }
  checks.check();
}

// The contract of `embtune tokenize --ids`: one JSON array per input line, JSON-string lines
// decoded first, special tokens as the post-processor adds them, --no-special, --max-length.
TEST(TokenizeCommand, IdsOfEveryCorpusLineEqualThePeer) {
  if (test::skip_without_peer()) GTEST_SKIP() << "no shared data or peer";
  const std::string json =
      test::shared_dir() + "/data/tokenizers-extra/sentence-transformers__all-distilroberta-v1/tokenizer.json";
  for (const std::string flags : {"", "--no-special", "--max-length 16"}) {
    test::CommandResult r = test::run_command(
        test::embtune_bin() + " tokenize --tokenizer " + test::sh_quote(json) + " --input " +
        test::sh_quote(test::tokenizer_corpus_path()) + " --ids " + flags + " 2>&1");
    ASSERT_EQ(r.exit_code, 0) << r.out.substr(0, 2000);
    const std::vector<test::PeerEncoding> peer =
        test::run_tokenizer_peer(json, test::tokenizer_corpus_path(), flags);
    std::istringstream lines(r.out);
    std::string line;
    size_t n = 0, equal = 0;
    while (std::getline(lines, line)) {
      ASSERT_LT(n, peer.size());
      const auto ids = nlohmann::json::parse(line).get<std::vector<int32_t>>();
      if (ids == peer[n].ids) {
        ++equal;
      } else {
        ADD_FAILURE() << "[" << flags << "] line " << (n + 1) << " differs";
      }
      ++n;
    }
    EXPECT_EQ(n, peer.size()) << flags;
    EXPECT_EQ(equal, peer.size()) << flags;
  }
}

}  // namespace
}  // namespace embtune
