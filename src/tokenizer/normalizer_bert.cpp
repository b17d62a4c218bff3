// The "BertNormalizer": clean_text, handle_chinese_chars, strip_accents, lowercase, in that order.
// Not the slow BasicTokenizer of transformers: it only rewrites text; splitting is the
// pre-tokenizer's.
#include <nlohmann/json.hpp>

#include "tokenizer/json_fields.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/unicode.h"

namespace embtune {
namespace {

class BertNormalizer : public Normalizer {
 public:
  explicit BertNormalizer(const BertNormalizerOptions& opt) : opt_(opt) {}

  void normalize(NormalizedString* s) const override {
    bool ascii = opt_.clean_text ? clean_text(s) : is_ascii(*s);
    if (ascii) {
      // No CJK, nothing for NFD or strip_accents to change, one-for-one lowercasing.
      if (opt_.lowercase) {
        for (AlignedChar& a : s->chars) a.c = (a.c >= 'A' && a.c <= 'Z') ? a.c + 32 : a.c;
      }
      return;
    }
    if (opt_.handle_chinese_chars) pad_chinese_chars(s);
    if (opt_.strip_accents.value_or(opt_.lowercase)) strip_accents(s);
    if (opt_.lowercase) lowercase_text(s);
  }

  std::string describe() const override {
    std::string d = "BertNormalizer(";
    d += opt_.clean_text ? "clean_text" : "no clean_text";
    d += opt_.handle_chinese_chars ? ", chinese_chars" : ", no chinese_chars";
    d += opt_.strip_accents.value_or(opt_.lowercase) ? ", strip_accents" : ", keep accents";
    d += opt_.lowercase ? ", lowercase)" : ", cased)";
    return d;
  }

 private:
  // Drops U+0000, U+FFFD and control characters; maps whitespace to ' '. Returns whether what
  // remains is all ASCII.
  static bool clean_text(NormalizedString* s) {
    size_t w = 0;
    char32_t any_high = 0;
    for (const AlignedChar& a : s->chars) {
      if (is_clean_text_removed(a.c)) continue;
      AlignedChar kept = a;
      if (is_whitespace(a.c)) kept.c = ' ';
      any_high |= kept.c & ~char32_t{0x7F};
      s->chars[w++] = kept;
    }
    s->chars.resize(w);
    return any_high == 0;
  }

  static bool is_ascii(const NormalizedString& s) {
    for (const AlignedChar& a : s.chars) {
      if (a.c >= 0x80) return false;
    }
    return true;
  }

  static void pad_chinese_chars(NormalizedString* s) {
    bool any = false;
    for (const AlignedChar& a : s->chars) {
      if (is_cjk_ideograph(a.c)) {
        any = true;
        break;
      }
    }
    if (!any) return;
    s->expand<3>([](char32_t c, char32_t* out) {
      if (!is_cjk_ideograph(c)) {
        out[0] = c;
        return 1;
      }
      out[0] = ' ';
      out[1] = c;
      out[2] = ' ';
      return 3;
    });
  }

  static void strip_accents(NormalizedString* s) {
    s->nfd();
    s->filter([](char32_t c) { return !is_nonspacing_mark(c); });
  }

  BertNormalizerOptions opt_;
};

}  // namespace

std::unique_ptr<Normalizer> make_bert_normalizer(const BertNormalizerOptions& opt) {
  return std::make_unique<BertNormalizer>(opt);
}

Status bert_normalizer_from_json(const nlohmann::json& j, std::unique_ptr<Normalizer>* out) {
  BertNormalizerOptions opt;
  ET_RETURN_IF_ERROR(json_read_bool(j, "clean_text", &opt.clean_text));
  ET_RETURN_IF_ERROR(json_read_bool(j, "handle_chinese_chars", &opt.handle_chinese_chars));
  ET_RETURN_IF_ERROR(json_read_bool(j, "lowercase", &opt.lowercase));
  if (j.contains("strip_accents") && !j.at("strip_accents").is_null()) {
    bool strip = false;
    ET_RETURN_IF_ERROR(json_read_bool(j, "strip_accents", &strip));
    opt.strip_accents = strip;
  }
  *out = make_bert_normalizer(opt);
  return Status();
}

}  // namespace embtune
