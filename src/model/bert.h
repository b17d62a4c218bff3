// The BERT encoder (BertModel of Hugging Face transformers: MiniLM, bge, e5, gte share it):
// config, one flat parameter arena with named views, and the forward pass on packed batches.
// Not the sentence-transformers head (pooling, Dense, Normalize): see sentence_encoder.h.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"
#include "io/safetensors.h"
#include "ops/matmul.h"

namespace embtune {

struct BertConfig {
  int64_t vocab_size = 30522;
  int64_t hidden_size = 384;
  int64_t num_hidden_layers = 6;
  int64_t num_attention_heads = 12;
  int64_t intermediate_size = 1536;
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;
  double layer_norm_eps = 1e-12;
  double hidden_dropout_prob = 0.1;
  double attention_probs_dropout_prob = 0.1;
  std::string hidden_act = "gelu";
  // The config.json as read, so that keys we do not use are written back unchanged.
  nlohmann::json raw;
};

// Reads and validates a config.json object (`file` names it in errors): model_type "bert" (or a
// BertModel architecture), the required sizes, hidden divisible by heads, gelu activation,
// absolute position embeddings.
Status bert_config_from_json(const nlohmann::json& j, const std::string& file, BertConfig* out);
// The config.json to write for `c` (the raw keys, updated with c's values).
nlohmann::json bert_config_to_json(const BertConfig& c);

// One parameter tensor in the flat arena.
struct ParamInfo {
  std::string name;             // Hugging Face name without the "bert." prefix
  std::vector<int64_t> shape;
  int64_t offset = 0;           // in floats, into the arena
  int64_t numel = 0;
};

// The single layout shared by parameters, gradients and optimiser moments: BertModel's
// state_dict, except that each layer's query, key and value weights come first, side by side,
// then their three biases — one (3H, H) weight and one (3H) bias, so the three projections run as
// one product. Files are read and written by name, never by this order.
std::vector<ParamInfo> bert_param_layout(const BertConfig& c, int64_t* total_floats);

// Typed views of one layer's weights inside the arena. Linear weights are (out, in).
struct BertLayerWeights {
  const float *qkv_w, *qkv_b;                      // (3H, H), (3H): query, key, value stacked
  const float *attn_out_w, *attn_out_b;            // (H, H), (H)
  const float *ln1_w, *ln1_b;                      // (H)
  const float *inter_w, *inter_b;                  // (I, H), (I)
  const float *out_w, *out_b;                      // (H, I), (H)
  const float *ln2_w, *ln2_b;                      // (H)
};

struct BertWeights {
  const float *word, *pos, *type;     // (V, H), (P, H), (TV, H)
  const float *emb_ln_w, *emb_ln_b;   // (H)
  std::vector<BertLayerWeights> layers;
};

// A packed batch: sequences back to back, no padding.
struct PackedBatch {
  std::vector<int32_t> ids;        // (N) token ids
  std::vector<int32_t> type_ids;   // (N) token type ids
  std::vector<int32_t> pos_ids;    // (N) position within its sequence
  std::vector<int32_t> cu_seqlens; // (S + 1) row offsets of each sequence
  int64_t num_tokens() const { return static_cast<int64_t>(ids.size()); }
  int64_t num_seqs() const { return static_cast<int64_t>(cu_seqlens.size()) - 1; }
  // Appends one sequence (positions 0..len-1; type ids 0 when not given).
  void add(const std::vector<int32_t>& seq_ids, const std::vector<int32_t>* seq_type_ids = nullptr);
  void clear();
};

// Dropout of one training forward, where BertModel applies it in training: after the embedding
// LayerNorm, on the attention probabilities, and after the attention-output and FFN-output
// dense layers (before their residual + LayerNorm). Inverted: kept values are scaled by
// 1 / (1 − p). The masks are a hash of (seed, site, element), so one seed gives one set of
// masks on any thread count; vary the seed per step, and between the batches of one step
// (anchors, candidates) unless their rows should share masks. Both probabilities 0: no dropout.
struct DropoutConfig {
  float hidden = 0.0f;     // hidden_dropout_prob, in [0, 1)
  float attention = 0.0f;  // attention_probs_dropout_prob, in [0, 1)
  uint64_t seed = 0;
  bool operator==(const DropoutConfig&) const = default;
};

// What a training forward keeps for the backward (fp32), per token row. Buffers are resized,
// not reallocated, when the same object serves batch after batch.
struct BertLayerActivations {
  std::vector<float> qkv;            // (N, 3H) projections: q, k, v side by side in each row (fp32 only)
  std::vector<float> ctx;            // (N, H) attention output, before its dense layer (fp32 only)
  std::vector<float> res1;           // (N, H) dropout(attention dense) + layer input (LN1's input)
  std::vector<float> mean1, rstd1;   // (N)
  std::vector<float> x1;             // (N, H) LN1 output
  std::vector<float> h_pre, h;       // (N, I) intermediate before and after GELU (fp32 only)
  std::vector<float> res2;           // (N, H) dropout(output dense) + x1 (LN2's input)
  std::vector<float> mean2, rstd2;   // (N)
  std::vector<float> out;            // (N, H) LN2 output: the next layer's input
  // In bf16 only (empty in fp32): the inputs of the layer's four products, rounded once in the
  // forward and reused by the backward's weight gradients: the layer input, ctx, x1 and h; and
  // q, k, v (N, 3H), which only bf16 products read, so their product writes them rounded and no
  // fp32 copy is kept (nor one of ctx, which attention writes rounded); and the intermediate
  // before GELU (N, I), which its product writes rounded, as PyTorch's autocast keeps it.
  std::vector<uint16_t> x16, ctx16, x1_16, h16, qkv16, h_pre16;
};

struct BertActivations {
  std::vector<float> emb_sum;            // (N, H) word + position + type, LN's input
  std::vector<float> emb_mean, emb_rstd; // (N)
  std::vector<float> emb_out;            // (N, H) dropout(LN output): the first layer's input
  std::vector<BertLayerActivations> layers;
  // The dropout the forward ran with; the masks are not stored, backward regenerates them.
  DropoutConfig dropout;
  // The last hidden state: layers.back().out.
  const float* hidden() const { return layers.empty() ? emb_out.data() : layers.back().out.data(); }
};

class BertModel {
 public:
  const BertConfig& config() const { return config_; }
  const std::vector<ParamInfo>& layout() const { return layout_; }
  const std::vector<float>& params() const { return params_; }
  std::vector<float>& params() { return params_; }

