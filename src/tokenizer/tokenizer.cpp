// The tokenizer pipeline (added tokens -> normalizer -> pre-tokenizer -> model -> truncation ->
// post-processor) and its loading from tokenizer.json or a BERT vocab.txt.
// Not a stage implementation: those live in normalizer_*, pre_tokenizer_*, model_*,
// post_processor_*.
#include "tokenizer/tokenizer.h"
#include "core/strings.h"

#include <nlohmann/json.hpp>
#include <optional>

#include "core/file.h"
#include "tokenizer/added_tokens.h"
#include "tokenizer/decoder.h"
#include "tokenizer/json_fields.h"
#include "tokenizer/model.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/post_processor.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/sentencepiece_tokenizer.h"
#include "tokenizer/truncation.h"
#include "tokenizer/unicode.h"

namespace embtune {
namespace {

class PipelineTokenizer : public Tokenizer {
 public:
  std::string source;
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> pre_tokenizer;
  std::unique_ptr<Model> model;
  std::unique_ptr<PostProcessor> post_processor;
  // The post-processor trims offsets (ByteLevel trim_offsets): added tokens are trimmed as HF does.
  bool trims_added_tokens = false;
  bool trim_add_prefix_space = false;
  std::unique_ptr<Decoder> decoder;  // null: tokens joined with spaces, as HF
  AddedVocabulary added;
  std::optional<TruncationParams> truncation;  // tokenizer.json's

  Status encode(std::string_view text, const EncodeOptions& opt, Encoding* out) const override {
    // Buffers reused by each thread's successive calls; the result is built in scratch.enc and
    // copied to *out at its exact size.
    thread_local Scratch scratch;
    out->clear();
    std::optional<TruncationParams> t;
    ET_RETURN_IF_ERROR(resolve_truncation(opt, &t));
    Encoding& enc = scratch.enc;
    const bool limit = t && t->strategy != TruncationStrategy::kOnlySecond;
    ET_RETURN_IF_ERROR(encode_sequence(text, 0, limit ? &*t : nullptr, &scratch, &enc));
    if (t) ET_RETURN_IF_ERROR(truncate(*t, opt.add_special_tokens, &enc, nullptr));
    if (post_processor && enc.overflowing.empty()) {
      post_processor->process(&enc, opt.add_special_tokens);
    } else if (post_processor) {  // windows: HF's way, which can differ (TemplateProcessing)
      std::vector<Encoding> encs(1);
      encs[0] = std::move(enc);
      Status st = post_processor->process_encodings(&encs, opt.add_special_tokens);
      enc = std::move(encs[0]);
      ET_RETURN_IF_ERROR(st);
    }
    out->ids.assign(enc.ids.begin(), enc.ids.end());
    out->type_ids.assign(enc.type_ids.begin(), enc.type_ids.end());
    out->offsets.assign(enc.offsets.begin(), enc.offsets.end());
    out->special_tokens_mask.assign(enc.special_tokens_mask.begin(), enc.special_tokens_mask.end());
    out->sequence_ids.assign(enc.sequence_ids.begin(), enc.sequence_ids.end());
    out->overflowing.swap(enc.overflowing);
    return Status();
  }

  Status encode_pair(std::string_view a, std::string_view b, const EncodeOptions& opt,
                     Encoding* out) const override {
    thread_local Scratch scratch;
    *out = Encoding();
    std::optional<TruncationParams> t;
    ET_RETURN_IF_ERROR(resolve_truncation(opt, &t));
    // HF's early exit spares text a only under OnlySecond.
    const bool limit_a = t && t->strategy != TruncationStrategy::kOnlySecond;
    std::vector<Encoding> encs(2);
    ET_RETURN_IF_ERROR(encode_sequence(a, 0, limit_a ? &*t : nullptr, &scratch, &encs[0])
                           .wrap("text a"));
    ET_RETURN_IF_ERROR(
        encode_sequence(b, 1, t ? &*t : nullptr, &scratch, &encs[1]).wrap("text b"));
    if (t) ET_RETURN_IF_ERROR(truncate(*t, opt.add_special_tokens, &encs[0], &encs[1]));
    if (post_processor) {
      ET_RETURN_IF_ERROR(post_processor->process_encodings(&encs, opt.add_special_tokens));
    }
    *out = std::move(encs[0]);
    for (size_t i = 1; i < encs.size(); ++i) encoding_merge(out, encs[i]);
    return Status();
  }

