// Parity of every pre-tokenizer with Hugging Face tokenizers (tests/peer/tokenize_jobs_peer.js, one
// peer run per test for all its configurations): each one, with each option, and the pre_tokenizer
// objects of real tokenizer.json files, plugged into a WordPiece model of single characters so
// that every word boundary shows in ids and offsets.
// Not a test of the models or normalizers: test_tokenizer_parity.cpp covers real WordPiece vocabs.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/utf8.h"
#include "test_util.h"
#include "tokenizer_peer.h"
#include "tokenizer/tokenizer.h"

namespace embtune {
namespace {

namespace fs = std::filesystem;

std::string corpus_path() { return test::tokenizer_corpus_path(); }
std::vector<std::string> read_corpus(const std::string& path) { return test::read_tokenizer_corpus(path); }

// Words longer than 100 characters (whole lines, for the pre-tokenizers that keep spaces inside
// words) become one [UNK]: their boundaries are still compared, and HF's WordPiece, cubic in the
// word length, stays fast.
// A WordPiece vocab of every character of the corpus, "▁", the 256 byte-level characters of
// GPT-2, and "##" + each: every word becomes its characters, so the words are the non-## tokens.
const nlohmann::json& char_vocab() {
  static const nlohmann::json vocab = [] {
    std::set<char32_t> chars;
    for (const std::string& text : read_corpus(corpus_path())) {
      std::vector<char32_t> cps;
      size_t bad = 0;
      if (utf8_decode(text, &cps, &bad)) chars.insert(cps.begin(), cps.end());
    }
    chars.insert(U'\u2581');
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      chars.insert(printable ? static_cast<char32_t>(b) : next++);
    }
    nlohmann::json v = nlohmann::json::object();
    for (const char* special : {"[UNK]", "[CLS]", "[SEP]"}) v[special] = v.size();
    for (char32_t c : chars) {
      std::string s;
      utf8_append(c, &s);
      v[s] = v.size();
      v["##" + s] = v.size();
    }
    return v;
  }();
  return vocab;
}

nlohmann::json char_tokenizer(const nlohmann::json& pre_tokenizer,
                              const nlohmann::json& normalizer = nullptr, bool bert_processing = false) {
  nlohmann::json j;
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  j["added_tokens"] = nlohmann::json::array();
  j["normalizer"] = normalizer;
  j["pre_tokenizer"] = pre_tokenizer;
  j["post_processor"] = nullptr;
  if (bert_processing) {
    j["post_processor"] = {{"type", "BertProcessing"},
                           {"sep", {"[SEP]", char_vocab().at("[SEP]")}},
                           {"cls", {"[CLS]", char_vocab().at("[CLS]")}}};
  }
  j["decoder"] = nullptr;
  j["model"] = {{"type", "WordPiece"},
                {"unk_token", "[UNK]"},
                {"continuing_subword_prefix", "##"},
                {"max_input_chars_per_word", 100},
                {"vocab", char_vocab()}};
  return j;
}

const char* const kBehaviors[] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext",
                                  "Contiguous"};

TEST(PreTokenizerParity, WhitespaceAndWhitespaceSplit) {
  if (test::skip_without_peer()) GTEST_SKIP() << "no shared data or peer";
  test::CorpusParityChecks checks;
  checks.add(char_tokenizer({{"type", "Whitespace"}}), "Whitespace");
  checks.add(char_tokenizer({{"type", "Whitespace"}}, {{"type", "Lowercase"}}, true),
             "Whitespace, Lowercase, BertProcessing");
  checks.add(char_tokenizer({{"type", "WhitespaceSplit"}}), "WhitespaceSplit");
  checks.check();
}

TEST(PreTokenizerParity, PunctuationEachBehavior) {
  if (test::skip_without_peer()) GTEST_SKIP() << "no shared data or peer";
  test::CorpusParityChecks checks;
  for (const char* b : kBehaviors) {
    checks.add(char_tokenizer({{"type", "Punctuation"}, {"behavior", b}}),
               std::string("Punctuation ") + b);
  }
  checks.check();
}

TEST(PreTokenizerParity, Digits) {
  if (test::skip_without_peer()) GTEST_SKIP() << "no shared data or peer";
  test::CorpusParityChecks checks;
  for (bool individual : {false, true}) {
    checks.add(char_tokenizer({{"type", "Digits"}, {"individual_digits", individual}}),
               individual ? "Digits individual" : "Digits");
  }
  checks.check();
}

TEST(PreTokenizerParity, MetaspaceEachPrependScheme) {
  if (test::skip_without_peer()) GTEST_SKIP() << "no shared data or peer";
  test::CorpusParityChecks checks;
  for (const char* scheme : {"always", "first", "never"}) {
    for (bool split : {true, false}) {
      checks.add(char_tokenizer({{"type", "Metaspace"},
                                 {"replacement", "\u2581"},
                                 {"prepend_scheme", scheme},
                                 {"split", split}}),
                 std::string("Metaspace ") + scheme + (split ? " split" : ""));
    }
  }
  // Older files: add_prefix_space true alone means "always"; false needs "never" (HF refuses
  // false with any other scheme, the default "always" included, and so must we).
  checks.add(char_tokenizer(
                 {{"type", "Metaspace"}, {"replacement", "\u2581"}, {"add_prefix_space", true}}),
             "Metaspace legacy add_prefix_space true");
  checks.add(char_tokenizer({{"type", "Metaspace"},
                             {"replacement", "\u2581"},
                             {"add_prefix_space", false},
                             {"prepend_scheme", "never"}}),
             "Metaspace legacy add_prefix_space false, never");
  checks.check();
  test::TempDir tmp;
  const std::string path = tmp.file("tokenizer.json");
  test::write_text(path, char_tokenizer({{"type", "Metaspace"},
                                         {"replacement", "\u2581"},
                                         {"add_prefix_space", false}})
                             .dump());
  std::unique_ptr<Tokenizer> tok;
  Status st = Tokenizer::load(path, &tok);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("add_prefix_space"), std::string::npos) << st.message();
}

