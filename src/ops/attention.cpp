// Unpadded scaled-dot-product attention forward and backward, per (sequence, head) block, with a
// vectorisable exp; and the scalar twins used by tests. Not a flash-attention kernel: blocks of
// query rows are done at once against all T keys, which is small for embedding-model lengths.
#include "ops/attention.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <vector>

namespace embtune {
namespace {

// exp via 2^n · p(r), r = x - n·ln2 in [-ln2/2, ln2/2]; degree-7 Taylor polynomial (error
// below 1e-8 relative), 2^n by building the exponent bits. Cody–Waite split of ln2.
inline float exp_kernel(float x) {
  const float lo = -87.3f, hi = 88.0f;
  const float xc = std::min(std::max(x, lo), hi);
  float n = std::floor(xc * 1.44269504088896341f + 0.5f);
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const float scale = std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23);
  const float y = p * scale;
  return x >= lo ? y : 0.0f;
}

}  // namespace

void exp_inplace(float* x, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; i++) x[i] = exp_kernel(x[i]);
}

namespace {

constexpr int64_t kColBlock = 16;  // one AVX-512 register of fp32

// Scores of R query rows against all keys of one head: s[r][j] = scale · q_r · k_j for
// j < Tp (Tp = T rounded up to kColBlock; kt is zero-padded), accumulated in registers one
// 16-column block at a time so that each key load serves R rows.
template <int R>
void scores_block(float* s, int64_t Tp, const float* const* qrows, const float* kt, int64_t D, float scale) {
  for (int64_t j0 = 0; j0 < Tp; j0 += kColBlock) {
    float acc[R][kColBlock] = {};
    for (int64_t d = 0; d < D; d++) {
      const float* kr = kt + d * Tp + j0;
      for (int r = 0; r < R; r++) {
        const float qd = qrows[r][d] * scale;
#pragma omp simd
        for (int64_t jj = 0; jj < kColBlock; jj++) acc[r][jj] += qd * kr[jj];
      }
    }
    for (int r = 0; r < R; r++)
      for (int64_t jj = 0; jj < kColBlock; jj++) s[r * Tp + j0 + jj] = acc[r][jj];
  }
}

// o_r = Σ_j p[r][j] · v_j for R rows, one 16-column block of the head at a time (D % 16 == 0),
// so that each value load serves R rows. v rows are `stride` floats apart.
template <int R>
void values_block(float* const* orows, const float* p, int64_t Tp, int64_t T, const float* v, int64_t stride,
                  int64_t D) {
  for (int64_t d0 = 0; d0 < D; d0 += kColBlock) {
    float acc[R][kColBlock] = {};
    for (int64_t j = 0; j < T; j++) {
      const float* vr = v + j * stride + d0;
      for (int r = 0; r < R; r++) {
        const float pj = p[r * Tp + j];
#pragma omp simd
        for (int64_t dd = 0; dd < kColBlock; dd++) acc[r][dd] += pj * vr[dd];
      }
    }
    for (int r = 0; r < R; r++)
      for (int64_t dd = 0; dd < kColBlock; dd++) orows[r][d0 + dd] = acc[r][dd];
  }
}

// o_r = Σ_j p[r][j] · v_j for R rows: the register-blocked kernel when D is a multiple of 16,
// a plain loop for other head sizes.
template <int R>
void weighted_rows(float* const* orows, const float* p, int64_t Tp, int64_t T, const float* v, int64_t stride,
                   int64_t D) {
  if (D % kColBlock == 0) {
    values_block<R>(orows, p, Tp, T, v, stride, D);
    return;
  }
  for (int r = 0; r < R; r++) {
    float* o = orows[r];
    for (int64_t d = 0; d < D; d++) o[d] = 0.0f;
    for (int64_t j = 0; j < T; j++) {
      const float pj = p[r * Tp + j];
      const float* vj = v + j * stride;
#pragma omp simd
      for (int64_t d = 0; d < D; d++) o[d] += pj * vj[d];
    }
  }
}

// dst (D, Tp) = the head's rows src + j·H, j < T, transposed and zero-padded to Tp columns, so
// that the kernels above can read 16 consecutive positions of one head dimension.
void transpose_head(std::vector<float>* dst, const float* src, int64_t T, int64_t Tp, int64_t H, int64_t D) {
  dst->assign(D * Tp, 0.0f);
  for (int64_t j = 0; j < T; j++)
    for (int64_t d = 0; d < D; d++) (*dst)[d * Tp + j] = src[j * H + d];
}

// Softmax of row[0..T) in place, normalised; entries T..Tp are left as they are (unused).
void softmax_row(float* row, int64_t T) {
  float mx = row[0];
#pragma omp simd reduction(max : mx)
  for (int64_t j = 1; j < T; j++) mx = row[j] > mx ? row[j] : mx;
#pragma omp simd
  for (int64_t j = 0; j < T; j++) row[j] = exp_kernel(row[j] - mx);
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int64_t j = 0; j < T; j++) sum += row[j];
  const float inv = 1.0f / sum;
#pragma omp simd
  for (int64_t j = 0; j < T; j++) row[j] *= inv;
}

