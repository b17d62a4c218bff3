// Parity of each normalizer type (NFD, NFKD, NFC, NFKC, StripAccents, Strip, Replace, Prepend,
// Precompiled, ByteLevel, Sequence) with HF tokenizers over tests/data/tokenizer_corpus.txt, and
// unit tests of OnigRegex. Not a test of the other stages: every tokenizer here pairs the
// normalizer with BertPreTokenizer and a WordPiece vocabulary of single characters.
#include <gtest/gtest.h>
#include <utf8proc.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "core/utf8.h"
#include "test_util.h"
#include "tokenizer_peer.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/onig_regex.h"
#include "tokenizer/regex_tables.h"
#include "tokenizer/tokenizer.h"

namespace embtune {
namespace {

namespace fs = std::filesystem;

// --- OnigRegex -----------------------------------------------------------------------------------

std::vector<std::string> match_texts(const OnigRegex& re, const std::string& text) {
  std::vector<std::pair<size_t, size_t>> m;
  re.find_all(text, &m);
  std::vector<std::string> out;
  for (const auto& [b, e] : m) out.push_back(text.substr(b, e - b));
  return out;
}

std::unique_ptr<OnigRegex> compile_ok(const std::string& pattern) {
  std::unique_ptr<OnigRegex> re;
  Status st = OnigRegex::compile(pattern, &re);
  EXPECT_TRUE(st.ok()) << st.message();
  return re;
}

TEST(OnigRegex, EmptyMatchesAdvanceOneCharacterAsTheOnigCrate) {
  auto re = compile_ok("x*");
  std::vector<std::pair<size_t, size_t>> m;
  re->find_all("axb", &m);
  // (1,1) and (2,2) are skipped: an empty match where the last match ended is not accepted.
  std::vector<std::pair<size_t, size_t>> expected = {{0, 0}, {1, 2}, {3, 3}};
  EXPECT_EQ(m, expected);
  re->find_all("", &m);
  expected = {{0, 0}};
  EXPECT_EQ(m, expected);
  // A multi-byte character is stepped over whole.
  re->find_all("\u00e9", &m);
  expected = {{0, 0}, {2, 2}};
  EXPECT_EQ(m, expected);
}

TEST(OnigRegex, UnicodeClasses) {
  auto re = compile_ok("\\p{L}+");
  EXPECT_EQ(match_texts(*re, "h\u00e9llo w\u00f6rld 123 \u65e5\u672c"),
            (std::vector<std::string>{"h\u00e9llo", "w\u00f6rld", "\u65e5\u672c"}));
  auto digits = compile_ok("\\p{N}+");
  EXPECT_EQ(match_texts(*digits, "a1\u0661\u0662b\u00b3"),
            (std::vector<std::string>{"1\u0661\u0662", "\u00b3"}));
}

TEST(OnigRegex, Gpt2PatternOnMixedText) {
  auto re = compile_ok(
      "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+");
  EXPECT_EQ(match_texts(*re, "Hello world's 123  ok!?"),
            (std::vector<std::string>{"Hello", " world", "'s", " 123", " ", " ok", "!?"}));
  EXPECT_EQ(match_texts(*re, "H\u00e9llo \u65e5\u672c\u8a9e \u0661\u0662\u0663 I'm  \n"),
            (std::vector<std::string>{"H\u00e9llo", " \u65e5\u672c\u8a9e", " \u0661\u0662\u0663",
                                      " I", "'m", "  \n"}));
}

TEST(OnigRegex, BadPatternErrorNamesThePattern) {
  std::unique_ptr<OnigRegex> re;
  Status st = OnigRegex::compile("(ab", &re);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("\"(ab\""), std::string::npos) << st.message();
  EXPECT_EQ(re, nullptr);
}

TEST(OnigRegex, PropertyEscapesAreSpelledAsHfRanges) {
  // Outside a bracket expression an escape becomes one; inside, a positive class is spliced in
  // and a negated one nested; escaped backslashes, other escapes and unknown names stay.
  EXPECT_EQ(with_hf_unicode_classes("\\p{Zl}+"), "[\\x{2028}]+");
  EXPECT_EQ(with_hf_unicode_classes("\\P{Zp}"), "[^\\x{2029}]");
  EXPECT_EQ(with_hf_unicode_classes("\\p{^Zp}"), "[^\\x{2029}]");
  EXPECT_EQ(with_hf_unicode_classes("\\P{^Zp}"), "[\\x{2029}]");
  EXPECT_EQ(with_hf_unicode_classes("[a\\p{Zl}b]"), "[a\\x{2028}b]");
  EXPECT_EQ(with_hf_unicode_classes("[^a\\p{Zl}]"), "[^a\\x{2028}]");
  EXPECT_EQ(with_hf_unicode_classes("[a\\P{Zl}]"), "[a[^\\x{2028}]]");
  EXPECT_EQ(with_hf_unicode_classes("\\p{Line_Separator}\\p{line separator}"),
            "[\\x{2028}][\\x{2028}]");
  EXPECT_EQ(with_hf_unicode_classes("\\\\p{Zl}"), "\\\\p{Zl}");
  EXPECT_EQ(with_hf_unicode_classes("\\p{Emoji}\\x{41}\\b"), "\\p{Emoji}\\x{41}\\b");
  EXPECT_EQ(with_hf_unicode_classes("[]\\p{Zl}]"), "[]\\x{2028}]");
  EXPECT_EQ(with_hf_unicode_classes("\\p{Zl"), "\\p{Zl");
  // \s and \S, \w and \W, \d and \D all become ranges (upper case negated).
  EXPECT_EQ(with_hf_unicode_classes("\\s").rfind("[\\x{9}-\\x{D}\\x{20}", 0), 0u);
  EXPECT_EQ(with_hf_unicode_classes("\\S").rfind("[^\\x{9}-\\x{D}\\x{20}", 0), 0u);
  EXPECT_EQ(with_hf_unicode_classes("\\d").rfind("[\\x{30}-\\x{39}\\x{660}-\\x{669}", 0), 0u);
}

// Every table, spelled into a pattern and run by libonig over all code points, matches exactly
// the table's code points: the rewriting makes Debian's libonig see HF's Unicode.
TEST(OnigRegex, EveryPropertyTableMatchesExactlyItsCodePoints) {
  std::string all;
  std::vector<char32_t> cps;
  for (char32_t c = 1; c <= 0x10FFFF; ++c) {
    if (c >= 0xD800 && c <= 0xDFFF) continue;
    utf8_append(c, &all);
    cps.push_back(c);
  }
  std::vector<size_t> byte_of(cps.size() + 1, 0);
  for (size_t i = 0, b = 0; i < cps.size(); ++i) {
    byte_of[i] = b;
    b += cps[i] < 0x80 ? 1 : cps[i] < 0x800 ? 2 : cps[i] < 0x10000 ? 3 : 4;
    byte_of[i + 1] = b;
  }
  int tables = 0;
  for (const RegexClassTable& t : hf_regex_classes_table()) {
    const std::string name = t.name;
    const std::string pattern = name[0] == '\\' ? name : "\\p{" + name + "}";
    auto re = compile_ok(pattern);
    ASSERT_NE(re, nullptr) << pattern;
    std::vector<std::pair<size_t, size_t>> m;
    re->find_all(all, &m);
    std::vector<char32_t> matched;
    size_t i = 0;
    for (const auto& [b, e] : m) {
      while (byte_of[i] < b) ++i;
      ASSERT_EQ(byte_of[i + 1], e) << pattern << " matched more than one character";
      matched.push_back(cps[i]);
    }
    std::vector<char32_t> expected;
    for (const CodepointRange& r : t.ranges) {
      for (char32_t c = std::max<char32_t>(r.first, 1); c <= r.last; ++c) expected.push_back(c);
    }
    EXPECT_EQ(matched, expected) << pattern;
    ++tables;
  }
  EXPECT_GE(tables, 40);
}

TEST(OnigRegex, ConcurrentSearchesAgree) {
  auto re = compile_ok(" ?\\p{L}+| ?\\p{N}+|\\s+");
  const std::string text = "alpha 12 \u03b2\u03b7\u03c4\u03b1  gamma 345 \u0434\u0435\u043b\u044c\u0442\u0430";
  const std::vector<std::string> expected = match_texts(*re, text);
  std::vector<std::thread> threads;
  std::vector<int> same(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < 200; ++k) same[t] += match_texts(*re, text) == expected;
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 8; ++t) EXPECT_EQ(same[t], 200);
}

