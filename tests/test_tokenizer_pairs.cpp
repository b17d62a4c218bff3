// Pair encoding and truncation: ids, type ids, offsets, sequence ids and overflowing windows of
// (corpus line i, line i + 1) equal to HF tokenizers 0.23.2 (tests/peer/tokenize_pair_peer.js)
// for BERT, RoBERTa and T5 under every truncation strategy, direction, length and stride; exact
// unit expectations for truncation.cpp; the errors; `embtune tokenize --pair`.
// Not single-text parity (test_tokenizer_parity.cpp and the stage tests do that).
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.h"
#include "tokenizer/truncation.h"
#include "tokenizer_peer.h"

namespace embtune {
namespace {

using test::run_command;
using test::sh_quote;
using Offsets = std::vector<std::pair<uint32_t, uint32_t>>;

std::string minilm() {
  return test::shared_dir() + "/data/tokenizers/sentence-transformers__all-MiniLM-L6-v2/tokenizer.json";
}
std::string roberta() {
  return test::shared_dir() + "/data/tokenizers-extra/FacebookAI__roberta-base/tokenizer.json";
}
std::string t5() {
  return test::shared_dir() + "/data/tokenizers-extra/google-t5__t5-small/tokenizer.json";
}

std::unique_ptr<Tokenizer> load(const std::string& path) {
  std::unique_ptr<Tokenizer> tok;
  Status st = Tokenizer::load(path, &tok);
  EXPECT_TRUE(st.ok()) << st.message();
  return tok;
}

// An encoding of `n` tokens: ids 0..n-1, offsets (i, i + 1), type and sequence ids `seq`.
Encoding numbered(int n, int seq = 0, int first_id = 0) {
  Encoding e;
  for (int i = 0; i < n; ++i) {
    e.ids.push_back(first_id + i);
    e.type_ids.push_back(seq);
    e.offsets.emplace_back(i, i + 1);
    e.special_tokens_mask.push_back(0);
    e.sequence_ids.push_back(static_cast<int8_t>(seq));
  }
  return e;
}

std::vector<std::vector<int32_t>> window_ids(const Encoding& e) {
  std::vector<std::vector<int32_t>> w;
  for (const Encoding& o : e.overflowing) w.push_back(o.ids);
  return w;
}

// ---------------------------------------------------------------------------------------------
// truncation.cpp on hand-built encodings

TEST(TokenizerPairsUnit, WindowsWithStrideRight) {
  Encoding e = numbered(7);
  ASSERT_TRUE(encoding_truncate(&e, 3, 1, TruncationDirection::kRight).ok());
  EXPECT_EQ(e.ids, (std::vector<int32_t>{0, 1, 2}));
  EXPECT_EQ(window_ids(e), (std::vector<std::vector<int32_t>>{{2, 3, 4}, {4, 5, 6}}));
  EXPECT_EQ(e.overflowing[1].offsets, (Offsets{{4, 5}, {5, 6}, {6, 7}}));
  Encoding f = numbered(7);
  ASSERT_TRUE(encoding_truncate(&f, 3, 0, TruncationDirection::kRight).ok());
  EXPECT_EQ(window_ids(f), (std::vector<std::vector<int32_t>>{{3, 4, 5}, {6}}));
}

TEST(TokenizerPairsUnit, WindowsWithStrideLeft) {
  Encoding e = numbered(7);
  ASSERT_TRUE(encoding_truncate(&e, 3, 1, TruncationDirection::kLeft).ok());
  EXPECT_EQ(e.ids, (std::vector<int32_t>{4, 5, 6}));
  EXPECT_EQ(window_ids(e), (std::vector<std::vector<int32_t>>{{2, 3, 4}, {0, 1, 2}}));
  Encoding f = numbered(7);
  ASSERT_TRUE(encoding_truncate(&f, 3, 0, TruncationDirection::kLeft).ok());
  EXPECT_EQ(f.ids, (std::vector<int32_t>{4, 5, 6}));
  EXPECT_EQ(window_ids(f), (std::vector<std::vector<int32_t>>{{1, 2, 3}, {0}}));
}

TEST(TokenizerPairsUnit, FittingZeroAndBadStride) {
  Encoding e = numbered(3);
  ASSERT_TRUE(encoding_truncate(&e, 3, 2, TruncationDirection::kRight).ok());
  EXPECT_EQ(e.ids.size(), 3u);
  EXPECT_TRUE(e.overflowing.empty());
  ASSERT_TRUE(encoding_truncate(&e, 0, 0, TruncationDirection::kRight).ok());
  EXPECT_TRUE(e.ids.empty());
  ASSERT_EQ(e.overflowing.size(), 1u);
  EXPECT_EQ(e.overflowing[0].ids, (std::vector<int32_t>{0, 1, 2}));
  Encoding g = numbered(5);
  Status st = encoding_truncate(&g, 2, 2, TruncationDirection::kRight);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("stride 2"), std::string::npos) << st.message();
}

// HF's truncate_encodings_longest_first expectations: max_length 7, texts of 0, 2, 4 and 8.
TEST(TokenizerPairsUnit, LongestFirstShares) {
  const int lengths[] = {0, 2, 4, 8};
  const int expected[4][4][2] = {{{0, 0}, {0, 2}, {0, 4}, {0, 7}},
                                 {{2, 0}, {2, 2}, {2, 4}, {2, 5}},
                                 {{4, 0}, {4, 2}, {3, 4}, {3, 4}},
                                 {{7, 0}, {5, 2}, {4, 3}, {3, 4}}};
  TruncationParams p;
  p.max_length = 7;
  for (int i = 0; i < 4; ++i) {
    for (int k = 0; k < 4; ++k) {
      Encoding a = numbered(lengths[i], 0), b = numbered(lengths[k], 1);
      ASSERT_TRUE(truncate_encodings(p, &a, &b).ok());
      EXPECT_EQ(a.ids.size(), static_cast<size_t>(expected[i][k][0])) << i << "," << k;
      EXPECT_EQ(b.ids.size(), static_cast<size_t>(expected[i][k][1])) << i << "," << k;
    }
  }
}

TEST(TokenizerPairsUnit, OnlyFirstOnlySecondAndTheirErrors) {
  TruncationParams p;
  p.max_length = 6;
  p.strategy = TruncationStrategy::kOnlySecond;
  Encoding a = numbered(2), b = numbered(8, 1);
  ASSERT_TRUE(truncate_encodings(p, &a, &b).ok());
  EXPECT_EQ(a.ids.size(), 2u);
  EXPECT_EQ(b.ids.size(), 4u);
  Encoding single = numbered(8);
  Status st = truncate_encodings(p, &single, nullptr);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("needs a pair"), std::string::npos) << st.message();
  Encoding fits = numbered(6);
  EXPECT_TRUE(truncate_encodings(p, &fits, nullptr).ok());  // nothing to cut, no error (as HF)
  p.strategy = TruncationStrategy::kOnlyFirst;
  Encoding a2 = numbered(2), b2 = numbered(8, 1);
  st = truncate_encodings(p, &a2, &b2);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("too few"), std::string::npos) << st.message();
}

