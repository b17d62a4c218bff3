// The "Metaspace" pre-tokenizer (SentencePiece style): spaces become the replacement character
// (U+2581 "▁"), which is prepended per prepend_scheme and starts each word when "split" is on.
// Not the Metaspace decoder: nothing here turns "▁" back into spaces.
#include <nlohmann/json.hpp>

#include "core/utf8.h"
#include "tokenizer/json_fields.h"
#include "tokenizer/pre_tokenizer.h"

namespace embtune {
namespace {

enum class PrependScheme { kAlways, kFirst, kNever };

class MetaspacePreTokenizer : public PreTokenizer {
 public:
  MetaspacePreTokenizer(char32_t replacement, PrependScheme scheme, bool split)
      : replacement_(replacement), scheme_(scheme), split_(split) {}

  void pre_tokenize(PreTokenizedString* s) const override {
    rewrite_splits(s, [this](const AlignedChar* chars, size_t n, std::vector<AlignedChar>* text,
                             std::vector<Split>* words) {
      const uint32_t base = static_cast<uint32_t>(text->size());
      // HF prepends to the split as it is, replaced spaces included; the new character takes
      // the range of the first one.
      const bool starts_with_replacement = chars[0].c == ' ' || chars[0].c == replacement_;
      const bool prepend =
          !starts_with_replacement &&
          (scheme_ == PrependScheme::kAlways || (scheme_ == PrependScheme::kFirst && chars[0].begin == 0));
      if (prepend) text->push_back({replacement_, chars[0].begin, chars[0].end});
      for (size_t i = 0; i < n; ++i) {
        AlignedChar a = chars[i];
        if (a.c == ' ') a.c = replacement_;
        text->push_back(a);
      }
      const uint32_t end = static_cast<uint32_t>(text->size());
      if (!split_) {
        words->push_back({base, end, -1});
        return;
      }
      thread_local std::vector<CharRange> matches;
      matches.clear();
      for (uint32_t i = base; i < end; ++i) {
        if ((*text)[i].c == replacement_) matches.emplace_back(i, i + 1);
      }
      split_at_matches(base, end, matches, SplitBehavior::kMergedWithNext, false, words);
    });
  }

  std::string describe() const override {
    std::string d = "Metaspace(";
    utf8_append(replacement_, &d);
    d += scheme_ == PrependScheme::kAlways  ? ", prepend always"
         : scheme_ == PrependScheme::kFirst ? ", prepend first"
                                            : ", prepend never";
    return d + (split_ ? ", split)" : ")");
  }

 private:
  char32_t replacement_;
  PrependScheme scheme_;
  bool split_;
};

}  // namespace

Status make_metaspace_pre_tokenizer(const nlohmann::json& j, std::unique_ptr<PreTokenizer>* out) {
  std::string replacement = "\xE2\x96\x81";
  bool split = true;
  ET_RETURN_IF_ERROR(json_read_string(j, "replacement", &replacement));
  ET_RETURN_IF_ERROR(json_read_bool(j, "split", &split));
  std::vector<char32_t> cps;
  size_t bad = 0;
  if (!utf8_decode(replacement, &cps, &bad) || cps.size() != 1) {
    return make_error("\"replacement\": \"%s\" is not one character", replacement.c_str());
  }
  // prepend_scheme defaults to "always"; the older add_prefix_space may only say false together
  // with "never" (HF refuses any other combination, and so do we).
  PrependScheme scheme = PrependScheme::kAlways;
  if (j.contains("prepend_scheme") && !j.at("prepend_scheme").is_null()) {
    std::string name;
    ET_RETURN_IF_ERROR(json_read_string(j, "prepend_scheme", &name));
    if (name == "always") {
      scheme = PrependScheme::kAlways;
    } else if (name == "first") {
      scheme = PrependScheme::kFirst;
    } else if (name == "never") {
      scheme = PrependScheme::kNever;
    } else {
      return make_error("\"prepend_scheme\": \"%s\" is not always, first or never", name.c_str());
    }
  }
  if (j.contains("add_prefix_space") && !j.at("add_prefix_space").is_null()) {
    bool add_prefix_space = true;
    ET_RETURN_IF_ERROR(json_read_bool(j, "add_prefix_space", &add_prefix_space));
    if (!add_prefix_space && scheme != PrependScheme::kNever) {
      return make_error("\"add_prefix_space\": false does not match \"prepend_scheme\" (give "
                        "\"never\", as Hugging Face tokenizers requires)");
    }
  }
  *out = std::make_unique<MetaspacePreTokenizer>(cps[0], scheme, split);
  return Status();
}

}  // namespace embtune
