// Unpadded scaled-dot-product attention forward and backward, one sequence at a time with all its
// heads in batched oneDNN products (fp32, or bf16 inputs with fp32 accumulation), the softmax and
// its gradient in fp32 between them; and the scalar twins used by tests. Not a flash-attention
// kernel: a sequence's (heads, T, T) scores are held at once, which is small for embedding-model
// lengths.
#include "ops/attention.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <tuple>
#include <type_traits>
#include <unistd.h>
#include <unordered_map>
#include <vector>

#include "ops/bf16.h"
#include "ops/vec_math.h"

namespace embtune {

void exp_inplace(float* x, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; i++) x[i] = exp_kernel(x[i]);
}

namespace {

// The dropout counter of (packed query row `row`, head h, key 0); key j adds j (attention.h).
uint64_t dropout_counter(int64_t row, int64_t h, int64_t heads) {
  return static_cast<uint64_t>(row * heads + h) << 32;
}

// m[j] = scale if key j of (packed query row `row`, head h) is kept, else 0, for j < T: a
// multiplier that gives the same bits as dropout_forward's select (p · scale or a zero).
void dropout_multipliers(float* m, int64_t T, const DropoutMask& mask, int64_t row, int64_t h, int64_t heads) {
  const uint64_t c0 = dropout_counter(row, h, heads);
#pragma omp simd
  for (int64_t j = 0; j < T; j++) m[j] = dropout_keep(mask, c0 + j) ? mask.scale : 0.0f;
}

// The unnormalised softmax of scale · row[0..T) in place: row[j] = exp(scale · (row[j] − max)),
// and row[T..Tp) = 0 (the padding keys: −∞ going in, so that every loop runs over the padded
// length Tp, a multiple of 8, without a scalar tail); returns 1 / the sum, the factor that
// normalises it (the callers fold it into their next pass).
float softmax_exp_row(float* row, int64_t T, int64_t Tp, float scale) {
  for (int64_t j = T; j < Tp; j++) row[j] = -INFINITY;  // exp_kernel(−∞) is 0
  float mx = row[0];
#pragma omp simd reduction(max : mx)
  for (int64_t j = 1; j < T; j++) mx = row[j] > mx ? row[j] : mx;
  const float smx = mx * scale;
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int64_t j = 0; j < Tp; j++) {
    const float e = exp_kernel(row[j] * scale - smx);
    row[j] = e;
    sum += e;
  }
  return 1.0f / sum;
}

// Element storage of the products' inputs: fp32, or bf16 bit patterns (bf16.h).
inline void store(float* dst, float x) { *dst = x; }
inline void store(uint16_t* dst, float x) { *dst = bf16_round(x); }
inline void store(uint16_t* dst, uint16_t x) { *dst = x; }  // already rounded

// The three batched products of attention, each over the heads of one sequence, padded to Tp
// rows (a multiple of kRowPad): A (heads, Tp, D) · B (heads, Tp, D)ᵀ → (heads, Tp, Tp) (scores
// and dP), P (heads, Tp, Tp) · B (heads, Tp, D) → (heads, Tp, D) (outputs and dQ), and
// Pᵀ · B → (heads, Tp, D) (dK and dV). Inputs fp32 or bf16, outputs fp32.
enum class AttnProduct { ABt, PB, PtB };
constexpr int64_t kRowPad = 8;

struct AttnKey {
  int64_t heads, Tp, D;
  AttnProduct product;
  bool bf16;
  bool operator<(const AttnKey& o) const {
    return std::tie(heads, Tp, D, product, bf16) < std::tie(o.heads, o.Tp, o.D, o.product, o.bf16);
  }
};

struct AttnPrim {
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul prim;
  size_t scratch_bytes = 0;
};