// --- parity --------------------------------------------------------------------------------------

std::vector<std::string> read_corpus() { return test::read_tokenizer_corpus(); }

// Every character of the corpus, with its NFKD pieces, the GPT-2 byte stand-ins and `extra`.
std::vector<std::string> vocabulary_characters(const std::string& extra) {
  std::set<char32_t> chars;
  auto add_text = [&](const std::string& text) {
    std::vector<char32_t> cps;
    size_t bad = 0;
    if (!utf8_decode(text, &cps, &bad)) return;
    for (char32_t c : cps) {
      chars.insert(c);
      utf8proc_int32_t buf[32];
      int boundclass = 0;
      utf8proc_ssize_t n = utf8proc_decompose_char(
          static_cast<utf8proc_int32_t>(c), buf, 32,
          static_cast<utf8proc_option_t>(UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT), &boundclass);
      for (utf8proc_ssize_t k = 0; k < n && k < 32; ++k) chars.insert(static_cast<char32_t>(buf[k]));
    }
  };
  for (const std::string& line : read_corpus()) add_text(line);
  add_text(extra);
  for (char32_t c = 0x21; c < 0x17F; ++c) chars.insert(c);
  std::vector<std::string> out;
  for (char32_t c : chars) {
    if (c == 0 || (c >= 0xD800 && c <= 0xDFFF)) continue;
    std::string s;
    utf8_append(c, &s);
    out.push_back(s);
  }
  return out;
}

