// Unit tests of the tokenizer stages (UTF-8, NormalizedString, normalizers, pre-tokenizer,
// WordPiece, added tokens, post-processors, truncation, loading and errors). Every expected
// (token, offsets) list was checked against HF tokenizers (tokenize_peer.js). Not the corpus-wide
// parity test: that is test_tokenizer_parity.cpp.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <tuple>

#include "test_util.h"
#include "tokenizer/normalized_string.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace embtune {
namespace {

using Tokens = std::vector<std::tuple<int32_t, uint32_t, uint32_t>>;  // (id, begin, end)

// A small WordPiece tokenizer.json: BERT-style stages, a 32-entry vocabulary, two extra added
// tokens ("<tag>" single_word on raw text; "Yes" normalized, lstrip, rstrip) and 9 characters at
// most per word.
nlohmann::json tiny_tokenizer() {
  return nlohmann::json::parse(R"({
    "version": "1.0", "truncation": null, "padding": null,
    "added_tokens": [
      {"id": 0, "content": "[PAD]",
     "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
      {"id": 1, "content": "[UNK]",
     "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
      {"id": 2, "content": "[CLS]",
     "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
      {"id": 3, "content": "[SEP]",
     "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
      {"id": 4, "content": "[MASK]",
     "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
      {"id": 32, "content": "<tag>",
     "single_word": true, "lstrip": false, "rstrip": false, "normalized": false, "special": false},
      {"id": 33, "content": "Yes",
     "single_word": false, "lstrip": true, "rstrip": true, "normalized": true, "special": false}],
    "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                   "strip_accents": null, "lowercase": true},
    "pre_tokenizer": {"type": "BertPreTokenizer"},
    "post_processor": {"type": "TemplateProcessing",
      "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                 {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
      "pair": [],
      "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                         "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
    "decoder": null,
    "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
      "max_input_chars_per_word": 9,
      "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4, "hello": 5, "world": 6,
                "un": 7, "##aff": 8, "##able": 9, "cafe": 10, "!": 11, ",": 12, "中": 13, "文": 14,
                "i": 15, "istanbul": 16, "##s": 17, "a": 18, "##a": 19, ".": 20, "x": 21, "##x": 22,
                "e": 23, "##e": 24, "[": 25, "]": 26, "mask": 27, "ok": 28, "<": 29, ">": 30,
                "tag": 31}}
  })");
}

std::unique_ptr<Tokenizer> load_json(const nlohmann::json& j, const test::TempDir& dir,
                                     Status* status = nullptr) {
  const std::string path = dir.file("tokenizer.json");
  test::write_text(path, j.dump());
  std::unique_ptr<Tokenizer> tok;
  Status st = Tokenizer::load(path, &tok);
  if (status)
    *status = st;
  else
    EXPECT_TRUE(st.ok()) << st.message();
  return tok;
}

Tokens encode(const Tokenizer& tok, std::string_view text, EncodeOptions opt = EncodeOptions()) {
  Encoding enc;
  Status st = tok.encode(text, opt, &enc);
  EXPECT_TRUE(st.ok()) << st.message();
  Tokens out;
  for (size_t i = 0; i < enc.ids.size(); ++i) {
    out.emplace_back(enc.ids[i], enc.offsets[i].first, enc.offsets[i].second);
  }
  return out;
}

// The normalized text in UTF-8 and each character's original range.
std::string text_of(const NormalizedString& s) {
  std::string out;
  for (const AlignedChar& a : s.chars) utf8_append(a.c, &out);
  return out;
}
std::vector<std::pair<uint32_t, uint32_t>> ranges_of(const NormalizedString& s) {
  std::vector<std::pair<uint32_t, uint32_t>> out;
  for (const AlignedChar& a : s.chars) out.emplace_back(a.begin, a.end);
  return out;
}
NormalizedString original(std::string_view text) {
  std::vector<char32_t> cps;
  size_t bad = 0;
  EXPECT_TRUE(utf8_decode(text, &cps, &bad));
  NormalizedString s;
  s.assign_original(cps, 0, cps.size());
  return s;
}

// --- UTF-8 -------------------------------------------------------------------------------------

TEST(TokenizerUnicode, Utf8RoundTrip) {
  const std::string text = "a\u00e9\u4e2d\U0001F600";
  std::vector<char32_t> cps;
  size_t bad = 0;
  ASSERT_TRUE(utf8_decode(text, &cps, &bad));
  EXPECT_EQ(cps, (std::vector<char32_t>{U'a', 0xE9, 0x4E2D, 0x1F600}));
  std::string back;
  for (char32_t c : cps) utf8_append(c, &back);
  EXPECT_EQ(back, text);
}

TEST(TokenizerUnicode, Utf8RejectsInvalidSequences) {
  const std::vector<std::pair<std::string, size_t>> bad_inputs = {
      {"ab\xff", 2},            // not a lead byte
      {"\xc0\x80", 0},          // overlong NUL
      {"x\xe0\x80\xaf", 1},     // overlong '/'
      {"\xed\xa0\x80", 0},      // surrogate U+D800
      {"\xf4\x90\x80\x80", 0},  // above U+10FFFF
      {"ok\xe4\xb8", 2},        // truncated
      {"\xe4\x41\x80", 0},      // bad continuation byte
      {"\x80", 0},              // stray continuation byte
  };
  for (const auto& [text, offset] : bad_inputs) {
    std::vector<char32_t> cps;
    size_t bad = 99;
    EXPECT_FALSE(utf8_decode(text, &cps, &bad)) << "input at " << offset;
    EXPECT_EQ(bad, offset);
  }
}

TEST(TokenizerUnicode, CharacterClassesOfHf) {
  EXPECT_TRUE(is_clean_text_removed(0x0));
  EXPECT_TRUE(is_clean_text_removed(0xFFFD));
  EXPECT_TRUE(is_clean_text_removed(0x200B));  // Cf
  EXPECT_TRUE(is_clean_text_removed(0xE000));  // Co
  EXPECT_FALSE(is_clean_text_removed('\t'));
  EXPECT_FALSE(is_clean_text_removed(0x0890));  // Cf, but newer than HF's tables
  EXPECT_TRUE(is_bert_punctuation('$'));        // ASCII punctuation although Sc
  EXPECT_TRUE(is_bert_punctuation(0x3002));     // ideographic full stop
  EXPECT_TRUE(is_bert_punctuation(0x166D));     // Po in HF's tables, So today
  EXPECT_FALSE(is_bert_punctuation(0x061D));    // Po since Unicode 14, unknown to HF
  EXPECT_TRUE(is_whitespace(0x3000));
  EXPECT_FALSE(is_whitespace(0x200B));
  EXPECT_TRUE(is_nonspacing_mark(0x0301));
  EXPECT_FALSE(is_nonspacing_mark(0x0903));  // Mc
  char32_t d[kMaxDecomposition];
  ASSERT_EQ(canonical_decompose(0x1E69, d), 3);  // s with dot below and dot above
  EXPECT_EQ(d[0], U's');
  EXPECT_EQ(d[1], 0x0323u);
  EXPECT_EQ(d[2], 0x0307u);
  EXPECT_EQ(canonical_decompose(0xFB01, d), 1);  // ligature: compatibility only
  char32_t lower[kMaxLowercase];
  ASSERT_EQ(to_lowercase(0x0130, lower), 2);
  EXPECT_EQ(lower[0], U'i');
  EXPECT_EQ(lower[1], 0x0307u);
  ASSERT_EQ(to_lowercase(0x1E9E, lower), 1);
  EXPECT_EQ(lower[0], 0xDFu);
}

// --- NormalizedString and normalizers ------------------------------------------------------------

TEST(TokenizerNormalizer, NfdAlignsReorderedMarksByPosition) {
  // é + dot below -> e, U+0323, U+0301: the dot below takes position 1, the acute is inserted
  // after it (peer: the piece "##\u0323\u0301" has offsets (1, 2)).
  NormalizedString s = original("\u00e9\u0323");
  s.nfd();
  EXPECT_EQ(text_of(s), "e\u0323\u0301");
  EXPECT_EQ(ranges_of(s), (std::vector<std::pair<uint32_t, uint32_t>>{{0, 1}, {1, 2}, {1, 2}}));
}

TEST(TokenizerNormalizer, BertNormalizerCleansPadsStripsAndLowercases) {
  std::unique_ptr<Normalizer> n = make_bert_normalizer(BertNormalizerOptions());
  NormalizedString s = original(std::string("\u00c7a\0 va\t\u4e2d \u0130\u200b!", 18));
  n->normalize(&s);
  EXPECT_EQ(text_of(s), "ca va  \u4e2d  i!");  // peer's normalizeString
  EXPECT_EQ(ranges_of(s), (std::vector<std::pair<uint32_t, uint32_t>>{{0, 1},
                                                                      {1, 2},
                                                                      {3, 4},
                                                                      {4, 5},
                                                                      {5, 6},
                                                                      {6, 7},
                                                                      {7, 8},
                                                                      {7, 8},
                                                                      {7, 8},
                                                                      {8, 9},
                                                                      {9, 10},
                                                                      {11, 12}}));
}

TEST(TokenizerNormalizer, LowercaseExpandsDottedCapitalI) {
  std::unique_ptr<Normalizer> n;
  ASSERT_TRUE(normalizer_from_json(nlohmann::json{{"type", "Lowercase"}}, &n).ok());
  NormalizedString s = original("\u0130x");
  n->normalize(&s);
  EXPECT_EQ(text_of(s), "i\u0307x");
  EXPECT_EQ(ranges_of(s), (std::vector<std::pair<uint32_t, uint32_t>>{{0, 1}, {0, 1}, {1, 2}}));
}

TEST(TokenizerNormalizer, SequenceAppliesInOrderAndRejectsUnknownTypes) {
  std::unique_ptr<Normalizer> n;
  nlohmann::json seq = {
      {"type", "Sequence"},
      {"normalizers",
       {{{"type", "Lowercase"}}, {{"type", "BertNormalizer"}, {"lowercase", false}}}}};
  ASSERT_TRUE(normalizer_from_json(seq, &n).ok());
  NormalizedString s = original("\u00c9T\u00c9");
  n->normalize(&s);
  EXPECT_EQ(text_of(s), "\u00e9t\u00e9");  // strip_accents follows lowercase (false) here
  EXPECT_EQ(n->describe(),
            "Sequence[Lowercase, BertNormalizer(clean_text, chinese_chars, keep accents, cased)]");

  seq["normalizers"][1]["type"] = "NFKQ";
  Status st = normalizer_from_json(seq, &n);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("normalizers[1]"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("\"NFKQ\" is not supported"), std::string::npos) << st.message();
}

// --- pre-tokenizer -------------------------------------------------------------------------------

TEST(TokenizerPreTokenizer, BertSplitsWhitespaceAndIsolatesPunctuation) {
  PreTokenizedString pt;
  pt.text = original("Hello, world!  foo");
  pt.splits.push_back({0, static_cast<uint32_t>(pt.text.chars.size()), -1});
  make_bert_pre_tokenizer()->pre_tokenize(&pt);
  std::vector<std::pair<uint32_t, uint32_t>> words;
  for (const Split& s : pt.splits) words.emplace_back(s.begin, s.end);
  // peer: Hello (0,5) , (5,6) world (7,12) ! (12,13) foo (15,18)
  EXPECT_EQ(words, (std::vector<std::pair<uint32_t, uint32_t>>{
                       {0, 5}, {5, 6}, {7, 12}, {12, 13}, {15, 18}}));
}

// --- WordPiece, accents, CJK ---------------------------------------------------------------------

TEST(TokenizerWordPiece, GreedyLongestMatchWithContinuations) {
  test::TempDir dir;
  auto tok = load_json(tiny_tokenizer(), dir);
  EXPECT_EQ(encode(*tok, "Hello, World!"),
            (Tokens{{2, 0, 0}, {5, 0, 5}, {12, 5, 6}, {6, 7, 12}, {11, 12, 13}, {3, 0, 0}}));
  EXPECT_EQ(encode(*tok, "unaffable"),
            (Tokens{{2, 0, 0}, {7, 0, 2}, {8, 2, 5}, {9, 5, 9}, {3, 0, 0}}));
  EXPECT_EQ(encode(*tok, "helloxx"),
            (Tokens{{2, 0, 0}, {5, 0, 5}, {22, 5, 6}, {22, 6, 7}, {3, 0, 0}}));
  EXPECT_EQ(encode(*tok, "axe"),
            (Tokens{{2, 0, 0}, {18, 0, 1}, {22, 1, 2}, {24, 2, 3}, {3, 0, 0}}));
}

TEST(TokenizerWordPiece, UnknownWordsAndOverlongWordsBecomeOneUnk) {
  test::TempDir dir;
  auto tok = load_json(tiny_tokenizer(), dir);
  EXPECT_EQ(encode(*tok, "qqq"), (Tokens{{2, 0, 0}, {1, 0, 3}, {3, 0, 0}}));
  EXPECT_EQ(encode(*tok, "helloxq"), (Tokens{{2, 0, 0}, {1, 0, 7}, {3, 0, 0}}));
  // 10 characters > max_input_chars_per_word (9), although "hello" + "##hello" would not match
  // either; "helloxxxx" (9) is still split.
  EXPECT_EQ(encode(*tok, "hellohello"), (Tokens{{2, 0, 0}, {1, 0, 10}, {3, 0, 0}}));
  EXPECT_EQ(
      encode(*tok, "helloxxxx"),
      (Tokens{{2, 0, 0}, {5, 0, 5}, {22, 5, 6}, {22, 6, 7}, {22, 7, 8}, {22, 8, 9}, {3, 0, 0}}));
}

TEST(TokenizerWordPiece, AccentsCjkAndTurkishI) {
  test::TempDir dir;
  auto tok = load_json(tiny_tokenizer(), dir);
  EXPECT_EQ(encode(*tok, "Caf\u00e9"), (Tokens{{2, 0, 0}, {10, 0, 4}, {3, 0, 0}}));
  EXPECT_EQ(encode(*tok, "\u00c0XE"),
            (Tokens{{2, 0, 0}, {18, 0, 1}, {22, 1, 2}, {24, 2, 3}, {3, 0, 0}}));
  EXPECT_EQ(encode(*tok, "\u4e2d\u6587a"),
            (Tokens{{2, 0, 0}, {13, 0, 1}, {14, 1, 2}, {18, 2, 3}, {3, 0, 0}}));
  EXPECT_EQ(encode(*tok, "\u0130stanbul"), (Tokens{{2, 0, 0}, {16, 0, 8}, {3, 0, 0}}));
  // Removed characters leave gaps in the offsets; tabs and newlines separate words.
  EXPECT_EQ(encode(*tok, std::string("x\0x\u200bx", 7)),
            (Tokens{{2, 0, 0}, {21, 0, 1}, {22, 2, 3}, {22, 4, 5}, {3, 0, 0}}));
  EXPECT_EQ(encode(*tok, "a\tb\nc"),
            (Tokens{{2, 0, 0}, {18, 0, 1}, {1, 2, 3}, {1, 4, 5}, {3, 0, 0}}));
  EXPECT_EQ(encode(*tok, "\ufffd"), (Tokens{{2, 0, 0}, {3, 0, 0}}));
  EXPECT_EQ(encode(*tok, ""), (Tokens{{2, 0, 0}, {3, 0, 0}}));
  EXPECT_EQ(encode(*tok, "  "), (Tokens{{2, 0, 0}, {3, 0, 0}}));
}

TEST(TokenizerWordPiece, MissingUnknownTokenIsAnErrorWhenNeeded) {
  test::TempDir dir;
  nlohmann::json j = tiny_tokenizer();
  j["model"]["unk_token"] = "[NOPE]";
  auto tok = load_json(j, dir);
  EXPECT_EQ(encode(*tok, "hello"), (Tokens{{2, 0, 0}, {5, 0, 5}, {3, 0, 0}}));
  Encoding enc;
  Status st = tok->encode("qqq", EncodeOptions(), &enc);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("[NOPE]"), std::string::npos) << st.message();
}

// --- added tokens --------------------------------------------------------------------------------

TEST(TokenizerAddedTokens, MatchedBeforeTheModel) {
  test::TempDir dir;
  auto tok = load_json(tiny_tokenizer(), dir);
  EXPECT_EQ(encode(*tok, "hello [MASK] world"),
            (Tokens{{2, 0, 0}, {5, 0, 5}, {4, 6, 12}, {6, 13, 18}, {3, 0, 0}}));
  EXPECT_EQ(encode(*tok, "x [CLS]"), (Tokens{{2, 0, 0}, {21, 0, 1}, {2, 2, 7}, {3, 0, 0}}));
  // normalized == false: "[mask]" is not [MASK]
  EXPECT_EQ(
      encode(*tok, "ok [mask] ok"),
      (Tokens{{2, 0, 0}, {28, 0, 2}, {25, 3, 4}, {27, 4, 8}, {26, 8, 9}, {28, 10, 12}, {3, 0, 0}}));
}

TEST(TokenizerAddedTokens, SingleWordAndStripOptions) {
  test::TempDir dir;
  auto tok = load_json(tiny_tokenizer(), dir);
  // single_word: not inside a word
  EXPECT_EQ(
      encode(*tok, "a<tag>b"),
      (Tokens{{2, 0, 0}, {18, 0, 1}, {29, 1, 2}, {31, 2, 5}, {30, 5, 6}, {1, 6, 7}, {3, 0, 0}}));
  EXPECT_EQ(encode(*tok, "a <tag> b"),
            (Tokens{{2, 0, 0}, {18, 0, 1}, {32, 2, 7}, {1, 8, 9}, {3, 0, 0}}));
  // normalized "Yes" matches the lowercased text; lstrip/rstrip take the spaces around it
  EXPECT_EQ(encode(*tok, "ok YES ok"),
            (Tokens{{2, 0, 0}, {28, 0, 2}, {33, 2, 7}, {28, 7, 9}, {3, 0, 0}}));
  EXPECT_EQ(encode(*tok, "okyesok"),
            (Tokens{{2, 0, 0}, {28, 0, 2}, {33, 2, 5}, {28, 5, 7}, {3, 0, 0}}));
}

TEST(TokenizerAddedTokens, LeftmostLongestMatching) {
  test::TempDir dir;
  nlohmann::json j = tiny_tokenizer();
  for (const char* content : {"ab", "abc", "bcd"}) {
    j["added_tokens"].push_back({{"id", 0}, {"content", content}, {"special", false},
                                 {"normalized", false}, {"single_word", false},
                                 {"lstrip", false}, {"rstrip", false}});
  }
  auto tok = load_json(j, dir);  // new ids 34, 35, 36 follow the vocabulary and <tag>, Yes
  EncodeOptions plain;
  plain.add_special_tokens = false;
  EXPECT_EQ(encode(*tok, "xabcd", plain), (Tokens{{21, 0, 1}, {35, 1, 4}, {1, 4, 5}}));
  EXPECT_EQ(encode(*tok, "abcbcd", plain), (Tokens{{35, 0, 3}, {36, 3, 6}}));
  EXPECT_EQ(encode(*tok, "zbcd ab", plain), (Tokens{{1, 0, 1}, {36, 1, 4}, {34, 5, 7}}));
  EXPECT_EQ(encode(*tok, "abab", plain), (Tokens{{34, 0, 2}, {34, 2, 4}}));
}

TEST(TokenizerAddedTokens, VocabularyIncludesNewAddedTokens) {
  test::TempDir dir;
  auto tok = load_json(tiny_tokenizer(), dir);
  EXPECT_EQ(tok->vocab_size(), 34u);
  EXPECT_EQ(tok->token_to_id("<tag>"), 32);
  EXPECT_EQ(tok->token_to_id("##aff"), 8);
  EXPECT_EQ(tok->token_to_id("missing"), -1);
  EXPECT_EQ(tok->id_to_token(33), "Yes");
  EXPECT_EQ(tok->id_to_token(9), "##able");
  EXPECT_EQ(tok->id_to_token(99), "");
  EXPECT_EQ(tok->num_special_tokens_to_add(), 2);
  EXPECT_NE(tok->describe().find("WordPiece (vocab 32"), std::string::npos) << tok->describe();
}

// --- post-processing and truncation
// ----------------------------------------------------------------

TEST(TokenizerPostProcessor, TemplateTypeIdsMaskAndMultiIdSpecials) {
  test::TempDir dir;
  nlohmann::json j = tiny_tokenizer();
  j["post_processor"] = nlohmann::json::parse(R"({"type": "TemplateProcessing",
      "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 1}},
                 {"Sequence": {"id": "A", "type_id": 2}},
                 {"SpecialToken": {"id": "<s2>", "type_id": 3}}],
      "pair": [],
      "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                         "<s2>": {"id": "<s2>", "ids": [3, 4], "tokens": ["[SEP]", "[MASK]"]}}})");
  auto tok = load_json(j, dir);
  EXPECT_EQ(tok->num_special_tokens_to_add(), 3);
  Encoding enc;
  ASSERT_TRUE(tok->encode("Hello, World!", EncodeOptions(), &enc).ok());
  EXPECT_EQ(enc.ids, (std::vector<int32_t>{2, 5, 12, 6, 11, 3, 4}));
  EXPECT_EQ(enc.type_ids, (std::vector<int32_t>{1, 2, 2, 2, 2, 3, 3}));
  EXPECT_EQ(enc.special_tokens_mask, (std::vector<uint8_t>{1, 0, 0, 0, 0, 1, 1}));
  EncodeOptions plain;
  plain.add_special_tokens = false;
  ASSERT_TRUE(tok->encode("Hello, World!", plain, &enc).ok());
  EXPECT_EQ(enc.ids, (std::vector<int32_t>{5, 12, 6, 11}));
  EXPECT_EQ(enc.type_ids, (std::vector<int32_t>{2, 2, 2, 2}));  // the peer keeps $A's type id
  EXPECT_EQ(enc.special_tokens_mask, (std::vector<uint8_t>{0, 0, 0, 0}));
}

TEST(TokenizerPostProcessor, BertProcessing) {
  test::TempDir dir;
  nlohmann::json j = tiny_tokenizer();
  j["post_processor"] = {{"type", "BertProcessing"}, {"sep", {"[SEP]", 3}}, {"cls", {"[CLS]", 2}}};
  auto tok = load_json(j, dir);
  EXPECT_EQ(encode(*tok, "hello"), (Tokens{{2, 0, 0}, {5, 0, 5}, {3, 0, 0}}));
  EncodeOptions plain;
  plain.add_special_tokens = false;
  EXPECT_EQ(encode(*tok, "hello", plain), (Tokens{{5, 0, 5}}));
}

TEST(TokenizerTruncation, OptionsOverrideAndCountSpecialTokens) {
  test::TempDir dir;
  auto tok = load_json(tiny_tokenizer(), dir);
  EncodeOptions opt;
  opt.max_length = 4;
  EXPECT_EQ(encode(*tok, "Hello, World!", opt),
            (Tokens{{2, 0, 0}, {5, 0, 5}, {12, 5, 6}, {3, 0, 0}}));
  opt.add_special_tokens = false;
  EXPECT_EQ(encode(*tok, "Hello, World!", opt),
            (Tokens{{5, 0, 5}, {12, 5, 6}, {6, 7, 12}, {11, 12, 13}}));
  opt = EncodeOptions();
  opt.max_length = 2;
  EXPECT_EQ(encode(*tok, "Hello, World!", opt), (Tokens{{2, 0, 0}, {3, 0, 0}}));
  opt.max_length = 1;  // below the special tokens' count: the peer keeps 1 token of text
  EXPECT_EQ(encode(*tok, "Hello, World!", opt), (Tokens{{2, 0, 0}, {5, 0, 5}, {3, 0, 0}}));
}

TEST(TokenizerTruncation, FileTruncationLeftAndDisabled) {
  test::TempDir dir;
  nlohmann::json j = tiny_tokenizer();
  j["truncation"] = {
      {"direction", "Left"}, {"max_length", 5}, {"strategy", "LongestFirst"}, {"stride", 0}};
  auto tok = load_json(j, dir);
  EXPECT_EQ(encode(*tok, "Hello, World!"),
            (Tokens{{2, 0, 0}, {12, 5, 6}, {6, 7, 12}, {11, 12, 13}, {3, 0, 0}}));
  EncodeOptions off;
  off.max_length = 0;
  EXPECT_EQ(encode(*tok, "Hello, World!", off).size(), 6u);
  EncodeOptions longer;
  longer.max_length = 6;  // overrides the length, keeps the direction
  EXPECT_EQ(encode(*tok, "Hello, World! x", longer),
            (Tokens{{2, 0, 0}, {12, 5, 6}, {6, 7, 12}, {11, 12, 13}, {21, 14, 15}, {3, 0, 0}}));
}

// --- errors and loading
// ----------------------------------------------------------------------------

TEST(TokenizerErrors, InvalidUtf8InTextIsAnError) {
  test::TempDir dir;
  auto tok = load_json(tiny_tokenizer(), dir);
  Encoding enc;
  Status st = tok->encode("hello \xff world", EncodeOptions(), &enc);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("invalid UTF-8 at byte 6"), std::string::npos) << st.message();

  std::vector<Encoding> batch;
  st = tok->encode_batch({"fine", "bad \xc0\x80", "also \xff bad"}, EncodeOptions(), &batch);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message().rfind("text 2: ", 0), 0u) << st.message();
}

