// SentencePiece `.model` files through libsentencepiece: segmentation by the library, special
// tokens by the transformers rule in sentencepiece_tokenizer.h, offsets in code points.
// Not a SentencePiece reimplementation: neither normalization nor Unigram/BPE search lives here.
#include "tokenizer/sentencepiece_tokenizer.h"

#include <sentencepiece_processor.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/file.h"
#include "core/strings.h"
#include "core/utf8.h"
#include "tokenizer/json_fields.h"
#include "tokenizer/post_processor.h"
#include "tokenizer/truncation.h"
#include "tokenizer/unicode.h"

namespace embtune {
namespace {

// The few ModelProto fields that decide offsets and the description. libsentencepiece installs
// no sentencepiece_model.pb.h, so they are read from the protobuf wire format directly
// (field numbers of sentencepiece_model.proto: ModelProto.trainer_spec 2, .normalizer_spec 3;
// TrainerSpec.model_type 3; NormalizerSpec.name 1, .remove_extra_whitespaces 4).
struct ModelFacts {
  int model_type = 1;  // 1 Unigram, 2 BPE, 3 Word, 4 Char
  std::string normalizer = "nmt_nfkc";
  bool remove_extra_whitespaces = true;
  // Every field read to the end of the file and both specs present. A file cut short between
  // two pieces still parses as a model (with fewer pieces); the specs, written after the pieces,
  // are then missing.
  bool complete = false;
};

// One protobuf field at `*pos` of `data`: its number, wire type, varint value or payload.
bool proto_next_field(std::string_view data, size_t* pos, uint32_t* number, uint64_t* varint,
                      std::string_view* bytes) {
  auto read_varint = [&](uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64 && *pos < data.size(); shift += 7) {
      const uint8_t b = static_cast<uint8_t>(data[(*pos)++]);
      *v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return true;
    }
    return false;
  };
  uint64_t key = 0;
  if (!read_varint(&key)) return false;
  *number = static_cast<uint32_t>(key >> 3);
  switch (key & 7) {
    case 0:
      return read_varint(varint);
    case 1:
    case 5: {
      const size_t width = (key & 7) == 1 ? 8 : 4;
      if (data.size() - *pos < width) return false;
      *pos += width;
      return true;
    }
    case 2: {
      uint64_t len = 0;
      if (!read_varint(&len) || len > data.size() - *pos) return false;
      *bytes = data.substr(*pos, len);
      *pos += len;
      return true;
    }
    default:
      return false;
  }
}

ModelFacts read_model_facts(std::string_view model) {
  ModelFacts facts;
  size_t pos = 0;
  uint32_t number = 0;
  uint64_t varint = 0;
  std::string_view bytes;
  bool trainer_spec = false, normalizer_spec = false;
  while (pos < model.size() && proto_next_field(model, &pos, &number, &varint, &bytes)) {
    trainer_spec |= number == 2;
    normalizer_spec |= number == 3;
    if (number != 2 && number != 3) continue;
    const std::string_view spec = bytes;
    size_t p = 0;
    uint32_t n = 0;
    uint64_t v = 0;
    std::string_view b;
    while (p < spec.size() && proto_next_field(spec, &p, &n, &v, &b)) {
      if (number == 2 && n == 3) facts.model_type = static_cast<int>(v);
      if (number == 3 && n == 1) facts.normalizer = std::string(b);
      if (number == 3 && n == 4) facts.remove_extra_whitespaces = v != 0;
    }
  }
  facts.complete = pos == model.size() && trainer_spec && normalizer_spec;
  return facts;
}

const char* model_type_name(int type) {
  switch (type) {
    case 1: return "Unigram";
    case 2: return "BPE";
    case 3: return "Word";
    case 4: return "Char";
    default: return "unknown model type";
  }
}

// Code points of one text and, for each byte, the code point it belongs to.
struct TextIndex {
  std::vector<char32_t> cps;
  std::vector<uint32_t> char_of_byte;  // size bytes + 1; the last entry is cps.size()
};

// The piece's byte span [begin, end) of the input as code points, in the convention of the
// tokenizer.json pipeline (HF tokenizers). SentencePiece gives the bytes of a character that
// became several pieces (byte fallback, NFKC expansion) to the last of them and leaves the others,
// and the dummy-prefix ▁, empty; they get the character at their position instead. Where the
// model collapses whitespace, ▁ marks a word start, so (as after HF's WhitespaceSplit +
// Metaspace) a piece starts at its first non-whitespace character and a lone ▁ takes the
// character after the whitespace it replaced.
std::pair<uint32_t, uint32_t> piece_offsets(const TextIndex& t, uint32_t begin, uint32_t end,
                                            bool collapses_whitespace) {
  const uint32_t num_bytes = static_cast<uint32_t>(t.char_of_byte.size() - 1);
  const uint32_t num_chars = static_cast<uint32_t>(t.cps.size());
  begin = std::min(begin, num_bytes);
  end = std::min(std::max(end, begin), num_bytes);
  uint32_t start = t.char_of_byte[begin];
  uint32_t stop = end > begin ? t.char_of_byte[end - 1] + 1 : start;
  if (collapses_whitespace) {
    while (start < stop && is_whitespace(t.cps[start])) ++start;
    if (start == stop) {
      while (start < num_chars && is_whitespace(t.cps[start])) ++start;
      stop = start;
    }
  }
  if (start == stop && start < num_chars) stop = start + 1;
  return {start, stop};
}

class SentencePieceTokenizer : public Tokenizer {
 public:
  std::string source;
  sentencepiece::SentencePieceProcessor sp;
  ModelFacts facts;
  int32_t bos_id = -1;       // added at the start when >= 0
  int32_t eos_id = -1;       // added at the end when >= 0
  std::string special_rule;  // for describe(): what decided BOS/EOS

