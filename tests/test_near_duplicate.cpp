// Near-duplicate detection: normalised words, shingle Jaccard checked by hand, MinHash agreement,
// and LSH pairs against brute-force exact Jaccard on random texts. Not the check-leakage command.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <utility>

#include "data/near_duplicate.h"

namespace embtune {
namespace {

using Words = std::vector<std::string>;

// "w0 w1 … w<n-1>": n distinct words, so every 3-word shingle is distinct.
Words numbered_words(int n) {
  Words w;
  for (int i = 0; i < n; ++i) w.push_back(std::string("w").append(std::to_string(i)));
  return w;
}

std::string join(const Words& w) {
  std::string s;
  for (const auto& x : w) {
    if (!s.empty()) s += ' ';
    s += x;
  }
  return s;
}

TEST(NearDuplicate, WordsAreNfkcCaseFoldedRunsOfLettersMarksDigits) {
  EXPECT_EQ(near_duplicate_words("The  Cat,sat.\tOn\nTHE mat!"), (Words{"the", "cat", "sat", "on", "the", "mat"}));
  EXPECT_EQ(near_duplicate_words("\xEF\xBC\xA1\xEF\xBC\xA2\xEF\xBC\xA3"), (Words{"abc"}));  // full-width ＡＢＣ
  EXPECT_EQ(near_duplicate_words("\xEF\xAC\x81sh"), (Words{"fish"}));                     // ﬁ ligature
  EXPECT_EQ(near_duplicate_words("Stra\xC3\x9F" "e"), (Words{"strasse"}));                 // ß folds to ss
  // Precomposed é and e + combining acute are one word, the same word.
  EXPECT_EQ(near_duplicate_words("caf\xC3\xA9"), near_duplicate_words("cafe\xCC\x81"));
  EXPECT_EQ(near_duplicate_words("v2.0 x-ray"), (Words{"v2", "0", "x", "ray"}));
  // 東京タワー: letters (Lo) and the long-vowel mark (Lm) form one word.
  EXPECT_EQ(near_duplicate_words("\xE6\x9D\xB1\xE4\xBA\xAC\xE3\x82\xBF\xE3\x83\xAF\xE3\x83\xBC").size(), 1u);
  EXPECT_EQ(near_duplicate_normal_form("  Hello,\tWORLD!! "), "hello world");
}

TEST(NearDuplicate, AsciiFastPathMatchesUtf8proc) {
  // Every ASCII character, each between two letters; one non-ASCII word sends the text through
  // utf8proc instead of the ASCII path.
  std::string ascii;
  for (int c = 0; c < 128; ++c) {
    ascii += 'x';
    ascii += static_cast<char>(c);
    ascii += 'Y';
  }
  Words via_utf8proc = near_duplicate_words(ascii + " \xC3\xA9");
  ASSERT_EQ(via_utf8proc.back(), "\xC3\xA9");
  via_utf8proc.pop_back();
  EXPECT_EQ(near_duplicate_words(ascii), via_utf8proc);
  EXPECT_EQ(near_duplicate_words("Hello, World-42!"), (Words{"hello", "world", "42"}));
}

TEST(NearDuplicate, InvalidBytesSeparateWords) {
  EXPECT_EQ(near_duplicate_words("abc\xFF" "def"), (Words{"abc", "def"}));
  EXPECT_EQ(near_duplicate_words("\xC3"), Words{});
}

TEST(NearDuplicate, EmptyAndShortTexts) {
  NearDuplicateOptions opt;
  EXPECT_TRUE(shingle_hashes("", opt).empty());
  EXPECT_TRUE(shingle_hashes(" ... !? ", opt).empty());
  EXPECT_EQ(shingle_jaccard("", " ... ", opt), 1.0);
  EXPECT_EQ(shingle_jaccard("", "word", opt), 0.0);
  // Fewer words than a shingle: one shingle of them all.
  EXPECT_EQ(shingle_hashes("hello world", opt).size(), 1u);
  EXPECT_EQ(shingle_jaccard("hello world", "Hello, World!", opt), 1.0);
  EXPECT_EQ(shingle_jaccard("hello world", "hello", opt), 0.0);
  EXPECT_EQ(shingle_jaccard("hello world", "hello world again", opt), 0.0);
}

TEST(NearDuplicate, NormalisationDifferencesGiveJaccardOne) {
  NearDuplicateOptions opt;
  EXPECT_EQ(shingle_jaccard("The \xEF\xAC\x81ne \xEF\xBC\xA3\xEF\xBC\xA1\xEF\xBC\xB4 sat on the mat",
                            "the fine cat   sat, on THE MAT.", opt),
            1.0);
  EXPECT_LT(shingle_jaccard("the fine cat sat on the mat", "the fine dog sat on the mat", opt), 1.0);
}

TEST(NearDuplicate, JaccardByHand) {
  NearDuplicateOptions opt;
  // {abc, bcd, cde} vs {abc, bcd, cdf}: 2 shared of 4.
  EXPECT_DOUBLE_EQ(shingle_jaccard("a b c d e", "a b c d f", opt), 2.0 / 4.0);
  // Repeated shingles count once: "a b a b a b" has {aba, bab}.
  EXPECT_EQ(shingle_hashes("a b a b a b", opt).size(), 2u);
  EXPECT_DOUBLE_EQ(shingle_jaccard("a b a b a b", "a b a", opt), 1.0 / 2.0);
  // 2-word shingles: {ab, bc, cd} vs {ab, bc, cd, de}.
  opt.shingle_words = 2;
  EXPECT_DOUBLE_EQ(shingle_jaccard("a b c d", "a b c d e", opt), 3.0 / 4.0);
}

TEST(NearDuplicate, PlantedNearDuplicateFoundAtThreshold) {
  NearDuplicateOptions opt;
  const Words base = numbered_words(40);  // 38 shingles
  Words one = base;
  one[20] = "changed";  // 3 shingles replaced: 35 shared of 41
  Words two = base;
  two[10] = "changed";
  two[30] = "altered";  // 6 replaced: 32 shared of 44
  EXPECT_DOUBLE_EQ(shingle_jaccard(join(base), join(one), opt), 35.0 / 41.0);
  EXPECT_DOUBLE_EQ(shingle_jaccard(join(base), join(two), opt), 32.0 / 44.0);

  std::vector<NearDuplicatePair> pairs;
  near_duplicate_pairs({"unrelated words here and there", join(base)}, {join(two), join(one), "", "x y z"}, 0.8, opt,
                       &pairs);
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ(pairs[0].a, 1);
  EXPECT_EQ(pairs[0].b, 1);
  EXPECT_DOUBLE_EQ(pairs[0].jaccard, 35.0 / 41.0);
}

TEST(NearDuplicate, TextsWithoutWordsAreNeverPaired) {
  std::vector<NearDuplicatePair> pairs;
  near_duplicate_pairs({"", "...", "same text here"}, {"", "!!", "Same text, here."}, 0.8, {}, &pairs);
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ(pairs[0].a, 2);
  EXPECT_EQ(pairs[0].b, 2);
  EXPECT_EQ(pairs[0].jaccard, 1.0);
}

TEST(NearDuplicate, MinHashAgreementEstimatesJaccard) {
  NearDuplicateOptions opt;
  opt.num_hashes = 512;
  opt.bands = 128;
  std::vector<uint64_t> a, b;  // 1000 shared of 2000: Jaccard 0.5
  for (uint64_t i = 0; i < 1500; ++i) a.push_back(i * 7919);
  for (uint64_t i = 500; i < 2000; ++i) b.push_back(i * 7919);
  const auto sa = minhash_signature(a, opt), sb = minhash_signature(b, opt);
  ASSERT_EQ(sa.size(), 512u);
  EXPECT_EQ(sa, minhash_signature(a, opt));
  int agree = 0;
  for (size_t i = 0; i < sa.size(); ++i) agree += sa[i] == sb[i];
  // Binomial(512, 0.5): standard deviation 0.022; 0.1 is 4.5 of them.
  EXPECT_NEAR(agree / 512.0, 0.5, 0.1);
  opt.seed = 1;
  EXPECT_NE(sa, minhash_signature(a, opt));
}

// Random texts of 20-60 words from a 5,000-word vocabulary: two of them share almost no shingles.
struct RandomTexts {
  std::mt19937 rng{12345};
  Words random_words(int n) {
    std::uniform_int_distribution<int> word(0, 4999);
    Words w;
    for (int i = 0; i < n; ++i) w.push_back(std::string("v").append(std::to_string(word(rng))));
    return w;
  }
  Words random_words() { return random_words(std::uniform_int_distribution<int>(20, 60)(rng)); }
};

TEST(NearDuplicate, LshFindsEveryPlantedNearDuplicateAmongRandomTexts) {
  RandomTexts r;
  NearDuplicateOptions opt;
  std::vector<std::string> first, second;
  std::vector<Words> first_words;
  for (int i = 0; i < 2000; ++i) {
    first_words.push_back(r.random_words());
    first.push_back(join(first_words.back()));
  }
  for (int i = 0; i < 2000; ++i) second.push_back(join(r.random_words()));
  // 50 near-duplicates: a 40-60-word training text with one interior word replaced, at least
  // 35 of 41 shingles shared (Jaccard >= 0.85); the case changes too, which must not matter.
  std::set<std::pair<int64_t, int64_t>> planted;
  for (int k = 0; k < 50; ++k) {
    int64_t a = 0;
    do {
      a = std::uniform_int_distribution<int64_t>(0, 1999)(r.rng);
    } while (first_words[static_cast<size_t>(a)].size() < 40);
    Words w = first_words[static_cast<size_t>(a)];
    w[w.size() / 2] = "planted";
    std::string text = join(w);
    std::transform(text.begin(), text.end(), text.begin(), ::toupper);
    const int64_t b = k * 40;
    second[static_cast<size_t>(b)] = text;
    ASSERT_GE(shingle_jaccard(first[static_cast<size_t>(a)], text, opt), 0.85);
    planted.insert({a, b});
  }
  std::vector<NearDuplicatePair> pairs;
  near_duplicate_pairs(first, second, 0.8, opt, &pairs);
  std::set<std::pair<int64_t, int64_t>> found;
  for (const auto& p : pairs) {
    EXPECT_GE(p.jaccard, 0.8);
    EXPECT_DOUBLE_EQ(p.jaccard, shingle_jaccard(first[static_cast<size_t>(p.a)], second[static_cast<size_t>(p.b)], opt));
    found.insert({p.a, p.b});
  }
  EXPECT_EQ(found, planted);
  EXPECT_TRUE(std::is_sorted(pairs.begin(), pairs.end(), [](const NearDuplicatePair& x, const NearDuplicatePair& y) {
    return std::make_pair(x.a, x.b) < std::make_pair(y.a, y.b);
  }));
}

TEST(NearDuplicate, LshAgreesWithBruteForce) {
  RandomTexts r;
  NearDuplicateOptions opt;
  std::vector<std::string> first, second;
  std::vector<Words> first_words;
  for (int i = 0; i < 300; ++i) {
    first_words.push_back(r.random_words(std::uniform_int_distribution<int>(40, 60)(r.rng)));
    first.push_back(join(first_words.back()));
  }
  // Every tenth eval text copies a training text exactly (Jaccard 1), with one word replaced
  // (>= 0.85), or with its second half replaced (<= 0.5): none near the 0.8 threshold.
  for (int i = 0; i < 300; ++i) {
    if (i % 10 != 0) {
      second.push_back(join(r.random_words()));
      continue;
    }
    Words w = first_words[static_cast<size_t>((i * 7) % 300)];
    const int kind = (i / 10) % 3;
    if (kind == 1) w[w.size() / 2] = "planted";
    if (kind == 2) {
      const Words other = r.random_words(static_cast<int>(w.size()));
      std::copy(other.begin() + static_cast<long>(w.size() / 2), other.end(), w.begin() + static_cast<long>(w.size() / 2));
    }
    second.push_back(join(w));
  }
  std::set<std::pair<int64_t, int64_t>> brute;
  int near_threshold = 0;
  std::vector<std::vector<uint64_t>> second_shingles;
  for (const auto& t : second) second_shingles.push_back(shingle_hashes(t, opt));
  for (int64_t a = 0; a < 300; ++a) {
    const auto sa = shingle_hashes(first[static_cast<size_t>(a)], opt);
    for (int64_t b = 0; b < 300; ++b) {
      const auto& sb = second_shingles[static_cast<size_t>(b)];
      std::vector<uint64_t> both;
      std::set_intersection(sa.begin(), sa.end(), sb.begin(), sb.end(), std::back_inserter(both));
      const double j = static_cast<double>(both.size()) / static_cast<double>(sa.size() + sb.size() - both.size());
      if (j >= 0.8) brute.insert({a, b});
      near_threshold += j > 0.6 && j < 0.85;
    }
  }
  EXPECT_EQ(near_threshold, 0);
  EXPECT_EQ(brute.size(), 20u);
  std::vector<NearDuplicatePair> pairs;
  near_duplicate_pairs(first, second, 0.8, opt, &pairs);
  std::set<std::pair<int64_t, int64_t>> found;
  for (const auto& p : pairs) found.insert({p.a, p.b});
  EXPECT_EQ(found, brute);
}

}  // namespace
}  // namespace embtune
