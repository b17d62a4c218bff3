// The embedding cache: MurmurHash3 x64-128, model fingerprints, shard files and embed_with_cache.
// Not a database: no eviction and no compaction; deleting a fingerprint's folder empties it.
#include "eval/embed_cache.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <unordered_set>

namespace embtune {

namespace {

constexpr char kMagic[8] = {'E', 'M', 'B', 'T', 'C', 'A', 'C', 'H'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderBytes = 32;  // magic, version, dim, fingerprint (lo, hi)

inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

inline uint64_t fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

inline uint64_t load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// Accumulates named pieces into one fingerprint: each piece contributes its name, length and own
// hash, so no two different sequences of pieces can be confused by concatenation.
class FingerprintBuilder {
 public:
  void add(const std::string& name, const void* data, size_t n) {
    const Hash128 h = hash128(data, n);
    const uint64_t len = n;
    record_ += name;
    record_.push_back('\0');
    record_.append(reinterpret_cast<const char*>(&len), sizeof len);
    record_.append(reinterpret_cast<const char*>(&h.lo), sizeof h.lo);
    record_.append(reinterpret_cast<const char*>(&h.hi), sizeof h.hi);
  }
  void add(const std::string& name, const std::string& value) { add(name, value.data(), value.size()); }
  void add(const std::string& name, int64_t value) { add(name, &value, sizeof value); }
  Hash128 finish() const { return hash128(record_); }

 private:
  std::string record_;
};

// Adds a file's bytes under its base name, when the file exists.
Status add_file_if_present(FingerprintBuilder* f, const std::string& path) {
  if (!file_exists(path)) return Status::ok_status();
  std::string bytes;
  ET_RETURN_IF_ERROR(read_file(path, &bytes));
  f->add("file:" + path.substr(path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/') + 1), bytes);
  return Status::ok_status();
}

// A name no other process or call picks: pid, clock and a per-process counter, hashed.
std::string new_shard_name() {
  static std::atomic<int64_t> counter{0};
  const int64_t parts[3] = {static_cast<int64_t>(getpid()),
                            std::chrono::steady_clock::now().time_since_epoch().count() ^
                                std::chrono::system_clock::now().time_since_epoch().count(),
                            counter.fetch_add(1)};
  const Hash128 h = hash128(parts, sizeof parts);
  return "shard-" + h.hex().substr(0, 16) + ".emb";
}

}  // namespace

std::string Hash128::hex() const {
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(hi), static_cast<unsigned long long>(lo));
  return buf;
}

// MurmurHash3_x64_128 (Austin Appleby, public domain): 16-byte blocks, then the tail, then the
// finalisation mix. Output (h1, h2) as (lo, hi).
Hash128 hash128(const void* data, size_t n, uint64_t seed) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  const size_t blocks = n / 16;
  uint64_t h1 = seed, h2 = seed;
  const uint64_t c1 = 0x87c37b91114253d5ULL, c2 = 0x4cf5ad432745937fULL;
  for (size_t i = 0; i < blocks; i++) {
    uint64_t k1 = load64(p + i * 16), k2 = load64(p + i * 16 + 8);
    k1 *= c1;
    k1 = rotl64(k1, 31);
    k1 *= c2;
    h1 ^= k1;
    h1 = rotl64(h1, 27);
    h1 += h2;
    h1 = h1 * 5 + 0x52dce729;
    k2 *= c2;
    k2 = rotl64(k2, 33);
    k2 *= c1;
    h2 ^= k2;
    h2 = rotl64(h2, 31);
    h2 += h1;
    h2 = h2 * 5 + 0x38495ab5;
  }
  const uint8_t* tail = p + blocks * 16;
  uint64_t k1 = 0, k2 = 0;
  const size_t rest = n & 15;
  for (size_t i = rest; i > 8; i--) k2 ^= static_cast<uint64_t>(tail[i - 1]) << (8 * (i - 9));
  if (rest > 8) {
    k2 *= c2;
    k2 = rotl64(k2, 33);
    k2 *= c1;
    h2 ^= k2;
  }
  for (size_t i = std::min<size_t>(rest, 8); i > 0; i--) k1 ^= static_cast<uint64_t>(tail[i - 1]) << (8 * (i - 1));
  if (rest > 0) {
    k1 *= c1;
    k1 = rotl64(k1, 31);
    k1 *= c2;
    h1 ^= k1;
  }
  h1 ^= n;
  h2 ^= n;
  h1 += h2;
  h2 += h1;
  h1 = fmix64(h1);
  h2 = fmix64(h2);
  h1 += h2;
  h2 += h1;
  return Hash128{h1, h2};
}

Status embed_fingerprint(const SentenceEncoder& encoder, const EmbedOptions& opt, Hash128* out) {
  std::string prompt;
  int32_t prompt_tokens = 0;
  ET_RETURN_IF_ERROR(encoder.resolve_prompt(opt, &prompt, &prompt_tokens));
  const StModelDir& m = encoder.files();
  FingerprintBuilder f;
  f.add("format", std::string("embtune embedding cache 1"));
  f.add("config.json", m.config.dump());
  const std::string& tok = m.tokenizer_path;
  const std::string tok_dir = tok.find_last_of('/') == std::string::npos ? "." : tok.substr(0, tok.find_last_of('/'));
  std::string tok_bytes;
  ET_RETURN_IF_ERROR(read_file(tok, &tok_bytes));
  f.add("tokenizer", tok_bytes);
  ET_RETURN_IF_ERROR(add_file_if_present(&f, path_join(tok_dir, "tokenizer_config.json")));
  ET_RETURN_IF_ERROR(add_file_if_present(&f, path_join(tok_dir, "special_tokens_map.json")));
  for (const StModule& mod : m.modules) f.add("module", mod.kind + "\n" + mod.type + "\n" + mod.path);
  for (const std::string& mode : m.pooling.modes) f.add("pooling", mode);
  f.add("include_prompt", m.pooling.include_prompt ? 1 : 0);
  for (const StDenseConfig& d : m.dense)
    f.add("dense", std::to_string(d.in_features) + " " + std::to_string(d.out_features) + " " +
                       std::to_string(d.bias) + " " + d.activation);
  f.add("normalize", encoder.normalizes() ? 1 : 0);
  f.add("dim", encoder.dim());
  f.add("max_seq_length", encoder.max_seq_length());
  f.add("do_lower_case", m.do_lower_case ? 1 : 0);
  f.add("prompt", prompt);
  f.add("prompt_tokens", prompt_tokens);
  const std::vector<float>& w = encoder.bert().params();
  f.add("transformer weights", w.data(), w.size() * sizeof(float));
  const std::vector<float>& h = encoder.head().params();
  f.add("head weights", h.data(), h.size() * sizeof(float));
  *out = f.finish();
  return Status::ok_status();
}

std::string embed_cache_default_dir() {
  if (const char* d = std::getenv("EMBTUNE_CACHE_DIR"); d && *d) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return path_join(x, "embtune/embeddings");
  if (const char* h = std::getenv("HOME"); h && *h) return path_join(h, ".cache/embtune/embeddings");
  return "";
}

Status EmbedCache::open(const std::string& root, const Hash128& fingerprint, int64_t dim,
                        std::unique_ptr<EmbedCache>* out) {
  ET_CHECK(dim > 0);
  auto c = std::unique_ptr<EmbedCache>(new EmbedCache());
  c->dir_ = path_join(root, fingerprint.hex());
  c->fingerprint_ = fingerprint;
  c->dim_ = dim;
  std::error_code ec;
  std::filesystem::create_directories(c->dir_, ec);
  if (ec || !dir_exists(c->dir_))
    return make_error("%s: cannot create the embedding cache folder: %s (--no-cache runs without it)", c->dir_.c_str(),
                      ec ? ec.message().c_str() : "not a folder");
  std::vector<std::string> shards;
  for (std::filesystem::directory_iterator it(c->dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".emb") == 0) shards.push_back(it->path().string());
  }
  if (ec) return make_error("%s: cannot list the embedding cache folder: %s", c->dir_.c_str(), ec.message().c_str());
  std::sort(shards.begin(), shards.end());
  for (const std::string& s : shards) ET_RETURN_IF_ERROR(c->add_shard(s));
  *out = std::move(c);
  return Status::ok_status();
}

Status EmbedCache::add_shard(const std::string& path) {
  auto f = std::make_unique<MappedFile>();
  ET_RETURN_IF_ERROR(f->open(path));
  const size_t record = 16 + static_cast<size_t>(dim_) * sizeof(float);
  if (f->size() < kHeaderBytes) {  // cut short before its first record
    ignored_tail_bytes_ += static_cast<int64_t>(f->size());
    return Status::ok_status();
  }
  const uint8_t* p = f->data();
  uint32_t version = 0, dim = 0;
  std::memcpy(&version, p + 8, 4);
  std::memcpy(&dim, p + 12, 4);
  const Hash128 fp{load64(p + 16), load64(p + 24)};
  const char* hint = "delete the file, or the folder, to rebuild the cache";
  if (std::memcmp(p, kMagic, sizeof kMagic) != 0)
    return make_error("%s: not an embtune embedding cache shard (bad magic) (%s)", path.c_str(), hint);
  if (version != kVersion)
    return make_error("%s: embedding cache version %u, this build reads %u (%s)", path.c_str(), version, kVersion, hint);
  if (static_cast<int64_t>(dim) != dim_)
    return make_error("%s: rows of dimension %u in a cache of dimension %lld (%s)", path.c_str(), dim, (long long)dim_, hint);
  if (fp != fingerprint_)
    return make_error("%s: the shard belongs to model fingerprint %s, not to this folder's (%s)", path.c_str(),
                      fp.hex().c_str(), hint);
  const size_t records = (f->size() - kHeaderBytes) / record;
  ignored_tail_bytes_ += static_cast<int64_t>(f->size() - kHeaderBytes - records * record);
  for (size_t r = 0; r < records; r++) {
    const uint8_t* rec = p + kHeaderBytes + r * record;
    index_.emplace(Hash128{load64(rec), load64(rec + 8)}, reinterpret_cast<const float*>(rec + 16));
  }
  shards_.push_back(std::move(f));
  return Status::ok_status();
}

int64_t EmbedCache::lookup(const std::vector<Hash128>& hashes, float* rows, std::vector<uint8_t>* found) const {
  found->assign(hashes.size(), 0);
  int64_t n = 0;
  for (size_t i = 0; i < hashes.size(); i++) {
    auto it = index_.find(hashes[i]);
    if (it == index_.end()) continue;
    std::memcpy(rows + i * dim_, it->second, static_cast<size_t>(dim_) * sizeof(float));
    (*found)[i] = 1;
    n++;
  }
  return n;
}

Status EmbedCache::insert(const std::vector<Hash128>& hashes, const float* rows) {
  std::vector<size_t> fresh;
  std::unordered_set<Hash128, Hash128Hasher> taken;
  for (size_t i = 0; i < hashes.size(); i++)
    if (!index_.count(hashes[i]) && taken.insert(hashes[i]).second) fresh.push_back(i);
  if (fresh.empty()) return Status::ok_status();
  const std::string path = path_join(dir_, new_shard_name());
  AtomicFile f;
  ET_RETURN_IF_ERROR(f.open(path));
  uint8_t header[kHeaderBytes];
  const uint32_t dim = static_cast<uint32_t>(dim_);
  std::memcpy(header, kMagic, 8);
  std::memcpy(header + 8, &kVersion, 4);
  std::memcpy(header + 12, &dim, 4);
  std::memcpy(header + 16, &fingerprint_.lo, 8);
  std::memcpy(header + 24, &fingerprint_.hi, 8);
  ET_RETURN_IF_ERROR(f.write(header, sizeof header));
  for (size_t i : fresh) {
    ET_RETURN_IF_ERROR(f.write(&hashes[i].lo, 8));
    ET_RETURN_IF_ERROR(f.write(&hashes[i].hi, 8));
    ET_RETURN_IF_ERROR(f.write(rows + i * dim_, static_cast<size_t>(dim_) * sizeof(float)));
  }
  ET_RETURN_IF_ERROR(f.commit());
  return add_shard(path);
}

Status embed_with_cache(const SentenceEncoder& encoder, const std::vector<std::string>& texts, const EmbedOptions& opt,
                        EmbedCache* cache, std::vector<float>* out, EmbedCacheStats* stats) {
  const int64_t n = static_cast<int64_t>(texts.size()), D = encoder.dim();
  if (!cache) {
    ET_RETURN_IF_ERROR(encoder.embed(texts, opt, out));
    if (stats) stats->misses += n;
    return Status::ok_status();
  }
  ET_CHECK(cache->dim() == D);
  std::vector<Hash128> hashes(n);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) hashes[i] = hash128(texts[i]);
  out->assign(static_cast<size_t>(n * D), 0.0f);
  std::vector<uint8_t> found;
  const int64_t hits = cache->lookup(hashes, out->data(), &found);
  // The distinct missing texts, in first-appearance order, and where each one's row goes.
  std::vector<std::string> missing;
  std::vector<Hash128> missing_hashes;
  std::vector<int64_t> slot(n, -1);
  std::unordered_map<Hash128, int64_t, Hash128Hasher> first;
  for (int64_t i = 0; i < n; i++) {
    if (found[i]) continue;
    auto [it, is_new] = first.emplace(hashes[i], static_cast<int64_t>(missing.size()));
    if (is_new) {
      missing.push_back(texts[i]);
      missing_hashes.push_back(hashes[i]);
    }
    slot[i] = it->second;
  }
  if (stats) {
    stats->hits += hits;
    stats->misses += static_cast<int64_t>(missing.size());
  }
  if (missing.empty()) return Status::ok_status();
  EmbedOptions eo = opt;
  if (opt.progress) {
    // Progress over `texts`: hits and duplicates of embedded texts count as done up front.
    const int64_t upfront = n - static_cast<int64_t>(missing.size());
    eo.progress = [&opt, upfront, n](int64_t done, int64_t) { opt.progress(upfront + done, n); };
  }
  std::vector<float> fresh;  // (missing, D)
  ET_RETURN_IF_ERROR(encoder.embed(missing, eo, &fresh));
  for (int64_t i = 0; i < n; i++)
    if (slot[i] >= 0) std::memcpy(out->data() + i * D, fresh.data() + slot[i] * D, static_cast<size_t>(D) * sizeof(float));
  return cache->insert(missing_hashes, fresh.data());
}

}  // namespace embtune