  Status encode(std::string_view text, const EncodeOptions& opt, Encoding* out) const override {
    out->clear();
    thread_local TextIndex index;
    index.cps.clear();
    index.char_of_byte.resize(text.size() + 1);
    const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
    for (size_t i = 0; i < text.size();) {
      char32_t c = 0;
      const size_t len = utf8_next(bytes, text.size(), i, &c);
      if (len == 0) {
        return make_error("invalid UTF-8 at byte %zu of the text (embtune reads UTF-8 only)", i);
      }
      for (size_t k = 0; k < len; ++k) index.char_of_byte[i + k] = static_cast<uint32_t>(index.cps.size());
      index.cps.push_back(c);
      i += len;
    }
    index.char_of_byte[text.size()] = static_cast<uint32_t>(index.cps.size());

    sentencepiece::ImmutableSentencePieceText spt;
    const auto st = sp.Encode(std::string_view(text.data(), text.size()), spt.mutable_proto());
    if (!st.ok()) {
      return make_error("SentencePiece could not encode the text (%s)", st.ToString().c_str());
    }
    const size_t n = spt.pieces_size();
    out->ids.reserve(n + 2);
    for (size_t i = 0; i < n; ++i) {
      const auto piece = spt.pieces(static_cast<int>(i));
      out->ids.push_back(static_cast<int32_t>(piece.id()));
      out->offsets.push_back(
          piece_offsets(index, piece.begin(), piece.end(), facts.remove_extra_whitespaces));
    }
    out->type_ids.assign(n, 0);
    out->special_tokens_mask.assign(n, 0);
    out->sequence_ids.assign(n, 0);
    ET_RETURN_IF_ERROR(truncate(opt, out));
    std::vector<AddedSpecial> prefix, suffix;
    if (bos_id >= 0) prefix.push_back({bos_id, 0});
    if (eos_id >= 0) suffix.push_back({eos_id, 0});
    encoding_wrap(out, opt.add_special_tokens, prefix, 0, suffix);
    for (Encoding& o : out->overflowing) encoding_wrap(&o, opt.add_special_tokens, prefix, 0, suffix);
    return Status();
  }

