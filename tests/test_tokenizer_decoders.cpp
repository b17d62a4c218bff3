// Tests of the decoder stage and the way back from ids to text: each decoder with exact strings
// (expected values as Hugging Face tokenizers 0.23.2 gives them), its configuration errors,
// Tokenizer::decode, parity with the npm peer (tests/peer/decode_peer.js) on every shared
// tokenizer.json and on synthetic decoders, and `embtune tokenize --decode`.
// Not a test of encoding: test_tokenizer_parity.cpp compares the ids themselves.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"
#include "tokenizer/decoder.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer_peer.h"

namespace embtune {
namespace {

using test::CommandResult;
using test::run_command;
using test::sh_quote;
using test::TempDir;

std::unique_ptr<Decoder> make_decoder(const std::string& json) {
  std::unique_ptr<Decoder> d;
  Status st = decoder_from_json(nlohmann::json::parse(json), &d);
  EXPECT_TRUE(st.ok()) << json << ": " << st.message();
  return d;
}

// decode_chain and join, as HF's Decoder::decode.
std::string decode(const std::string& json, const std::vector<std::string>& tokens) {
  std::unique_ptr<Decoder> d = make_decoder(json);
  if (!d) return "<no decoder>";
  std::string out;
  Status st = decoder_decode(*d, tokens, &out);
  EXPECT_TRUE(st.ok()) << json << ": " << st.message();
  return out;
}

std::vector<std::string> chain(const std::string& json, std::vector<std::string> tokens) {
  std::unique_ptr<Decoder> d = make_decoder(json);
  if (!d) return {};
  Status st = d->decode_chain(&tokens);
  EXPECT_TRUE(st.ok()) << json << ": " << st.message();
  return tokens;
}

// The error message of a configuration that must not load ("" if it loads).
std::string config_error(const std::string& json) {
  std::unique_ptr<Decoder> d;
  Status st = decoder_from_json(nlohmann::json::parse(json), &d);
  EXPECT_FALSE(st.ok()) << json << " loaded";
  return st.message();
}

std::vector<std::string> split_spaces(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string t;
  while (in >> t) out.push_back(t);
  return out;
}

TEST(Decoders, NullJsonGivesNoDecoder) {
  std::unique_ptr<Decoder> d = make_decoder("{\"type\":\"Fuse\"}");
  ASSERT_TRUE(decoder_from_json(nlohmann::json(), &d).ok());
  EXPECT_EQ(d, nullptr);
}

TEST(Decoders, UnknownTypeNamesItAndTheSupportedOnes) {
  const std::string m = config_error(R"({"type": "Nope"})");
  EXPECT_NE(m.find("\"Nope\""), std::string::npos) << m;
  EXPECT_NE(m.find("supported: BPEDecoder, ByteFallback, ByteLevel, CTC, Fuse, Metaspace, "
                   "Replace, Sequence, Strip, WordPiece"),
            std::string::npos)
      << m;
  EXPECT_NE(config_error(R"({"prefix": "##"})").find("no \"type\""), std::string::npos);
  EXPECT_NE(config_error(R"([1])").find("must be an object"), std::string::npos);
}

TEST(Decoders, WordPiece) {
  const std::string wp = R"({"type": "WordPiece", "prefix": "##", "cleanup": true})";
  EXPECT_EQ(decode(wp, {"##uelo", "Ara", "##új", "##o", "No", "##guera"}), "##uelo Araújo Noguera");
  // cleanup works on each token with its new leading space, not on the joined text.
  EXPECT_EQ(decode(wp, {"hello", ",", "i", "do", "not", "know", "it", "'", "s", "."}),
            "hello, i do not know it ' s.");
  EXPECT_EQ(decode(wp, {"I", "do", "n't", "say", " ' ", "x", " do not"}),
            "I don't say ' x  don't");
  EXPECT_EQ(decode(R"({"type": "WordPiece", "prefix": "##", "cleanup": false})", {"a", ",", "##b"}),
            "a ,b");
  EXPECT_EQ(decode(R"({"type": "WordPiece", "prefix": "@@", "cleanup": false})",
                   {"un", "@@able", "##x", "@@"}),
            "unable ##x");
  EXPECT_EQ(decode(R"({"type": "WordPiece", "prefix": "", "cleanup": false})", {"un", "able"}),
            "unable");
  EXPECT_EQ(decode(wp, {}), "");
  // HF requires both fields; embtune takes HF's defaults (## and cleanup) when they are missing.
  EXPECT_EQ(decode(R"({"type": "WordPiece"})", {"a", "##b", "."}), "ab.");
  EXPECT_NE(config_error(R"({"type": "WordPiece", "cleanup": "yes"})").find("\"cleanup\""),
            std::string::npos);
}

TEST(Decoders, ByteLevel) {
  const std::string bl = R"({"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true})";
  EXPECT_EQ(decode(bl, {"Hello", "Ġmy", "Ġfriend", ",", "Ġhow"}), "Hello my friend, how");
  // The bytes of one character may be spread over tokens; the result is a single token.
  EXPECT_EQ(chain(bl, {"cafÃ", "©", "ĠĊ"}), std::vector<std::string>{"café \n"});
  EXPECT_EQ(decode(bl, {"Ã"}), "\xEF\xBF\xBD");
  EXPECT_EQ(decode(bl, {"héllo"}), "h\xEF\xBF\xBDllo");  // é stands for the byte 0xE9
  // A token with a character outside the byte alphabet keeps its own UTF-8.
  EXPECT_EQ(decode(bl, {"Ġa", "你", "[CLS]"}), " a你[CLS]");
  // from_utf8_lossy: one U+FFFD per maximal invalid subsequence.
  EXPECT_EQ(decode(bl, {"ðŁ", "Ĳ", "a", "ðŁĲ", "í", "ł", "Ģ", "ô", "ı"}),
            "\xEF\xBF\xBD" "a" "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(chain(bl, {}), std::vector<std::string>{""});
}

TEST(Decoders, Metaspace) {
  const std::vector<std::string> hey = {"▁Hey", "▁friend!"};
  EXPECT_EQ(decode(R"({"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always"})", hey),
            "Hey friend!");
  EXPECT_EQ(decode(R"({"type": "Metaspace", "replacement": "▁", "prepend_scheme": "never"})", hey),
            " Hey friend!");
  // Every replacement in the first token goes, not only the leading one.
  EXPECT_EQ(decode(R"({"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first",
                       "split": false})",
                   {"▁▁a▁", "▁b"}),
            "a b");
  EXPECT_EQ(decode(R"({"type": "Metaspace", "replacement": "▁", "add_prefix_space": true})", hey),
            "Hey friend!");
  EXPECT_EQ(decode(R"({"type": "Metaspace", "replacement": "▁", "add_prefix_space": false,
                       "prepend_scheme": "never"})",
                   hey),
            " Hey friend!");
  EXPECT_EQ(decode(R"({"type": "Metaspace", "replacement": "_"})", {"_a_b", "_c"}), "ab c");
  EXPECT_NE(config_error(R"({"type": "Metaspace", "replacement": "▁", "add_prefix_space": false})")
                .find("add_prefix_space"),
            std::string::npos);
  EXPECT_NE(config_error(R"({"type": "Metaspace", "replacement": "ab"})").find("not one character"),
            std::string::npos);
  EXPECT_NE(config_error(R"({"type": "Metaspace", "replacement": "▁", "prepend_scheme": "sometimes"})")
                .find("sometimes"),
            std::string::npos);
}