dnnl::engine& attn_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// Created once per shape (lengths are padded to kRowPad, so a model sees a few dozen shapes),
// with a user scratchpad so that threads can run primitives side by side.
AttnPrim attn_primitive(const AttnKey& key) {
  static std::mutex mu;
  static std::map<AttnKey, AttnPrim> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  if (cache.size() >= 1024) cache.clear();
  using dt = dnnl::memory::data_type;
  using dims = dnnl::memory::dims;
  const dt in = key.bf16 ? dt::bf16 : dt::f32;
  const int64_t h = key.heads, T = key.Tp, D = key.D;
  dnnl::memory::desc src, wei, dst;
  switch (key.product) {
    case AttnProduct::ABt:
      src = dnnl::memory::desc(dims{h, T, D}, in, dims{T * D, D, 1});
      wei = dnnl::memory::desc(dims{h, D, T}, in, dims{T * D, 1, D});
      dst = dnnl::memory::desc(dims{h, T, T}, dt::f32, dims{T * T, T, 1});
      break;
    case AttnProduct::PB:
      src = dnnl::memory::desc(dims{h, T, T}, in, dims{T * T, T, 1});
      wei = dnnl::memory::desc(dims{h, T, D}, in, dims{T * D, D, 1});
      dst = dnnl::memory::desc(dims{h, T, D}, dt::f32, dims{T * D, D, 1});
      break;
    case AttnProduct::PtB:
      src = dnnl::memory::desc(dims{h, T, T}, in, dims{T * T, 1, T});
      wei = dnnl::memory::desc(dims{h, T, D}, in, dims{T * D, D, 1});
      dst = dnnl::memory::desc(dims{h, T, D}, dt::f32, dims{T * D, D, 1});
      break;
  }
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, wei, dst), attr, attn_engine());
  AttnPrim p{pd, dnnl::matmul(pd), pd.scratchpad_desc().get_size()};
  return cache.emplace(key, p).first->second;
}

// One primitive ready to run on one thread: its memory objects are made once and pointed at
// new buffers per call (set_data_handle), so a call costs the product and little else.
struct AttnExec {
  dnnl::matmul prim;
  dnnl::memory src, wei, dst;
  std::unordered_map<int, dnnl::memory> args;
};

// One thread's buffers, grown and reused from call to call.
struct AttnScratch {
  std::map<AttnKey, AttnExec> execs;              // this thread's ready primitives
  std::vector<float> s, dp;                       // (group, Tp, Tp) scores / probabilities, dP / dS
  std::vector<float> o, dk, dv;                   // (heads, Tp, D) product outputs
  std::vector<uint16_t> p16, ds16;                // (group, Tp, Tp) bf16 copies of P and dS
  std::vector<uint16_t> q16, k16, v16, do16;      // (heads, Tp, D) bf16 inputs
  std::vector<float> q32, k32, v32, do32;         // (heads, Tp, D) fp32 inputs
  std::vector<float> m;                           // (Tp) dropout multipliers
  dnnl::stream stream{attn_engine()};
};

template <typename E>
struct Inputs;
template <>
struct Inputs<float> {
  static std::vector<float>& q(AttnScratch& s) { return s.q32; }
  static std::vector<float>& k(AttnScratch& s) { return s.k32; }
  static std::vector<float>& v(AttnScratch& s) { return s.v32; }
  static std::vector<float>& d(AttnScratch& s) { return s.do32; }
};
template <>
struct Inputs<uint16_t> {
  static std::vector<uint16_t>& q(AttnScratch& s) { return s.q16; }
  static std::vector<uint16_t>& k(AttnScratch& s) { return s.k16; }
  static std::vector<uint16_t>& v(AttnScratch& s) { return s.v16; }
  static std::vector<uint16_t>& d(AttnScratch& s) { return s.do16; }
};

template <typename V>
typename V::value_type* grown(V* v, size_t n) {
  if (v->size() < n) v->resize(n + n / 4);  // room for a longer sequence next time
  return v->data();
}

AttnExec& attn_exec(AttnScratch& sc, const AttnKey& key) {
  auto it = sc.execs.find(key);
  if (it != sc.execs.end()) return it->second;
  if (sc.execs.size() >= 1024) sc.execs.clear();
  const AttnPrim p = attn_primitive(key);
  const dnnl::engine& eng = attn_engine();
  AttnExec e;
  e.prim = p.prim;
  e.src = dnnl::memory(p.pd.src_desc(), eng, DNNL_MEMORY_NONE);
  e.wei = dnnl::memory(p.pd.weights_desc(), eng, DNNL_MEMORY_NONE);
  e.dst = dnnl::memory(p.pd.dst_desc(), eng, DNNL_MEMORY_NONE);
  e.args = {{DNNL_ARG_SRC, e.src}, {DNNL_ARG_WEIGHTS, e.wei}, {DNNL_ARG_DST, e.dst}};
  if (p.scratch_bytes) e.args.emplace(DNNL_ARG_SCRATCHPAD, dnnl::memory(p.pd.scratchpad_desc(), eng));
  return sc.execs.emplace(key, std::move(e)).first->second;
}