  Status decode(const std::vector<int32_t>& ids, bool skip_special_tokens,
                std::string* out) const override {
    out->clear();
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      const std::string* t = added.id_to_token(ids[i]);
      if (!t) t = model->id_to_token(ids[i]);
      if (!t) {
        return make_error("id %d (position %zu) is not in the vocabulary of %zu tokens", ids[i],
                          i + 1, vocab_size());
      }
      if (skip_special_tokens && added.is_special(*t)) continue;
      tokens.push_back(*t);
    }
    if (decoder) return decoder_decode(*decoder, std::move(tokens), out);
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i > 0) *out += ' ';
      *out += tokens[i];
    }
    return Status();
  }

  size_t vocab_size() const override { return model->vocab_size() + added.new_tokens(); }

  int32_t token_to_id(std::string_view token) const override {
    int32_t id = added.token_to_id(token);
    return id >= 0 ? id : model->token_to_id(token);
  }

  std::string id_to_token(int32_t id) const override {
    const std::string* t = added.id_to_token(id);
    if (!t) t = model->id_to_token(id);
    return t ? *t : std::string();
  }

  int num_special_tokens_to_add() const override {
    return added_tokens(false);
  }

  std::string describe() const override {
    std::string d = model->describe();
    d += ", normalizer " + (normalizer ? normalizer->describe() : std::string("none"));
    d += ", pre-tokenizer " + (pre_tokenizer ? pre_tokenizer->describe() : std::string("none"));
    d += ", post-processor " + (post_processor ? post_processor->describe() : std::string("none"));
    d += ", decoder " + (decoder ? decoder->describe() : std::string("none"));
    d += ", " + std::to_string(added.size()) + " added tokens";
    if (truncation) {
      d += ", truncation " + std::to_string(truncation->max_length) +
           (truncation->direction == TruncationDirection::kLeft ? " from the left" : "");
    }
    return d;
  }

  const std::string& source_path() const override { return source; }

 private:
  struct Scratch {
    std::vector<char32_t> cps;
    PreTokenizedString pt;
    NormalizedString piece;
    std::vector<AddedTokenMatch> matches, piece_matches;
    std::vector<char32_t> piece_text;
    std::vector<ModelToken> word_tokens;
    std::vector<ModelToken> kept_tokens;                   // Left truncation's early exit
    std::vector<std::pair<size_t, size_t>> kept_ranges;  // per split: first token, count
    Encoding enc;
  };

  // Normalizes original characters [begin, end) and appends them to scratch->pt, cut around the
  // added tokens that match in normalized text.
  void add_normalized_piece(const std::vector<char32_t>& cps, size_t begin, size_t end,
                            Scratch* scratch) const {
    NormalizedString& piece = scratch->piece;
    PreTokenizedString* pt = &scratch->pt;
    piece.assign_original(cps, begin, end);
    if (normalizer) normalizer->normalize(&piece);
    if (piece.chars.empty()) return;
    const uint32_t base = static_cast<uint32_t>(pt->text.chars.size());
    const uint32_t n = static_cast<uint32_t>(piece.chars.size());
    if (added.has_normalized()) {
      std::vector<char32_t>& text = scratch->piece_text;
      text.resize(n);
      for (uint32_t i = 0; i < n; ++i) text[i] = piece.chars[i].c;
      std::vector<AddedTokenMatch>& matches = scratch->piece_matches;
      matches.clear();
      added.find_normalized(text, &matches);
      uint32_t cursor = 0;
      for (const AddedTokenMatch& m : matches) {
        if (cursor < m.begin) pt->splits.push_back({base + cursor, base + m.begin, -1});
        pt->splits.push_back({base + m.begin, base + m.end, m.id});
        cursor = m.end;
      }
      if (cursor < n) pt->splits.push_back({base + cursor, base + n, -1});
    } else {
      pt->splits.push_back({base, base + n, -1});
    }
    if (pt->text.chars.empty()) {
      pt->text.chars.swap(piece.chars);
    } else {
      pt->text.chars.insert(pt->text.chars.end(), piece.chars.begin(), piece.chars.end());
    }
  }

  // Text -> *enc: its tokens without special tokens, type and sequence ids `seq`. With `limit`,
  // HF's early exit (tokenizers 0.23): pre-tokens are tokenized from the end truncation keeps
  // and the rest dropped once limit->max_length tokens are there (an added token never stops
  // it), so the overflowing windows end there too.
  Status encode_sequence(std::string_view text, int seq, const TruncationParams* limit,
                         Scratch* scratch, Encoding* enc) const {
    enc->ids.clear();
    enc->offsets.clear();
    enc->overflowing.clear();
    std::vector<char32_t>& cps = scratch->cps;
    cps.clear();
    size_t bad = 0;
    if (!utf8_decode(text, &cps, &bad)) {
      return make_error("invalid UTF-8 at byte %zu of the text (embtune reads UTF-8 only)", bad);
    }

    // Added tokens in the raw text first; what lies between them is normalized piece by piece.
    PreTokenizedString& pt = scratch->pt;
    pt.text.chars.clear();
    pt.splits.clear();
    std::vector<AddedTokenMatch>& matches = scratch->matches;
    matches.clear();
    if (added.has_raw()) added.find_raw(cps, &matches);
    size_t cursor = 0;
    for (const AddedTokenMatch& m : matches) {
      if (cursor < m.begin) add_normalized_piece(cps, cursor, m.begin, scratch);
      const uint32_t base = static_cast<uint32_t>(pt.text.chars.size());
      for (uint32_t i = m.begin; i < m.end; ++i) pt.text.chars.push_back({cps[i], i, i + 1});
      pt.splits.push_back({base, base + (m.end - m.begin), m.id});
      cursor = m.end;
    }
    if (cursor < cps.size()) add_normalized_piece(cps, cursor, cps.size(), scratch);

    if (pre_tokenizer) pre_tokenizer->pre_tokenize(&pt);

    const std::vector<AlignedChar>& chars = pt.text.chars;
    std::vector<ModelToken>& word_tokens = scratch->word_tokens;
    auto emit = [&](const Split& s, const ModelToken* tokens, size_t n) {
      if (s.id >= 0) {
        enc->ids.push_back(s.id);
        enc->offsets.emplace_back(chars[s.begin].begin, chars[s.end - 1].end);
        if (trims_added_tokens) {
          // HF trims an added token by its matched text, lstrip/rstrip whitespace included.
          size_t leading = 0, trailing = 0;
          const size_t n_chars = s.end - s.begin;
          while (leading < n_chars && is_offset_trim_space(chars[s.begin + leading].c)) ++leading;
          while (trailing < n_chars &&
                 is_offset_trim_space(chars[s.end - 1 - trailing].c)) {
            ++trailing;
          }
          trim_token_offsets(&enc->offsets.back(), leading, trailing,
                             enc->ids.size() == 1 || enc->offsets.back().first == 0,
                             trim_add_prefix_space);
        }
        return;
      }
      for (size_t k = 0; k < n; ++k) {
        enc->ids.push_back(tokens[k].id);
        enc->offsets.emplace_back(chars[s.begin + tokens[k].begin].begin,
                                  chars[s.begin + tokens[k].end - 1].end);
      }
    };
    auto tokenize = [&](const Split& s, std::vector<ModelToken>* out) {
      return model->tokenize(
          std::span<const AlignedChar>(chars.data() + s.begin, s.end - s.begin), out);
    };
    if (limit == nullptr || limit->direction == TruncationDirection::kRight) {
      size_t total = 0;
      for (const Split& s : pt.splits) {
        if (s.id >= 0) {
          emit(s, nullptr, 0);
          ++total;
          continue;
        }
        if (s.begin == s.end) continue;  // HF keeps no empty pre-tokens
        word_tokens.clear();
        ET_RETURN_IF_ERROR(tokenize(s, &word_tokens));
        emit(s, word_tokens.data(), word_tokens.size());
        total += word_tokens.size();
        if (limit != nullptr && total >= limit->max_length) break;
      }
    } else {
      // Left: tokenize from the last pre-token back, then emit the kept ones in order.
      std::vector<ModelToken>& kept = scratch->kept_tokens;
      std::vector<std::pair<size_t, size_t>>& ranges = scratch->kept_ranges;
      kept.clear();
      ranges.assign(pt.splits.size(), {0, 0});
      size_t first = pt.splits.size(), total = 0;
      for (size_t i = pt.splits.size(); i-- > 0;) {
        first = i;
        if (pt.splits[i].id >= 0) {
          ++total;
          continue;
        }
        if (pt.splits[i].begin == pt.splits[i].end) continue;  // HF keeps no empty pre-tokens
        word_tokens.clear();
        ET_RETURN_IF_ERROR(tokenize(pt.splits[i], &word_tokens));
        ranges[i] = {kept.size(), word_tokens.size()};
        kept.insert(kept.end(), word_tokens.begin(), word_tokens.end());
        total += word_tokens.size();
        if (total >= limit->max_length) break;
      }
      for (size_t i = first; i < pt.splits.size(); ++i) {
        emit(pt.splits[i], kept.data() + ranges[i].first, ranges[i].second);
      }
    }
    enc->type_ids.assign(enc->ids.size(), seq);
    enc->special_tokens_mask.assign(enc->ids.size(), 0);
    enc->sequence_ids.assign(enc->ids.size(), static_cast<int8_t>(seq));
    return Status();
  }

  int added_tokens(bool is_pair) const {
    return post_processor ? post_processor->added_tokens(is_pair) : 0;
  }

  // The truncation of one call: none, the file's, or the file's with the caller's values.
  Status resolve_truncation(const EncodeOptions& opt, std::optional<TruncationParams>* out) const {
    out->reset();
    if (opt.max_length < -1 || opt.stride < -1) {
      return make_error("max_length and stride must not be negative (got %d and %d)",
                        opt.max_length, opt.stride);
    }
    if (opt.max_length == 0 || (opt.max_length == -1 && !truncation)) return Status();
    TruncationParams t = truncation.value_or(TruncationParams());
    if (opt.max_length > 0) t.max_length = static_cast<size_t>(opt.max_length);
    if (opt.stride >= 0) t.stride = static_cast<size_t>(opt.stride);
    if (opt.strategy) t.strategy = *opt.strategy;
    if (opt.direction) t.direction = *opt.direction;
    // HF's with_truncation check when the caller sets truncation (its subtraction wraps around
    // below the special tokens, which passes).
    const size_t special = static_cast<size_t>(added_tokens(false));
    if ((opt.max_length > 0 || opt.stride >= 0) && t.max_length >= special &&
        t.stride > t.max_length - special) {
      return make_error(
          "truncation stride %zu is more than the %zu tokens max_length %zu leaves after %zu "
          "special tokens",
          t.stride, t.max_length - special, t.max_length, special);
    }
    *out = t;
    return Status();
  }

  // HF's post_process truncation: the special tokens of a single text or pair count against
  // max_length. HF subtracts in unsigned arithmetic, so a max_length below their number wraps
  // around to no limit here (the early exit in encode_sequence still cuts).
  Status truncate(const TruncationParams& t, bool add_special_tokens, Encoding* a,
                  Encoding* b) const {
    const size_t special = add_special_tokens ? static_cast<size_t>(added_tokens(b != nullptr)) : 0;
    if (t.max_length < special) return Status();
    TruncationParams p = t;
    p.max_length -= special;
    return truncate_encodings(p, a, b);
  }
};

