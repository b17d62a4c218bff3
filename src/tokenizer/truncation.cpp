// Truncation of encodings as HF tokenizers does it (truncation.h): Encoding::truncate,
// truncate_encodings and Encoding::merge_with of tokenizers 0.23.
// Not the choice of parameters and not the special tokens.
#include "tokenizer/truncation.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace embtune {
namespace {

// Tokens [begin, end) of `e`, without windows.
Encoding encoding_slice(const Encoding& e, size_t begin, size_t end) {
  Encoding w;
  w.ids.assign(e.ids.begin() + begin, e.ids.begin() + end);
  w.type_ids.assign(e.type_ids.begin() + begin, e.type_ids.begin() + end);
  w.offsets.assign(e.offsets.begin() + begin, e.offsets.begin() + end);
  w.special_tokens_mask.assign(e.special_tokens_mask.begin() + begin,
                               e.special_tokens_mask.begin() + end);
  if (e.sequence_ids.size() == e.ids.size()) {
    w.sequence_ids.assign(e.sequence_ids.begin() + begin, e.sequence_ids.begin() + end);
  }
  return w;
}

// Appends b's tokens (not its windows) to *a.
void encoding_append(Encoding* a, const Encoding& b) {
  // A hand-built encoding may lack sequence ids; they are 0 (a) and 1 (b) then, as HF's ranges.
  if (a->sequence_ids.size() != a->ids.size()) a->sequence_ids.assign(a->ids.size(), 0);
  a->ids.insert(a->ids.end(), b.ids.begin(), b.ids.end());
  a->type_ids.insert(a->type_ids.end(), b.type_ids.begin(), b.type_ids.end());
  a->offsets.insert(a->offsets.end(), b.offsets.begin(), b.offsets.end());
  a->special_tokens_mask.insert(a->special_tokens_mask.end(), b.special_tokens_mask.begin(),
                                b.special_tokens_mask.end());
  if (b.sequence_ids.size() == b.ids.size()) {
    a->sequence_ids.insert(a->sequence_ids.end(), b.sequence_ids.begin(), b.sequence_ids.end());
  } else {
    a->sequence_ids.resize(a->ids.size(), 1);
  }
}

const char* strategy_name(TruncationStrategy s) {
  switch (s) {
    case TruncationStrategy::kLongestFirst: return "LongestFirst";
    case TruncationStrategy::kOnlyFirst: return "OnlyFirst";
    case TruncationStrategy::kOnlySecond: return "OnlySecond";
  }
  return "?";
}

}  // namespace

Status encoding_truncate(Encoding* enc, size_t max_length, size_t stride,
                         TruncationDirection direction) {
  const size_t n = enc->ids.size();
  if (max_length >= n) return Status();
  if (max_length == 0) {
    Encoding whole = std::move(*enc);
    *enc = Encoding();
    enc->overflowing.push_back(std::move(whole));
    return Status();
  }
  if (stride >= max_length) {
    return make_error(
        "truncation stride %zu is not below the %zu tokens this text is cut to (max_length less "
        "the special tokens, shared between the texts of a pair; HF tokenizers panics here)",
        stride, max_length);
  }
  // Windows [begin, end) in HF's order: the kept one first, then away from the kept end.
  const size_t step = max_length - stride;
  std::vector<std::pair<size_t, size_t>> parts;
  if (direction == TruncationDirection::kRight) {
    for (size_t begin = 0; begin < n; begin += step) {
      const size_t end = std::min(begin + max_length, n);
      parts.emplace_back(begin, end);
      if (end == n) break;
    }
  } else {
    for (size_t last = n; last-- > 0;) {
      const size_t end = last + 1;
      const size_t begin = end < max_length ? 0 : end - max_length;
      parts.emplace_back(begin, end);
      if (begin == 0 || last < step) break;
      last -= step - 1;
    }
  }
  Encoding kept = encoding_slice(*enc, parts[0].first, parts[0].second);
  for (size_t i = 1; i < parts.size(); ++i) {
    kept.overflowing.push_back(encoding_slice(*enc, parts[i].first, parts[i].second));
  }
  *enc = std::move(kept);
  return Status();
}

Status truncate_encodings(const TruncationParams& p, Encoding* a, Encoding* b) {
  if (p.max_length == 0) {
    ET_RETURN_IF_ERROR(encoding_truncate(a, 0, p.stride, p.direction));
    if (b) ET_RETURN_IF_ERROR(encoding_truncate(b, 0, p.stride, p.direction));
    return Status();
  }
  const size_t total = a->ids.size() + (b ? b->ids.size() : 0);
  if (total <= p.max_length) return Status();
  const size_t to_remove = total - p.max_length;
  if (p.strategy == TruncationStrategy::kLongestFirst) {
    if (!b) return encoding_truncate(a, p.max_length, p.stride, p.direction);
    size_t n1 = a->ids.size(), n2 = b->ids.size();
    const bool swap = n1 > n2;  // n1 is the shorter
    if (swap) std::swap(n1, n2);
    n2 = n1 > p.max_length ? n1 : std::max(n1, p.max_length - n1);
    if (n1 + n2 > p.max_length) {
      n1 = p.max_length / 2;
      n2 = n1 + p.max_length % 2;
    }
    if (swap) std::swap(n1, n2);
    ET_RETURN_IF_ERROR(encoding_truncate(a, n1, p.stride, p.direction).wrap("first text"));
    return encoding_truncate(b, n2, p.stride, p.direction).wrap("second text");
  }
  const bool first = p.strategy == TruncationStrategy::kOnlyFirst;
  if (!first && !b) {
    return make_error(
        "truncation strategy OnlySecond needs a pair of texts (use LongestFirst or OnlyFirst)");
  }
  Encoding* target = first ? a : b;
  const size_t n = target->ids.size();
  if (n <= to_remove) {
    return make_error(
        "truncation strategy %s: the %s text has %zu tokens, too few to drop the %zu that "
        "max_length needs (HF: \"Sequence to truncate too short to respect the provided "
        "max_length\")",
        strategy_name(p.strategy), first ? "first" : "second", n, to_remove);
  }
  return encoding_truncate(target, n - to_remove, p.stride, p.direction);
}

void encoding_merge(Encoding* a, const Encoding& b) {
  std::vector<Encoding> windows;
  windows.reserve((a->overflowing.size() + 1) * (b.overflowing.size() + 1) - 1);
  auto combine = [&windows](const Encoding& x, const Encoding& y) {
    Encoding w = encoding_slice(x, 0, x.ids.size());
    encoding_append(&w, y);
    windows.push_back(std::move(w));
  };
  for (const Encoding& ao : a->overflowing) {
    combine(ao, b);
    for (const Encoding& bo : b.overflowing) combine(ao, bo);
  }
  for (const Encoding& bo : b.overflowing) combine(*a, bo);
  encoding_append(a, b);
  a->overflowing = std::move(windows);
}

}  // namespace embtune