// Runs one product on this thread (inside a parallel region oneDNN runs it single-threaded).
void run_product(AttnScratch& sc, const AttnKey& key, const void* src, const void* wei, float* dst) {
  AttnExec& e = attn_exec(sc, key);
  e.src.set_data_handle(const_cast<void*>(src));
  e.wei.set_data_handle(const_cast<void*>(wei));
  e.dst.set_data_handle(dst);
  e.prim.execute(sc.stream, e.args);
  sc.stream.wait();
}

// dst (heads, Tp, D) = the sequence's rows of x (packed rows of `ld` elements, heads in the
// first heads·D columns), head by head, zero-padded. x is fp32, or bf16 patterns (S = uint16_t)
// already rounded, which then go into a bf16 dst as they are.
template <typename E, typename S>
void gather_heads(E* dst, const S* x, int64_t T, int64_t Tp, int64_t ld, int64_t heads, int64_t D) {
  static_assert(std::is_same_v<S, float> || std::is_same_v<E, uint16_t>, "bf16 inputs feed bf16 products only");
  for (int64_t h = 0; h < heads; h++) {
    E* out = dst + h * Tp * D;
    for (int64_t t = 0; t < T; t++) {
      if constexpr (std::is_same_v<E, S>) {
        std::memcpy(out + t * D, x + t * ld + h * D, D * sizeof(E));
      } else {
#pragma omp simd
        for (int64_t d = 0; d < D; d++) store(out + t * D + d, x[t * ld + h * D + d]);
      }
    }
    std::memset(static_cast<void*>(out + T * D), 0, (Tp - T) * D * sizeof(E));
  }
}

// The first T rows of src (heads, Tp, D) back into the packed rows of x (`ld` elements apart),
// fp32, or rounded to bf16 (O = uint16_t); with col_sums (heads·D, bf16 only), each fp32 value is
// also added into its column's sum, in row order: a sequence's share of a bias gradient.
template <typename O>
void scatter_heads(O* x, const float* src, int64_t T, int64_t Tp, int64_t ld, int64_t heads, int64_t D,
                   float* col_sums = nullptr) {
  for (int64_t t = 0; t < T; t++)
    for (int64_t h = 0; h < heads; h++) {
      O* out = x + t * ld + h * D;
      const float* in = src + (h * Tp + t) * D;
      if constexpr (std::is_same_v<O, float>) {
        std::memcpy(out, in, D * sizeof(float));
      } else if (col_sums) {
        float* sum = col_sums + h * D;
#pragma omp simd
        for (int64_t d = 0; d < D; d++) {
          store(out + d, in[d]);
          sum[d] += in[d];
        }
      } else {
#pragma omp simd
        for (int64_t d = 0; d < D; d++) store(out + d, in[d]);
      }
    }
}

int64_t padded(int64_t T) { return (T + kRowPad - 1) / kRowPad * kRowPad; }

// How many heads go through the products together: as many as keep their (Tp, Tp) score-sized
// buffers (`bytes_per_entry` bytes per score) within a core's cache, so that the softmax and
// the next product find them there; a divisor of `heads`, so a model sees few shapes.
int64_t head_group(int64_t heads, int64_t Tp, int64_t bytes_per_entry) {
  // Three quarters of this core's L2 (512 KiB on Zen 3, 2 MiB on Sapphire Rapids), at least
  // 256 KiB: more heads per call saves oneDNN's per-call overhead where the cache allows it.
  static const int64_t budget = [] {
    const long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
    return std::max<int64_t>(256 * 1024, l2 > 0 ? l2 / 4 * 3 : 0);
  }();
  const int64_t fit = std::max<int64_t>(1, budget / (Tp * Tp * bytes_per_entry));
  int64_t g = 1;
  for (int64_t d = 1; d <= heads; d++)
    if (heads % d == 0 && d <= fit) g = d;
  return g;
}

// f(t0, T, s) for every non-empty sequence s (first row t0, length T), threaded over sequences,
// longest first so that dynamic scheduling ends with short ones.
template <typename F>
void for_each_sequence(const int32_t* cu_seqlens, int64_t num_seqs, F&& f) {
  std::vector<int64_t> order(num_seqs);
  for (int64_t s = 0; s < num_seqs; s++) order[s] = s;
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return cu_seqlens[a + 1] - cu_seqlens[a] > cu_seqlens[b + 1] - cu_seqlens[b];
  });
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t n = 0; n < num_seqs; n++) {
    const int64_t s = order[n], t0 = cu_seqlens[s], T = cu_seqlens[s + 1] - t0;
    if (T > 0) f(t0, T, s);
  }
}