TEST(Decoders, BpeDecoder) {
  const std::string bpe = R"({"type": "BPEDecoder", "suffix": "</w>"})";
  EXPECT_EQ(decode(bpe, {"hel", "lo</w>", "wor", "ld</w>"}), "hello world");
  EXPECT_EQ(decode(bpe, {"a</w>b</w>", "c</w>"}), "a b c");
  EXPECT_EQ(decode(bpe, {}), "");
  // An empty suffix matches at every character boundary (Rust's str::replace).
  EXPECT_EQ(decode(R"({"type": "BPEDecoder", "suffix": ""})", {"ab", "c"}), " a b c");
  EXPECT_EQ(decode(R"({"type": "BPEDecoder"})", {"x</w>", "y</w>"}), "x y");
}

TEST(Decoders, ByteFallback) {
  const std::string bf = R"({"type": "ByteFallback"})";
  EXPECT_EQ(decode(bf, {"<0x61>"}), "a");
  EXPECT_EQ(chain(bf, {"<0xE5>", "<0x8F>", "<0xAB>", "a"}), (std::vector<std::string>{"叫", "a"}));
  EXPECT_EQ(chain(bf, {"<0xE5>", "<0x8F>", "a"}),
            (std::vector<std::string>{"\xEF\xBF\xBD", "\xEF\xBF\xBD", "a"}));
  // Rust's u8::from_str_radix takes a leading '+'; nothing else that is not two hex digits.
  EXPECT_EQ(decode(bf, {"<0x+A>", "<0x6g>", "<0X61>", "<0x61", "<0x-1>", "<0xé>"}),
            "\n<0x6g><0X61><0x61<0x-1><0xé>");
}

