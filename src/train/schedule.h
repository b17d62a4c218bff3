// Learning-rate schedules with warmup (as transformers' get_scheduler defines linear, cosine
// and constant) and gradient clipping by global norm (as torch.nn.utils.clip_grad_norm_).
// Not the optimizer (adamw.h) and not the training loop.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace embtune {

enum class LrSchedule { Constant, Linear, Cosine };

Status lr_schedule_from_name(const std::string& name, LrSchedule* out);  // constant, linear, cosine

// The learning rate of optimizer step `step` (0-based: the first update uses step 0), for
// `total` steps of which the first `warmup` ramp up linearly from 0:
//   warmup:   base · step / warmup
//   linear:   base · max(0, (total − step) / (total − warmup))
//   cosine:   base · max(0, ½ · (1 + cos(π · (step − warmup) / (total − warmup))))
//   constant: base
double lr_at_step(LrSchedule kind, double base, int64_t step, int64_t warmup, int64_t total);

// Scales grads (n floats) so that their global L2 norm is at most max_norm, as
// clip_grad_norm_ does (coefficient max_norm / (norm + 1e-6), applied only when below 1).
// Returns the norm before clipping. max_norm <= 0 only measures.
double clip_grad_norm(float* grads, int64_t n, double max_norm);

}  // namespace embtune
