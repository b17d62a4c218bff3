// The on-disk embedding cache: hits and misses, fingerprints of model and prompt, damaged shards,
// and rows that come back bit-identical. Not retrieval over cached rows (test_retrieve_stream.cpp).
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <set>

#include "eval/embed_cache.h"
#include "test_util.h"

namespace embtune {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kWords = {"apple", "banana", "cherry", "fruit", "note"};

std::unique_ptr<SentenceEncoder> load_tiny(const test::TempDir& tmp) {
  const std::string dir = tmp.file("model");
  if (!fs::exists(dir)) {
    EXPECT_EQ(test::make_tiny_word_model(dir, kWords), "");
  }
  std::unique_ptr<SentenceEncoder> enc;
  Status s = SentenceEncoder::load(dir, &enc);
  EXPECT_TRUE(s.ok()) << s.message();
  return enc;
}

EmbedOptions no_prompt() {
  EmbedOptions eo;
  eo.has_prompt_text = true;
  return eo;
}

std::unique_ptr<EmbedCache> open_cache(const std::string& root, const SentenceEncoder& enc, const EmbedOptions& eo) {
  Hash128 fp;
  EXPECT_TRUE(embed_fingerprint(enc, eo, &fp).ok());
  std::unique_ptr<EmbedCache> cache;
  Status s = EmbedCache::open(root, fp, enc.dim(), &cache);
  EXPECT_TRUE(s.ok()) << s.message();
  return cache;
}

std::vector<std::string> shard_files(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".emb") out.push_back(e.path().string());
  return out;
}

// SMHasher's VerificationTest: keys {}, {0}, {0, 1}, … of 0..255 bytes hashed with seeds 256..1,
// the 256 results hashed again with seed 0; MurmurHash3_x64_128 gives 0x6384BA69.
TEST(Hash128, MatchesMurmurHash3Verification) {
  uint8_t key[256];
  std::vector<uint8_t> hashes(16 * 256);
  for (int i = 0; i < 256; i++) {
    key[i] = static_cast<uint8_t>(i);
    const Hash128 h = hash128(key, i, 256 - i);
    std::memcpy(&hashes[i * 16], &h.lo, 8);
    std::memcpy(&hashes[i * 16 + 8], &h.hi, 8);
  }
  const Hash128 final = hash128(hashes.data(), hashes.size(), 0);
  EXPECT_EQ(static_cast<uint32_t>(final.lo & 0xffffffffu), 0x6384BA69u);
}

TEST(Hash128, SpreadsEveryLengthAndByte) {
  EXPECT_EQ(hash128(""), (Hash128{0, 0})) << "MurmurHash3 x64-128 of nothing with seed 0";
  std::set<std::string> seen;
  std::string s;
  for (int n = 0; n < 40; n++) {
    EXPECT_TRUE(seen.insert(hash128(s).hex()).second) << "length " << n;
    std::string flipped = s;
    for (size_t i = 0; i < flipped.size(); i++) {
      flipped[i] ^= 1;
      EXPECT_NE(hash128(flipped), hash128(s)) << "length " << n << " byte " << i;
      flipped[i] ^= 1;
    }
    s.push_back(static_cast<char>('a' + n % 26));
  }
  EXPECT_NE(hash128("abc", 1), hash128("abc", 2));
  EXPECT_EQ(hash128("abc").hex().size(), 32u);
}

TEST(EmbedCache, MissesThenHitsAndRowsAreBitIdentical) {
  test::TempDir tmp;
  auto enc = load_tiny(tmp);
  const EmbedOptions eo = no_prompt();
  const std::vector<std::string> texts = {"apple note", "banana", "cherry fruit", "the apple", "fig"};
  std::vector<float> fresh;
  ASSERT_TRUE(enc->embed(texts, eo, &fresh).ok());

  auto cache = open_cache(tmp.file("cache"), *enc, eo);
  EXPECT_EQ(cache->size(), 0);
  std::vector<float> first;
  EmbedCacheStats st;
  ASSERT_TRUE(embed_with_cache(*enc, texts, eo, cache.get(), &first, &st).ok());
  EXPECT_EQ(st.hits, 0);
  EXPECT_EQ(st.misses, 5);
  EXPECT_EQ(cache->size(), 5);
  ASSERT_EQ(first.size(), fresh.size());
  EXPECT_EQ(std::memcmp(first.data(), fresh.data(), fresh.size() * sizeof(float)), 0);

  // Some held, some new: only the new one is embedded.
  st = EmbedCacheStats();
  std::vector<float> mixed;
  ASSERT_TRUE(embed_with_cache(*enc, {"banana", "durian", "apple note"}, eo, cache.get(), &mixed, &st).ok());
  EXPECT_EQ(st.hits, 2);
  EXPECT_EQ(st.misses, 1);
  const int64_t D = enc->dim();
  EXPECT_EQ(std::memcmp(mixed.data(), fresh.data() + 1 * D, D * sizeof(float)), 0);
  EXPECT_EQ(std::memcmp(mixed.data() + 2 * D, fresh.data(), D * sizeof(float)), 0);

  // A second run, as another process would open it: nothing embedded, no progress reported,
  // the same bits back.
  auto again = open_cache(tmp.file("cache"), *enc, eo);
  EXPECT_EQ(again->size(), 6);
  int progress_calls = 0;
  EmbedOptions counted = eo;
  counted.progress = [&](int64_t, int64_t) { progress_calls++; };
  st = EmbedCacheStats();
  std::vector<float> second;
  ASSERT_TRUE(embed_with_cache(*enc, texts, counted, again.get(), &second, &st).ok());
  EXPECT_EQ(progress_calls, 0);
  EXPECT_EQ(st.hits, 5);
  EXPECT_EQ(st.misses, 0);
  EXPECT_EQ(std::memcmp(second.data(), fresh.data(), fresh.size() * sizeof(float)), 0);
}