TEST(TokenizerPairsUnit, MergeCombinesWindowsInHfOrder) {
  Encoding a = numbered(2, 0, 0), b = numbered(2, 1, 10);
  a.overflowing.push_back(numbered(1, 0, 5));
  b.overflowing.push_back(numbered(1, 1, 20));
  b.overflowing.push_back(numbered(1, 1, 30));
  encoding_merge(&a, b);
  EXPECT_EQ(a.ids, (std::vector<int32_t>{0, 1, 10, 11}));
  EXPECT_EQ(a.offsets, (Offsets{{0, 1}, {1, 2}, {0, 1}, {1, 2}}));  // b's offsets stay b's
  EXPECT_EQ(a.sequence_ids, (std::vector<int8_t>{0, 0, 1, 1}));
  EXPECT_EQ(window_ids(a), (std::vector<std::vector<int32_t>>{
                               {5, 10, 11}, {5, 20}, {5, 30}, {0, 1, 20}, {0, 1, 30}}));
}

// ---------------------------------------------------------------------------------------------
// Through the tokenizer, exact values from HF tokenizers 0.23.2

TEST(TokenizerPairsExact, BertPair) {
  if (test::skip_without_shared()) GTEST_SKIP() << "no shared data";
  auto tok = load(minilm());
  ASSERT_TRUE(tok);
  Encoding e;
  EncodeOptions opt;
  ASSERT_TRUE(tok->encode_pair("hello world", "the quick brown fox", opt, &e).ok());
  EXPECT_EQ(e.ids, (std::vector<int32_t>{101, 7592, 2088, 102, 1996, 4248, 2829, 4419, 102}));
  EXPECT_EQ(e.type_ids, (std::vector<int32_t>{0, 0, 0, 0, 1, 1, 1, 1, 1}));
  EXPECT_EQ(e.offsets,
            (Offsets{{0, 0}, {0, 5}, {6, 11}, {0, 0}, {0, 3}, {4, 9}, {10, 15}, {16, 19}, {0, 0}}));
  EXPECT_EQ(e.sequence_ids, (std::vector<int8_t>{-1, 0, 0, -1, 1, 1, 1, 1, -1}));
  EXPECT_EQ(e.special_tokens_mask, (std::vector<uint8_t>{1, 0, 0, 1, 0, 0, 0, 0, 1}));
  EXPECT_TRUE(e.overflowing.empty());
  opt.add_special_tokens = false;
  ASSERT_TRUE(tok->encode_pair("hello world", "the quick brown fox", opt, &e).ok());
  EXPECT_EQ(e.ids, (std::vector<int32_t>{7592, 2088, 1996, 4248, 2829, 4419}));
  EXPECT_EQ(e.type_ids, (std::vector<int32_t>{0, 0, 1, 1, 1, 1}));
}