TEST(TokenizerErrors, BatchEqualsSingleEncodes) {
  test::TempDir dir;
  auto tok = load_json(tiny_tokenizer(), dir);
  std::vector<std::string> texts;
  for (int i = 0; i < 200; ++i)
    texts.push_back(i % 3 ? "hello [MASK] world " + std::to_string(i) : "Caf\u00e9 \u4e2d");
  std::vector<Encoding> batch;
  ASSERT_TRUE(tok->encode_batch(texts, EncodeOptions(), &batch).ok());
  ASSERT_EQ(batch.size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    Encoding one;
    ASSERT_TRUE(tok->encode(texts[i], EncodeOptions(), &one).ok());
    EXPECT_EQ(batch[i].ids, one.ids);
    EXPECT_EQ(batch[i].offsets, one.offsets);
  }
}

TEST(TokenizerErrors, MissingCorruptAndUnsupportedFilesNameTheFile) {
  test::TempDir dir;
  std::unique_ptr<Tokenizer> tok;
  Status st = Tokenizer::load(dir.file("nope.json"), &tok);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find(dir.file("nope.json")), std::string::npos) << st.message();

  st = Tokenizer::load(dir.path(), &tok);  // a directory without tokenizer files
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("no tokenizer.json or vocab.txt"), std::string::npos) << st.message();

  const std::string corrupt = dir.file("tokenizer.json");
  test::write_text(corrupt, "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0,");
  st = Tokenizer::load(corrupt, &tok);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message().rfind(corrupt + ": not valid JSON", 0), 0u) << st.message();

  nlohmann::json j = tiny_tokenizer();
  j["normalizer"] = {{"type", "Compiled"}};
  load_json(j, dir, &st);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), corrupt +
                              ": normalizer type \"Compiled\" is not supported "
                              "(supported: BertNormalizer, ByteLevel, Lowercase, NFC, NFD, NFKC, "
                              "NFKD, Precompiled, Prepend, Replace, Sequence, Strip, StripAccents)");

  j = tiny_tokenizer();
  j["model"]["type"] = "Foo";
  load_json(j, dir, &st);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("model type \"Foo\" is not supported"), std::string::npos)
      << st.message();

  j = tiny_tokenizer();
  j["pre_tokenizer"] = {{"type", "ByteLevels"}};
  load_json(j, dir, &st);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("pre_tokenizer type \"ByteLevels\" is not supported (supported: BertPreTokenizer, ByteLevel"), std::string::npos)
      << st.message();

  j = tiny_tokenizer();
  j["model"]["max_input_chars_per_word"] = "many";
  load_json(j, dir, &st);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("max_input_chars_per_word"), std::string::npos) << st.message();
}