TEST(EmbedCache, RepeatedTextsAreEmbeddedOnceAndProgressCoversAll) {
  test::TempDir tmp;
  auto enc = load_tiny(tmp);
  EmbedOptions eo = no_prompt();
  int64_t last_done = -1, last_total = -1;
  eo.progress = [&](int64_t done, int64_t total) {
    EXPECT_GT(done, last_done);
    last_done = done;
    last_total = total;
  };
  auto cache = open_cache(tmp.file("cache"), *enc, eo);
  std::vector<float> out;
  EmbedCacheStats st;
  ASSERT_TRUE(embed_with_cache(*enc, {"apple", "apple", "banana", "apple"}, eo, cache.get(), &out, &st).ok());
  EXPECT_EQ(st.misses, 2);
  EXPECT_EQ(last_done, 4);
  EXPECT_EQ(last_total, 4);
  const int64_t D = enc->dim();
  EXPECT_EQ(std::memcmp(out.data(), out.data() + 3 * D, D * sizeof(float)), 0);
}

TEST(EmbedCache, FingerprintFollowsWeightsAndPrompt) {
  test::TempDir tmp;
  auto enc = load_tiny(tmp);
  auto reloaded = load_tiny(tmp);
  const EmbedOptions eo = no_prompt();
  Hash128 a, b;
  ASSERT_TRUE(embed_fingerprint(*enc, eo, &a).ok());
  ASSERT_TRUE(embed_fingerprint(*reloaded, eo, &b).ok());
  EXPECT_EQ(a, b) << "the same model loaded twice";

  EmbedOptions prompted = eo;
  prompted.prompt_text = "query: ";
  ASSERT_TRUE(embed_fingerprint(*enc, prompted, &b).ok());
  EXPECT_NE(a, b) << "a prompt changes the key";

  reloaded->bert().params()[reloaded->bert().params().size() / 2] += 1e-3f;
  ASSERT_TRUE(embed_fingerprint(*reloaded, eo, &b).ok());
  EXPECT_NE(a, b) << "one weight changed";

  // Different fingerprints live in different folders and do not see each other's rows.
  auto c1 = open_cache(tmp.file("cache"), *enc, eo);
  auto c2 = open_cache(tmp.file("cache"), *reloaded, eo);
  EXPECT_NE(c1->dir(), c2->dir());
  std::vector<float> out;
  ASSERT_TRUE(embed_with_cache(*enc, {"apple"}, eo, c1.get(), &out).ok());
  EmbedCacheStats st;
  ASSERT_TRUE(embed_with_cache(*reloaded, {"apple"}, eo, c2.get(), &out, &st).ok());
  EXPECT_EQ(st.misses, 1);

  EmbedOptions unknown;
  unknown.prompt_name = "no-such-prompt";
  EXPECT_FALSE(embed_fingerprint(*enc, unknown, &b).ok());
}