TEST(Decoders, Fuse) {
  EXPECT_EQ(chain(R"({"type": "Fuse"})", {"Hey", " friend!"}),
            std::vector<std::string>{"Hey friend!"});
  EXPECT_EQ(chain(R"({"type": "Fuse"})", {}), std::vector<std::string>{""});
}

TEST(Decoders, Strip) {
  EXPECT_EQ(chain(R"({"type": "Strip", "content": "H", "start": 1, "stop": 0})",
                  {"Hey", " friend!", "HHH"}),
            (std::vector<std::string>{"ey", " friend!", "HH"}));
  EXPECT_EQ(chain(R"({"type": "Strip", "content": "y", "start": 0, "stop": 1})", {"Hey", " friend!"}),
            (std::vector<std::string>{"He", " friend!"}));
  EXPECT_EQ(decode(R"({"type": "Strip", "content": "H", "start": 2, "stop": 2})",
                   {"HaH", "aHHH", "HHaHH"}),
            "aaHa");
  EXPECT_EQ(decode(R"({"type": "Strip", "content": "é", "start": 5, "stop": 5})", {"ééaéé"}), "a");
  // Where HF 0.23 panics (the cuts would overlap), the trailing cut stops at the leading one.
  EXPECT_EQ(chain(R"({"type": "Strip", "content": "H", "start": 2, "stop": 5})", {"H", "HHH", ""}),
            (std::vector<std::string>{"", "", ""}));
  EXPECT_NE(config_error(R"({"type": "Strip", "content": "ab", "start": 1, "stop": 0})")
                .find("not one character"),
            std::string::npos);
  EXPECT_NE(config_error(R"({"type": "Strip", "start": 1, "stop": 0})").find("\"content\""),
            std::string::npos);
  EXPECT_NE(config_error(R"({"type": "Strip", "content": "a", "start": -1, "stop": 0})")
                .find("negative"),
            std::string::npos);
}

TEST(Decoders, Replace) {
  EXPECT_EQ(chain(R"({"type": "Replace", "pattern": {"String": "▁"}, "content": " "})",
                  {"▁Hey", "▁friend", ""}),
            (std::vector<std::string>{" Hey", " friend", ""}));
  EXPECT_EQ(decode(R"({"type": "Replace", "pattern": {"Regex": "[0-9]+"}, "content": "#"})",
                   {"a12b3"}),
            "a#b#");
  EXPECT_EQ(decode(R"j({"type": "Replace", "pattern": {"Regex": "(a)"}, "content": "$1"})j",
                   {"banana"}),
            "b$1n$1n$1");
  EXPECT_EQ(decode(R"({"type": "Replace", "pattern": {"String": "a.b"}, "content": "X"})",
                   {"a.bxaxb"}),
            "Xxaxb");
  // Empty matches count, as in HF's find_matches over the onig crate's find_iter; an empty
  // token has none.
  EXPECT_EQ(chain(R"({"type": "Replace", "pattern": {"Regex": ""}, "content": "-"})", {"ab", ""}),
            (std::vector<std::string>{"-a-b-", ""}));
  EXPECT_EQ(decode(R"({"type": "Replace", "pattern": {"Regex": "x*"}, "content": "-"})", {"axxb"}),
            "-a-b-");
  EXPECT_NE(config_error(R"({"type": "Replace", "pattern": {"Regex": "("}, "content": "-"})")
                .find("does not compile"),
            std::string::npos);
  EXPECT_NE(config_error(R"({"type": "Replace", "pattern": {"Foo": "a"}, "content": "-"})")
                .find("\"pattern\""),
            std::string::npos);
  EXPECT_NE(config_error(R"({"type": "Replace", "pattern": {"String": "a"}})").find("\"content\""),
            std::string::npos);
}

TEST(Decoders, Ctc) {
  const std::string ctc =
      R"({"type": "CTC", "pad_token": "<pad>", "word_delimiter_token": "|", "cleanup": true})";
  EXPECT_EQ(chain(ctc, split_spaces("<pad> <pad> h e e l l <pad> l o o o <pad>")),
            (std::vector<std::string>{"h", "e", "l", "l", "o"}));
  EXPECT_EQ(decode(ctc, split_spaces("<pad> h e e l l <pad> l o o o <pad> <pad> | <pad> w o o o r "
                                     "<pad> <pad> l l d <pad>")),
            "hello world");
  EXPECT_EQ(decode(ctc, {"a", " .", "b", "|x|"}), "a.b x ");
  EXPECT_EQ(decode(R"({"type": "CTC", "pad_token": "<pad>", "word_delimiter_token": "|",
                       "cleanup": false})",
                   {"a", "|", "|", "b", " .", "<pad>x<pad>"}),
            "a|b .x");
  EXPECT_EQ(decode(R"({"type": "CTC"})", {"a", "a", "<pad>", "a", "|", "b"}), "aa b");
}