// A sequence's q, k, v and (backward) d_out gathered head-major, zero-padded to Tp rows, into
// this thread's buffers of element type E.
template <typename E>
struct HeadInputs {
  E *q, *k, *v, *d;
};

template <typename E, typename S>
HeadInputs<E> gather_inputs(AttnScratch& sc, const S* q, const S* k, const S* v, const S* d_out, int64_t t0,
                            int64_t T, int64_t Tp, int64_t H, int64_t heads, int64_t ld) {
  const int64_t D = H / heads, hTD = heads * Tp * D;
  HeadInputs<E> in{grown(&Inputs<E>::q(sc), hTD), grown(&Inputs<E>::k(sc), hTD), grown(&Inputs<E>::v(sc), hTD),
                   d_out ? grown(&Inputs<E>::d(sc), hTD) : nullptr};
  gather_heads(in.q, q + t0 * ld, T, Tp, ld, heads, D);
  gather_heads(in.k, k + t0 * ld, T, Tp, ld, heads, D);
  gather_heads(in.v, v + t0 * ld, T, Tp, ld, heads, D);
  if (d_out) gather_heads(in.d, d_out + t0 * H, T, Tp, H, heads, D);
  return in;
}

// E: the products' input type; S: q, k, v's (fp32, or bf16 already rounded); O: out's.
template <typename E, typename S, typename O>
void forward_sequence(AttnScratch& sc, O* out, const S* q, const S* k, const S* v, int64_t t0, int64_t T, int64_t H,
                      int64_t heads, int64_t ld, const DropoutMask* mask) {
  const int64_t D = H / heads, Tp = padded(T), hTD = heads * Tp * D;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  constexpr bool bf16 = std::is_same_v<E, uint16_t>;
  const int64_t G = head_group(heads, Tp, bf16 ? 6 : 4), gTT = G * Tp * Tp;
  const HeadInputs<E> in = gather_inputs<E, S>(sc, q, k, v, nullptr, t0, T, Tp, H, heads, ld);
  E *qh = in.q, *kh = in.k, *vh = in.v;
  float* s = grown(&sc.s, gTT);
  E* p = nullptr;
  if constexpr (bf16) p = grown(&sc.p16, gTT);
  else p = s;
  float* m = mask ? grown(&sc.m, Tp) : nullptr;
  float* o = grown(&sc.o, hTD);
  for (int64_t h0 = 0; h0 < heads; h0 += G) {
    const int64_t off = h0 * Tp * D;
    run_product(sc, {G, Tp, D, AttnProduct::ABt, bf16}, qh + off, kh + off, s);
    for (int64_t g = 0; g < G; g++) {
      for (int64_t i = 0; i < Tp; i++) {
        float* row = s + (g * Tp + i) * Tp;
        E* prow = p + (g * Tp + i) * Tp;
        if (i >= T) {  // padding rows: their outputs are dropped, keep them finite
          std::memset(static_cast<void*>(prow), 0, Tp * sizeof(E));
          continue;
        }
        // P = the normalised softmax (times the dropout multipliers), written as the product's
        // input in the same pass (in place in fp32, where prow is row).
        // (Over the padded length: the padding keys' probabilities come out 0.)
        const float inv = softmax_exp_row(row, T, Tp, scale);
        if (mask) {
          dropout_multipliers(m, Tp, *mask, t0 + i, h0 + g, heads);
#pragma omp simd
          for (int64_t j = 0; j < Tp; j++) store(prow + j, row[j] * inv * m[j]);
        } else {
#pragma omp simd
          for (int64_t j = 0; j < Tp; j++) store(prow + j, row[j] * inv);
        }
      }
    }
    run_product(sc, {G, Tp, D, AttnProduct::PB, bf16}, p, vh + off, o + off);
  }
  scatter_heads(out + t0 * H, o, T, Tp, H, heads, D);
}