TEST(TokenizerPairsExact, BertPairOverflowWithStride) {
  if (test::skip_without_shared()) GTEST_SKIP() << "no shared data";
  auto tok = load(minilm());
  ASSERT_TRUE(tok);
  EncodeOptions opt;
  opt.max_length = 8;
  opt.stride = 1;
  Encoding e;
  ASSERT_TRUE(tok->encode_pair("hello world foo bar", "the quick brown fox jumps", opt, &e).ok());
  EXPECT_EQ(e.ids, (std::vector<int32_t>{101, 7592, 2088, 102, 1996, 4248, 2829, 102}));
  EXPECT_EQ(window_ids(e), (std::vector<std::vector<int32_t>>{
                               {101, 2088, 29379, 102, 1996, 4248, 2829, 102},
                               {101, 2088, 29379, 102, 2829, 4419, 14523, 102},
                               {101, 29379, 3347, 102, 1996, 4248, 2829, 102},
                               {101, 29379, 3347, 102, 2829, 4419, 14523, 102},
                               {101, 7592, 2088, 102, 2829, 4419, 14523, 102}}));
  EXPECT_EQ(e.overflowing[0].type_ids, (std::vector<int32_t>{0, 0, 0, 0, 1, 1, 1, 1}));
}

// HF 0.23's early exit: tokenizing stops at the pre-token that reaches max_length, so a
// max_length below the special tokens keeps a whole first word, and windows end early.
TEST(TokenizerPairsExact, SingleTextEarlyExit) {
  if (test::skip_without_shared()) GTEST_SKIP() << "no shared data";
  auto tok = load(minilm());
  ASSERT_TRUE(tok);
  EncodeOptions opt;
  opt.max_length = 1;
  Encoding e;
  ASSERT_TRUE(tok->encode("unbelievably antidisestablishmentarianism a b c", opt, &e).ok());
  EXPECT_EQ(e.ids, (std::vector<int32_t>{101, 4895, 8671, 2666, 3567, 6321, 102}));
  EXPECT_TRUE(e.overflowing.empty());
  opt.max_length = 3;
  ASSERT_TRUE(tok->encode("a b c d e f g h i j", opt, &e).ok());
  EXPECT_EQ(e.ids, (std::vector<int32_t>{101, 1037, 102}));
  EXPECT_EQ(window_ids(e), (std::vector<std::vector<int32_t>>{{101, 1038, 102}, {101, 1039, 102}}));
  opt.direction = TruncationDirection::kLeft;
  opt.max_length = 4;
  ASSERT_TRUE(tok->encode("a b [SEP] c d", opt, &e).ok());  // an added token never stops it
  EXPECT_EQ(e.ids, (std::vector<int32_t>{101, 1039, 1040, 102}));
  EXPECT_EQ(window_ids(e), (std::vector<std::vector<int32_t>>{{101, 1038, 102, 102}}));
}

