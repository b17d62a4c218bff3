// Loading a sentence-transformers directory into BERT + head, and batched embedding.
// Not a tokenizer or a kernel: it wires the pieces in the order modules.json gives.
#include "model/sentence_encoder.h"

#include <utf8proc.h>

#include <algorithm>
#include <numeric>

#include "core/utf8.h"
#include "io/hub.h"
#include "model/gguf_model.h"

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

std::string collapse_unicode_whitespace(const std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  std::string out;
  out.reserve(s.size());
  bool pending_space = false;
  for (size_t i = 0; i < s.size();) {
    char32_t c;
    const size_t len = utf8_next(p, s.size(), i, &c);
    if (len == 0) return s;
    if (is_python_space(c)) {
      pending_space = !out.empty();
    } else {
      if (pending_space) out += ' ';
      pending_space = false;
      out.append(s, i, len);
    }
    i += len;
  }
  return out;
}

Status SentenceEncoder::load(const std::string& model, std::unique_ptr<SentenceEncoder>* out) {
  std::string local, dir;
  ET_RETURN_IF_ERROR(resolve_model_argument(model, &local));  // a hub id (org/name[@revision]): its snapshot
  ET_RETURN_IF_ERROR(gguf_resolve_model_path(local, &dir));    // a .gguf file: its converted, cached directory
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
  ET_RETURN_IF_ERROR(enc->head_.load(f, cfg.hidden_size));
  *out = std::move(enc);
  return Status::ok_status();
}

EmbedOptions SentenceEncoder::prompt_by_name_or_text(const std::string& prompt) const {
  EmbedOptions eo;
  eo.has_prompt_text = true;
  if (files_.prompts.count(prompt)) {
    eo.has_prompt_text = false;
    eo.prompt_name = prompt;
  } else {
    eo.prompt_text = prompt;
  }
  return eo;
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

  const int64_t H = bert_.config().hidden_size, D = head_.dim();
  out->assign(static_cast<size_t>(n * D), 0.0f);
  PackedBatch batch;
  std::vector<int64_t> members;
  std::vector<float> hidden, emb;
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
    std::vector<int32_t> skip(S, prompt_tokens);
    emb.resize(static_cast<size_t>(S * D));  // (S, D)
    head_.forward(emb.data(), hidden.data(), batch.cu_seqlens.data(),
                  files_.pooling.include_prompt ? nullptr : skip.data(), S);
    for (int64_t s = 0; s < S; s++)
      std::copy(emb.begin() + s * D, emb.begin() + (s + 1) * D, out->begin() + members[s] * D);
    done += S;
    if (opt.progress) opt.progress(done, n);
  }
  return Status::ok_status();
}

}  // namespace embtune