// The dropout counter of (packed query row `row`, head h, key 0); key j adds j (attention.h).
uint64_t dropout_counter(int64_t row, int64_t h, int64_t heads) {
  return static_cast<uint64_t>(row * heads + h) << 32;
}

// Where one (sequence, head) block draws its attention-probability dropout mask.
struct BlockDropout {
  const DropoutMask* mask;  // nullptr: dropout off, the plain kernels run
  int64_t t0, h, heads;     // the sequence's first packed row, the head, the head count
  uint64_t counter(int64_t i) const { return dropout_counter(t0 + i, h, heads); }  // query row i of the sequence
};

// m[j] = scale if key j of query row i is kept, else 0, for j < T: a multiplier that gives the
// same bits as dropout_forward's select (p · scale or a zero).
void dropout_multipliers(float* m, int64_t T, const BlockDropout& bd, int64_t i) {
  const DropoutMask mask = *bd.mask;
  const uint64_t c0 = bd.counter(i);
#pragma omp simd
  for (int64_t j = 0; j < T; j++) m[j] = dropout_keep(mask, c0 + j) ? mask.scale : 0.0f;
}

// Rows [i0, i0 + R) of one (sequence, head) block; m: (Tp) scratch for the dropout multipliers.
template <int R>
void attention_rows(float* out, const float* q, const float* v, const float* kt, float* scores, float* m,
                    const BlockDropout& bd, int64_t i0, int64_t T, int64_t Tp, int64_t H, int64_t D, float scale) {
  const float* qrows[R];
  float* orows[R];
  for (int r = 0; r < R; r++) {
    qrows[r] = q + (i0 + r) * H;
    orows[r] = out + (i0 + r) * H;
  }
  scores_block<R>(scores, Tp, qrows, kt, D, scale);
  for (int r = 0; r < R; r++) softmax_row(scores + r * Tp, T);
  if (bd.mask) {
    for (int r = 0; r < R; r++) {
      float* row = scores + r * Tp;
      dropout_multipliers(m, T, bd, i0 + r);
#pragma omp simd
      for (int64_t j = 0; j < T; j++) row[j] *= m[j];
    }
  }
  weighted_rows<R>(orows, scores, Tp, T, v, H, D);
}