TEST(TokenizerPairsExact, RobertaPair) {
  if (test::skip_without_shared()) GTEST_SKIP() << "no shared data";
  auto tok = load(roberta());
  ASSERT_TRUE(tok);
  Encoding e;
  EncodeOptions opt;
  ASSERT_TRUE(tok->encode_pair("Hello world!", "How are you?", opt, &e).ok());
  EXPECT_EQ(e.ids, (std::vector<int32_t>{0, 31414, 232, 328, 2, 2, 6179, 32, 47, 116, 2}));
  EXPECT_EQ(e.type_ids, std::vector<int32_t>(11, 0));
  EXPECT_EQ(e.offsets, (Offsets{{0, 0}, {0, 5}, {6, 11}, {11, 12}, {0, 0}, {0, 0}, {0, 3},
                                {4, 7}, {8, 11}, {11, 12}, {0, 0}}));
  EXPECT_EQ(e.sequence_ids, (std::vector<int8_t>{-1, 0, 0, 0, -1, -1, 1, 1, 1, 1, -1}));
  opt.max_length = 9;
  opt.stride = 1;
  ASSERT_TRUE(tok->encode_pair("Hello world!", "How are you today, my friend?", opt, &e).ok());
  EXPECT_EQ(e.ids, (std::vector<int32_t>{0, 31414, 232, 2, 2, 6179, 32, 47, 2}));
  ASSERT_EQ(e.overflowing.size(), 7u);
  EXPECT_EQ(e.overflowing[1].ids, (std::vector<int32_t>{0, 232, 328, 2, 2, 47, 452, 6, 2}));
  EXPECT_EQ(e.overflowing[1].offsets, (Offsets{{0, 0}, {6, 11}, {11, 12}, {0, 0}, {0, 0}, {8, 11},
                                               {12, 17}, {17, 18}, {0, 0}}));
  EXPECT_EQ(e.overflowing[6].ids, (std::vector<int32_t>{0, 31414, 232, 2, 2, 1441, 116, 2}));
}

TEST(TokenizerPairsExact, T5PairTemplate) {
  if (test::skip_without_shared()) GTEST_SKIP() << "no shared data";
  auto tok = load(t5());
  ASSERT_TRUE(tok);
  Encoding e;
  EncodeOptions opt;
  ASSERT_TRUE(tok->encode_pair("Hello world!", "How are you?", opt, &e).ok());
  EXPECT_EQ(e.ids, (std::vector<int32_t>{8774, 296, 55, 1, 571, 33, 25, 58, 1}));
  EXPECT_EQ(e.type_ids, std::vector<int32_t>(9, 0));
  EXPECT_EQ(e.sequence_ids, (std::vector<int8_t>{0, 0, 0, -1, 1, 1, 1, 1, -1}));
  opt.add_special_tokens = false;
  ASSERT_TRUE(tok->encode_pair("Hello world!", "How are you?", opt, &e).ok());
  EXPECT_EQ(e.ids, (std::vector<int32_t>{8774, 296, 55, 571, 33, 25, 58}));
}

TEST(TokenizerPairsExact, Errors) {
  if (test::skip_without_shared()) GTEST_SKIP() << "no shared data";
  auto tok = load(minilm());
  ASSERT_TRUE(tok);
  Encoding e;
  EncodeOptions opt;
  opt.max_length = 8;
  opt.stride = 7;  // HF's setTruncation refuses: 8 - 2 special tokens leave 6
  Status st = tok->encode("hello", opt, &e);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("stride 7"), std::string::npos) << st.message();
  opt.stride = 2;  // fine for one text, but a pair of long texts gets 2 and 3 tokens: HF panics
  EXPECT_TRUE(tok->encode("hello world foo bar baz", opt, &e).ok());
  st = tok->encode_pair("hello world foo bar", "the quick brown fox jumps", opt, &e);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("stride 2"), std::string::npos) << st.message();
  opt.stride = -1;
  opt.strategy = TruncationStrategy::kOnlySecond;
  EXPECT_TRUE(tok->encode("hello", opt, &e).ok());  // fits: nothing to cut
  st = tok->encode("a b c d e f g h i j", opt, &e);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("needs a pair"), std::string::npos) << st.message();
  st = tok->encode_pair("a b c d e f g h", "x", opt, &e);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("too few"), std::string::npos) << st.message();
  opt = EncodeOptions();
  st = tok->encode_pair("ok", std::string("\xff", 1), opt, &e);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("text b"), std::string::npos) << st.message();
}

