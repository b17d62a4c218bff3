// The "NFD", "NFKD", "NFC" and "NFKC" normalizers, aligned as HF's unicode-normalization-alignments
// iterators tag them: the first character of a decomposition replaces its source, the rest are
// inserted after it, and a composed character takes the ranges of the characters it absorbed.
// Not a general Unicode normalizer: the tables are utf8proc's, gated to HF's as unicode.h says.
#include <utf8proc.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "core/status.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/unicode.h"
#include "tokenizer/unicode_tables.h"

namespace embtune {
namespace {

// Longest full compatibility decomposition of one code point (U+FDFA has 18).
constexpr int kMaxCompatDecomposition = 32;

int compat_decompose(char32_t c, char32_t out[kMaxCompatDecomposition]) {
  // What HF's (older) tables do not decompose stays, whatever utf8proc knows.
  if (c < 0xA0 || !codepoint_in(hf_compat_decomposable, c)) {
    out[0] = c;
    return 1;
  }
  utf8proc_int32_t buf[kMaxCompatDecomposition];
  int last_boundclass = 0;
  utf8proc_ssize_t n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(c), buf,
                                               kMaxCompatDecomposition,
                                               static_cast<utf8proc_option_t>(
                                                   UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT),
                                               &last_boundclass);
  ET_CHECK(n >= 1 && n <= kMaxCompatDecomposition);
  for (utf8proc_ssize_t i = 0; i < n; ++i) out[i] = static_cast<char32_t>(buf[i]);
  return static_cast<int>(n);
}

// The primary composite of starter `a` and `b`, if there is one.
bool compose_pair(char32_t a, char32_t b, char32_t* composed) {
  utf8proc_int32_t buf[2] = {static_cast<utf8proc_int32_t>(a), static_cast<utf8proc_int32_t>(b)};
  utf8proc_ssize_t n = utf8proc_normalize_utf32(buf, 2, UTF8PROC_COMPOSE);
  // A composite HF's tables do not know (its NFD keeps it) is not formed.
  if (n != 1 || !codepoint_in(hf_canonical_decomposable, static_cast<char32_t>(buf[0]))) {
    return false;
  }
  *composed = static_cast<char32_t>(buf[0]);
  return true;
}

struct Piece {
  char32_t c;
  int change;
};

// The alignments crate's Decompositions: each character's decomposition (first piece 0, others
// 1), then every run of non-starters stably sorted by combining class.
std::vector<Piece> decompose_text(const NormalizedString& s, bool compat) {
  struct Ranked {
    char32_t c;
    int change;
    uint8_t ccc;
  };
  std::vector<Ranked> pieces;
  pieces.reserve(s.chars.size() + s.chars.size() / 2);
  size_t run_begin = 0;
  auto sort_run = [&] {
    for (size_t i = run_begin + 1; i < pieces.size(); ++i) {
      Ranked p = pieces[i];
      size_t j = i;
      while (j > run_begin && pieces[j - 1].ccc > p.ccc) {
        pieces[j] = pieces[j - 1];
        --j;
      }
      pieces[j] = p;
    }
    run_begin = pieces.size();
  };
  char32_t buf[kMaxCompatDecomposition];
  for (const AlignedChar& a : s.chars) {
    int n = compat ? compat_decompose(a.c, buf) : canonical_decompose(a.c, buf);
    for (int k = 0; k < n; ++k) {
      uint8_t ccc = combining_class(buf[k]);
      if (ccc == 0) sort_run();
      pieces.push_back({buf[k], k == 0 ? 0 : 1, ccc});
    }
  }
  sort_run();
  std::vector<Piece> out;
  out.reserve(pieces.size());
  for (const Ranked& p : pieces) out.push_back({p.c, p.change});
  return out;
}

// The alignments crate's Recompositions state machine over decomposed pieces: a composite's
// change is the sum of its parts' changes minus one.
std::vector<Piece> recompose(const std::vector<Piece>& in) {
  std::vector<Piece> out;
  out.reserve(in.size());
  std::vector<Piece> blocked;  // marks kept after the current starter
  bool have_composee = false;
  Piece composee{};
  int last_ccc = -1;  // -1: none since the composee
  for (const Piece& p : in) {
    const int ccc = combining_class(p.c);
    if (!have_composee) {
      if (ccc != 0) {
        out.push_back(p);
      } else {
        composee = p;
        have_composee = true;
      }
      continue;
    }
    char32_t composed;
    if (last_ccc < 0) {
      if (compose_pair(composee.c, p.c, &composed)) {
        composee = {composed, composee.change + p.change - 1};
      } else if (ccc == 0) {
        out.push_back(composee);
        composee = p;
      } else {
        blocked.push_back(p);
        last_ccc = ccc;
      }
      continue;
    }
    if (last_ccc >= ccc) {
      if (ccc == 0) {
        out.push_back(composee);
        out.insert(out.end(), blocked.begin(), blocked.end());
        blocked.clear();
        composee = p;
        last_ccc = -1;
      } else {
        blocked.push_back(p);
        last_ccc = ccc;
      }
      continue;
    }
    if (compose_pair(composee.c, p.c, &composed)) {
      composee = {composed, composee.change + p.change - 1};
    } else {
      blocked.push_back(p);
      last_ccc = ccc;
    }
  }
  if (have_composee) out.push_back(composee);
  out.insert(out.end(), blocked.begin(), blocked.end());
  return out;
}

enum class UnicodeForm { kNfd, kNfkd, kNfc, kNfkc };

class UnicodeNormalizer : public Normalizer {
 public:
  UnicodeNormalizer(UnicodeForm form, std::string name) : form_(form), name_(std::move(name)) {}

  void normalize(NormalizedString* s) const override {
    if (form_ == UnicodeForm::kNfd) {
      s->nfd();
      return;
    }
    const bool compat = form_ == UnicodeForm::kNfkd || form_ == UnicodeForm::kNfkc;
    const bool compose = form_ == UnicodeForm::kNfc || form_ == UnicodeForm::kNfkc;
    // Below U+00A0 nothing decomposes; below U+0300 canonical forms also recompose to themselves.
    const char32_t unchanged_below = compat ? 0xA0 : 0x300;
    bool maybe_changes = false;
    for (const AlignedChar& a : s->chars) {
      if (a.c >= unchanged_below) {
        maybe_changes = true;
        break;
      }
    }
    if (!maybe_changes) return;
    std::vector<Piece> pieces = decompose_text(*s, compat);
    if (compose) pieces = recompose(pieces);
    std::vector<std::pair<char32_t, int>> dest;
    dest.reserve(pieces.size());
    for (const Piece& p : pieces) dest.emplace_back(p.c, p.change);
    transform_with_leading_inserts(s, dest, 0);
  }

  std::string describe() const override { return name_; }

 private:
  UnicodeForm form_;
  std::string name_;
};

}  // namespace

Status unicode_normalizer_from_json(const nlohmann::json& j, const std::string& type,
                                    std::unique_ptr<Normalizer>* out) {
  UnicodeForm form;
  if (type == "NFD") {
    form = UnicodeForm::kNfd;
  } else if (type == "NFKD") {
    form = UnicodeForm::kNfkd;
  } else if (type == "NFC") {
    form = UnicodeForm::kNfc;
  } else if (type == "NFKC") {
    form = UnicodeForm::kNfkc;
  } else {
    return make_error("\"%s\" is not a Unicode normalization form (NFD, NFKD, NFC, NFKC)",
                      type.c_str());
  }
  *out = std::make_unique<UnicodeNormalizer>(form, type);
  return Status();
}

}  // namespace embtune
