// Learning-rate schedule formulas and global-norm gradient clipping.
// Not stateful: the trainer asks for the rate of each step.
#include "train/schedule.h"

#include <algorithm>
#include <cmath>

namespace embtune {

Status lr_schedule_from_name(const std::string& name, LrSchedule* out) {
  if (name == "constant") *out = LrSchedule::Constant;
  else if (name == "linear") *out = LrSchedule::Linear;
  else if (name == "cosine") *out = LrSchedule::Cosine;
  else return make_error("scheduler \"%s\" is unknown (use constant, linear or cosine)", name.c_str());
  return Status::ok_status();
}

double lr_at_step(LrSchedule kind, double base, int64_t step, int64_t warmup, int64_t total) {
  if (step < warmup) return base * static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup));
  const double rest = static_cast<double>(std::max<int64_t>(1, total - warmup));
  switch (kind) {
    case LrSchedule::Constant: return base;
    case LrSchedule::Linear: return base * std::max(0.0, static_cast<double>(total - step) / rest);
    case LrSchedule::Cosine: {
      const double progress = static_cast<double>(step - warmup) / rest;
      return base * std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * progress)));
    }
  }
  return base;
}

double clip_grad_norm(float* grads, int64_t n, double max_norm) {
  double ss = 0.0;
#pragma omp parallel for simd reduction(+ : ss) schedule(static)
  for (int64_t i = 0; i < n; i++) ss += static_cast<double>(grads[i]) * grads[i];
  const double norm = std::sqrt(ss);
  if (max_norm > 0) {
    const double coef = max_norm / (norm + 1e-6);
    if (coef < 1.0) {
      const float c = static_cast<float>(coef);
#pragma omp parallel for simd schedule(static)
      for (int64_t i = 0; i < n; i++) grads[i] *= c;
    }
  }
  return norm;
}

}  // namespace embtune