Status truncation_from_json(const nlohmann::json& j, std::optional<TruncationParams>* out) {
  out->reset();
  if (j.is_null()) return Status();
  if (!j.is_object()) return make_error("\"truncation\" must be an object or null");
  int64_t max_length = 0, stride = 0;
  ET_RETURN_IF_ERROR(json_read_int(j, "max_length", &max_length));
  ET_RETURN_IF_ERROR(json_read_int(j, "stride", &stride));
  if (max_length < 0 || stride < 0) {
    return make_error("truncation max_length and stride must not be negative");
  }
  std::string direction = "Right", strategy = "LongestFirst";
  ET_RETURN_IF_ERROR(json_read_string(j, "direction", &direction));
  ET_RETURN_IF_ERROR(json_read_string(j, "strategy", &strategy));
  if (direction != "Right" && direction != "Left") {
    return make_error("truncation direction \"%s\" is not Right or Left", direction.c_str());
  }
  if (strategy != "LongestFirst" && strategy != "OnlyFirst" && strategy != "OnlySecond") {
    return make_error("truncation strategy \"%s\" is not LongestFirst, OnlyFirst or OnlySecond",
                      strategy.c_str());
  }
  TruncationParams t;
  t.max_length = static_cast<size_t>(max_length);
  t.stride = static_cast<size_t>(stride);
  t.direction = direction == "Left" ? TruncationDirection::kLeft : TruncationDirection::kRight;
  t.strategy = strategy == "OnlyFirst"    ? TruncationStrategy::kOnlyFirst
               : strategy == "OnlySecond" ? TruncationStrategy::kOnlySecond
                                          : TruncationStrategy::kLongestFirst;
  *out = t;
  return Status();
}