TEST(Decoders, Sequence) {
  EXPECT_EQ(decode(R"({"type": "Sequence", "decoders": [
                       {"type": "CTC", "pad_token": "<pad>", "word_delimiter_token": "|",
                        "cleanup": true},
                       {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always"}]})",
                   {"▁", "▁", "H", "H", "i", "i", "▁", "y", "o", "u"}),
            "Hi you");
  // Llama's decoder.
  EXPECT_EQ(decode(R"({"type": "Sequence", "decoders": [
                       {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
                       {"type": "ByteFallback"}, {"type": "Fuse"},
                       {"type": "Strip", "content": " ", "start": 1, "stop": 0}]})",
                   {"▁Hey", "<0xE5>", "<0x8F>", "<0xAB>", "▁", "!"}),
            "Hey叫 !");
  EXPECT_EQ(decode(R"({"type": "Sequence", "decoders": []})", {"a", "b"}), "ab");
  const std::string m =
      config_error(R"({"type": "Sequence", "decoders": [{"type": "Fuse"}, {"type": "Nope"}]})");
  EXPECT_NE(m.find("decoders[1]"), std::string::npos) << m;
  EXPECT_NE(m.find("\"Nope\""), std::string::npos) << m;
  EXPECT_NE(config_error(R"({"type": "Sequence"})").find("\"decoders\""), std::string::npos);
}

TEST(Decoders, RustStrReplace) {
  EXPECT_EQ(rust_str_replace("aaa", "aa", "b"), "ba");
  EXPECT_EQ(rust_str_replace("", "", "-"), "-");
  EXPECT_EQ(rust_str_replace("é", "", "-"), "-é-");
  EXPECT_EQ(rust_str_replace("abc", "x", "-"), "abc");
}

// A tokenizer.json with a WordLevel model, three added tokens ([CLS] special in the vocabulary,
// [NEW] special and "extra" plain, both past it) and `decoder` (JSON, may be null).
std::string tiny_tokenizer_json(const std::string& decoder) {
  return R"({"version": "1.0", "truncation": null, "padding": null,
    "added_tokens": [
      {"id": 0, "content": "[CLS]", "single_word": false, "lstrip": false, "rstrip": false,
       "normalized": false, "special": true},
      {"id": 5, "content": "[NEW]", "single_word": false, "lstrip": false, "rstrip": false,
       "normalized": false, "special": true},
      {"id": 6, "content": "extra", "single_word": false, "lstrip": false, "rstrip": false,
       "normalized": false, "special": false}],
    "normalizer": null, "pre_tokenizer": {"type": "WhitespaceSplit"}, "post_processor": null,
    "decoder": )" +
         decoder + R"(,
    "model": {"type": "WordLevel", "unk_token": "[UNK]",
              "vocab": {"[CLS]": 0, "[UNK]": 1, "hello": 2, "world": 3, "##s": 4}}})";
}

std::unique_ptr<Tokenizer> load_tiny(const TempDir& tmp, const std::string& decoder) {
  const std::string path = tmp.file("tokenizer.json");
  test::write_text(path, tiny_tokenizer_json(decoder));
  std::unique_ptr<Tokenizer> tok;
  Status st = Tokenizer::load(path, &tok);
  EXPECT_TRUE(st.ok()) << st.message();
  return tok;
}

