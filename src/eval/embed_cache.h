// An on-disk cache of text embeddings keyed by (model fingerprint, text hash), so that evaluating
// a model again does not re-embed an unchanged corpus. Not a vector index: rows are looked up by
// exact text, and searching them is dense_search.h's job.
//
//   Hash128 fp;
//   ET_RETURN_IF_ERROR(embed_fingerprint(encoder, opt, &fp));
//   std::unique_ptr<EmbedCache> cache;
//   ET_RETURN_IF_ERROR(EmbedCache::open(embed_cache_default_dir(), fp, encoder.dim(), &cache));
//   std::vector<float> rows;                                  // (texts, D)
//   ET_RETURN_IF_ERROR(embed_with_cache(encoder, texts, opt, cache.get(), &rows));
//
// Layout: <root>/<fingerprint as 32 hex digits>/shard-<16 hex>.emb, each shard a 32-byte header
// (magic "EMBTCACH", u32 version 1, u32 dim, the 16-byte fingerprint) then fixed-size records
// (16-byte text hash, dim fp32), little-endian. A shard is written whole to a temporary and
// renamed into place (AtomicFile), one new shard per insert(), so processes sharing a cache never
// write to the same file and readers never see a half-written shard under its final name. A
// shard whose length is not header + whole records (a copy or disk cut short) is read up to its
// last whole record; a wrong magic, version, dim or fingerprint is an error naming the shard.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/file.h"
#include "core/status.h"
#include "model/sentence_encoder.h"

namespace embtune {

// A 128-bit hash (MurmurHash3 x64-128). Strong against accidental collisions, not against an
// adversary choosing texts.
struct Hash128 {
  uint64_t lo = 0, hi = 0;
  bool operator==(const Hash128& o) const { return lo == o.lo && hi == o.hi; }
  bool operator!=(const Hash128& o) const { return !(*this == o); }
  std::string hex() const;  // 32 lowercase hex digits, hi then lo
};

struct Hash128Hasher {
  size_t operator()(const Hash128& h) const { return static_cast<size_t>(h.lo ^ (h.hi * 0x9e3779b97f4a7c15ULL)); }
};

Hash128 hash128(const void* data, size_t n, uint64_t seed = 0);
inline Hash128 hash128(std::string_view s, uint64_t seed = 0) { return hash128(s.data(), s.size(), seed); }

// The fingerprint of everything that decides the embedding of a text under `opt`: the weights as
// they are in memory (Transformer and Dense: so a model being trained in this process gets a new
// fingerprint after each update), config.json, the tokenizer files (tokenizer.json or vocab.txt
// with tokenizer_config.json and special_tokens_map.json), modules.json's modules, pooling,
// Dense settings, Normalize, max_seq_length, do_lower_case and the prompt text `opt` resolves to.
// Not batch_tokens: packing changes results only by float rounding. Hashing reads every weight
// once (~25 ms per 100 MB). Errors: an unknown prompt name, an unreadable tokenizer file.
Status embed_fingerprint(const SentenceEncoder& encoder, const EmbedOptions& opt, Hash128* out);

// $EMBTUNE_CACHE_DIR, else $XDG_CACHE_HOME/embtune/embeddings, else $HOME/.cache/embtune/embeddings;
// "" when none of these variables is set.
std::string embed_cache_default_dir();

struct EmbedCacheStats {
  int64_t hits = 0;    // texts whose rows came from the cache
  int64_t misses = 0;  // texts embedded (each distinct text once) and stored
};

class EmbedCache {
 public:
  // Opens (creating as needed) <root>/<fingerprint.hex()> and indexes its shards. Errors name
  // the directory (cannot create) or the shard (bad header), with a hint to delete it.
  static Status open(const std::string& root, const Hash128& fingerprint, int64_t dim, std::unique_ptr<EmbedCache>* out);

  const std::string& dir() const { return dir_; }
  const Hash128& fingerprint() const { return fingerprint_; }
  int64_t dim() const { return dim_; }
  int64_t size() const { return static_cast<int64_t>(index_.size()); }  // distinct texts held
  // Bytes past the last whole record of shards cut short (ignored), summed at open().
  int64_t ignored_tail_bytes() const { return ignored_tail_bytes_; }

  // For each hashes[i] held, copies its row into rows (hashes.size(), dim) at row i and sets
  // (*found)[i] = 1; other rows are left as they were and get 0. Returns how many were found.
  int64_t lookup(const std::vector<Hash128>& hashes, float* rows, std::vector<uint8_t>* found) const;

  // Stores rows (hashes.size(), dim) under hashes not held yet, as one new shard; nothing is
  // written when all are held. Visible to this object at once, to other processes once renamed.
  Status insert(const std::vector<Hash128>& hashes, const float* rows);

 private:
  Status add_shard(const std::string& path);

  std::string dir_;
  Hash128 fingerprint_;
  int64_t dim_ = 0;
  int64_t ignored_tail_bytes_ = 0;
  std::vector<std::unique_ptr<MappedFile>> shards_;
  std::unordered_map<Hash128, const float*, Hash128Hasher> index_;  // into the mapped shards
};

// Embeds `texts` in order into out (texts.size(), dim), reading rows the cache holds and embedding
// only the others (each distinct text once), which are then stored. `cache` must have been opened
// with embed_fingerprint(encoder, opt) and encoder.dim(); nullptr embeds everything without a
// cache. opt.progress is called after each embedded batch with (texts of `texts` done, cache hits
// included, texts.size()); never when every text is a hit. Rows from the cache are bit-identical
// to the ones stored.
Status embed_with_cache(const SentenceEncoder& encoder, const std::vector<std::string>& texts, const EmbedOptions& opt,
                        EmbedCache* cache, std::vector<float>* out, EmbedCacheStats* stats = nullptr);

}  // namespace embtune
