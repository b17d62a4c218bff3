// The "Prepend" normalizer: puts "prepend" before non-empty text, every added character aligned
// to the first character (HF's NormalizedString::prepend). Not SentencePiece's add_dummy_prefix.
#include <nlohmann/json.hpp>

#include "core/utf8.h"
#include "tokenizer/json_fields.h"
#include "tokenizer/normalizer.h"

namespace embtune {
namespace {

class PrependNormalizer : public Normalizer {
 public:
  PrependNormalizer(std::vector<char32_t> prefix, std::string text)
      : prefix_(std::move(prefix)), text_(std::move(text)) {}

  void normalize(NormalizedString* s) const override {
    if (s->chars.empty()) return;
    // HF replaces the first character by the first prefix character and inserts the rest (and
    // the first character again) after it: all take the first character's range.
    const AlignedChar first = s->chars.front();
    std::vector<AlignedChar> front;
    front.reserve(prefix_.size());
    for (char32_t c : prefix_) front.push_back({c, first.begin, first.end});
    if (prefix_.empty()) {
      // Only the first character, re-inserted at the start: HF's (0, 0) alignment.
      s->chars.front().begin = s->chars.front().end = first.begin;
      return;
    }
    s->chars.insert(s->chars.begin(), front.begin(), front.end());
  }

  std::string describe() const override { return "Prepend(" + text_ + ")"; }

 private:
  std::vector<char32_t> prefix_;
  std::string text_;
};

}  // namespace

Status prepend_normalizer_from_json(const nlohmann::json& j, std::unique_ptr<Normalizer>* out) {
  std::string text;
  if (!j.contains("prepend") || !j.at("prepend").is_string()) {
    return make_error("Prepend normalizer: \"prepend\" must be a string");
  }
  ET_RETURN_IF_ERROR(json_read_string(j, "prepend", &text).wrap("Prepend normalizer"));
  std::vector<char32_t> prefix;
  size_t bad = 0;
  if (!utf8_decode(text, &prefix, &bad)) {
    return make_error("Prepend normalizer: \"prepend\" is not valid UTF-8 at byte %zu", bad);
  }
  *out = std::make_unique<PrependNormalizer>(std::move(prefix), text);
  return Status();
}

}  // namespace embtune