TEST(TokenizerVocabTxt, BuildsBertTokenizerFastEquivalent) {
  test::TempDir dir;
  test::write_text(dir.file("vocab.txt"),
                   "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nHello\n##s\ncaf\u00e9\ncafe\n!\r\n");
  std::unique_ptr<Tokenizer> tok;
  ASSERT_TRUE(Tokenizer::load(dir.path(), &tok).ok());  // a directory with only vocab.txt
  EXPECT_EQ(tok->source_path(), dir.file("vocab.txt"));
  EXPECT_EQ(tok->vocab_size(), 11u);
  EXPECT_EQ(tok->token_to_id("!"), 10);  // CRLF line ending stripped
  // Uncased by default: lowercase and strip accents.
  EXPECT_EQ(
      encode(*tok, "Hellos Caf\u00e9! [MASK]"),
      (Tokens{{2, 0, 0}, {5, 0, 5}, {7, 5, 6}, {9, 7, 11}, {10, 11, 12}, {4, 13, 19}, {3, 0, 0}}));

  // tokenizer_config.json: cased, accents kept.
  test::write_text(dir.file("tokenizer_config.json"),
                   R"({"do_lower_case": false, "unk_token": "[UNK]"})");
  ASSERT_TRUE(Tokenizer::load(dir.file("vocab.txt"), &tok).ok());
  EXPECT_EQ(
      encode(*tok, "Hellos Caf\u00e9! hello"),
      (Tokens{{2, 0, 0}, {6, 0, 5}, {7, 5, 6}, {1, 7, 11}, {10, 11, 12}, {5, 13, 18}, {3, 0, 0}}));
}