Status load_tokenizer_json(const std::string& path, std::unique_ptr<Tokenizer>* out) {
  std::string content;
  ET_RETURN_IF_ERROR(read_file(path, &content));
  auto tok = std::make_unique<PipelineTokenizer>();
  tok->source = path;
  try {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(content);
    } catch (const nlohmann::json::parse_error& e) {
      return make_error("%s: not valid JSON (%s)", path.c_str(), e.what());
    }
    if (!j.is_object() || !j.contains("model")) {
      return make_error("%s: not a tokenizer.json (no \"model\" object)", path.c_str());
    }
    auto field = [&j](const char* key) { return j.contains(key) ? j.at(key) : nlohmann::json(); };
    std::vector<AddedToken> added_tokens;
    Status st = model_from_json(j.at("model"), &tok->model);
    if (st.ok()) st = normalizer_from_json(field("normalizer"), &tok->normalizer);
    if (st.ok()) st = pre_tokenizer_from_json(field("pre_tokenizer"), &tok->pre_tokenizer);
    if (st.ok()) st = post_processor_from_json(field("post_processor"), &tok->post_processor);
    if (st.ok()) st = decoder_from_json(field("decoder"), &tok->decoder);
    // Offset trimming (RobertaProcessing, ByteLevel) reads the tokens' text from the model.
    if (st.ok() && tok->post_processor) {
      tok->post_processor->attach_model(*tok->model);
      tok->trims_added_tokens = tok->post_processor->trims_offsets(&tok->trim_add_prefix_space);
    }
    if (st.ok()) st = added_tokens_from_json(field("added_tokens"), &added_tokens);
    if (st.ok()) st = truncation_from_json(field("truncation"), &tok->truncation);
    if (!st.ok()) return st.wrap(path);
    tok->added.build(added_tokens, *tok->model, tok->normalizer.get());
  } catch (const nlohmann::json::exception& e) {
    return make_error("%s: unexpected tokenizer.json structure (%s)", path.c_str(), e.what());
  }
  *out = std::move(tok);
  return Status();
}