// Gradients for rows [i0, i0 + R) of one (sequence, head) block: writes those rows of d_q and
// accumulates into dk, dv (T, D), the block's key and value gradients held contiguously.
// p, dp: (R, Tp) scratch, m: (Tp) scratch; kt, vt: (D, Tp) keys and values of the head,
// transposed, zero-padded.
template <int R>
void attention_backward_rows(float* d_q, float* dk, float* dv, float* p, float* dp, float* m, const float* d_out,
                             const float* q, const float* k, const float* kt, const float* vt,
                             const BlockDropout& bd, int64_t i0, int64_t T, int64_t Tp, int64_t H, int64_t D,
                             float scale) {
  const float* qrows[R];
  const float* drows[R];
  float* dqrows[R];
  for (int r = 0; r < R; r++) {
    qrows[r] = q + (i0 + r) * H;
    drows[r] = d_out + (i0 + r) * H;
    dqrows[r] = d_q + (i0 + r) * H;
  }
  scores_block<R>(p, Tp, qrows, kt, D, scale);  // P, recomputed exactly as the forward does
  for (int r = 0; r < R; r++) softmax_row(p + r * Tp, T);
  scores_block<R>(dp, Tp, drows, vt, D, 1.0f);  // dP = dO Vᵀ
  for (int r = 0; r < R; r++) {
    float* pr = p + r * Tp;
    float* ds = dp + r * Tp;
    // With dropout the forward multiplied P by M (0 or 1 / (1 − p)) before V: the gradient
    // reaching P is dP ⊙ M, and V saw P ⊙ M, which replaces P once dS is formed.
    if (bd.mask) {
      dropout_multipliers(m, T, bd, i0 + r);
#pragma omp simd
      for (int64_t j = 0; j < T; j++) ds[j] *= m[j];
    }
    // dS = P ⊙ (dP − rowsum(dP ⊙ P)), with the score scale folded in for dQ and dK.
    float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
    for (int64_t j = 0; j < T; j++) dot += pr[j] * ds[j];
#pragma omp simd
    for (int64_t j = 0; j < T; j++) ds[j] = pr[j] * (ds[j] - dot) * scale;
    if (bd.mask) {
#pragma omp simd
      for (int64_t j = 0; j < T; j++) pr[j] *= m[j];
    }
  }
  weighted_rows<R>(dqrows, dp, Tp, T, k, H, D);  // dQ = dS K
  for (int64_t j = 0; j < T; j++) {  // dK += dSᵀ Q, dV += (P ⊙ M)ᵀ dO
    float* dkj = dk + j * D;
    float* dvj = dv + j * D;
    for (int r = 0; r < R; r++) {
      const float sj = dp[r * Tp + j], pj = p[r * Tp + j];
      const float* qr = qrows[r];
      const float* dr = drows[r];
#pragma omp simd
      for (int64_t d = 0; d < D; d++) {
        dkj[d] += sj * qr[d];
        dvj[d] += pj * dr[d];
      }
    }
  }
}

}  // namespace

void attention_forward(float* out, const float* q, const float* k, const float* v,
                       const int32_t* cu_seqlens, int64_t num_seqs, int64_t H, int64_t heads,
                       const DropoutMask& dropout) {
  constexpr int kRows = 4;
  const int64_t D = H / heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  const DropoutMask* mask = dropout.active() ? &dropout : nullptr;
#pragma omp parallel
  {
    std::vector<float> kt, scores;  // (D, Tp) keys of one head, transposed; (kRows, Tp) scores
    std::vector<float> m;           // (Tp) dropout multipliers of one row
#pragma omp for schedule(dynamic, 1) collapse(2)
    for (int64_t s = 0; s < num_seqs; s++) {
      for (int64_t h = 0; h < heads; h++) {
        const int64_t t0 = cu_seqlens[s], T = cu_seqlens[s + 1] - t0;
        if (T <= 0) continue;
        const int64_t Tp = (T + kColBlock - 1) / kColBlock * kColBlock;
        transpose_head(&kt, k + t0 * H + h * D, T, Tp, H, D);
        scores.resize(kRows * Tp);
        if (mask) m.resize(Tp);
        const BlockDropout bd{mask, t0, h, heads};
        const float* qh = q + t0 * H + h * D;
        const float* vh = v + t0 * H + h * D;
        float* oh = out + t0 * H + h * D;
        int64_t i = 0;
        for (; i + kRows <= T; i += kRows)
          attention_rows<kRows>(oh, qh, vh, kt.data(), scores.data(), m.data(), bd, i, T, Tp, H, D, scale);
        for (; i < T; i++) attention_rows<1>(oh, qh, vh, kt.data(), scores.data(), m.data(), bd, i, T, Tp, H, D, scale);
      }
    }
  }
}