  // libsentencepiece's Decode: pieces joined, ▁ back to spaces, byte pieces fused, the dummy
  // prefix dropped. Control pieces (BOS, EOS) decode to nothing there whatever
  // `skip_special_tokens` says; with it, unknown pieces are left out too (else " ⁇ ").
  Status decode(const std::vector<int32_t>& ids, bool skip_special_tokens,
                std::string* out) const override {
    out->clear();
    std::vector<int> kept;
    kept.reserve(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] < 0 || ids[i] >= sp.GetPieceSize()) {
        return make_error("id %d (position %zu) is not in the vocabulary of %zu tokens", ids[i],
                          i + 1, vocab_size());
      }
      if (skip_special_tokens && (sp.IsControl(ids[i]) || sp.IsUnknown(ids[i]))) continue;
      kept.push_back(ids[i]);
    }
    const auto st = sp.Decode(kept, out);
    if (!st.ok()) return make_error("SentencePiece could not decode the ids (%s)", st.ToString().c_str());
    return Status();
  }

  size_t vocab_size() const override { return static_cast<size_t>(sp.GetPieceSize()); }

  int32_t token_to_id(std::string_view token) const override {
    // PieceToId answers unk_id for a piece it does not know.
    const int id = sp.PieceToId(std::string_view(token.data(), token.size()));
    return id >= 0 && id < sp.GetPieceSize() && sp.IdToPiece(id) == token ? id : -1;
  }

  std::string id_to_token(int32_t id) const override {
    return id >= 0 && id < sp.GetPieceSize() ? sp.IdToPiece(id) : std::string();
  }

  int num_special_tokens_to_add() const override { return (bos_id >= 0) + (eos_id >= 0); }

  std::string describe() const override {
    std::string d = std::string("SentencePiece ") + model_type_name(facts.model_type) + " (vocab " +
                    std::to_string(vocab_size()) + ", .model read by libsentencepiece, normalizer " +
                    facts.normalizer +
                    (facts.remove_extra_whitespaces ? ", collapses whitespace" : "") + "), adds ";
    if (bos_id < 0 && eos_id < 0) d += "no special tokens";
    if (bos_id >= 0) d += "BOS " + id_to_token(bos_id);
    if (bos_id >= 0 && eos_id >= 0) d += " and ";
    if (eos_id >= 0) d += "EOS " + id_to_token(eos_id);
    return d + " (" + special_rule + ")";
  }

  const std::string& source_path() const override { return source; }

 private:
  // The caller's truncation (a .model has none of its own) as the tokenizer.json pipeline applies
  // it: BOS/EOS count against max_length (a max_length below their number limits the text
  // alone), then stride, direction and strategy as HF, the cut tokens in out->overflowing.
  Status truncate(const EncodeOptions& opt, Encoding* enc) const {
    if (opt.max_length < -1 || opt.stride < -1) {
      return make_error("max_length and stride must not be negative (got %d and %d)",
                        opt.max_length, opt.stride);
    }
    if (opt.max_length <= 0) return Status();
    const size_t special = opt.add_special_tokens ? static_cast<size_t>(num_special_tokens_to_add()) : 0;
    const size_t max_length = static_cast<size_t>(opt.max_length);
    TruncationParams p;
    p.max_length = max_length >= special ? max_length - special : max_length;
    p.stride = opt.stride >= 0 ? static_cast<size_t>(opt.stride) : 0;
    if (opt.strategy) p.strategy = *opt.strategy;
    if (opt.direction) p.direction = *opt.direction;
    return truncate_encodings(p, enc, nullptr);
  }
};

// tokenizer_config.json names a token either as a string or as {"content": ...}; "" if absent.
std::string config_token_name(const nlohmann::json& config, const char* key) {
  if (!config.contains(key)) return "";
  const nlohmann::json& v = config.at(key);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v.at("content").is_string()) {
    return v.at("content").get<std::string>();
  }
  return "";
}