TEST(TokenizerDecode, AddedTokensSpecialSkippingAndNoDecoder) {
  TempDir tmp;
  const std::vector<int32_t> ids = {0, 2, 3, 4, 5, 6};
  std::unique_ptr<Tokenizer> wp = load_tiny(tmp, R"({"type": "WordPiece", "prefix": "##",
                                                     "cleanup": true})");
  ASSERT_TRUE(wp);
  std::string out;
  ASSERT_TRUE(wp->decode(ids, false, &out).ok());
  EXPECT_EQ(out, "[CLS] hello worlds [NEW] extra");
  ASSERT_TRUE(wp->decode(ids, true, &out).ok());
  EXPECT_EQ(out, "hello worlds extra");
  EXPECT_NE(wp->describe().find("decoder WordPiece(##, cleanup)"), std::string::npos)
      << wp->describe();

  // Without a decoder HF joins the tokens with spaces.
  std::unique_ptr<Tokenizer> plain = load_tiny(tmp, "null");
  ASSERT_TRUE(plain);
  ASSERT_TRUE(plain->decode(ids, false, &out).ok());
  EXPECT_EQ(out, "[CLS] hello world ##s [NEW] extra");
  ASSERT_TRUE(plain->decode(ids, true, &out).ok());
  EXPECT_EQ(out, "hello world ##s extra");
  ASSERT_TRUE(plain->decode({}, true, &out).ok());
  EXPECT_EQ(out, "");
}

TEST(TokenizerDecode, IdsOutsideTheVocabularyAreErrors) {
  TempDir tmp;
  std::unique_ptr<Tokenizer> tok = load_tiny(tmp, "null");
  ASSERT_TRUE(tok);
  std::string out;
  Status st = tok->decode({2, 7}, true, &out);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("id 7 (position 2)"), std::string::npos) << st.message();
  st = tok->decode({-1}, false, &out);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("id -1"), std::string::npos) << st.message();
}

TEST(TokenizerDecode, BadDecoderNamesTheFile) {
  TempDir tmp;
  const std::string path = tmp.file("tokenizer.json");
  test::write_text(path, tiny_tokenizer_json(R"({"type": "Nope"})"));
  std::unique_ptr<Tokenizer> tok;
  Status st = Tokenizer::load(path, &tok);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find(path), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("decoder type \"Nope\""), std::string::npos) << st.message();
}

TEST(TokenizerDecode, VocabTxtGetsBertTokenizerFastsWordPieceDecoder) {
  if (test::skip_without_shared()) GTEST_SKIP() << "shared data missing";
  std::unique_ptr<Tokenizer> tok;
  const std::string vocab = test::shared_dir() + "/data/tokenizers/bert-base-uncased/vocab.txt";
  Status st = Tokenizer::load(vocab, &tok);
  ASSERT_TRUE(st.ok()) << st.message();
  Encoding enc;
  ASSERT_TRUE(tok->encode("Hello, world! It's unbelievable.", EncodeOptions(), &enc).ok());
  std::string out;
  ASSERT_TRUE(tok->decode(enc.ids, true, &out).ok());
  EXPECT_EQ(out, "hello, world! it ' s unbelievable.");  // cleanup works per token
  ASSERT_TRUE(tok->decode(enc.ids, false, &out).ok());
  EXPECT_EQ(out, "[CLS] hello, world! it ' s unbelievable. [SEP]");
}

// ---- Parity with the peer ----------------------------------------------------------------------

// One decoding to compare: `peer_json` is what the peer loads, `ours` what embtune decodes with
// (the same file, or the vocab.txt beside it), `ids` the lines of `ids_file`; `both` compares
// with and without skip_special_tokens (the synthetic decoders only skip: the skipping happens
// before any decoder runs).
struct ParityCase {
  std::string name;
  std::string peer_json;
  std::shared_ptr<Tokenizer> ours;
  std::string ids_file;
  std::vector<std::vector<int32_t>> ids;
  bool both = true;
  std::vector<std::string> decoded[2];  // ours, [skip]
};

std::string ids_line(const std::vector<int32_t>& ids) { return nlohmann::json(ids).dump(); }