// E: the products' input type; S: q, k, v and d_out's (fp32, or bf16 already rounded); O: d_q,
// d_k and d_v's (fp32, or bf16 rounded, with col_sums (3H) then taking this sequence's column
// sums of the fp32 d_q | d_k | d_v).
template <typename E, typename S, typename O = float>
void backward_sequence(AttnScratch& sc, O* d_q, O* d_k, O* d_v, const S* d_out, const S* q, const S* k, const S* v,
                       int64_t t0, int64_t T, int64_t H, int64_t heads, int64_t ld, const DropoutMask* mask,
                       float* col_sums = nullptr) {
  const int64_t D = H / heads, Tp = padded(T), hTD = heads * Tp * D;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  constexpr bool bf16 = std::is_same_v<E, uint16_t>;
  const int64_t G = head_group(heads, Tp, bf16 ? 12 : 8), gTT = G * Tp * Tp;
  const HeadInputs<E> in = gather_inputs<E, S>(sc, q, k, v, d_out, t0, T, Tp, H, heads, ld);
  E *qh = in.q, *kh = in.k, *vh = in.v, *doh = in.d;
  float* s = grown(&sc.s, gTT);
  float* dp = grown(&sc.dp, gTT);
  E *pm = nullptr, *ds = nullptr;  // P ⊙ M (what V saw) and dS, the products' inputs
  if constexpr (bf16) {
    pm = grown(&sc.p16, gTT);
    ds = grown(&sc.ds16, gTT);
  } else {
    pm = s;
    ds = dp;
  }
  float* m = mask ? grown(&sc.m, Tp) : nullptr;
  float* dq = grown(&sc.o, hTD);
  float* dk = grown(&sc.dk, hTD);
  float* dv = grown(&sc.dv, hTD);
  for (int64_t h0 = 0; h0 < heads; h0 += G) {
    const int64_t off = h0 * Tp * D;
    run_product(sc, {G, Tp, D, AttnProduct::ABt, bf16}, qh + off, kh + off, s);    // S, recomputed as the forward did
    run_product(sc, {G, Tp, D, AttnProduct::ABt, bf16}, doh + off, vh + off, dp);  // dP = dO Vᵀ
    for (int64_t g = 0; g < G; g++) {
      for (int64_t i = 0; i < Tp; i++) {
        float* pr = s + (g * Tp + i) * Tp;
        float* dpr = dp + (g * Tp + i) * Tp;
        E* pmr = pm + (g * Tp + i) * Tp;
        E* dsr = ds + (g * Tp + i) * Tp;
        if (i >= T) {  // padding rows contribute nothing to dK and dV
          std::memset(static_cast<void*>(pmr), 0, Tp * sizeof(E));
          std::memset(static_cast<void*>(dsr), 0, Tp * sizeof(E));
          continue;
        }
        // P normalised in the pass that takes rowsum(dP ⊙ P). With dropout the forward
        // multiplied P by M (0 or 1 / (1 − p)) before V: the gradient reaching P is dP ⊙ M, and
        // V saw P ⊙ M.
        // Over the padded length: the padding keys' P is 0 and their dP too (V's padding rows
        // are 0), so they add nothing and their dS and P ⊙ M come out 0.
        const float inv = softmax_exp_row(pr, T, Tp, scale);
        float dot = 0.0f;
        if (mask) {
          dropout_multipliers(m, Tp, *mask, t0 + i, h0 + g, heads);
#pragma omp simd reduction(+ : dot)
          for (int64_t j = 0; j < Tp; j++) {
            pr[j] *= inv;
            dpr[j] *= m[j];
            dot += pr[j] * dpr[j];
          }
        } else {
#pragma omp simd reduction(+ : dot)
          for (int64_t j = 0; j < Tp; j++) {
            pr[j] *= inv;
            dot += pr[j] * dpr[j];
          }
        }
        // dS = P ⊙ (dP − rowsum(dP ⊙ P)), with the score scale folded in for dQ and dK; and
        // P ⊙ M, dV's product input, in the same pass.
        if (mask) {
#pragma omp simd
          for (int64_t j = 0; j < Tp; j++) {
            store(dsr + j, pr[j] * (dpr[j] - dot) * scale);
            store(pmr + j, pr[j] * m[j]);
          }
        } else if constexpr (bf16) {
#pragma omp simd
          for (int64_t j = 0; j < Tp; j++) {
            store(dsr + j, pr[j] * (dpr[j] - dot) * scale);
            store(pmr + j, pr[j]);
          }
        } else {  // fp32 without dropout: pm is P itself (pmr is pr)
#pragma omp simd
          for (int64_t j = 0; j < Tp; j++) store(dsr + j, pr[j] * (dpr[j] - dot) * scale);
        }
      }
    }
    run_product(sc, {G, Tp, D, AttnProduct::PB, bf16}, ds, kh + off, dq + off);    // dQ = dS K
    run_product(sc, {G, Tp, D, AttnProduct::PtB, bf16}, ds, qh + off, dk + off);   // dK = dSᵀ Q
    run_product(sc, {G, Tp, D, AttnProduct::PtB, bf16}, pm, doh + off, dv + off);  // dV = (P ⊙ M)ᵀ dO
  }
  scatter_heads(d_q + t0 * ld, dq, T, Tp, ld, heads, D, col_sums);
  scatter_heads(d_k + t0 * ld, dk, T, Tp, ld, heads, D, col_sums ? col_sums + H : nullptr);
  scatter_heads(d_v + t0 * ld, dv, T, Tp, ld, heads, D, col_sums ? col_sums + 2 * H : nullptr);
}

