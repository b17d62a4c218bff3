// WordPiece vocabulary training (tokenizer/wordpiece_trainer.h, `embtune train-tokenizer`):
// hand-checked merges (HF's own BpeTrainer test case), special tokens, min_frequency,
// limit_alphabet, vocab_size, bad input through the CLI, and parity with HF tokenizers' trainer
// (npm peer, tests/peer/train_wordpiece_peer.js).
//
// HF gives the "##c" tokens ids in Rust's randomly seeded HashMap order, so two HF runs on the
// same text give different ids. The parity tests hand the peer's "##c" order to our trainer
// (WordPieceTrainerOptions::prefixed_alphabet_order); everything else must then be identical,
// token -> id, including every merge's id (which fixes the tie-breaking order).
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/file.h"
#include "core/utf8.h"
#include "test_util.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer_peer.h"
#include "tokenizer/wordpiece_trainer.h"

namespace embtune {
namespace {

using test::CommandResult;
using test::run_command;
using test::sh_quote;
using test::TempDir;

std::vector<std::string> train_words(const std::vector<std::pair<std::string, uint64_t>>& words,
                                     const WordPieceTrainerOptions& opt) {
  WordPieceTrainer t(opt);
  for (const auto& [w, c] : words) t.add_word(w, c);
  std::vector<std::string> vocab;
  Status s = t.train(&vocab);
  EXPECT_TRUE(s.ok()) << s.message();
  return vocab;
}

// HF's tokenizers/src/models/bpe/trainer.rs test_train: no prefix, min_frequency 2, no special
// tokens; the alphabet in code point order, then 're', 'are', 'is'.
TEST(TrainTokenizer, HfBpeTrainerCase) {
  WordPieceTrainerOptions opt;
  opt.special_tokens.clear();
  opt.continuing_subword_prefix = "";
  opt.min_frequency = 2;
  const auto vocab = train_words({{"roses", 1}, {"are", 2}, {"red", 1}, {"voilets", 1}, {"blue", 1},
                                  {"BERT", 1}, {"is", 2}, {"big", 1}, {"and", 1}, {"so", 1},
                                  {"GPT-2", 1}},
                                 opt);
  const std::vector<std::string> expected = {"-", "2", "B", "E", "G", "P", "R", "T", "a",
                                             "b", "d", "e", "g", "i", "l", "n", "o", "r",
                                             "s", "t", "u", "v", "re", "are", "is"};
  EXPECT_EQ(vocab, expected);
}

// With "##": continuation characters are their own tokens, and a merge drops the right part's
// prefix ("h" + "##u" -> "hu", "##u" + "##g" -> "##ug").
TEST(TrainTokenizer, SpecialTokensFirstAndPrefixedMerges) {
  WordPieceTrainerOptions opt;
  const auto vocab = train_words({{"hug", 10}, {"pug", 5}, {"pun", 12}, {"bun", 4}, {"hugs", 5}}, opt);
  ASSERT_GE(vocab.size(), 12u);
  const std::vector<std::string> head = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
                                         "b", "g", "h", "n", "p", "s", "u"};
  EXPECT_EQ(std::vector<std::string>(vocab.begin(), vocab.begin() + 12), head);
  // Next: "##g" "##n" "##s" "##u" (code point order), then merges. Pairs: (##u,##g) 20,
  // (##u,##n) 16, (h,##u) 15, (p,##u) 17 ... the first merge is ##u ##g -> "##ug".
  const std::vector<std::string> cont = {"##g", "##n", "##s", "##u"};
  EXPECT_EQ(std::vector<std::string>(vocab.begin() + 12, vocab.begin() + 16), cont);
  ASSERT_GT(vocab.size(), 16u);
  EXPECT_EQ(vocab[16], "##ug");
  // Every word ends up whole (all merges are taken with min_frequency 0).
  for (const char* w : {"hug", "pug", "pun", "bun", "hugs"}) {
    EXPECT_NE(std::find(vocab.begin(), vocab.end(), w), vocab.end()) << w;
  }
}

TEST(TrainTokenizer, MinFrequencyVocabSizeLimitAlphabet) {
  const std::vector<std::pair<std::string, uint64_t>> words = {
      {"hug", 10}, {"pug", 5}, {"pun", 12}, {"bun", 4}, {"hugs", 5}, {"zq", 1}};
  WordPieceTrainerOptions opt;
  const auto full = train_words(words, opt);
  // min_frequency above every pair count: the alphabet only.
  opt.min_frequency = 1000;
  const auto alpha = train_words(words, opt);
  for (const std::string& t : alpha) {
    std::vector<char32_t> cps;
    size_t bad = 0;
    ASSERT_TRUE(utf8_decode(t, &cps, &bad));
    EXPECT_TRUE(t[0] == '[' || cps.size() == 1 || (t.rfind("##", 0) == 0 && cps.size() == 3)) << t;
  }
  // min_frequency 16: only pairs seen 16+ times merge.
  opt.min_frequency = 16;
  const auto some = train_words(words, opt);
  EXPECT_GT(some.size(), alpha.size());
  EXPECT_LT(some.size(), full.size());
  // A binding vocab_size stops early: the result is the start of the unlimited one.
  opt.min_frequency = 0;
  for (size_t n : {size_t(3), size_t(20), size_t(23)}) {
    opt.vocab_size = n;
    const auto cut = train_words(words, opt);
    const size_t expect_n = std::max(n, alpha.size());  // the alphabet is always whole
    ASSERT_EQ(cut.size(), std::min(expect_n, full.size())) << n;
    EXPECT_TRUE(std::equal(cut.begin(), cut.end(), full.begin())) << n;
  }
  // limit_alphabet 4 keeps the 4 most frequent characters (u 36, g 20, p 17, n 16; h has 15)
  // and drops the others from the words.
  opt.vocab_size = 30522;
  opt.limit_alphabet = 4;
  opt.special_tokens = {"[UNK]"};
  const auto lim = train_words(words, opt);
  ASSERT_GE(lim.size(), 5u);
  EXPECT_EQ(std::vector<std::string>(lim.begin(), lim.begin() + 5),
            (std::vector<std::string>{"[UNK]", "g", "n", "p", "u"}));
  for (const std::string& t : lim) {
    for (char c : std::string("bhsqz")) EXPECT_EQ(t.find(c), std::string::npos) << t;
  }
}

TEST(TrainTokenizer, NormalizerAndPreTokenizer) {
  WordPieceTrainerOptions opt;
  opt.special_tokens.clear();
  WordPieceTrainer t(opt);
  ASSERT_TRUE(t.feed({"Héllo, WORLD!", "", "héllo   world"}).ok());
  const auto& wc = t.word_counts();
  EXPECT_EQ(wc.size(), 4u);
  EXPECT_EQ(wc.at("hello"), 2u);  // lowercase strips accents
  EXPECT_EQ(wc.at("world"), 2u);
  EXPECT_EQ(wc.at(","), 1u);
  EXPECT_EQ(wc.at("!"), 1u);
  opt.normalizer.lowercase = false;
  WordPieceTrainer cased(opt);
  ASSERT_TRUE(cased.feed({"Héllo WORLD"}).ok());
  EXPECT_EQ(cased.word_counts().count("Héllo"), 1u);
  EXPECT_EQ(cased.word_counts().count("WORLD"), 1u);
  std::vector<std::string> vocab;
  EXPECT_FALSE(WordPieceTrainer(opt).train(&vocab).ok());  // nothing fed
  Status s = WordPieceTrainer(opt).feed({"ok", std::string("bad \xff")});
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("text 2"), std::string::npos) << s.message();
}