// Every 4th line of the corpus as embtune encodes it (special tokens added; all 5,400 lines for
// 17 tokenizers and both settings would take minutes with the peer), then 200 lines of random
// ids of the vocabulary: byte tokens and pieces in any order, which the corpus rarely gives.
bool corpus_ids(const Tokenizer& tok, const std::string& name,
                std::vector<std::vector<int32_t>>* out) {
  static const std::vector<std::string> texts = [] {
    std::vector<std::string> all = test::read_tokenizer_corpus(), some;
    for (size_t i = 0; i < all.size(); i += 4) some.push_back(all[i]);
    return some;
  }();
  std::vector<Encoding> enc;
  Status st = tok.encode_batch(texts, EncodeOptions(), &enc);
  if (!st.ok()) {
    std::printf("[ skipped  ] %s: the corpus does not encode in embtune (%s)\n", name.c_str(),
                st.message().c_str());
    return false;
  }
  out->clear();
  for (const Encoding& e : enc) out->push_back(e.ids);
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int32_t> any_id(0, static_cast<int32_t>(tok.vocab_size()) - 1);
  std::uniform_int_distribution<int> length(1, 24);
  for (int line = 0; line < 200; ++line) {
    std::vector<int32_t> ids;
    const int n = length(rng);
    while (static_cast<int>(ids.size()) < n) {
      const int32_t id = any_id(rng);
      if (!tok.id_to_token(id).empty()) ids.push_back(id);
    }
    out->push_back(std::move(ids));
  }
  return true;
}

void write_ids(const ParityCase& c) {
  std::string text;
  for (const auto& ids : c.ids) text += ids_line(ids) + "\n";
  test::write_text(c.ids_file, text);
}

// The shell command that runs the peer on every case (once per ids file and setting), eight
// processes at a time; outputs land in <ids_file>.<skip|keep>.peer.
std::string peer_command(const std::vector<ParityCase>& cases) {
  const std::string script = test::source_dir() + "/tests/peer/decode_peer.js";
  std::string cmd;
  int running = 0;
  std::set<std::string> done;
  for (const ParityCase& c : cases) {
    for (bool skip : {true, false}) {
      if (!skip && !c.both) continue;
      const std::string out = c.ids_file + (skip ? ".skip" : ".keep") + ".peer";
      if (!done.insert(out).second) continue;
      cmd += test::node_command() + " " + sh_quote(script) + " " + sh_quote(c.peer_json) + " " +
             sh_quote(c.ids_file) + (skip ? " --skip-special" : "") + " > " + sh_quote(out) +
             " 2> " + sh_quote(out + ".err") + " &\n";
      if (++running % 8 == 0) cmd += "wait\n";
    }
  }
  return cmd + "wait\n";
}

void expect_case_parity(const ParityCase& c, bool skip) {
  const std::string label = c.name + (skip ? " (skip special)" : " (keep special)");
  const std::string out = c.ids_file + (skip ? ".skip" : ".keep") + ".peer";
  std::vector<std::string> peer;
  {
    std::istringstream lines(test::read_text(out));
    std::string line;
    while (std::getline(lines, line)) peer.push_back(line);
  }
  ASSERT_EQ(peer.size(), c.ids.size()) << label << ": the peer failed: " << test::read_text(out + ".err");
  size_t equal = 0;
  bool reported = false;
  for (size_t i = 0; i < c.ids.size(); ++i) {
    const std::string theirs = nlohmann::json::parse(peer[i]).get<std::string>();
    const std::string& ours = c.decoded[skip][i];
    if (ours == theirs) {
      ++equal;
    } else if (!reported) {
      reported = true;
      auto show = [](const std::string& s) {
        return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      };
      ADD_FAILURE() << label << ": line " << (i + 1) << " differs\n  ids:  " << ids_line(c.ids[i])
                    << "\n  ours: " << show(ours)
                    << "\n  peer: " << show(theirs);
    }
  }
  EXPECT_EQ(equal, c.ids.size()) << label;
  std::printf("[ parity   ] %s: %zu/%zu lines equal\n", label.c_str(), equal, c.ids.size());
}

std::vector<std::string> shared_tokenizer_dirs() {
  std::vector<std::string> dirs;
  for (const char* group : {"/data/tokenizers", "/data/tokenizers-extra"}) {
    const std::filesystem::path root = test::shared_dir() + group;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(root, ec)) {
      if (entry.is_directory() && std::filesystem::exists(entry.path() / "tokenizer.json")) {
        dirs.push_back(entry.path().string());
      }
    }
  }
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

