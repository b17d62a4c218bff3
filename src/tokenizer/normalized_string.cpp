// Construction, NFD and the general alignment-preserving transform of NormalizedString.
// Not where normalizers live: they call these operations from normalizer_*.cpp.
#include "tokenizer/normalized_string.h"

#include "core/status.h"
#include "tokenizer/unicode.h"

namespace embtune {

void NormalizedString::assign_original(const std::vector<char32_t>& text, size_t begin,
                                       size_t end) {
  chars.resize(end - begin);
  for (size_t i = begin; i < end; ++i) {
    chars[i - begin] = {text[i], static_cast<uint32_t>(i), static_cast<uint32_t>(i + 1)};
  }
}

void NormalizedString::transform(const std::vector<std::pair<char32_t, int>>& dest,
                                 size_t initial_removed) {
  std::vector<AlignedChar> result;
  result.reserve(dest.size());
  size_t next = initial_removed;  // the next input character to replace
  for (const auto& [c, change] : dest) {
    if (change > 0) {
      // HF aligns a leading insertion to (0, 0); none of our stages inserts first.
      ET_CHECK(next > 0);
      result.push_back({c, chars[next - 1].begin, chars[next - 1].end});
    } else {
      ET_CHECK(next < chars.size());
      result.push_back({c, chars[next].begin, chars[next].end});
      next += 1 + static_cast<size_t>(-change);
    }
  }
  chars.swap(result);
}

void NormalizedString::nfd() {
  bool maybe_changes = false;
  for (const AlignedChar& a : chars) {
    if (a.c >= 0xC0) {
      maybe_changes = true;
      break;
    }
  }
  if (!maybe_changes) return;

  struct Piece {
    char32_t c;
    int change;
    uint8_t ccc;
  };
  std::vector<Piece> pieces;
  pieces.reserve(chars.size() + chars.size() / 2);
  // Non-starters since the last starter are sorted by class (stably) when the next starter comes.
  size_t run_begin = 0;
  auto sort_run = [&] {
    for (size_t i = run_begin + 1; i < pieces.size(); ++i) {
      Piece p = pieces[i];
      size_t j = i;
      while (j > run_begin && pieces[j - 1].ccc > p.ccc) {
        pieces[j] = pieces[j - 1];
        --j;
      }
      pieces[j] = p;
    }
    run_begin = pieces.size();
  };
  char32_t buf[kMaxDecomposition];
  for (const AlignedChar& a : chars) {
    int n = canonical_decompose(a.c, buf);
    for (int k = 0; k < n; ++k) {
      uint8_t ccc = combining_class(buf[k]);
      if (ccc == 0) sort_run();
      pieces.push_back({buf[k], k == 0 ? 0 : 1, ccc});
    }
  }
  sort_run();

  std::vector<std::pair<char32_t, int>> dest;
  dest.reserve(pieces.size());
  for (const Piece& p : pieces) dest.emplace_back(p.c, p.change);
  transform(dest, 0);
}

}  // namespace embtune
