// Truncation of encodings as HF tokenizers does it: the windows of Encoding::truncate (with
// stride and direction), the pair strategies of truncate_encodings, and Encoding::merge_with,
// which joins a pair and every combination of their overflowing windows.
// Not the choice of parameters (tokenizer.cpp resolves EncodeOptions against tokenizer.json) and
// not the special tokens (post_processor_*.cpp).
#pragma once

#include <cstddef>

#include "core/status.h"
#include "tokenizer/tokenizer.h"

namespace embtune {

struct TruncationParams {
  size_t max_length = 0;  // tokens, the special tokens included (the caller subtracts them)
  size_t stride = 0;      // tokens each overflowing window repeats from its neighbour
  TruncationStrategy strategy = TruncationStrategy::kLongestFirst;
  TruncationDirection direction = TruncationDirection::kRight;
};

// HF's Encoding::truncate. Keeps the first (Right) or last (Left) `max_length` tokens of *enc and
// puts the rest in enc->overflowing as windows of at most `max_length` tokens, each starting
// `max_length - stride` tokens after the previous one (Left: ending that many before it), in the
// order HF makes them. max_length 0 moves the whole encoding into one overflowing window. Nothing
// changes when the encoding fits. An error where HF panics: a cut with stride >= max_length > 0.
Status encoding_truncate(Encoding* enc, size_t max_length, size_t stride,
                         TruncationDirection direction);

// HF's truncate_encodings: cuts *a, and *b when it is not null, so that together they hold at
// most p.max_length tokens. LongestFirst shares the room (the shorter text keeps what it has when
// the other can give up enough; otherwise max_length / 2 each, the odd token to the longer one);
// OnlyFirst and OnlySecond cut one text and fail, as HF does, when it is too short for that or
// (OnlySecond) there is no second text.
Status truncate_encodings(const TruncationParams& p, Encoding* a, Encoding* b);

// HF's Encoding::merge_with(b, growing_offsets = false): appends b's tokens to *a (b's offsets stay
// relative to its own text). a->overflowing becomes, in HF's order: each window of a with b, then
// with each window of b; then a with each window of b. The windows made here have no windows of
// their own (HF nests some there; nothing reads them).
void encoding_merge(Encoding* a, const Encoding& b);

}  // namespace embtune