// A tokenizer.json with `normalizer`, BertPreTokenizer, a WordPiece vocabulary of single
// characters (and their ## continuations) and BertProcessing.
nlohmann::json tokenizer_with(const nlohmann::json& normalizer, const std::string& extra_chars) {
  nlohmann::json vocab = nlohmann::json::object();
  int id = 0;
  for (const char* special : {"[PAD]", "[UNK]", "[CLS]", "[SEP]"}) vocab[special] = id++;
  for (const std::string& c : vocabulary_characters(extra_chars)) {
    if (!vocab.contains(c)) vocab[c] = id++;
    if (!vocab.contains("##" + c)) vocab["##" + c] = id++;
  }
  nlohmann::json j = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", nlohmann::json::array()},
      {"normalizer", normalizer},
      {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
      {"post_processor",
       {{"type", "BertProcessing"},
        {"sep", nlohmann::json::array({"[SEP]", 3})},
        {"cls", nlohmann::json::array({"[CLS]", 2})}}},
      {"decoder", nullptr},
      {"model",
       {{"type", "WordPiece"},
        {"unk_token", "[UNK]"},
        {"continuing_subword_prefix", "##"},
        {"max_input_chars_per_word", 2000},
        {"vocab", vocab}}}};
  return j;
}

// Adds the tokenizer with `normalizer` to `checks`: the corpus encoded by ours and the peer.
void add_normalizer_parity(test::CorpusParityChecks* checks, const std::string& name,
                           const nlohmann::json& normalizer, const std::string& extra_chars = "") {
  checks->add(tokenizer_with(normalizer, extra_chars), "normalizer " + name);
}

nlohmann::json type_only(const char* type) { return {{"type", type}}; }

nlohmann::json sequence(std::initializer_list<nlohmann::json> steps) {
  nlohmann::json list = nlohmann::json::array();
  for (const nlohmann::json& step : steps) list.push_back(step);
  return {{"type", "Sequence"}, {"normalizers", list}};
}

nlohmann::json replace(const char* kind, const std::string& pattern, const std::string& content) {
  return {{"type", "Replace"}, {"pattern", {{kind, pattern}}}, {"content", content}};
}

// The normalizer of a tokenizer.json in shared/data/tokenizers-extra.
nlohmann::json extra_normalizer(const std::string& model) {
  const std::string path = test::shared_dir() + "/data/tokenizers-extra/" + model + "/tokenizer.json";
  return nlohmann::json::parse(test::read_text(path)).at("normalizer");
}

TEST(NormalizerParity, UnicodeForms) {
  if (test::skip_without_peer()) GTEST_SKIP() << "no shared data or peer";
  test::CorpusParityChecks checks;
  for (const char* form : {"NFD", "NFKD", "NFC", "NFKC"}) {
    add_normalizer_parity(&checks, form, type_only(form));
  }
  add_normalizer_parity(&checks, "Lowercase+NFC",
                        sequence({type_only("Lowercase"), type_only("NFC")}));
  add_normalizer_parity(&checks, "NFD+NFC", sequence({type_only("NFD"), type_only("NFC")}));
  checks.check();
}

