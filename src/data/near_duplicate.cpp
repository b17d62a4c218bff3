// Near-duplicate detection: NFKC + case-fold word splitting (utf8proc), hashed word shingles,
// MinHash signatures and a banded LSH index verified by exact Jaccard. Not file reading or embeddings.
//
// Detection probability. For two shingle sets with Jaccard s, one MinHash value agrees with
// probability s, so a band of r rows agrees with probability s^r and at least one of b bands
// agrees (making the pair a candidate) with probability
//     P(s) = 1 - (1 - s^r)^b.
// With the defaults (128 hashes = 32 bands x 4 rows):
//     s = 0.9: P = 1 - 1.5e-15      s = 0.85: P = 1 - 5.5e-11      s = 0.8: P = 1 - 4.7e-8
//     s = 0.7: P = 1 - 1.5e-4       s = 0.6:  P = 0.988             s = 0.5:  P = 0.873
//     s = 0.3: P = 0.229 (candidates only; exact verification drops them).
// So pairs at or above a 0.8 threshold are missed with probability below 5e-8 each, and the
// false candidates below it cost verification time only. The hash family h_i(x) = mix(x ^ seed_i)
// is not a true random permutation, so these figures hold approximately.
#include "data/near_duplicate.h"

#include <omp.h>
#include <utf8proc.h>

#include <algorithm>
#include <cstdlib>

#include "core/status.h"
#include "core/utf8.h"

namespace embtune {

namespace {

// splitmix64's finaliser: a bijection of 64-bit values with full avalanche.
uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;

uint64_t fnv1a(uint64_t h, const std::string& s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= kFnvPrime;
  }
  return h;
}

bool is_word_category(utf8proc_category_t c) {
  return (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO) ||  // letters
         (c >= UTF8PROC_CATEGORY_MN && c <= UTF8PROC_CATEGORY_ME) ||  // marks
         (c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO);    // digits and numbers
}

// Normalises one valid UTF-8 piece and appends its words to `out`.
void append_words(const char* s, size_t n, std::vector<std::string>* out) {
  utf8proc_uint8_t* mapped = nullptr;
  utf8proc_ssize_t len = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s), static_cast<utf8proc_ssize_t>(n),
                                      &mapped, static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE |
                                                                              UTF8PROC_COMPAT | UTF8PROC_CASEFOLD));
  if (len < 0) return;  // cannot happen for validated input; such a piece contributes no words
  bool in_word = false;
  utf8proc_ssize_t i = 0;
  while (i < len) {
    utf8proc_int32_t cp = 0;
    utf8proc_ssize_t k = utf8proc_iterate(mapped + i, len - i, &cp);
    if (k <= 0) break;
    if (is_word_category(utf8proc_category(cp))) {
      if (!in_word) out->emplace_back();
      out->back().append(reinterpret_cast<const char*>(mapped + i), static_cast<size_t>(k));
      in_word = true;
    } else {
      in_word = false;
    }
    i += k;
  }
  std::free(mapped);
}

// Exact Jaccard of two sorted, unique hash sets (1 when both are empty).
double sorted_jaccard(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
  if (a.empty() && b.empty()) return 1.0;
  size_t i = 0, j = 0, both = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i] < b[j]) {
      ++i;
    } else if (b[j] < a[i]) {
      ++j;
    } else {
      ++both;
      ++i;
      ++j;
    }
  }
  return static_cast<double>(both) / static_cast<double>(a.size() + b.size() - both);
}

void check_options(const NearDuplicateOptions& opt) {
  ET_CHECK(opt.shingle_words >= 1);
  ET_CHECK(opt.num_hashes >= 1 && opt.bands >= 1 && opt.num_hashes % opt.bands == 0);
}

// The LSH keys of a signature: one per band, hashing the band's rows together with its index so
// equal rows in different bands do not collide.
void band_keys(const std::vector<uint64_t>& sig, int bands, std::vector<uint64_t>* keys) {
  const size_t rows = sig.size() / static_cast<size_t>(bands);
  keys->resize(static_cast<size_t>(bands));
  for (int b = 0; b < bands; ++b) {
    uint64_t h = mix64(0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(b + 1));
    for (size_t r = 0; r < rows; ++r) h = mix64(h ^ sig[static_cast<size_t>(b) * rows + r]);
    (*keys)[static_cast<size_t>(b)] = h;
  }
}

struct BandEntry {
  uint64_t key;
  int64_t index;
  bool operator<(const BandEntry& o) const { return key != o.key ? key < o.key : index < o.index; }
};

}  // namespace

std::vector<std::string> near_duplicate_words(const std::string& text) {
  std::vector<std::string> words;
  // ASCII text, most of it, skips utf8proc: NFKC leaves ASCII as it is, case folding lowers A-Z,
  // and the only ASCII letters, marks and digits are [A-Za-z0-9]. The test compares both paths.
  if (std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
    bool in_word = false;
    for (char c : text) {
      const bool word_char = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      if (word_char) {
        if (!in_word) words.emplace_back();
        words.back() += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
      }
      in_word = word_char;
    }
    return words;
  }
  // Invalid bytes separate the valid pieces around them, like punctuation would.
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t start = 0, i = 0;
  while (i < n) {
    char32_t c = 0;
    size_t k = utf8_next(s, n, i, &c);
    if (k == 0) {
      if (i > start) append_words(text.data() + start, i - start, &words);
      start = ++i;
    } else {
      i += k;
    }
  }
  if (n > start) append_words(text.data() + start, n - start, &words);
  return words;
}