// --- a real model (shared data) ------------------------------------------------------------------

TEST(TokenizerRealModel, MiniLmMaskAccentsCjkTurkish) {
  if (test::skip_without_shared()) GTEST_SKIP() << "no shared data";
  std::unique_ptr<Tokenizer> tok;
  Status st = Tokenizer::load(
      test::shared_dir() + "/data/tokenizers/sentence-transformers__all-MiniLM-L6-v2", &tok);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(encode(*tok, "hello [MASK] world"),
            (Tokens{{101, 0, 0}, {7592, 0, 5}, {103, 6, 12}, {2088, 13, 18}, {102, 0, 0}}));
  EXPECT_EQ(encode(*tok, "\u6211\u60f3\u5728apple\u5de5\u4f5c"), (Tokens{{101, 0, 0},
                                                                         {1855, 0, 1},
                                                                         {100, 1, 2},
                                                                         {100, 2, 3},
                                                                         {6207, 3, 8},
                                                                         {100, 8, 9},
                                                                         {100, 9, 10},
                                                                         {102, 0, 0}}));
  EXPECT_EQ(encode(*tok, "\u0130stanbul DIYARBAKIR"), (Tokens{{101, 0, 0},
                                                              {9960, 0, 8},
                                                              {4487, 9, 11},
                                                              {13380, 11, 14},
                                                              {3676, 14, 16},
                                                              {23630, 16, 19},
                                                              {102, 0, 0}}));
  EXPECT_EQ(
      encode(*tok, "Caf\u00e9 d\u00e9j\u00e0 vu"),
      (Tokens{
          {101, 0, 0}, {7668, 0, 4}, {2139, 5, 7}, {3900, 7, 9}, {24728, 10, 12}, {102, 0, 0}}));
  EXPECT_EQ(
      encode(*tok, std::string("e\u0301\u0323 x\0y\u200bz \ufffd", 18)),
      (Tokens{{101, 0, 0}, {1041, 0, 1}, {1060, 4, 5}, {2100, 6, 7}, {2480, 8, 9}, {102, 0, 0}}));
  EXPECT_EQ(tok->num_special_tokens_to_add(), 2);
  EXPECT_EQ(tok->vocab_size(), 30522u);
}

}  // namespace
}  // namespace embtune