// The decoders no shared tokenizer uses, or uses with other settings, put on a WordPiece
// tokenizer (## pieces, [CLS]) and on Llama's (▁ pieces, <0x..> bytes).
const char* const kWordPieceVariants[] = {
    R"({"type": "BPEDecoder", "suffix": "##"})",
    R"({"type": "CTC", "pad_token": "[PAD]", "word_delimiter_token": "##", "cleanup": true})",
    R"({"type": "CTC", "pad_token": "e", "word_delimiter_token": "s", "cleanup": false})",
    // Strip with cuts that never meet in a non-empty token (HF panics where they would).
    R"({"type": "Strip", "content": "#", "start": 2, "stop": 0})",
    R"({"type": "Strip", "content": "s", "start": 0, "stop": 1})",
    R"({"type": "Replace", "pattern": {"Regex": "[aeiou]+|\\p{P}"}, "content": "_"})",
    R"({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true})",
    R"({"type": "Metaspace", "replacement": "#", "prepend_scheme": "first", "split": true})",
    R"({"type": "WordPiece", "prefix": "#", "cleanup": false})",
    R"({"type": "Sequence", "decoders": [{"type": "WordPiece", "prefix": "##", "cleanup": false},
        {"type": "Fuse"}, {"type": "Replace", "pattern": {"String": " ."}, "content": "."}]})",
};
const char* const kLlamaVariants[] = {
    R"({"type": "ByteFallback"})",
    R"({"type": "Metaspace", "replacement": "▁", "prepend_scheme": "never", "split": false})",
    R"({"type": "Sequence", "decoders": [{"type": "ByteFallback"},
        {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true}]})",
    R"({"type": "Sequence", "decoders": [{"type": "ByteFallback"}, {"type": "Fuse"},
        {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
        {"type": "Strip", "content": " ", "start": 2, "stop": 0}]})",
};

TEST(DecoderParity, EverySharedTokenizerAndSyntheticDecoders) {
  if (test::skip_without_peer()) GTEST_SKIP() << "node with the npm tokenizers peer is missing";
  TempDir tmp;
  std::vector<ParityCase> cases;
  std::string wordpiece_json, llama_json;  // bases of the synthetic cases
  std::vector<std::vector<int32_t>> wordpiece_ids, llama_ids;
  for (const std::string& dir : shared_tokenizer_dirs()) {
    ParityCase c;
    c.name = std::filesystem::path(dir).filename().string();
    c.peer_json = dir + "/tokenizer.json";
    std::unique_ptr<Tokenizer> tok;
    Status st = Tokenizer::load(c.peer_json, &tok);
    if (!st.ok()) {
      std::printf("[ skipped  ] %s: does not load in embtune yet (%s)\n", c.name.c_str(),
                  st.message().c_str());
      continue;
    }
    if (!corpus_ids(*tok, c.name, &c.ids)) continue;
    c.ours = std::move(tok);
    c.ids_file = tmp.file(c.name + ".ids");
    write_ids(c);
    if (c.name == "BAAI__bge-small-en-v1.5") {
      wordpiece_json = c.peer_json;
      wordpiece_ids = c.ids;
      // BertTokenizerFast's decoder for a bare vocab.txt, against the tokenizer.json beside it.
      ParityCase v = c;
      v.name = c.name + " vocab.txt";
      std::unique_ptr<Tokenizer> from_vocab;
      st = Tokenizer::load(dir + "/vocab.txt", &from_vocab);
      ASSERT_TRUE(st.ok()) << st.message();
      v.ours = std::move(from_vocab);
      cases.push_back(std::move(v));
    }
    if (c.name == "TinyLlama__TinyLlama-1.1B-Chat-v1.0") {
      llama_json = c.peer_json;
      llama_ids = c.ids;
    }
    cases.push_back(std::move(c));
  }
  auto add_variants = [&](const std::string& base, const std::vector<std::vector<int32_t>>& ids,
                          const char* const* variants, size_t n, const std::string& prefix) {
    if (base.empty()) return;
    nlohmann::json j = nlohmann::json::parse(test::read_text(base));
    for (size_t i = 0; i < n; ++i) {
      ParityCase c;
      c.name = prefix + " + " + nlohmann::json::parse(variants[i]).dump();
      j["decoder"] = nlohmann::json::parse(variants[i]);
      c.peer_json = tmp.file(prefix + "-variant" + std::to_string(i) + ".json");
      test::write_text(c.peer_json, j.dump());
      std::unique_ptr<Tokenizer> tok;
      Status st = Tokenizer::load(c.peer_json, &tok);
      ASSERT_TRUE(st.ok()) << c.name << ": " << st.message();
      c.ours = std::move(tok);
      c.ids = ids;
      c.ids_file = tmp.file(prefix + "-variant" + std::to_string(i) + ".ids");
      c.both = false;
      write_ids(c);
      cases.push_back(std::move(c));
    }
  };
  add_variants(wordpiece_json, wordpiece_ids, kWordPieceVariants, std::size(kWordPieceVariants),
               "bge");
  add_variants(llama_json, llama_ids, kLlamaVariants, std::size(kLlamaVariants), "tinyllama");
  ASSERT_FALSE(cases.empty()) << "no shared tokenizer.json loads";
  // The peers run while embtune decodes.
  std::thread peers([cmd = peer_command(cases)] { run_command(cmd); });
  for (ParityCase& c : cases) {
    for (bool skip : {true, false}) {
      if (!skip && !c.both) continue;
      for (const auto& ids : c.ids) {
        std::string text;
        Status st = c.ours->decode(ids, skip, &text);
        c.decoded[skip].push_back(st.ok() ? text : "<error: " + st.message() + ">");
      }
    }
  }
  peers.join();
  for (const ParityCase& c : cases) {
    for (bool skip : {true, false}) {
      if (skip || c.both) expect_case_parity(c, skip);
    }
  }
}

