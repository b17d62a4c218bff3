// The sentence-transformers head after BERT (Pooling, Dense*, Normalize): forward, backward, Dense weights.
// Not the encoder (bert.h), the loss or the optimiser: the trainer runs AdamW over params().
//
// Training use, per packed batch with last hidden state hidden (N, H) and row offsets cu (S + 1):
//
//   SentenceHead& head = encoder.head();          // or head.load(files, H) / head.init(config)
//   std::vector<float> head_grads(head.params().size());  // zeroed once per optimiser step
//   SentenceHeadActivations acts;
//   head.forward_train(&acts, hidden, cu, skip, S);          // acts.embedding(): (S, head.dim())
//   ... loss gives d_emb (S, head.dim()) ...
//   d_hidden.assign(N * H, 0.0f);
//   head.backward(d_hidden.data(), head_grads.data(), acts, d_emb, hidden, cu, skip);
//   adamw_step(head.params().data(), m, v, head_grads.data(), ...) per head.layout() entry;
//   head.save_dense(out_dir);                                // each <folder>/model.safetensors
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "io/safetensors.h"
#include "io/st_dir.h"
#include "model/bert.h"
#include "ops/matmul.h"
#include "ops/pooling.h"

namespace embtune {

// One Dense module of sentence-transformers: y = act(W x + b), W (out, in) as nn.Linear stores it.
struct DenseLayer {
  std::string folder;  // the module folder relative to the model directory, e.g. "2_Dense"
  int64_t in = 0, out = 0;
  bool bias = true;
  Activation act = Activation::Tanh;  // sentence-transformers' default
};

// The modules after Pooling, in modules.json order.
enum class HeadModule { Dense, Normalize };

struct SentenceHeadConfig {
  int64_t hidden_size = 0;
  std::vector<PoolingMode> pooling{PoolingMode::Mean};  // sentence-transformers' concatenation order
  std::vector<HeadModule> modules;                      // the k-th HeadModule::Dense is dense[k]
  std::vector<DenseLayer> dense;
};

// What forward_train keeps for backward. Buffers are resized, not reallocated, batch after batch.
struct SentenceHeadActivations {
  int64_t num_seqs = 0;
  // values[0] (S, H·P): the concatenated pooling; values[k + 1] (S, d_k): the output of module k.
  std::vector<std::vector<float>> values;
  // Per module: a Dense's pre-activation (S, out) when its activation is not Identity, a
  // Normalize's row norms (S); empty otherwise.
  std::vector<std::vector<float>> saved;
  const float* embedding() const { return values.back().data(); }  // (S, dim())
};

class SentenceHead {
 public:
  // Allocates the Dense arena for `c` (zeros). A Dense whose `in` differs from the size it
  // receives, or a module list that does not match `dense`, is a broken invariant (abort):
  // load() reports those as errors before it gets here.
  void init(const SentenceHeadConfig& c);
  // The head a model directory describes: pooling modes, each Dense folder's config and
  // model.safetensors ("linear.weight", "linear.bias"; F32/F16/BF16), Normalize. Errors name the file.
  Status load(const StModelDir& f, int64_t hidden_size);
  // Writes each Dense layer to <model_dir>/<folder>/model.safetensors ("linear.weight" (out, in),
  // "linear.bias" (out) when it has one, metadata format=pt, as sentence-transformers saves it),
  // creating the folder. The folder's config.json, and modules.json, are the caller's (the base
  // model's are still right: training changes no shape or activation).
  Status save_dense(const std::string& model_dir, DType dtype = DType::F32) const;

  const SentenceHeadConfig& config() const { return config_; }
  const std::vector<PoolingMode>& pooling_modes() const { return config_.pooling; }
  const std::vector<DenseLayer>& dense() const { return config_.dense; }
  bool normalizes() const;
  int64_t pooled_dim() const;  // H · number of pooling modes
  int64_t dim() const;         // the embedding's size: the last Dense's out, else pooled_dim()

  // One layout for parameters, gradients and optimiser moments: per Dense in module order,
  // "<folder>/linear.weight" (out, in) then "<folder>/linear.bias" (out) when it has a bias.
  // Names end as param_gets_weight_decay expects (no decay on biases, as the HF Trainer does).
  const std::vector<ParamInfo>& layout() const { return layout_; }
  const std::vector<float>& params() const { return params_; }
  std::vector<float>& params() { return params_; }
  const float* dense_weight(size_t i) const { return params_.data() + weight_offset_[i]; }  // (out, in)
  const float* dense_bias(size_t i) const {                                                // (out) or null
    return bias_offset_[i] < 0 ? nullptr : params_.data() + bias_offset_[i];
  }

  // Inference: emb (S, dim()) from hidden (N, H), the packed last hidden state whose sequence s
  // spans rows [cu[s], cu[s + 1]). skip (S) or null: leading rows of each sequence left out of
  // mean / max pooling (include_prompt = false), as pooling_forward takes it.
  void forward(float* emb, const float* hidden, const int32_t* cu, const int32_t* skip, int64_t S) const;
  // The same embedding, bit for bit (same kernels, same order), keeping what backward needs.
  void forward_train(SentenceHeadActivations* acts, const float* hidden, const int32_t* cu, const int32_t* skip,
                     int64_t S) const;
  // From d_emb (S, dim()), the gradient of the loss w.r.t. acts.embedding():
  //   d_hidden (N, H) += the gradient w.r.t. hidden  ACCUMULATED (zero it first; rows no mode
  //                      reads, such as prompt rows under mean pooling, get nothing)
  //   grads (layout) += the Dense parameter gradients ACCUMULATED, like BertModel::backward;
  //                      not null when the head has Dense layers (frozen or not)
  // hidden, cu and skip must be what forward_train saw (Max pooling re-finds its arg-max rows).
  void backward(float* d_hidden, float* grads, const SentenceHeadActivations& acts, const float* d_emb,
                const float* hidden, const int32_t* cu, const int32_t* skip) const;

 private:
  SentenceHeadConfig config_;
  std::vector<ParamInfo> layout_;
  std::vector<float> params_;
  std::vector<int64_t> weight_offset_, bias_offset_;  // per Dense, into params_ (-1: no bias)
};

}  // namespace embtune