void attention_forward_scalar(float* out, const float* q, const float* k, const float* v,
                              const int32_t* cu_seqlens, int64_t num_seqs, int64_t H,
                              int64_t heads, const DropoutMask& dropout) {
  const int64_t D = H / heads;
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  // The dropout multiplier of (row i, head h, key j): 1 when off, else 0 or the fp32 scale.
  auto keep_scale = [&](int64_t row, int64_t h, int64_t j) {
    if (!dropout.active()) return 1.0;
    const uint64_t c = dropout_counter(row, h, heads) + static_cast<uint64_t>(j);
    return dropout_keep(dropout, c) ? static_cast<double>(dropout.scale) : 0.0;
  };
  for (int64_t s = 0; s < num_seqs; s++) {
    const int64_t t0 = cu_seqlens[s], T = cu_seqlens[s + 1] - t0;
    std::vector<double> p(T);
    for (int64_t h = 0; h < heads; h++) {
      for (int64_t i = 0; i < T; i++) {
        double mx = -INFINITY;
        for (int64_t j = 0; j < T; j++) {
          double acc = 0;
          for (int64_t d = 0; d < D; d++)
            acc += static_cast<double>(q[(t0 + i) * H + h * D + d]) * k[(t0 + j) * H + h * D + d];
          p[j] = acc * scale;
          mx = std::max(mx, p[j]);
        }
        double sum = 0;
        for (int64_t j = 0; j < T; j++) sum += (p[j] = std::exp(p[j] - mx));
        for (int64_t j = 0; j < T; j++) p[j] *= keep_scale(t0 + i, h, j);
        for (int64_t d = 0; d < D; d++) {
          double acc = 0;
          for (int64_t j = 0; j < T; j++) acc += p[j] / sum * v[(t0 + j) * H + h * D + d];
          out[(t0 + i) * H + h * D + d] = static_cast<float>(acc);
        }
      }
    }
  }
}

void attention_backward(float* d_q, float* d_k, float* d_v, const float* d_out, const float* q,
                        const float* k, const float* v, const int32_t* cu_seqlens,
                        int64_t num_seqs, int64_t H, int64_t heads, const DropoutMask& dropout) {
  constexpr int kRows = 4;
  const int64_t D = H / heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  const DropoutMask* mask = dropout.active() ? &dropout : nullptr;
#pragma omp parallel
  {
    std::vector<float> kt, vt;  // (D, Tp) keys and values of one head, transposed
    std::vector<float> p, dp;   // (kRows, Tp) probabilities and their gradients
    std::vector<float> m;       // (Tp) dropout multipliers of one row
    std::vector<float> dk, dv;  // (T, D) key and value gradients of one head
#pragma omp for schedule(dynamic, 1) collapse(2)
    for (int64_t s = 0; s < num_seqs; s++) {
      for (int64_t h = 0; h < heads; h++) {
        const int64_t t0 = cu_seqlens[s], T = cu_seqlens[s + 1] - t0;
        if (T <= 0) continue;
        const int64_t Tp = (T + kColBlock - 1) / kColBlock * kColBlock;
        const int64_t off = t0 * H + h * D;
        transpose_head(&kt, k + off, T, Tp, H, D);
        transpose_head(&vt, v + off, T, Tp, H, D);
        p.resize(kRows * Tp);
        dp.resize(kRows * Tp);
        dk.assign(T * D, 0.0f);
        dv.assign(T * D, 0.0f);
        if (mask) m.resize(Tp);
        const BlockDropout bd{mask, t0, h, heads};
        int64_t i = 0;
        for (; i + kRows <= T; i += kRows)
          attention_backward_rows<kRows>(d_q + off, dk.data(), dv.data(), p.data(), dp.data(), m.data(), d_out + off,
                                         q + off, k + off, kt.data(), vt.data(), bd, i, T, Tp, H, D, scale);
        for (; i < T; i++)
          attention_backward_rows<1>(d_q + off, dk.data(), dv.data(), p.data(), dp.data(), m.data(), d_out + off,
                                     q + off, k + off, kt.data(), vt.data(), bd, i, T, Tp, H, D, scale);
        for (int64_t j = 0; j < T; j++) {
          std::copy(dk.begin() + j * D, dk.begin() + (j + 1) * D, d_k + off + j * H);
          std::copy(dv.begin() + j * D, dv.begin() + (j + 1) * D, d_v + off + j * H);
        }
      }
    }
  }
}