// ---- embtune tokenize --decode -------------------------------------------------------------------

TEST(TokenizeDecodeCli, DecodesEachLineAndRefusesBadLines) {
  TempDir tmp;
  const std::string tok = tmp.file("tokenizer.json");
  test::write_text(tok, tiny_tokenizer_json(R"({"type": "WordPiece", "prefix": "##",
                                                "cleanup": true})"));
  const std::string ids = tmp.file("ids.txt");
  test::write_text(ids, "[0, 2, 3, 4, 5, 6]\n[]\n[3]\n");
  const std::string bin = sh_quote(test::embtune_bin()) + " tokenize --tokenizer " + sh_quote(tok) +
                          " --decode --input ";
  CommandResult r = run_command(bin + sh_quote(ids) + " 2>/dev/null");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out, "\"hello worlds extra\"\n\"\"\n\"world\"\n");
  r = run_command(bin + sh_quote(ids) + " --keep-special 2>/dev/null");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out, "\"[CLS] hello worlds [NEW] extra\"\n\"\"\n\"world\"\n");

  // A bad line: an error naming the file and the line, and nothing on stdout.
  for (const char* bad : {"[2, \"x\"]", "2", "[2, 3", "", "[2.5]", "[4294967298]"}) {
    test::write_text(ids, std::string("[2]\n") + bad + "\n[3]\n");
    r = run_command(bin + sh_quote(ids) + " 2>/dev/null");
    EXPECT_NE(r.exit_code, 0) << bad;
    EXPECT_EQ(r.out, "") << bad;
    r = run_command(bin + sh_quote(ids));
    EXPECT_NE(r.out.find(ids + ": line 2: not a JSON array of integer ids"), std::string::npos)
        << bad << ": " << r.out;
  }
  // An id outside the vocabulary names the line and the id.
  test::write_text(ids, "[2]\n[3, 9]\n");
  r = run_command(bin + sh_quote(ids));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find(ids + ": line 2: id 9 (position 2)"), std::string::npos) << r.out;
  // --decode takes no encoding options.
  test::write_text(ids, "[2]\n");
  r = run_command(bin + sh_quote(ids) + " --tokens");
  EXPECT_NE(r.exit_code, 0) << r.out;
  r = run_command(sh_quote(test::embtune_bin()) + " tokenize --tokenizer " + sh_quote(tok) +
                  " --input " + sh_quote(ids) + " --keep-special");
  EXPECT_NE(r.exit_code, 0) << r.out;
}

}  // namespace
}  // namespace embtune
