// Loading a sentence-transformers directory into BERT + head, and batched embedding.
// Not a tokenizer or a kernel: it wires the pieces in the order modules.json gives.
#include "model/sentence_encoder.h"

#include <utf8proc.h>

#include <algorithm>
#include <numeric>

#include "core/file.h"
#include "core/utf8.h"
#include "io/safetensors.h"

namespace embtune {

namespace {

// Python's str.isspace() set, which str.strip() removes.
bool is_python_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

// Python's str.lower(): full lowercase mapping (U+0130 becomes "i̇"); other characters map 1:1.
std::string python_lower(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  for (size_t i = 0; i < s.size();) {
    char32_t c;
    const size_t len = utf8_next(p, s.size(), i, &c);
    if (len == 0) return s;  // invalid UTF-8 is reported by the tokenizer
    i += len;
    if (c == 0x130) {
      out += "i\xcc\x87";
      continue;
    }
    utf8_append(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))), &out);
  }
  return out;
}

Status activation_from_name(const std::string& name, const std::string& file, Activation* out) {
  std::string last = name.substr(name.rfind('.') == std::string::npos ? 0 : name.rfind('.') + 1);
  if (last == "Identity") *out = Activation::None;
  else if (last == "Tanh") *out = Activation::Tanh;
  else if (last == "ReLU") *out = Activation::Relu;
  else if (last == "GELU") *out = Activation::Gelu;
  else if (last == "Sigmoid") *out = Activation::Sigmoid;
  else return make_error("%s: activation_function \"%s\" is not supported (supported: Identity, Tanh, ReLU, GELU, Sigmoid)",
                         file.c_str(), name.c_str());
  return Status::ok_status();
}

Status load_dense(const StDenseConfig& c, DenseLayer* out) {
  DenseLayer d;
  d.in = c.in_features;
  d.out = c.out_features;
  ET_RETURN_IF_ERROR(activation_from_name(c.activation, path_join(c.dir, "config.json"), &d.act));
  const std::string file = path_join(c.dir, "model.safetensors");
  if (!file_exists(file)) {
    if (file_exists(path_join(c.dir, "pytorch_model.bin")))
      return make_error("%s: only pytorch_model.bin (a Python pickle) is present; save the model with "
                        "safetensors (sentence-transformers' default since 2.3)", c.dir.c_str());
    return make_error("%s: missing model.safetensors of the Dense module", c.dir.c_str());
  }
  SafetensorsFile st;
  ET_RETURN_IF_ERROR(st.open(file));
  const TensorView* w = st.find("linear.weight");
  if (!w) return make_error("%s: missing tensor \"linear.weight\"", file.c_str());
  if (w->shape != std::vector<int64_t>{d.out, d.in})
    return make_error("%s: tensor \"linear.weight\" must have shape [%lld, %lld] (out_features, in_features)",
                      file.c_str(), (long long)d.out, (long long)d.in);
  d.weight.resize(d.out * d.in);
  ET_RETURN_IF_ERROR(tensor_to_f32(*w, d.weight.data()).wrap(file));
  const TensorView* b = st.find("linear.bias");
  if (c.bias) {
    if (!b) return make_error("%s: missing tensor \"linear.bias\" (config says bias: true)", file.c_str());
    if (b->shape != std::vector<int64_t>{d.out})
      return make_error("%s: tensor \"linear.bias\" must have shape [%lld]", file.c_str(), (long long)d.out);
    d.bias.resize(d.out);
    ET_RETURN_IF_ERROR(tensor_to_f32(*b, d.bias.data()).wrap(file));
  }
  *out = std::move(d);
  return Status::ok_status();
}

}  // namespace

std::string strip_unicode_whitespace(const std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t begin = 0, end = 0;
  bool seen = false;
  for (size_t i = 0; i < s.size();) {
    char32_t c;
    const size_t len = utf8_next(p, s.size(), i, &c);
    if (len == 0) return s;  // invalid UTF-8 is reported by the tokenizer
    if (!is_python_space(c)) {
      if (!seen) begin = i;
      seen = true;
      end = i + len;
    }
    i += len;
  }
  return seen ? s.substr(begin, end - begin) : std::string();
}