// ---------------------------------------------------------------------------------------------
// Parity with the peer over corpus pairs

struct PeerConfig {
  int max_length = 0;  // 0: no truncation
  int stride = 0;
  std::string strategy = "longest_first", direction = "right";
  bool special = true;

  nlohmann::json json() const {
    return {{"max_length", max_length}, {"stride", stride}, {"strategy", strategy},
            {"direction", direction}, {"special", special}};
  }
  std::string name() const {
    return "max " + std::to_string(max_length) + " stride " + std::to_string(stride) + " " +
           strategy + " " + direction + (special ? "" : " no-special");
  }
  EncodeOptions options() const {
    EncodeOptions o;
    o.add_special_tokens = special;
    o.max_length = max_length;
    o.stride = stride;
    o.strategy = strategy == "only_first"    ? TruncationStrategy::kOnlyFirst
                 : strategy == "only_second" ? TruncationStrategy::kOnlySecond
                                             : TruncationStrategy::kLongestFirst;
    o.direction = direction == "left" ? TruncationDirection::kLeft : TruncationDirection::kRight;
    return o;
  }
};

Encoding from_peer(const nlohmann::json& j) {
  Encoding e;
  e.ids = j.at("ids").get<std::vector<int32_t>>();
  e.type_ids = j.at("type_ids").get<std::vector<int32_t>>();
  for (const auto& o : j.at("offsets")) e.offsets.emplace_back(o[0].get<uint32_t>(), o[1].get<uint32_t>());
  for (const auto& s : j.at("sequence_ids")) e.sequence_ids.push_back(s.is_null() ? -1 : s.get<int8_t>());
  if (j.contains("overflowing")) {
    for (const auto& o : j.at("overflowing")) e.overflowing.push_back(from_peer(o));
  }
  return e;
}

// "" when equal, else what differs first.
std::string difference(const Tokenizer& tok, const Encoding& ours, const Encoding& peer) {
  auto show = [&tok](const Encoding& e) {
    std::string s = test::show_tokens(tok, e.ids, e.offsets);
    s += "types";
    for (int32_t t : e.type_ids) (s += ' ') += std::to_string(t);
    s += " seq";
    for (int8_t q : e.sequence_ids) (s += ' ') += std::to_string(q);
    return s;
  };
  if (ours.ids != peer.ids || ours.type_ids != peer.type_ids || ours.offsets != peer.offsets ||
      ours.sequence_ids != peer.sequence_ids) {
    return "\n  ours: " + show(ours) + "\n  peer: " + show(peer);
  }
  if (ours.overflowing.size() != peer.overflowing.size()) {
    return std::string("overflowing windows: ours ") + std::to_string(ours.overflowing.size()) + ", peer " +
           std::to_string(peer.overflowing.size());
  }
  for (size_t i = 0; i < ours.overflowing.size(); ++i) {
    std::string d = difference(tok, ours.overflowing[i], peer.overflowing[i]);
    if (!d.empty()) return std::string("overflowing window ") + std::to_string(i) + ": " + d;
  }
  return "";
}

// What an error of ours must mention for each kind of HF refusal.
std::string expected_error_word(const std::string& peer_error) {
  if (peer_error.find("panic") != std::string::npos || peer_error.find("stride") != std::string::npos)
    return "stride";
  if (peer_error.find("too short") != std::string::npos) return "too few";
  if (peer_error.find("Second sequence") != std::string::npos) return "needs a pair";
  return "";
}

