// AdamW update kernels (vectorised + scalar twin) and the weight-decay grouping rule.
// Not an optimizer object: the trainer owns the moments in the shared parameter layout.
#include "train/adamw.h"

#include "core/strings.h"

#include <cmath>

namespace embtune {

namespace {

// PyTorch casts each Python-float scalar to the tensor's dtype before the elementwise op; so
// do we, so that both programs round identically.
struct AdamWScalars {
  float decay_mul, beta1, one_minus_beta1, beta2, one_minus_beta2, bc2_sqrt, eps, neg_step_size;
};

AdamWScalars adamw_scalars(double lr, int64_t step, const AdamWConfig& c, bool decay) {
  const double bc1 = 1.0 - std::pow(c.beta1, static_cast<double>(step));
  const double bc2 = 1.0 - std::pow(c.beta2, static_cast<double>(step));
  return {static_cast<float>(1.0 - lr * (decay ? c.weight_decay : 0.0)),
          static_cast<float>(c.beta1),
          static_cast<float>(1.0 - c.beta1),
          static_cast<float>(c.beta2),
          static_cast<float>(1.0 - c.beta2),
          static_cast<float>(std::sqrt(bc2)),
          static_cast<float>(c.eps),
          static_cast<float>(-(lr / bc1))};
}

inline void adamw_element(float& p, float& m, float& v, float g, const AdamWScalars& s) {
  p = p * s.decay_mul;                           // param.mul_(1 - lr * weight_decay)
  m = m * s.beta1 + g * s.one_minus_beta1;       // exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
  v = v * s.beta2 + s.one_minus_beta2 * g * g;   // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2)
  const float denom = std::sqrt(v) / s.bc2_sqrt + s.eps;
  p = p + s.neg_step_size * (m / denom);         // param.addcdiv_(exp_avg, denom, value=-step_size)
}

}  // namespace

void adamw_step(float* params, float* m, float* v, const float* grads, int64_t n, double lr, int64_t step,
                const AdamWConfig& cfg, bool decay) {
  const AdamWScalars s = adamw_scalars(lr, step, cfg, decay);
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; i++) adamw_element(params[i], m[i], v[i], grads[i], s);
}

void adamw_step_scalar(float* params, float* m, float* v, const float* grads, int64_t n, double lr, int64_t step,
                       const AdamWConfig& cfg, bool decay) {
  const AdamWScalars s = adamw_scalars(lr, step, cfg, decay);
  for (int64_t i = 0; i < n; i++) adamw_element(params[i], m[i], v[i], grads[i], s);
}

bool param_gets_weight_decay(const std::string& name) {
  const bool bias = ends_with(name, "bias");
  return !bias && name.find("LayerNorm") == std::string::npos;
}

}  // namespace embtune