// tokenizer_config.json names a token either as a string or as {"content": ...}.
void read_token_name(const nlohmann::json& config, const char* key, std::string* out) {
  if (!config.contains(key)) return;
  const nlohmann::json& v = config.at(key);
  if (v.is_string())
    *out = v.get<std::string>();
  else if (v.is_object() && v.contains("content") && v.at("content").is_string()) {
    *out = v.at("content").get<std::string>();
  }
}

// What BertTokenizerFast builds from a vocab.txt (and the tokenizer_config.json beside it).
Status load_vocab_txt(const std::string& path, std::unique_ptr<Tokenizer>* out) {
  std::string content;
  ET_RETURN_IF_ERROR(read_file(path, &content));
  std::vector<std::pair<std::string, int32_t>> vocab;
  size_t pos = 0;
  while (pos < content.size()) {
    size_t nl = content.find('\n', pos);
    size_t end = nl == std::string::npos ? content.size() : nl;
    size_t stop = end > pos && content[end - 1] == '\r' ? end - 1 : end;
    vocab.emplace_back(content.substr(pos, stop - pos), static_cast<int32_t>(vocab.size()));
    pos = nl == std::string::npos ? content.size() : nl + 1;
  }
  if (vocab.empty()) return make_error("%s: empty vocabulary", path.c_str());

  BertNormalizerOptions norm;
  std::string unk = "[UNK]", cls = "[CLS]", sep = "[SEP]", pad = "[PAD]", mask = "[MASK]";
  const size_t slash = path.find_last_of('/');
  const std::string config_path =
      path_join(slash == std::string::npos ? "." : path.substr(0, slash), "tokenizer_config.json");
  if (file_exists(config_path)) {
    std::string text;
    ET_RETURN_IF_ERROR(read_file(config_path, &text));
    nlohmann::json config = nlohmann::json::parse(text, nullptr, false);
    if (config.is_discarded() || !config.is_object()) {
      return make_error("%s: not a JSON object", config_path.c_str());
    }
    Status st = json_read_bool(config, "do_lower_case", &norm.lowercase);
    if (st.ok()) st = json_read_bool(config, "tokenize_chinese_chars", &norm.handle_chinese_chars);
    if (st.ok() && config.contains("strip_accents") && !config.at("strip_accents").is_null()) {
      bool strip = false;
      st = json_read_bool(config, "strip_accents", &strip);
      norm.strip_accents = strip;
    }
    if (!st.ok()) return st.wrap(config_path);
    read_token_name(config, "unk_token", &unk);
    read_token_name(config, "cls_token", &cls);
    read_token_name(config, "sep_token", &sep);
    read_token_name(config, "pad_token", &pad);
    read_token_name(config, "mask_token", &mask);
  }

  auto tok = std::make_unique<PipelineTokenizer>();
  tok->source = path;
  WordPieceOptions wp;
  wp.unk_token = unk;
  tok->model = make_wordpiece(std::move(vocab), wp);
  const int32_t cls_id = tok->model->token_to_id(cls);
  const int32_t sep_id = tok->model->token_to_id(sep);
  if (cls_id < 0 || sep_id < 0) {
    return make_error("%s: the vocabulary lacks %s or %s (needed around every text)", path.c_str(),
                      cls.c_str(), sep.c_str());
  }
  tok->normalizer = make_bert_normalizer(norm);
  tok->pre_tokenizer = make_bert_pre_tokenizer();
  tok->post_processor = make_bert_processing({cls, cls_id}, {sep, sep_id});
  tok->decoder = make_wordpiece_decoder("##", true);
  std::vector<AddedToken> specials;
  for (const std::string& name : {pad, unk, cls, sep, mask}) {
    if (tok->model->token_to_id(name) < 0) continue;
    AddedToken t;
    t.content = name;
    t.normalized = false;
    t.special = true;
    specials.push_back(t);
  }
  tok->added.build(specials, *tok->model, tok->normalizer.get());
  *out = std::move(tok);
  return Status();
}

}  // namespace