Status SentenceEncoder::load(const std::string& dir, std::unique_ptr<SentenceEncoder>* out) {
  auto enc = std::make_unique<SentenceEncoder>();
  ET_RETURN_IF_ERROR(st_dir_read(dir, &enc->files_));
  const StModelDir& f = enc->files_;
  ET_RETURN_IF_ERROR(enc->bert_.load_dir(f.transformer_dir));
  const BertConfig& cfg = enc->bert_.config();
  ET_RETURN_IF_ERROR(Tokenizer::load(f.tokenizer_path, &enc->tokenizer_));
  if (static_cast<int64_t>(enc->tokenizer_->vocab_size()) > cfg.vocab_size)
    return make_error("%s: the tokenizer has %zu tokens but config.json's vocab_size is %lld", f.tokenizer_path.c_str(),
                      enc->tokenizer_->vocab_size(), (long long)cfg.vocab_size);

  enc->max_seq_length_ = f.max_seq_length > 0 ? std::min(f.max_seq_length, cfg.max_position_embeddings)
                                              : std::min<int64_t>(512, cfg.max_position_embeddings);
  const std::string pool_file = path_join(dir, "1_Pooling/config.json");
  for (const std::string& m : f.pooling.modes) {
    if (m == "cls") enc->pooling_.push_back(PoolingMode::Cls);
    else if (m == "max") enc->pooling_.push_back(PoolingMode::Max);
    else if (m == "mean") enc->pooling_.push_back(PoolingMode::Mean);
    else if (m == "mean_sqrt_len_tokens") enc->pooling_.push_back(PoolingMode::MeanSqrtLen);
    else if (m == "lasttoken") enc->pooling_.push_back(PoolingMode::LastToken);
    else return make_error("%s: pooling mode \"%s\" is not supported (supported: cls, max, mean, mean_sqrt_len_tokens, lasttoken)",
                           pool_file.c_str(), m.c_str());
  }
  if (f.pooling.embedding_dimension > 0 && f.pooling.embedding_dimension != cfg.hidden_size)
    return make_error("%s: embedding dimension %lld differs from the transformer's hidden_size %lld", pool_file.c_str(),
                      (long long)f.pooling.embedding_dimension, (long long)cfg.hidden_size);
  int64_t dim = cfg.hidden_size * static_cast<int64_t>(enc->pooling_.size());
  size_t next_dense = 0;
  for (size_t i = 1; i < f.modules.size(); i++) {
    const StModule& m = f.modules[i];
    enc->head_.push_back(m.kind);
    if (m.kind == "Dense") {
      DenseLayer d;
      ET_RETURN_IF_ERROR(load_dense(f.dense[next_dense++], &d));
      if (d.in != dim)
        return make_error("%s: in_features %lld does not match the %lld-dimensional input it receives",
                          path_join(path_join(dir, m.path), "config.json").c_str(), (long long)d.in, (long long)dim);
      dim = d.out;
      enc->dense_.push_back(std::move(d));
    } else if (m.kind == "Normalize") {
      enc->normalize_ = true;
    }
  }
  enc->dim_ = dim;
  *out = std::move(enc);
  return Status::ok_status();
}

Status SentenceEncoder::resolve_prompt(const EmbedOptions& opt, std::string* prompt, int32_t* prompt_tokens) const {
  prompt->clear();
  *prompt_tokens = 0;
  if (opt.has_prompt_text) {
    *prompt = opt.prompt_text;
  } else {
    std::string name = opt.prompt_name.empty() ? files_.default_prompt_name : opt.prompt_name;
    if (!name.empty()) {
      auto it = files_.prompts.find(name);
      if (it == files_.prompts.end()) {
        std::string known;
        for (auto& [k, v] : files_.prompts) known += (known.empty() ? "" : ", ") + k;
        return make_error("prompt \"%s\" is not defined by the model (config_sentence_transformers.json has: %s)",
                          name.c_str(), known.empty() ? "no prompts" : known.c_str());
      }
      *prompt = it->second;
    }
  }
  if (!prompt->empty() && !files_.pooling.include_prompt) {
    // sentence-transformers: the prompt's token count without its final special token.
    std::string p = strip_unicode_whitespace(*prompt);
    if (files_.do_lower_case) p = python_lower(p);
    Encoding e;
    EncodeOptions eo;
    eo.max_length = static_cast<int>(max_seq_length_);
    ET_RETURN_IF_ERROR(tokenizer_->encode(p, eo, &e).wrap("prompt"));
    *prompt_tokens = static_cast<int32_t>(e.ids.size()) - 1;
  }
  return Status::ok_status();
}