AttnScratch& attn_scratch() {
  static thread_local AttnScratch sc;
  return sc;
}

}  // namespace

void attention_forward(float* out, const float* q, const float* k, const float* v,
                       const int32_t* cu_seqlens, int64_t num_seqs, int64_t H, int64_t heads,
                       const DropoutMask& dropout, Precision precision, int64_t qkv_ld) {
  const DropoutMask* mask = dropout.active() ? &dropout : nullptr;
  const int64_t ld = qkv_ld > 0 ? qkv_ld : H;
  for_each_sequence(cu_seqlens, num_seqs, [&](int64_t t0, int64_t T, int64_t) {
    if (precision == Precision::Bf16)
      forward_sequence<uint16_t, float, float>(attn_scratch(), out, q, k, v, t0, T, H, heads, ld, mask);
    else
      forward_sequence<float, float, float>(attn_scratch(), out, q, k, v, t0, T, H, heads, ld, mask);
  });
}

void attention_forward_bf16(uint16_t* out16, const uint16_t* qkv16, const int32_t* cu_seqlens, int64_t num_seqs,
                            int64_t H, int64_t heads, const DropoutMask& dropout) {
  const DropoutMask* mask = dropout.active() ? &dropout : nullptr;
  const uint16_t *q = qkv16, *k = qkv16 + H, *v = qkv16 + 2 * H;
  for_each_sequence(cu_seqlens, num_seqs, [&](int64_t t0, int64_t T, int64_t) {
    forward_sequence<uint16_t, uint16_t, uint16_t>(attn_scratch(), out16, q, k, v, t0, T, H, heads, 3 * H, mask);
  });
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
                        int64_t num_seqs, int64_t H, int64_t heads, const DropoutMask& dropout,
                        Precision precision, int64_t qkv_ld) {
  const DropoutMask* mask = dropout.active() ? &dropout : nullptr;
  const int64_t ld = qkv_ld > 0 ? qkv_ld : H;
  for_each_sequence(cu_seqlens, num_seqs, [&](int64_t t0, int64_t T, int64_t) {
    if (precision == Precision::Bf16)
      backward_sequence<uint16_t, float>(attn_scratch(), d_q, d_k, d_v, d_out, q, k, v, t0, T, H, heads, ld, mask);
    else
      backward_sequence<float, float>(attn_scratch(), d_q, d_k, d_v, d_out, q, k, v, t0, T, H, heads, ld, mask);
  });
}

void attention_backward_bf16(uint16_t* d_qkv16, float* d_bias, const uint16_t* d_out16, const uint16_t* qkv16,
                             const int32_t* cu_seqlens, int64_t num_seqs, int64_t H, int64_t heads,
                             const DropoutMask& dropout) {
  const DropoutMask* mask = dropout.active() ? &dropout : nullptr;
  const uint16_t *q = qkv16, *k = qkv16 + H, *v = qkv16 + 2 * H;
  // Each sequence sums its rows into its own slot; the slots are added in sequence order, so the
  // bias gradient does not depend on the threading.
  // (The calling thread's buffer, reused; the worker threads reach it through `base`: inside the
  // parallel region the name `slots` would be each worker's own, empty, instance.)
  static thread_local std::vector<float> slots;  // (num_seqs, 3H)
  slots.assign(static_cast<size_t>(num_seqs * 3 * H), 0.0f);
  float* base = slots.data();
  for_each_sequence(cu_seqlens, num_seqs, [&](int64_t t0, int64_t T, int64_t s) {
    backward_sequence<uint16_t, uint16_t, uint16_t>(attn_scratch(), d_qkv16, d_qkv16 + H, d_qkv16 + 2 * H, d_out16, q,
                                                    k, v, t0, T, H, heads, 3 * H, mask, base + s * 3 * H);
  });
  if (!d_bias) return;
  for (int64_t s = 0; s < num_seqs; s++) {
    const float* slot = base + s * 3 * H;
#pragma omp simd
    for (int64_t c = 0; c < 3 * H; c++) d_bias[c] += slot[c];
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