std::string near_duplicate_normal_form(const std::string& text) {
  std::string out;
  for (const std::string& w : near_duplicate_words(text)) {
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

std::vector<uint64_t> shingle_hashes(const std::string& text, const NearDuplicateOptions& opt) {
  check_options(opt);
  const std::vector<std::string> words = near_duplicate_words(text);
  std::vector<uint64_t> out;
  if (words.empty()) return out;
  const size_t k = std::min(words.size(), static_cast<size_t>(opt.shingle_words));
  out.reserve(words.size() - k + 1);
  for (size_t i = 0; i + k <= words.size(); ++i) {
    uint64_t h = kFnvOffset;
    for (size_t j = 0; j < k; ++j) {
      // 0x1F (unit separator) is a control character, never part of a word.
      if (j > 0) h = (h ^ 0x1F) * kFnvPrime;
      h = fnv1a(h, words[i + j]);
    }
    out.push_back(mix64(h));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

double shingle_jaccard(const std::string& a, const std::string& b, const NearDuplicateOptions& opt) {
  return sorted_jaccard(shingle_hashes(a, opt), shingle_hashes(b, opt));
}

std::vector<uint64_t> minhash_signature(const std::vector<uint64_t>& shingles, const NearDuplicateOptions& opt) {
  check_options(opt);
  std::vector<uint64_t> sig(static_cast<size_t>(opt.num_hashes), UINT64_MAX);
  for (int i = 0; i < opt.num_hashes; ++i) {
    const uint64_t seed = mix64(opt.seed + 0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(i + 1));
    uint64_t m = UINT64_MAX;
    for (uint64_t x : shingles) m = std::min(m, mix64(x ^ seed));
    sig[static_cast<size_t>(i)] = m;
  }
  return sig;
}

void near_duplicate_pairs(const std::vector<std::string>& first, const std::vector<std::string>& second,
                          double threshold, const NearDuplicateOptions& opt, std::vector<NearDuplicatePair>* out) {
  check_options(opt);
  out->clear();
  const int64_t n_first = static_cast<int64_t>(first.size());
  const int64_t n_second = static_cast<int64_t>(second.size());
  const size_t bands = static_cast<size_t>(opt.bands);

  // Index of the first set: its shingle sets (kept for verification) and every band key.
  std::vector<std::vector<uint64_t>> first_shingles(first.size());
  std::vector<BandEntry> index(first.size() * bands);
#pragma omp parallel
  {
    std::vector<uint64_t> keys;
#pragma omp for schedule(dynamic, 64)
    for (int64_t a = 0; a < n_first; ++a) {
      first_shingles[static_cast<size_t>(a)] = shingle_hashes(first[static_cast<size_t>(a)], opt);
      const std::vector<uint64_t>& sh = first_shingles[static_cast<size_t>(a)];
      // A text without words gets keys no signature can produce, so it is never a candidate.
      if (sh.empty()) {
        for (size_t b = 0; b < bands; ++b) index[static_cast<size_t>(a) * bands + b] = {0, -1};
        continue;
      }
      band_keys(minhash_signature(sh, opt), opt.bands, &keys);
      for (size_t b = 0; b < bands; ++b) index[static_cast<size_t>(a) * bands + b] = {keys[b], a};
    }
  }
  index.erase(std::remove_if(index.begin(), index.end(), [](const BandEntry& e) { return e.index < 0; }),
              index.end());
  std::sort(index.begin(), index.end());

  // Queries from the second set, each thread collecting its own verified pairs.
  std::vector<std::vector<NearDuplicatePair>> found(static_cast<size_t>(omp_get_max_threads()));
#pragma omp parallel
  {
    std::vector<uint64_t> keys;
    std::vector<int64_t> candidates;
    std::vector<NearDuplicatePair>& mine = found[static_cast<size_t>(omp_get_thread_num())];
#pragma omp for schedule(dynamic, 16)
    for (int64_t b = 0; b < n_second; ++b) {
      const std::vector<uint64_t> sh = shingle_hashes(second[static_cast<size_t>(b)], opt);
      if (sh.empty()) continue;
      band_keys(minhash_signature(sh, opt), opt.bands, &keys);
      candidates.clear();
      for (uint64_t key : keys) {
        auto it = std::lower_bound(index.begin(), index.end(), BandEntry{key, INT64_MIN});
        for (; it != index.end() && it->key == key; ++it) candidates.push_back(it->index);
      }
      std::sort(candidates.begin(), candidates.end());
      candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
      for (int64_t a : candidates) {
        const double j = sorted_jaccard(first_shingles[static_cast<size_t>(a)], sh);
        if (j >= threshold) mine.push_back({a, b, j});
      }
    }
  }
  for (const auto& f : found) out->insert(out->end(), f.begin(), f.end());
  std::sort(out->begin(), out->end(), [](const NearDuplicatePair& x, const NearDuplicatePair& y) {
    return x.a != y.a ? x.a < y.a : x.b < y.b;
  });
}

}  // namespace embtune