Status Tokenizer::load(const std::string& path, std::unique_ptr<Tokenizer>* out) {
  if (dir_exists(path)) {
    if (file_exists(path_join(path, "tokenizer.json"))) {
      return load_tokenizer_json(path_join(path, "tokenizer.json"), out);
    }
    if (file_exists(path_join(path, "vocab.txt")))
      return load_vocab_txt(path_join(path, "vocab.txt"), out);
    for (const char* spm : {"tokenizer.model", "spiece.model", "sentencepiece.bpe.model"}) {
      if (file_exists(path_join(path, spm))) return sentencepiece_tokenizer_load(path_join(path, spm), out);
    }
    return make_error("%s: no tokenizer.json or vocab.txt (nor a SentencePiece tokenizer.model, "
                      "spiece.model or sentencepiece.bpe.model) in this directory", path.c_str());
  }
  if (!file_exists(path)) return make_error("%s: no such file or directory", path.c_str());
  if (ends_with(path, ".json")) return load_tokenizer_json(path, out);
  if (ends_with(path, ".txt")) return load_vocab_txt(path, out);
  if (ends_with(path, ".model")) return sentencepiece_tokenizer_load(path, out);
  return make_error("%s: expected a tokenizer.json, a vocab.txt, a SentencePiece .model or a "
                    "model directory", path.c_str());
}