// The CLI: files written, loadable; bad input leaves no output directory.
TEST(TrainTokenizer, CliOutputsAndErrors) {
  TempDir tmp;
  const std::string bin = test::embtune_bin();
  test::write_text(tmp.file("a.txt"), "The quick brown fox.\n\njumps over the lazy dog\n");
  CommandResult r = run_command(bin + " -q train-tokenizer --input " + sh_quote(tmp.file("a.txt")) +
                                " --out " + sh_quote(tmp.file("tok")) + " --vocab-size 60");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const std::string vocab_txt = test::read_text(tmp.file("tok/vocab.txt"));
  EXPECT_EQ(vocab_txt.rfind("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n", 0), 0u);
  std::unique_ptr<Tokenizer> tok;
  Status s = Tokenizer::load(tmp.file("tok/tokenizer.json"), &tok);
  ASSERT_TRUE(s.ok()) << s.message();
  size_t lines = 0;
  for (char c : vocab_txt) lines += c == '\n';
  EXPECT_EQ(tok->vocab_size(), lines);
  EXPECT_LE(lines, 60u);
  EXPECT_GT(lines, 40u);
  Encoding e;
  ASSERT_TRUE(tok->encode("The fox", EncodeOptions(), &e).ok());
  ASSERT_GE(e.ids.size(), 4u);
  EXPECT_EQ(e.ids.front(), 2);  // [CLS]
  EXPECT_EQ(e.ids.back(), 3);   // [SEP]
  std::unique_ptr<Tokenizer> from_txt;
  ASSERT_TRUE(Tokenizer::load(tmp.file("tok/vocab.txt"), &from_txt).ok());
  EXPECT_EQ(from_txt->vocab_size(), lines);

  test::write_text(tmp.file("bad.txt"), std::string("fine\nbad \xc3\x28 utf8\n"));
  test::write_text(tmp.file("blank.txt"), "\n  \n\n");
  struct Case {
    std::string input, expect;
  };
  for (const Case& c : {Case{tmp.file("bad.txt"), "line 2"}, Case{tmp.file("missing.txt"), "missing.txt"},
                        Case{tmp.file("blank.txt"), "no words"}}) {
    const std::string out = tmp.file("out-" + std::to_string(c.expect.size()));
    r = run_command(bin + " -q train-tokenizer --input " + sh_quote(c.input) + " --out " +
                    sh_quote(out) + " --vocab-size 100");
    EXPECT_NE(r.exit_code, 0) << c.input;
    EXPECT_NE(r.out.find(c.expect), std::string::npos) << r.out;
    if (c.expect == "line 2") {
      EXPECT_NE(r.out.find("bad.txt"), std::string::npos) << r.out;
    }
    EXPECT_FALSE(dir_exists(out)) << c.input;
  }
}

