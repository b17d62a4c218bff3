// OnigRegex: compiling with Oniguruma and iterating matches like the onig crate's FindMatches.
// Not a pattern translator: patterns are passed to Oniguruma unchanged, as HF passes them.
#include "tokenizer/onig_regex.h"

#include <oniguruma.h>

#include <mutex>
#include <string>

namespace embtune {

namespace {

void onig_init_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    OnigEncoding encodings[] = {ONIG_ENCODING_UTF8};
    onig_initialize(encodings, 1);
  });
}

// Length of the UTF-8 character starting at `lead` (1 for a stray continuation byte).
size_t utf8_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead >> 5) == 0x6) return 2;
  if ((lead >> 4) == 0xE) return 3;
  if ((lead >> 3) == 0x1E) return 4;
  return 1;
}

}  // namespace

Status OnigRegex::compile(std::string_view pattern, std::unique_ptr<OnigRegex>* out) {
  onig_init_once();
  regex_t* reg = nullptr;
  OnigErrorInfo info;
  const auto* begin = reinterpret_cast<const OnigUChar*>(pattern.data());
  int r = onig_new(&reg, begin, begin + pattern.size(), ONIG_OPTION_NONE, ONIG_ENCODING_UTF8,
                   ONIG_SYNTAX_RUBY, &info);
  if (r != ONIG_NORMAL) {
    OnigUChar message[ONIG_MAX_ERROR_MESSAGE_LEN];
    onig_error_code_to_str(message, r, &info);
    std::string p(pattern);
    return make_error("regex \"%s\" does not compile: %s", p.c_str(),
                      reinterpret_cast<const char*>(message));
  }
  out->reset(new OnigRegex(reg));
  return Status();
}

OnigRegex::~OnigRegex() { onig_free(static_cast<regex_t*>(regex_)); }

void OnigRegex::find_all(std::string_view text,
                         std::vector<std::pair<size_t, size_t>>* out) const {
  out->clear();
  auto* reg = static_cast<regex_t*>(regex_);
  // One region per call: the compiled regex is read-only during a search, the region is not.
  OnigRegion* region = onig_region_new();
  const auto* str = reinterpret_cast<const OnigUChar*>(text.data());
  const OnigUChar* str_end = str + text.size();
  size_t last_end = 0;
  bool have_last_match = false;
  size_t last_match_end = 0;
  while (last_end <= text.size()) {
    onig_region_clear(region);
    int r = onig_search(reg, str, str_end, str + last_end, str_end, region, ONIG_OPTION_NONE);
    if (r < 0) break;  // ONIG_MISMATCH, or a search error (which the onig crate treats alike)
    size_t s = static_cast<size_t>(region->beg[0]);
    size_t e = static_cast<size_t>(region->end[0]);
    // As the onig crate: an empty match right where the last match ended is skipped by
    // advancing one character and searching again.
    if (s == e && have_last_match && last_match_end == e) {
      last_end += last_end < text.size()
                      ? utf8_length(static_cast<unsigned char>(text[last_end]))
                      : 1;
      continue;
    }
    last_end = e;
    last_match_end = e;
    have_last_match = true;
    out->emplace_back(s, e);
  }
  onig_region_free(region, 1);
}

}  // namespace embtune