TEST(EmbedCache, TruncatedShardTailIsIgnored) {
  test::TempDir tmp;
  auto enc = load_tiny(tmp);
  const EmbedOptions eo = no_prompt();
  const std::vector<std::string> texts = {"apple", "banana", "cherry"};
  std::vector<float> fresh;
  {
    auto cache = open_cache(tmp.file("cache"), *enc, eo);
    ASSERT_TRUE(embed_with_cache(*enc, texts, eo, cache.get(), &fresh).ok());
  }
  auto cache = open_cache(tmp.file("cache"), *enc, eo);
  const auto shards = shard_files(cache->dir());
  ASSERT_EQ(shards.size(), 1u);
  const uintmax_t size = fs::file_size(shards[0]);
  fs::resize_file(shards[0], size - 5);  // a record cut short, as by a crash or a full disk
  cache = open_cache(tmp.file("cache"), *enc, eo);
  EXPECT_EQ(cache->size(), 2);
  EXPECT_EQ(cache->ignored_tail_bytes(), static_cast<int64_t>(16 + enc->dim() * 4 - 5));
  EmbedCacheStats st;
  std::vector<float> out;
  ASSERT_TRUE(embed_with_cache(*enc, texts, eo, cache.get(), &out, &st).ok());
  EXPECT_EQ(st.hits, 2);
  EXPECT_EQ(st.misses, 1);
  EXPECT_EQ(std::memcmp(out.data(), fresh.data(), fresh.size() * sizeof(float)), 0);
  // A shard shorter than its header holds nothing and is skipped too.
  test::write_text(cache->dir() + "/shard-short.emb", "EMBT");
  cache = open_cache(tmp.file("cache"), *enc, eo);
  EXPECT_EQ(cache->size(), 3);
}

TEST(EmbedCache, DamagedHeadersAreRefusedByName) {
  test::TempDir tmp;
  auto enc = load_tiny(tmp);
  const EmbedOptions eo = no_prompt();
  Hash128 fp;
  ASSERT_TRUE(embed_fingerprint(*enc, eo, &fp).ok());
  std::string shard;
  {
    auto cache = open_cache(tmp.file("cache"), *enc, eo);
    std::vector<float> out;
    ASSERT_TRUE(embed_with_cache(*enc, {"apple"}, eo, cache.get(), &out).ok());
    shard = shard_files(cache->dir()).at(0);
  }
  std::unique_ptr<EmbedCache> cache;
  Status s = EmbedCache::open(tmp.file("cache"), fp, enc->dim() + 1, &cache);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(shard), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("dimension"), std::string::npos) << s.message();

  std::string bytes = test::read_text(shard);
  bytes[0] = 'X';
  test::write_text(shard, bytes);
  s = EmbedCache::open(tmp.file("cache"), fp, enc->dim(), &cache);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(shard), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("magic"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("delete"), std::string::npos) << s.message();
}

TEST(EmbedCache, WritersSharingAFolderEachAddTheirOwnShard) {
  test::TempDir tmp;
  auto enc = load_tiny(tmp);
  const EmbedOptions eo = no_prompt();
  auto a = open_cache(tmp.file("cache"), *enc, eo);
  auto b = open_cache(tmp.file("cache"), *enc, eo);
  std::vector<float> out;
  ASSERT_TRUE(embed_with_cache(*enc, {"apple", "banana"}, eo, a.get(), &out).ok());
  ASSERT_TRUE(embed_with_cache(*enc, {"banana", "cherry"}, eo, b.get(), &out).ok());
  EXPECT_EQ(shard_files(a->dir()).size(), 2u);
  auto c = open_cache(tmp.file("cache"), *enc, eo);
  EXPECT_EQ(c->size(), 3) << "a text stored by both writers is indexed once";
  for (const auto& e : fs::directory_iterator(a->dir()))
    EXPECT_EQ(e.path().extension(), ".emb") << "no temporary left behind: " << e.path();
}

TEST(EmbedCache, DefaultFolderFollowsTheEnvironment) {
  const char* names[] = {"EMBTUNE_CACHE_DIR", "XDG_CACHE_HOME", "HOME"};
  std::vector<std::pair<bool, std::string>> saved;
  for (const char* n : names) saved.push_back({std::getenv(n) != nullptr, std::getenv(n) ? std::getenv(n) : ""});
  setenv("EMBTUNE_CACHE_DIR", "/some/where", 1);
  setenv("XDG_CACHE_HOME", "/xdg", 1);
  setenv("HOME", "/home/u", 1);
  EXPECT_EQ(embed_cache_default_dir(), "/some/where");
  unsetenv("EMBTUNE_CACHE_DIR");
  EXPECT_EQ(embed_cache_default_dir(), "/xdg/embtune/embeddings");
  unsetenv("XDG_CACHE_HOME");
  EXPECT_EQ(embed_cache_default_dir(), "/home/u/.cache/embtune/embeddings");
  unsetenv("HOME");
  EXPECT_EQ(embed_cache_default_dir(), "");
  for (size_t i = 0; i < saved.size(); i++)
    if (saved[i].first) setenv(names[i], saved[i].second.c_str(), 1);
}

}  // namespace
}  // namespace embtune