// Encodes `pairs` under every config and compares with one peer run; returns the equal count.
size_t expect_pairs_parity(const std::string& tokenizer_json,
                           const std::vector<std::pair<std::string, std::string>>& pairs,
                           const std::vector<PeerConfig>& configs, const std::string& label) {
  auto tok = load(tokenizer_json);
  if (!tok) return 0;
  test::TempDir tmp;
  std::string lines;
  for (const auto& [a, b] : pairs) lines += nlohmann::json::array({a, b}).dump() + "\n";
  test::write_text(tmp.file("pairs.jsonl"), lines);
  nlohmann::json cj = nlohmann::json::array();
  for (const PeerConfig& c : configs) cj.push_back(c.json());
  test::write_text(tmp.file("configs.json"), cj.dump());
  auto r = run_command(test::node_command() + " " +
                       sh_quote(test::source_dir() + "/tests/peer/tokenize_pair_peer.js") + " " +
                       sh_quote(tokenizer_json) + " " + sh_quote(tmp.file("pairs.jsonl")) +
                       " --configs " + sh_quote(tmp.file("configs.json")) + " > " +
                       sh_quote(tmp.file("peer.jsonl")));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  std::istringstream peer_lines(test::read_text(tmp.file("peer.jsonl")));
  size_t equal = 0, total = 0, errors = 0;
  bool reported = false;  // the first difference only: one often repeats across configurations
  for (const PeerConfig& c : configs) {
    const EncodeOptions opt = c.options();
    std::vector<Encoding> ours;
    // Few pairs: one thread (OpenMP's waiting threads cost more than they bring here).
    Status batch = pairs.size() < 200 ? make_error("few pairs")
                                      : tok->encode_pair_batch(pairs, opt, &ours);
    for (size_t i = 0; i < pairs.size(); ++i) {
      std::string line;
      if (!std::getline(peer_lines, line)) {
        ADD_FAILURE() << label << ": the peer printed too few lines";
        return equal;
      }
      ++total;
      const nlohmann::json pj = nlohmann::json::parse(line);
      Encoding mine;
      Status st = batch.ok() ? Status() : tok->encode_pair(pairs[i].first, pairs[i].second, opt, &mine);
      if (batch.ok()) mine = std::move(ours[i]);
      std::string diff;
      if (pj.contains("error")) {
        ++errors;
        const std::string peer_error = pj.at("error").get<std::string>();
        if (st.ok()) {
          diff = "the peer fails (" + peer_error + "), embtune does not";
        } else if (st.message().find(expected_error_word(peer_error)) == std::string::npos) {
          diff = "errors differ: peer \"" + peer_error + "\", embtune \"" + st.message() + "\"";
        }
      } else if (!st.ok()) {
        diff = "embtune fails: " + st.message();
      } else {
        diff = difference(*tok, mine, from_peer(pj));
      }
      if (diff.empty()) {
        ++equal;
      } else if (!reported) {
        reported = true;
        ADD_FAILURE() << label << " (" << c.name() << "): pair " << (i + 1) << " differs: " << diff
                      << "\n  a: " << nlohmann::json(pairs[i].first).dump()
                      << "\n  b: " << nlohmann::json(pairs[i].second).dump();
      }
    }
  }
  EXPECT_EQ(equal, total) << label;
  std::printf("[ parity   ] %s: %zu/%zu pair encodings equal (%zu refused by both)\n",
              label.c_str(), equal, total, errors);
  return equal;
}

// Every strategy, direction, max length 8/32/128, stride 0/2/5, with and without special tokens.
std::vector<PeerConfig> truncation_grid() {
  std::vector<PeerConfig> grid;
  for (const char* strategy : {"longest_first", "only_first", "only_second"}) {
    for (const char* direction : {"right", "left"}) {
      for (int max_length : {8, 32, 128}) {
        for (int stride : {0, 2, 5}) {
          for (bool special : {true, false}) {
            PeerConfig c;
            c.max_length = max_length;
            c.stride = stride;
            c.strategy = strategy;
            c.direction = direction;
            c.special = special;
            grid.push_back(c);
          }
        }
      }
    }
  }
  return grid;
}

// (text i, text i + 1) for every `step`-th i: consecutive corpus lines differ in kind and length.
std::vector<std::pair<std::string, std::string>> corpus_pairs(const std::vector<std::string>& texts,
                                                              size_t step) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (size_t i = 0; i + 1 < texts.size(); i += step) pairs.emplace_back(texts[i], texts[i + 1]);
  return pairs;
}

