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
#include "tokenizer/normalized_string.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace embtune {
namespace {

namespace fs = std::filesystem;

std::string corpus_path() { return test::source_dir() + "/tests/data/tokenizer_corpus.txt"; }
std::string peer_script() { return test::shared_dir() + "/reference/tokenize_peer.js"; }
// The corpus as tokenize_peer.js reads it: one text per line, a line starting with '"' decoded
// as a JSON string when it is one.
std::vector<std::string> read_corpus(const std::string& path) {
  std::string all = test::read_text(path);
  std::vector<std::string> texts;
  size_t pos = 0;
  while (pos < all.size()) {
    size_t nl = all.find('\n', pos);
    if (nl == std::string::npos) nl = all.size();
    std::string line = all.substr(pos, nl - pos);
    pos = nl + 1;
    if (!line.empty() && line[0] == '"') {
      nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_discarded() && j.is_string()) line = j.get<std::string>();
    }
    texts.push_back(std::move(line));
  }
  return texts;
}

struct PeerEncoding {
  std::vector<int32_t> ids;
  std::vector<std::pair<uint32_t, uint32_t>> offsets;
};

// Runs tokenize_peer.js; `args` are its extra flags.
std::vector<PeerEncoding> run_peer(const std::string& tokenizer_json, const std::string& texts_file,
                                   const std::string& args) {
  test::TempDir tmp;
  const std::string out = tmp.file("peer.jsonl");
  test::CommandResult r = test::run_command(
      test::node_command() + " " + test::sh_quote(peer_script()) + " " + test::sh_quote(tokenizer_json) +
      " " + test::sh_quote(texts_file) + " " + args + " > " + test::sh_quote(out));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  std::vector<PeerEncoding> result;
  std::istringstream lines(test::read_text(out));
  std::string line;
  while (std::getline(lines, line)) {
    nlohmann::json j = nlohmann::json::parse(line);
    PeerEncoding e;
    e.ids = j.at("ids").get<std::vector<int32_t>>();
    for (const auto& o : j.at("offsets"))
      e.offsets.emplace_back(o[0].get<uint32_t>(), o[1].get<uint32_t>());
    result.push_back(std::move(e));
  }
  return result;
}

std::string show(const Tokenizer& tok, const std::vector<int32_t>& ids,
                 const std::vector<std::pair<uint32_t, uint32_t>>& offsets) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) {
    s += nlohmann::json(tok.id_to_token(ids[i])).dump();
    s += ':';
    s += std::to_string(ids[i]);
    if (i < offsets.size()) {
      s += '(';
      s += std::to_string(offsets[i].first);
      s += ',';
      s += std::to_string(offsets[i].second);
      s += ')';
    }
    s += ' ';
  }
  return s;
}

// Encodes the corpus with `tok` (batch path) and compares with the peer line by line; reports the
// first difference. Returns the number of lines compared.
size_t expect_corpus_parity(const Tokenizer& tok, const std::string& peer_json,
                            const EncodeOptions& opt, const std::string& peer_args) {
  const std::vector<std::string> texts = read_corpus(corpus_path());
  const std::vector<PeerEncoding> peer = run_peer(peer_json, corpus_path(), peer_args);
  EXPECT_EQ(peer.size(), texts.size());
  std::vector<Encoding> ours;
  Status st = tok.encode_batch(texts, opt, &ours);
  EXPECT_TRUE(st.ok()) << st.message();
  if (!st.ok() || peer.size() != texts.size()) return 0;
  size_t equal = 0;
  bool reported = false;
  for (size_t i = 0; i < texts.size(); ++i) {
    if (ours[i].ids == peer[i].ids && ours[i].offsets == peer[i].offsets) {
      ++equal;
    } else if (!reported) {
      reported = true;
      ADD_FAILURE() << tok.source_path() << " " << peer_args << ": line " << (i + 1)
                    << " differs\n  text: " << nlohmann::json(texts[i]).dump()
                    << "\n  ours: " << show(tok, ours[i].ids, ours[i].offsets)
                    << "\n  peer: " << show(tok, peer[i].ids, peer[i].offsets);
    }
  }
  EXPECT_EQ(equal, texts.size()) << tok.source_path() << " " << peer_args;
  std::printf("[ parity   ] %s [%s]: %zu/%zu lines equal\n", tok.source_path().c_str(),
              peer_args.empty() ? "defaults" : peer_args.c_str(), equal, texts.size());
  return equal;
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

TEST(TokenizerParity, CorpusIsLargeEnough) { EXPECT_GE(read_corpus(corpus_path()).size(), 2000u); }

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
  return facts.empty() ? "" : hex(c) + facts;
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