TEST(PreTokenizerParity, ByteLevelWithAndWithoutRegexAndPrefixSpace) {
  if (test::skip_without_peer()) GTEST_SKIP() << "no shared data or peer";
  test::CorpusParityChecks checks;
  for (bool use_regex : {true, false}) {
    for (bool prefix : {true, false}) {
      checks.add(
          char_tokenizer({{"type", "ByteLevel"},
                          {"add_prefix_space", prefix},
                          {"trim_offsets", true},
                          {"use_regex", use_regex}}),
          std::string("ByteLevel") + (use_regex ? " regex" : "") + (prefix ? " prefix" : ""));
    }
  }
  checks.check();
}

TEST(PreTokenizerParity, SplitEachBehaviorStringAndRegex) {
  if (test::skip_without_peer()) GTEST_SKIP() << "no shared data or peer";
  test::CorpusParityChecks checks;
  for (const char* b : kBehaviors) {
    for (bool invert : {false, true}) {
      checks.add(char_tokenizer({{"type", "Split"},
                                 {"pattern", {{"Regex", "\\s+|\\p{N}+|[,.]"}}},
                                 {"behavior", b},
                                 {"invert", invert}}),
                 std::string("Split regex ") + b + (invert ? " invert" : ""));
    }
    checks.add(char_tokenizer({{"type", "Split"},
                               {"pattern", {{"String", " "}}},
                               {"behavior", b},
                               {"invert", false}}),
               std::string("Split string ") + b);
  }
  checks.check();
}

TEST(PreTokenizerParity, CharDelimiterSplitAndSequence) {
  if (test::skip_without_peer()) GTEST_SKIP() << "no shared data or peer";
  test::CorpusParityChecks checks;
  checks.add(char_tokenizer({{"type", "CharDelimiterSplit"}, {"delimiter", " "}}),
             "CharDelimiterSplit space");
  checks.add(char_tokenizer({{"type", "CharDelimiterSplit"}, {"delimiter", "e"}}),
             "CharDelimiterSplit e");
  checks.add(char_tokenizer({{"type", "Sequence"},
                             {"pretokenizers",
                              {{{"type", "WhitespaceSplit"}},
                               {{"type", "Digits"}, {"individual_digits", true}},
                               {{"type", "Punctuation"}, {"behavior", "Contiguous"}}}}}),
             "Sequence WhitespaceSplit Digits Punctuation");
  checks.check();
}

// The pre_tokenizer objects of real tokenizer.json files (RoBERTa, GPT-2, T5, Mistral, Falcon...).
TEST(PreTokenizerParity, RealTokenizerFilesPreTokenizers) {
  if (test::skip_without_peer()) GTEST_SKIP() << "no shared data or peer";
  test::CorpusParityChecks checks;
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(test::shared_dir() + "/data/tokenizers-extra")) {
    if (fs::exists(e.path() / "tokenizer.json")) files.push_back((e.path() / "tokenizer.json").string());
  }
  std::sort(files.begin(), files.end());
  int tested = 0;
  for (const std::string& file : files) {
    nlohmann::json j = nlohmann::json::parse(test::read_text(file), nullptr, false);
    if (j.is_discarded() || !j.contains("pre_tokenizer") || j["pre_tokenizer"].is_null()) continue;
    checks.add(char_tokenizer(j["pre_tokenizer"]),
               fs::path(file).parent_path().filename().string());
    ++tested;
  }
  checks.check();
  EXPECT_GE(tested, 6);
}

TEST(PreTokenizerErrors, UnknownTypeNamesSupportedOnesAndBadPatternIsNamed) {
  test::TempDir tmp;
  const std::string path = tmp.file("tokenizer.json");
  std::unique_ptr<Tokenizer> tok;
  test::write_text(path, char_tokenizer({{"type", "NoSuchPreTokenizer"}}).dump());
  Status st = Tokenizer::load(path, &tok);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("pre_tokenizer type \"NoSuchPreTokenizer\" is not supported"),
            std::string::npos)
      << st.message();
  for (const char* name : {"Whitespace", "Metaspace", "ByteLevel", "Split", "Sequence"}) {
    EXPECT_NE(st.message().find(name), std::string::npos) << st.message();
  }

  test::write_text(path, char_tokenizer({{"type", "Split"},
                                         {"pattern", {{"Regex", "(unclosed"}}},
                                         {"behavior", "Isolated"},
                                         {"invert", false}})
                             .dump());
  st = Tokenizer::load(path, &tok);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("(unclosed"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find(path), std::string::npos) << st.message();

  test::write_text(path, char_tokenizer({{"type", "Split"},
                                         {"pattern", {{"String", " "}}},
                                         {"behavior", "Sideways"}})
                             .dump());
  st = Tokenizer::load(path, &tok);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("Sideways"), std::string::npos) << st.message();

  test::write_text(
      path, char_tokenizer({{"type", "Sequence"},
                            {"pretokenizers", {{{"type", "Whitespace"}}, {{"type", "Nope"}}}}})
                .dump());
  st = Tokenizer::load(path, &tok);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("pretokenizers[1]"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace embtune