// ---- parity with HF tokenizers (npm peer) ----

bool skip_without_node_peer() {
  if (run_command(test::node_command() + " -e \"require('tokenizers')\"").exit_code == 0) return false;
  const char* ci = std::getenv("CI");
  if (ci && std::string(ci) == "true") {
    ADD_FAILURE() << "node with the npm tokenizers peer is missing under CI=true (scripts/setup.sh)";
  }
  return true;
}

std::map<std::string, int> peer_vocab(const std::string& file, const std::string& args) {
  CommandResult r = run_command(test::node_command() + " " +
                                sh_quote(test::source_dir() + "/tests/peer/train_wordpiece_peer.js") +
                                " " + args + " " + sh_quote(file) + " 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  std::map<std::string, int> v;
  if (r.exit_code != 0) return v;
  const nlohmann::json j = test::last_json_line(r.out);
  for (auto it = j.begin(); it != j.end(); ++it) v[it.key()] = it.value().get<int>();
  return v;
}

// Trains ours as the peer's default trainer does (vocab 30000, no special tokens) on `file`, with
// the peer's "##c" order, and expects the same token -> id map. Returns ours.
std::vector<std::string> expect_peer_vocab(const std::string& file, bool lowercase,
                                           const std::map<std::string, int>& peer) {
  std::vector<std::pair<int, std::string>> by_id;
  for (const auto& [t, id] : peer) by_id.emplace_back(id, t);
  std::sort(by_id.begin(), by_id.end());
  WordPieceTrainerOptions opt;
  opt.vocab_size = 30000;
  opt.special_tokens.clear();
  opt.normalizer.lowercase = lowercase;
  for (const auto& [id, t] : by_id) {
    std::vector<char32_t> cps;
    size_t bad = 0;
    if (t.rfind("##", 0) == 0 && utf8_decode(t.substr(2), &cps, &bad) && cps.size() == 1) {
      opt.prefixed_alphabet_order.push_back(t);
    }
  }
  WordPieceTrainer trainer(opt);
  Status s = trainer.feed_file(file);
  EXPECT_TRUE(s.ok()) << s.message();
  std::vector<std::string> ours;
  s = trainer.train(&ours);
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(ours.size(), peer.size());
  size_t equal = 0, shown = 0;
  for (size_t i = 0; i < ours.size(); ++i) {
    auto it = peer.find(ours[i]);
    const bool same = it != peer.end() && it->second == static_cast<int>(i);
    equal += same;
    if (!same && shown++ < 5) {
      ADD_FAILURE() << "id " << i << ": ours " << nlohmann::json(ours[i]).dump() << ", peer "
                    << (static_cast<size_t>(by_id.size()) > i ? nlohmann::json(by_id[i].second).dump() : "-");
    }
  }
  std::printf("[ parity   ] %s: %zu/%zu tokens with equal ids\n", file.c_str(), equal, peer.size());
  return ours;
}

// A deterministic text of ~50k made-up words (syllables of an LCG): a vocabulary far above
// 30000, so the peer's vocab_size limit binds.
std::string generated_text() {
  static const char* syl[] = {"ka", "to", "ri", "mu", "sen", "lo", "qua", "zi", "vel", "dor",
                              "an", "e", "ul", "pri", "sta", "no", "é", "ö", "xi", "bra"};
  uint64_t x = 12345;
  auto next = [&x]() { x = x * 6364136223846793005ULL + 1442695040888963407ULL; return x >> 33; };
  std::string text;
  for (int line = 0; line < 6000; ++line) {
    const int nwords = 3 + static_cast<int>(next() % 12);
    for (int w = 0; w < nwords; ++w) {
      const int n = 1 + static_cast<int>(next() % 6);
      for (int k = 0; k < n; ++k) text += syl[next() % 20];
      text += (next() % 9 == 0) ? ", " : " ";
    }
    text += ".\n";
  }
  return text;
}

TEST(TrainTokenizer, PeerParityCorpus) {
  if (skip_without_node_peer()) GTEST_SKIP() << "node with the npm tokenizers peer is missing";
  const std::string corpus = test::tokenizer_corpus_path();
  const auto peer = peer_vocab(corpus, "");
  ASSERT_FALSE(peer.empty());
  expect_peer_vocab(corpus, true, peer);
  const auto peer_cased = peer_vocab(corpus, "--no-lowercase");
  ASSERT_FALSE(peer_cased.empty());
  expect_peer_vocab(corpus, false, peer_cased);
}

TEST(TrainTokenizer, PeerParityVocabLimitBinds) {
  if (skip_without_node_peer()) GTEST_SKIP() << "node with the npm tokenizers peer is missing";
  TempDir tmp;
  const std::string file = tmp.file("gen.txt");
  test::write_text(file, generated_text());
  const auto peer = peer_vocab(file, "");
  ASSERT_EQ(peer.size(), 30000u);  // the limit binds
  expect_peer_vocab(file, true, peer);
}

// Our tokenizer.json, loaded by embtune and by HF, encodes the corpus the same way.
TEST(TrainTokenizer, WrittenTokenizerEncodesLikePeer) {
  if (skip_without_node_peer()) GTEST_SKIP() << "node with the npm tokenizers peer is missing";
  TempDir tmp;
  WordPieceTrainerOptions opt;
  opt.vocab_size = 8000;  // the corpus's alphabet and ## alphabet alone are ~6400
  WordPieceTrainer trainer(opt);
  ASSERT_TRUE(trainer.feed_file(test::tokenizer_corpus_path()).ok());
  std::vector<std::string> vocab;
  ASSERT_TRUE(trainer.train(&vocab).ok());
  ASSERT_EQ(vocab.size(), 8000u);
  ASSERT_TRUE(write_wordpiece_tokenizer(tmp.path(), vocab, opt).ok());
  const size_t n = test::read_tokenizer_corpus().size();
  EXPECT_EQ(test::expect_corpus_parity_with_peer(tmp.file("tokenizer.json"), EncodeOptions(), "",
                                                 "trained WordPiece"),
            n);
}

}  // namespace
}  // namespace embtune