// Decides bos_id / eos_id (the rule in sentencepiece_tokenizer.h).
Status choose_special_tokens(const std::string& model_path, SentencePieceTokenizer* tok) {
  bool add_bos = tok->sp.bos_id() >= 0;
  bool add_eos = !add_bos && tok->sp.eos_id() >= 0;
  tok->special_rule = "model default: BOS when it defines one, else EOS";
  std::string bos_name, eos_name;
  const size_t slash = model_path.find_last_of('/');
  const std::string config_path = path_join(
      slash == std::string::npos ? "." : model_path.substr(0, slash), "tokenizer_config.json");
  if (file_exists(config_path)) {
    std::string text;
    ET_RETURN_IF_ERROR(read_file(config_path, &text));
    const nlohmann::json config = nlohmann::json::parse(text, nullptr, false);
    if (config.is_discarded() || !config.is_object()) {
      return make_error("%s: not a JSON object", config_path.c_str());
    }
    std::string cls;
    ET_RETURN_IF_ERROR(json_read_string(config, "tokenizer_class", &cls).wrap(config_path));
    std::string base = cls;
    if (base.size() > 4 && ends_with(base, "Fast")) base.resize(base.size() - 4);
    if (base == "T5Tokenizer") {
      add_bos = false;
      add_eos = true;
      tok->special_rule = "tokenizer_config.json: " + cls + " appends EOS";
    } else if (base.empty() || base == "LlamaTokenizer" || base == "CodeLlamaTokenizer" ||
               base == "GemmaTokenizer") {
      Status st = json_read_bool(config, "add_bos_token", &add_bos);
      if (st.ok()) st = json_read_bool(config, "add_eos_token", &add_eos);
      if (!st.ok()) return st.wrap(config_path);
      tok->special_rule = "tokenizer_config.json" + (cls.empty() ? std::string() : ": " + cls) +
                          (add_bos ? " add_bos_token" : " no BOS") + (add_eos ? " add_eos_token" : " no EOS");
    } else {
      return make_error(
          "%s: tokenizer_class %s: embtune reads a .model directly only for Llama, Gemma and T5 "
          "tokenizers, whose ids and text are the .model's (use this model's tokenizer.json)",
          config_path.c_str(), cls.c_str());
    }
    bos_name = config_token_name(config, "bos_token");
    eos_name = config_token_name(config, "eos_token");
  }
  auto resolve = [&](bool add, const std::string& name, int fallback, const char* what,
                     int32_t* id) -> Status {
    *id = -1;
    if (!add) return Status();
    *id = name.empty() ? fallback : tok->token_to_id(name);
    if (*id < 0) {
      return make_error("%s: %s is to be added but %s is not a piece of the model (%s)",
                        model_path.c_str(), what,
                        name.empty() ? "the model defines none" : name.c_str(),
                        tok->special_rule.c_str());
    }
    return Status();
  };
  ET_RETURN_IF_ERROR(resolve(add_bos, bos_name, tok->sp.bos_id(), "BOS", &tok->bos_id));
  ET_RETURN_IF_ERROR(resolve(add_eos, eos_name, tok->sp.eos_id(), "EOS", &tok->eos_id));
  return Status();
}

}  // namespace

Status sentencepiece_tokenizer_load(const std::string& path, std::unique_ptr<Tokenizer>* out) {
  std::string model;
  ET_RETURN_IF_ERROR(read_file(path, &model));
  if (model.empty()) return make_error("%s: empty file (expected a SentencePiece .model)", path.c_str());
  auto tok = std::make_unique<SentencePieceTokenizer>();
  tok->source = path;
  const auto st = tok->sp.LoadFromSerializedProto(std::string_view(model.data(), model.size()));
  if (!st.ok() || tok->sp.GetPieceSize() <= 0) {
    return make_error("%s: not a SentencePiece model, or a truncated one (libsentencepiece: %s)",
                      path.c_str(), st.ok() ? "no pieces" : st.ToString().c_str());
  }
  tok->facts = read_model_facts(model);
  if (!tok->facts.complete) {
    return make_error("%s: not a SentencePiece model, or a truncated one (no trainer and "
                      "normalizer specs after its %d pieces)", path.c_str(), tok->sp.GetPieceSize());
  }
  ET_RETURN_IF_ERROR(choose_special_tokens(path, tok.get()));
  *out = std::move(tok);
  return Status();
}

}  // namespace embtune
