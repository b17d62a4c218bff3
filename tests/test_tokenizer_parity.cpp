// Parity of embtune's tokenizer with Hugging Face tokenizers (shared/reference/tokenize_peer.js):
// same ids and offsets for every line of tests/data/tokenizer_corpus.txt, for every WordPiece
// tokenizer in shared/data/tokenizers; the Unicode classes for every code point; llama.cpp's
// vectors for bge. Not a unit test: test_tokenizer_unit.cpp checks the stages one by one.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "test_util.h"
#include "tokenizer_peer.h"
#include "tokenizer/normalized_string.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace embtune {
namespace {

namespace fs = std::filesystem;

std::string corpus_path() { return test::tokenizer_corpus_path(); }
std::vector<std::string> read_corpus(const std::string& path) { return test::read_tokenizer_corpus(path); }
std::string show(const Tokenizer& tok, const std::vector<int32_t>& ids,
                 const std::vector<std::pair<uint32_t, uint32_t>>& offsets) {
  return test::show_tokens(tok, ids, offsets);
}

// Encodes the corpus with `tok` (batch path) and compares with the peer line by line; reports the
// first difference. Returns the number of lines compared.
size_t expect_corpus_parity(const Tokenizer& tok, const std::string& peer_json,
                            const EncodeOptions& opt, const std::string& peer_args) {
  const std::vector<std::string> texts = read_corpus(corpus_path());
  std::vector<Encoding> ours;
  Status st = tok.encode_batch(texts, opt, &ours);
  EXPECT_TRUE(st.ok()) << st.message();
  if (!st.ok()) return 0;
  return test::expect_peer_parity(
      tok, texts, ours, test::run_tokenizer_peer(peer_json, corpus_path(), peer_args),
      tok.source_path() + " [" + (peer_args.empty() ? "defaults" : peer_args) + "]");
}

bool is_wordpiece_json(const std::string& path) {
  nlohmann::json j = nlohmann::json::parse(test::read_text(path), nullptr, false);
  return !j.is_discarded() && j.contains("model") && j["model"].value("type", "") == "WordPiece";
}

std::vector<std::string> tokenizer_dirs() {
  std::vector<std::string> dirs;
  for (const auto& e : fs::directory_iterator(test::shared_dir() + "/data/tokenizers")) {
    if (e.is_directory()) dirs.push_back(e.path().string());
  }
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

TEST(TokenizerParity, CorpusIsLargeEnough) { EXPECT_GE(read_corpus(corpus_path()).size(), 5000u); }

TEST(TokenizerParity, TokenizerJsonMatchesPeer) {
  if (test::skip_without_peer()) GTEST_SKIP() << "no shared data or peer";
  int tested = 0;
  for (const std::string& dir : tokenizer_dirs()) {
    const std::string json = dir + "/tokenizer.json";
    if (!fs::exists(json) || !is_wordpiece_json(json)) continue;
    std::unique_ptr<Tokenizer> tok;
    Status st = Tokenizer::load(json, &tok);
    ASSERT_TRUE(st.ok()) << st.message();
    EncodeOptions plain;
    expect_corpus_parity(*tok, json, plain, "");
    EncodeOptions no_special;
    no_special.add_special_tokens = false;
    expect_corpus_parity(*tok, json, no_special, "--no-special");
    if (dir.find("bge-small") != std::string::npos) {
      EncodeOptions cut;
      cut.max_length = 16;
      expect_corpus_parity(*tok, json, cut, "--max-length 16");
      cut.add_special_tokens = false;
      expect_corpus_parity(*tok, json, cut, "--max-length 16 --no-special");
    }
    ++tested;
  }
  EXPECT_GE(tested, 5);
}

TEST(TokenizerParity, VocabTxtMatchesPeer) {
  if (test::skip_without_peer()) GTEST_SKIP() << "no shared data or peer";
  test::TempDir tmp;
  int tested = 0;
  for (const std::string& dir : tokenizer_dirs()) {
    const std::string vocab = dir + "/vocab.txt";
    if (!fs::exists(vocab)) continue;
    // The peer's equivalent: the tokenizer.json BertTokenizerFast would build.
    const std::string peer_json = tmp.file(fs::path(dir).filename().string() + ".json");
    test::CommandResult r = test::run_command(
        test::node_command() + " " +
        test::sh_quote(test::source_dir() + "/tests/peer/wordpiece_from_vocab.js") + " " +
        test::sh_quote(vocab) + " " + test::sh_quote(peer_json));
    ASSERT_EQ(r.exit_code, 0) << r.out;
    std::unique_ptr<Tokenizer> tok;
    Status st = Tokenizer::load(vocab, &tok);
    ASSERT_TRUE(st.ok()) << st.message();
    expect_corpus_parity(*tok, peer_json, EncodeOptions(), "");
    if (dir.find("bert-base-uncased") != std::string::npos) {
      EncodeOptions no_special;
      no_special.add_special_tokens = false;
      expect_corpus_parity(*tok, peer_json, no_special, "--no-special");
    }
    ++tested;
  }
  EXPECT_GE(tested, 6);
}

std::unique_ptr<Normalizer> normalizer_of(const char* type) {
  std::unique_ptr<Normalizer> n;
  EXPECT_TRUE(normalizer_from_json({{"type", type}}, &n).ok()) << type;
  return n;
}

// The facts unicode.h gives for code point c, in unicode_probe.js's line format ("" if none).
std::string probe_line(char32_t c) {
  auto hex = [](char32_t v) {
    char b[16];
    std::snprintf(b, sizeof b, "%x", static_cast<unsigned>(v));
    return std::string(b);
  };
  std::string facts;
  if (is_clean_text_removed(c))
    facts += " clean=DEL";
  else if (is_whitespace(c) && c != ' ')
    facts += " clean=20";
  if (is_cjk_ideograph(c)) facts += " cjk";
  char32_t d[kMaxDecomposition];
  int n = canonical_decompose(c, d);
  if (n != 1 || d[0] != c) {
    facts += " nfd=";
    for (int i = 0; i < n; ++i) {
      if (i) facts += ' ';
      facts += hex(d[i]);
    }
  } else {
    if (is_nonspacing_mark(c)) facts += " mn";
    if (combining_class(c) != 0) facts += " ccc";
  }
  char32_t lower[kMaxLowercase];
  int m = to_lowercase(c, lower);
  if (m != 1 || lower[0] != c) {
    facts += " lower=";
    for (int i = 0; i < m; ++i) {
      if (i) facts += ' ';
      facts += hex(lower[i]);
    }
  }
  if (is_bert_punctuation(c))
    facts += " punct";
  else if (is_whitespace(c))
    facts += " ws";
  // The stages that read the newer tables (NFKD, StripAccents, Digits), run on c alone.
  static const std::unique_ptr<Normalizer> nfkd = normalizer_of("NFKD");
  static const std::unique_ptr<Normalizer> marks = normalizer_of("StripAccents");
  static const std::unique_ptr<PreTokenizer> digits = [] {
    std::unique_ptr<PreTokenizer> p;
    EXPECT_TRUE(pre_tokenizer_from_json({{"type", "Digits"}, {"individual_digits", true}}, &p).ok());
    return p;
  }();
  NormalizedString one;
  one.assign_original({c}, 0, 1);
  NormalizedString changed = one;
  nfkd->normalize(&changed);
  if (changed.chars.size() != 1 || changed.chars[0].c != c) facts += " nfkd";
  changed = one;
  marks->normalize(&changed);
  if (changed.chars.empty()) facts += " mark";
  PreTokenizedString words;
  words.text.assign_original({U'a', c, U'a'}, 0, 3);
  words.splits.push_back({0, 3, -1});
  digits->pre_tokenize(&words);
  if (words.splits.size() == 3) facts += " num";
  if (is_word_char(c)) facts += " word";
  return facts.empty() ? "" : hex(c) + facts;
}

// regex_tables.cpp is what tests/peer/make_regex_tables.js measures from the peer now: the
// property escapes of HF's Oniguruma over every code point.
TEST(TokenizerParity, RegexClassTablesMatchPeer) {
  if (test::skip_without_peer()) GTEST_SKIP() << "no shared data or peer";
  test::TempDir tmp;
  const std::string out = tmp.file("regex_tables.cpp");
  test::CommandResult r = test::run_command(
      test::node_command() + " " +
      test::sh_quote(test::source_dir() + "/tests/peer/make_regex_tables.js") + " " +
      test::sh_quote(out) + " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(test::read_text(out) ==
              test::read_text(test::source_dir() + "/src/tokenizer/regex_tables.cpp"))
      << "src/tokenizer/regex_tables.cpp differs from what the peer gives; rerun "
         "tests/peer/make_regex_tables.js";
}

TEST(TokenizerParity, UnicodeClassesMatchPeerForEveryCodePoint) {
  if (test::skip_without_peer()) GTEST_SKIP() << "no shared data or peer";
  test::TempDir tmp;
  const std::string out = tmp.file("probe.txt");
  test::CommandResult r = test::run_command(
      test::node_command() + " " + test::sh_quote(test::source_dir() + "/tests/peer/unicode_probe.js") +
      " > " + test::sh_quote(out));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::istringstream peer(test::read_text(out));
  std::vector<std::string> ours;
  for (char32_t c = 0; c <= 0x10FFFF; ++c) {
    if (c >= 0xD800 && c <= 0xDFFF) continue;
    std::string line = probe_line(c);
    if (!line.empty()) ours.push_back(std::move(line));
  }
  std::string line;
  size_t i = 0, differences = 0;
  while (std::getline(peer, line)) {
    if (i >= ours.size() || ours[i] != line) {
      if (++differences <= 10) {
        ADD_FAILURE() << "peer: " << line << "\nours: " << (i < ours.size() ? ours[i] : "(end)");
      }
      // Resynchronise on the code point so one difference does not cascade.
      const uint32_t peer_cp = std::stoul(line.substr(0, line.find(' ')), nullptr, 16);
      while (i < ours.size() &&
             std::stoul(ours[i].substr(0, ours[i].find(' ')), nullptr, 16) < peer_cp)
        ++i;
      if (i < ours.size() &&
          std::stoul(ours[i].substr(0, ours[i].find(' ')), nullptr, 16) == peer_cp)
        ++i;
      continue;
    }
    ++i;
  }
  EXPECT_EQ(i, ours.size());
  EXPECT_EQ(differences, 0u);
}

// llama.cpp's tokenizer test vectors for bge-small (tests/test-tokenizer-0): texts separated by
// "\n__ggml_vocab_test__\n", and for each the expected ids without special tokens, one line each.
TEST(TokenizerParity, LlamaCppVectorsForBge) {
  if (test::skip_without_shared()) GTEST_SKIP() << "no shared data";
  const std::string dir = test::shared_dir() + "/data/tokenizers/BAAI__bge-small-en-v1.5";
  const std::string inp = test::read_text(dir + "/llama.cpp-gguf/ggml-vocab-bert-bge.gguf.inp");
  const std::string expected =
      test::read_text(dir + "/llama.cpp-gguf/ggml-vocab-bert-bge.gguf.out");
  ASSERT_FALSE(inp.empty());
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts;
  for (size_t pos = 0; pos < inp.size();) {
    size_t next = inp.find(sep, pos);
    if (next == std::string::npos) next = inp.size();
    texts.push_back(inp.substr(pos, next - pos));
    pos = next + sep.size();
  }
  std::vector<std::vector<int32_t>> want;
  std::istringstream lines(expected);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream ids(line);
    std::vector<int32_t> v;
    int32_t id;
    while (ids >> id) v.push_back(id);
    want.push_back(std::move(v));
  }
  ASSERT_EQ(texts.size(), want.size());

  std::unique_ptr<Tokenizer> tok;
  Status st = Tokenizer::load(dir + "/tokenizer.json", &tok);
  ASSERT_TRUE(st.ok()) << st.message();
  EncodeOptions opt;
  opt.add_special_tokens = false;
  for (size_t i = 0; i < texts.size(); ++i) {
    Encoding enc;
    st = tok->encode(texts[i], opt, &enc);
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_EQ(enc.ids, want[i]) << "text " << (i + 1) << ": " << nlohmann::json(texts[i]).dump()
                                << "\n  ours: " << show(*tok, enc.ids, enc.offsets);
  }
  std::printf("[ llama.cpp] %zu texts compared\n", texts.size());
}

}  // namespace
}  // namespace embtune