// Every `step`-th corpus line whose single-text encoding (no special tokens) already equals the
// peer's: what pairs can be checked on while single-text stages are unfinished.
std::vector<std::string> lines_single_text_gets_right(const std::string& tokenizer_json,
                                                      size_t step) {
  auto tok = load(tokenizer_json);
  if (!tok) return {};
  std::vector<std::string> texts;
  const std::vector<std::string> corpus = test::read_tokenizer_corpus();
  std::string lines;  // as JSON strings, which the peer decodes
  for (size_t i = 0; i < corpus.size(); i += step) {
    texts.push_back(corpus[i]);
    lines += nlohmann::json(corpus[i]).dump() + "\n";
  }
  test::TempDir tmp;
  test::write_text(tmp.file("texts.txt"), lines);
  EncodeOptions raw;
  raw.add_special_tokens = false;
  raw.max_length = 0;
  std::vector<Encoding> ours;
  EXPECT_TRUE(tok->encode_batch(texts, raw, &ours).ok());
  const std::vector<test::PeerEncoding> peer =
      test::run_tokenizer_peer(tokenizer_json, tmp.file("texts.txt"), "--no-special");
  std::vector<std::string> good;
  if (peer.size() != texts.size() || ours.size() != texts.size()) return good;
  for (size_t i = 0; i < texts.size(); ++i) {
    if (ours[i].ids == peer[i].ids && ours[i].offsets == peer[i].offsets) good.push_back(texts[i]);
  }
  std::printf("[ parity   ] %zu/%zu sampled corpus lines usable for pairs\n", good.size(),
              texts.size());
  EXPECT_GE(good.size() * 10, texts.size() * 9)
      << tokenizer_json << ": single-text encoding is too far from the peer to check pairs";
  return good;
}

// Pairs of consecutive `texts` untruncated, each `all_step`-th (and, when `common`, under
// max_length 32 with stride 5); about `grid_pairs` pairs under the whole truncation grid. Long
// texts cut to 8 tokens make hundreds of windows, so the grid's sample stays small.
void expect_tokenizer_pairs_parity(const std::string& tokenizer_json, const std::string& label,
                                   const std::vector<std::string>& texts, size_t all_step,
                                   bool common, size_t grid_pairs) {
  PeerConfig none, max32;
  max32.max_length = 32;
  max32.stride = 5;
  std::vector<PeerConfig> all = {none};
  if (common) all.push_back(max32);
  expect_pairs_parity(tokenizer_json, corpus_pairs(texts, all_step), all, label + " pairs");
  expect_pairs_parity(tokenizer_json, corpus_pairs(texts, texts.size() / grid_pairs + 1),
                      truncation_grid(), label + " truncation grid");
}

TEST(TokenizerPairsParity, BertTemplate) {
  if (test::skip_without_peer()) GTEST_SKIP() << "no shared data or peer";
  expect_tokenizer_pairs_parity(minilm(), "all-MiniLM-L6-v2", test::read_tokenizer_corpus(), 4,
                                true, 40);
}

// The same vocabulary behind BertProcessing, as BertTokenizerFast builds it from a vocab.txt.
TEST(TokenizerPairsParity, BertProcessing) {
  if (test::skip_without_peer()) GTEST_SKIP() << "no shared data or peer";
  nlohmann::json j = nlohmann::json::parse(test::read_text(minilm()));
  j["post_processor"] = {{"type", "BertProcessing"}, {"sep", {"[SEP]", 102}}, {"cls", {"[CLS]", 101}}};
  test::TempDir tmp;
  const std::string path = tmp.file("tokenizer.json");
  test::write_text(path, j.dump());
  expect_tokenizer_pairs_parity(path, "BertProcessing", test::read_tokenizer_corpus(), 10, false,
                                16);
}

TEST(TokenizerPairsParity, Roberta) {
  if (test::skip_without_peer()) GTEST_SKIP() << "no shared data or peer";
  const std::vector<std::string> texts = lines_single_text_gets_right(roberta(), 4);
  ASSERT_GT(texts.size(), 100u);
  expect_tokenizer_pairs_parity(roberta(), "roberta-base", texts, 1, false, 16);
}