  // Allocates the arena for `c` (zeros).
  void init_empty(const BertConfig& c);
  // normal(0, 0.02) for matrices and biases, LayerNorm weight 1 and bias 0 (BERT's init).
  void init_random(const BertConfig& c, uint64_t seed);
  // Loads every parameter from `st` (names with or without the "bert." prefix; F32/F16/BF16).
  // Missing tensors and wrong shapes are errors naming the tensor and the file. Tensors that
  // are not part of the encoder (pooler, MLM head, position_ids buffer) are ignored.
  Status load(const BertConfig& c, const SafetensorsSet& st);

  // config.json and the safetensors weights (single file or shards) of a model directory.
  Status load_dir(const std::string& dir);
  // Writes the parameters under the names they were loaded with (with or without "bert.").
  Status save_safetensors(const std::string& path, DType dtype) const;

  // The arithmetic of every linear layer (forward, training and backward): fp32, or bf16 inputs
  // with fp32 accumulation (matmul.h). Weights, gradients, LayerNorm, softmax stay fp32.
  void set_precision(Precision p) { precision_ = p; }
  Precision precision() const { return precision_; }

  // Token ids must be < vocab_size, positions < max_position_embeddings, type ids < type_vocab.
  Status validate_batch(const PackedBatch& b) const;

  // out (N, H): the last hidden state of every packed token (fp32 inference).
  void forward(float* out, const PackedBatch& b) const;

  // The same forward with `dropout` applied (off by default, and then bit-identical to
  // forward()), keeping what backward() needs in `acts`.
  void forward_train(BertActivations* acts, const PackedBatch& b, const DropoutConfig& dropout = {}) const;
  // Given d_hidden (N, H), the gradient of the loss w.r.t. the last hidden state of the batch
  // that forward_train saw, accumulates (+=) the parameter gradients into `grads` (the
  // parameter layout: grads[p.offset + i] belongs to params()[p.offset + i]). `dropout` must be
  // the one forward_train got, since the masks are regenerated from it (a mismatch aborts).
  void backward(float* grads, const BertActivations& acts, const float* d_hidden, const PackedBatch& b,
                const DropoutConfig& dropout = {}) const;

 private:
  void bind_views();
  BertConfig config_;
  std::vector<ParamInfo> layout_;
  std::vector<float> params_;
  Precision precision_ = Precision::Fp32;
  std::vector<std::string> source_names_;  // per parameter: its tensor name in the loaded file
  BertWeights w_{};
};

}  // namespace embtune