Status SentenceEncoder::tokenize(const std::vector<std::string>& texts, const EmbedOptions& opt,
                                 std::vector<Encoding>* out, int32_t* prompt_tokens) const {
  std::string prompt;
  ET_RETURN_IF_ERROR(resolve_prompt(opt, &prompt, prompt_tokens));
  const int64_t n = static_cast<int64_t>(texts.size());
  std::vector<std::string> prepared(n);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) {
    prepared[i] = strip_unicode_whitespace(prompt + texts[i]);
    if (files_.do_lower_case) prepared[i] = python_lower(prepared[i]);
  }
  EncodeOptions eo;
  eo.max_length = static_cast<int>(max_seq_length_);
  return tokenizer_->encode_batch(prepared, eo, out);
}

Status SentenceEncoder::embed(const std::vector<std::string>& texts, const EmbedOptions& opt,
                              std::vector<float>* out) const {
  const int64_t n = static_cast<int64_t>(texts.size());
  std::vector<Encoding> enc;
  int32_t prompt_tokens = 0;
  ET_RETURN_IF_ERROR(tokenize(texts, opt, &enc, &prompt_tokens));

  // Longest first, so that batches hold sequences of similar length and the first batch
  // shows the peak memory.
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return enc[a].ids.size() > enc[b].ids.size(); });

  const int64_t H = bert_.config().hidden_size;
  const int64_t P = static_cast<int64_t>(pooling_.size());
  out->assign(static_cast<size_t>(n * dim_), 0.0f);
  PackedBatch batch;
  std::vector<int64_t> members;
  std::vector<float> hidden, pooled, next;
  int64_t done = 0;
  for (int64_t start = 0; start < n;) {
    batch.clear();
    members.clear();
    int64_t tokens = 0;
    while (start < n && (members.empty() || tokens + static_cast<int64_t>(enc[order[start]].ids.size()) <= opt.batch_tokens)) {
      const Encoding& e = enc[order[start]];
      batch.add(e.ids, &e.type_ids);
      tokens += static_cast<int64_t>(e.ids.size());
      members.push_back(order[start++]);
    }
    ET_RETURN_IF_ERROR(bert_.validate_batch(batch));
    const int64_t S = batch.num_seqs();
    hidden.resize(static_cast<size_t>(batch.num_tokens() * H));
    bert_.forward(hidden.data(), batch);  // (N, H)
    pooled.resize(static_cast<size_t>(S * H * P));  // (S, H * P)
    std::vector<int32_t> skip(S, prompt_tokens);
    for (int64_t m = 0; m < P; m++)
      pooling_forward(pooled.data() + m * H, H * P, hidden.data(), batch.cu_seqlens.data(),
                      files_.pooling.include_prompt ? nullptr : skip.data(), S, H, pooling_[m]);
    int64_t d = H * P;
    size_t dense_i = 0;
    for (const std::string& kind : head_) {
      if (kind == "Dense") {
        const DenseLayer& L = dense_[dense_i++];
        next.resize(static_cast<size_t>(S * L.out));
        matmul_forward(next.data(), pooled.data(), L.weight.data(), L.bias.empty() ? nullptr : L.bias.data(), S, L.in,
                       L.out, L.act);
        pooled.swap(next);
        d = L.out;
      } else if (kind == "Normalize") {
        l2_normalize_forward(pooled.data(), S, d);
      }
    }
    for (int64_t s = 0; s < S; s++)
      std::copy(pooled.begin() + s * d, pooled.begin() + (s + 1) * d, out->begin() + members[s] * dim_);
    done += S;
    if (opt.progress) opt.progress(done, n);
  }
  return Status::ok_status();
}

}  // namespace embtune