void attention_backward_scalar(float* d_q, float* d_k, float* d_v, const float* d_out,
                               const float* q, const float* k, const float* v,
                               const int32_t* cu_seqlens, int64_t num_seqs, int64_t H,
                               int64_t heads, const DropoutMask& dropout) {
  const int64_t D = H / heads;
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  for (int64_t s = 0; s < num_seqs; s++) {
    const int64_t t0 = cu_seqlens[s], T = cu_seqlens[s + 1] - t0;
    std::vector<double> p(T * T), ds(T * T);  // (T, T) probabilities, score gradients
    std::vector<double> m(T * T), pm(T * T);  // (T, T) dropout multipliers, P ⊙ M (what V saw)
    for (int64_t h = 0; h < heads; h++) {
      auto at = [&](const float* x, int64_t t, int64_t d) { return static_cast<double>(x[(t0 + t) * H + h * D + d]); };
      for (int64_t i = 0; i < T; i++) {
        for (int64_t j = 0; j < T; j++) {
          const uint64_t c = dropout_counter(t0 + i, h, heads) + static_cast<uint64_t>(j);
          m[i * T + j] = !dropout.active() ? 1.0 : dropout_keep(dropout, c) ? static_cast<double>(dropout.scale) : 0.0;
        }
        double mx = -INFINITY, sum = 0, dot = 0;
        for (int64_t j = 0; j < T; j++) {
          double acc = 0;
          for (int64_t d = 0; d < D; d++) acc += at(q, i, d) * at(k, j, d);
          p[i * T + j] = acc * scale;
          mx = std::max(mx, p[i * T + j]);
        }
        for (int64_t j = 0; j < T; j++) sum += (p[i * T + j] = std::exp(p[i * T + j] - mx));
        for (int64_t j = 0; j < T; j++) {
          p[i * T + j] /= sum;
          double dpij = 0;  // dP = dO Vᵀ
          for (int64_t d = 0; d < D; d++) dpij += at(d_out, i, d) * at(v, j, d);
          dpij *= m[i * T + j];  // the gradient reaching P through the dropout
          ds[i * T + j] = dpij;
          dot += dpij * p[i * T + j];
        }
        for (int64_t j = 0; j < T; j++) {
          ds[i * T + j] = p[i * T + j] * (ds[i * T + j] - dot);
          pm[i * T + j] = p[i * T + j] * m[i * T + j];
        }
      }
      for (int64_t t = 0; t < T; t++) {
        for (int64_t d = 0; d < D; d++) {
          double gq = 0, gk = 0, gv = 0;
          for (int64_t j = 0; j < T; j++) {
            gq += ds[t * T + j] * at(k, j, d);
            gk += ds[j * T + t] * at(q, j, d);
            gv += pm[j * T + t] * at(d_out, j, d);
          }
          const int64_t idx = (t0 + t) * H + h * D + d;
          d_q[idx] = static_cast<float>(gq * scale);
          d_k[idx] = static_cast<float>(gk * scale);
          d_v[idx] = static_cast<float>(gv);
        }
      }
    }
  }
}

}  // namespace embtune