TEST(TokenizerPairsParity, T5) {
  if (test::skip_without_peer()) GTEST_SKIP() << "no shared data or peer";
  const std::vector<std::string> texts = lines_single_text_gets_right(t5(), 4);
  ASSERT_GT(texts.size(), 100u);
  expect_tokenizer_pairs_parity(t5(), "t5-small", texts, 1, false, 16);
}

// ---------------------------------------------------------------------------------------------
// embtune tokenize --pair

test::CommandResult tokenize(const std::string& input, const std::string& args) {
  return run_command(test::embtune_bin() + " tokenize --tokenizer " + sh_quote(minilm()) +
                     " --input " + sh_quote(input) + " " + args + " 2>&1");
}

TEST(TokenizerPairsCli, PairLinesJsonOrTab) {
  if (test::skip_without_shared()) GTEST_SKIP() << "no shared data";
  test::TempDir tmp;
  test::write_text(tmp.file("in.txt"), "[\"hello world\", \"the quick brown fox\"]\nhello world\tthe quick brown fox\n");
  auto r = tokenize(tmp.file("in.txt"), "--pair");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out, "[101,7592,2088,102,1996,4248,2829,4419,102]\n"
                   "[101,7592,2088,102,1996,4248,2829,4419,102]\n");
  r = tokenize(tmp.file("in.txt"), "--pair --type-ids");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out, "[0,0,0,0,1,1,1,1,1]\n[0,0,0,0,1,1,1,1,1]\n");
  r = tokenize(tmp.file("in.txt"), "--pair --offsets --no-special");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')), "[[0,5],[6,11],[0,3],[4,9],[10,15],[16,19]]");
}

TEST(TokenizerPairsCli, OverflowAndTruncationOptions) {
  if (test::skip_without_shared()) GTEST_SKIP() << "no shared data";
  test::TempDir tmp;
  test::write_text(tmp.file("in.txt"), "hello world foo bar\tthe quick brown fox jumps\n");
  auto r = tokenize(tmp.file("in.txt"), "--pair --max-length 8 --stride 1 --overflow");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out,
            "[[101,7592,2088,102,1996,4248,2829,102],[101,2088,29379,102,1996,4248,2829,102],"
            "[101,2088,29379,102,2829,4419,14523,102],[101,29379,3347,102,1996,4248,2829,102],"
            "[101,29379,3347,102,2829,4419,14523,102],[101,7592,2088,102,2829,4419,14523,102]]\n");
  r = tokenize(tmp.file("in.txt"),
               "--pair --max-length 8 --truncation-strategy only_second --truncation-side left");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out, "[101,7592,2088,29379,3347,102,14523,102]\n");
  r = tokenize(tmp.file("in.txt"), "--pair --max-length 8 --stride 2");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("stride 2"), std::string::npos) << r.out;
}

TEST(TokenizerPairsCli, BadLineNamesFileAndLineAndPrintsNothing) {
  if (test::skip_without_shared()) GTEST_SKIP() << "no shared data";
  test::TempDir tmp;
  const std::string in = tmp.file("in.txt");
  test::write_text(in, "[\"a\", \"b\"]\n[\"only one\"]\n");
  auto r = run_command(test::embtune_bin() + " tokenize --tokenizer " + sh_quote(minilm()) +
                       " --input " + sh_quote(in) + " --pair 2>/dev/null");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  r = tokenize(in, "--pair");
  EXPECT_NE(r.out.find(in + ": line 2"), std::string::npos) << r.out;
  test::write_text(in, "a\tb\tc\n");
  r = tokenize(in, "--pair");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find(in + ": line 1"), std::string::npos) << r.out;
}

TEST(TokenizerPairsCli, SingleTextContractUnchanged) {
  if (test::skip_without_shared()) GTEST_SKIP() << "no shared data";
  test::TempDir tmp;
  test::write_text(tmp.file("in.txt"), "hello world\n\nthe quick brown fox\n");
  auto r = tokenize(tmp.file("in.txt"), "--ids");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out, "[101,7592,2088,102]\n[101,102]\n[101,1996,4248,2829,4419,102]\n");
}

}  // namespace
}  // namespace embtune