Status Tokenizer::decode(const std::vector<int32_t>&, bool, std::string* out) const {
  out->clear();
  return make_error("%s: this tokenizer cannot decode ids", source_path().c_str());
}

Status Tokenizer::encode_pair(std::string_view, std::string_view, const EncodeOptions&,
                              Encoding* out) const {
  *out = Encoding();
  return make_error("%s: this tokenizer cannot encode pairs of texts", source_path().c_str());
}

Status Tokenizer::encode_pair_batch(const std::vector<std::pair<std::string, std::string>>& pairs,
                                    const EncodeOptions& opt, std::vector<Encoding>* out) const {
  out->assign(pairs.size(), Encoding());
  const int64_t n = static_cast<int64_t>(pairs.size());
  int64_t first_bad = n;
  Status first_error;
#pragma omp parallel for schedule(dynamic, 16)
  for (int64_t i = 0; i < n; ++i) {
    Status st = encode_pair(pairs[i].first, pairs[i].second, opt, &(*out)[i]);
    if (!st.ok()) {
#pragma omp critical(embtune_encode_pair_batch)
      if (i < first_bad) {
        first_bad = i;
        first_error = st;
      }
    }
  }
  if (first_bad < n) return first_error.wrap("pair " + std::to_string(first_bad + 1));
  return Status();
}

Status Tokenizer::encode_batch(const std::vector<std::string>& texts, const EncodeOptions& opt,
                               std::vector<Encoding>* out) const {
  out->assign(texts.size(), Encoding());
  const int64_t n = static_cast<int64_t>(texts.size());
  int64_t first_bad = n;
  Status first_error;
#pragma omp parallel for schedule(dynamic, 16)
  for (int64_t i = 0; i < n; ++i) {
    Status st = encode(texts[i], opt, &(*out)[i]);
    if (!st.ok()) {
#pragma omp critical(embtune_encode_batch)
      if (i < first_bad) {
        first_bad = i;
        first_error = st;
      }
    }
  }
  if (first_bad < n) return first_error.wrap("text " + std::to_string(first_bad + 1));
  return Status();
}

}  // namespace embtune
