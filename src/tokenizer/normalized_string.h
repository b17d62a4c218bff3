// Text being normalized: code points, each with the [begin, end) range of ORIGINAL code points it
// came from, so token offsets survive every stage. Not a string class: no searching or slicing.
//
// The alignment rules are those of HF tokenizers' NormalizedString::transform: a character that
// replaces an input character takes that character's range, and an inserted character (from an
// expansion such as NFD or U+0130 lowercasing) takes the range of the input character before it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace embtune {

struct AlignedChar {
  char32_t c;
  uint32_t begin;  // original code point range [begin, end)
  uint32_t end;
};

struct NormalizedString {
  std::vector<AlignedChar> chars;

  // Sets the text to original code points [begin, end) of `text`, each aligned to itself.
  void assign_original(const std::vector<char32_t>& text, size_t begin, size_t end);

  // Keeps the characters for which keep(c) is true.
  template <class Keep>
  void filter(Keep keep) {
    size_t w = 0;
    for (const AlignedChar& a : chars) {
      if (keep(a.c)) chars[w++] = a;
    }
    chars.resize(w);
  }

  // Replaces each character by map(c) (one for one).
  template <class Map>
  void map(Map map) {
    for (AlignedChar& a : chars) a.c = map(a.c);
  }

  // Replaces each character c by the n >= 1 characters expand(c, out) writes to out[0..n), all
  // aligned to c. `max_out` bounds n. Cheaper than transform() when nothing moves.
  template <int max_out, class Expand>
  void expand(Expand expand) {
    std::vector<AlignedChar> result;
    result.reserve(chars.size() + chars.size() / 4 + 4);
    char32_t out[max_out];
    for (const AlignedChar& a : chars) {
      int n = expand(a.c, out);
      for (int k = 0; k < n; ++k) result.push_back({out[k], a.begin, a.end});
    }
    chars.swap(result);
  }

  // Canonical decomposition (NFD) with canonical reordering of combining marks, aligned as HF
  // does it: a reordered mark takes the range of the position it lands on.
  void nfd();

  // HF's general transform: `dest` lists the new characters with a change of 0 (replaces the next
  // input character), 1 (inserted after the previous one) or -n (replaces the next input
  // character and removes the n after it); `initial_removed` input characters are dropped first.
  void transform(const std::vector<std::pair<char32_t, int>>& dest, size_t initial_removed);
};

}  // namespace embtune