TEST(NormalizerParity, StripAccents) {
  if (test::skip_without_peer()) GTEST_SKIP() << "no shared data or peer";
  test::CorpusParityChecks checks;
  add_normalizer_parity(&checks, "StripAccents", type_only("StripAccents"));
  add_normalizer_parity(&checks, "NFKD+StripAccents",
                        sequence({type_only("NFKD"), type_only("StripAccents")}));
  checks.check();
}

TEST(NormalizerParity, Strip) {
  if (test::skip_without_peer()) GTEST_SKIP() << "no shared data or peer";
  test::CorpusParityChecks checks;
  add_normalizer_parity(&checks, "Strip",
                        {{"type", "Strip"}, {"strip_left", true}, {"strip_right", true}});
  add_normalizer_parity(&checks, "Strip(right)",
                        {{"type", "Strip"}, {"strip_left", false}, {"strip_right", true}});
  // Whitespace that is not at the edges of the raw line, so that stripping has work to do.
  add_normalizer_parity(
      &checks, "Prepend+Append-ish+Strip(left)",
      sequence({{{"type", "Prepend"}, {"prepend", " \u3000 "}},
                replace("Regex", "\\z", " \t "),
                {{"type", "Strip"}, {"strip_left", true}, {"strip_right", false}}}));
  add_normalizer_parity(
      &checks, "Replace-end+Strip",
      sequence({replace("Regex", "\\z", " \u00a0 "),
                {{"type", "Strip"}, {"strip_left", true}, {"strip_right", true}}}));
  checks.check();
}

TEST(NormalizerParity, Replace) {
  if (test::skip_without_peer()) GTEST_SKIP() << "no shared data or peer";
  test::CorpusParityChecks checks;
  add_normalizer_parity(&checks, "Replace(String)", replace("String", "``", "\""));
  add_normalizer_parity(&checks, "Replace(String,meta)", replace("String", ".", "[dot]"));
  add_normalizer_parity(&checks, "Replace(Regex spaces)", replace("Regex", "\\s+", "\u2581"),
                        "\u2581");
  add_normalizer_parity(&checks, "Replace(Regex vowels)",
                        replace("Regex", "[aeiou\u00e9]+", "\u00e4\u00df"));
  add_normalizer_parity(&checks, "Replace(Regex delete)", replace("Regex", "\\p{P}", ""));
  add_normalizer_parity(&checks, "Replace(Regex empty match)", replace("Regex", "x*", "-"));
  add_normalizer_parity(&checks, "Replace(Regex letters)", replace("Regex", "\\p{L}", "ab"));
  checks.check();
}

TEST(NormalizerParity, Prepend) {
  if (test::skip_without_peer()) GTEST_SKIP() << "no shared data or peer";
  test::CorpusParityChecks checks;
  add_normalizer_parity(&checks, "Prepend", {{"type", "Prepend"}, {"prepend", "\u2581"}}, "\u2581");
  add_normalizer_parity(&checks, "Prepend(long)", {{"type", "Prepend"}, {"prepend", "\u2581ab"}},
                        "\u2581");
  checks.check();
}

TEST(NormalizerParity, ByteLevel) {
  if (test::skip_without_peer()) GTEST_SKIP() << "no shared data or peer";
  test::CorpusParityChecks checks;
  add_normalizer_parity(&checks, "ByteLevel", type_only("ByteLevel"));
  checks.check();
}

TEST(NormalizerParity, PrecompiledFromRealFiles) {
  if (test::skip_without_peer()) GTEST_SKIP() << "no shared data or peer";
  test::CorpusParityChecks checks;
  // t5-small: the Precompiled normalizer alone.
  add_normalizer_parity(&checks, "t5-small Precompiled", extra_normalizer("google-t5__t5-small"));
  // paraphrase-albert-small-v2: Replace, NFKD, StripAccents, Lowercase, Precompiled.
  add_normalizer_parity(&checks, "albert Sequence",
                        extra_normalizer("sentence-transformers__paraphrase-albert-small-v2"));
  checks.check();
}

TEST(NormalizerFactory, UnknownTypeListsSupportedOnes) {
  std::unique_ptr<Normalizer> n;
  Status st = normalizer_from_json({{"type", "Nmt"}}, &n);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("\"Nmt\" is not supported"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("Precompiled"), std::string::npos) << st.message();
  st = normalizer_from_json(replace("Regex", "(", "x"), &n);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("Replace normalizer: regex \"(\""), std::string::npos)
      << st.message();
  st = normalizer_from_json({{"type", "Precompiled"}, {"precompiled_charsmap", "!!"}}, &n);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("base64"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace embtune
