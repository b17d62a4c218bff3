// OnigRegex: compiling with Oniguruma and iterating matches like the onig crate's FindMatches,
// and the one rewrite of patterns (with_hf_unicode_classes) that makes libonig's Unicode HF's.
// Not a pattern translator otherwise: the syntax is Oniguruma's Ruby syntax, as HF's.
#include "tokenizer/onig_regex.h"

#include <oniguruma.h>

#include <cctype>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "tokenizer/regex_tables.h"

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

// "Uppercase_Letter", "uppercase letter", "UPPERCASELETTER" -> "uppercaseletter" (onig ignores
// case, spaces, underscores and hyphens in property names).
std::string loose_name(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == ' ' || c == '_' || c == '-') continue;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// The table for a property name, by short name ("Lu", "Han") or general category long name.
const RegexClassTable* find_class(std::string_view name) {
  static const struct {
    const char* long_name;
    const char* short_name;
  } kAliases[] = {
      {"letter", "L"}, {"uppercaseletter", "Lu"}, {"lowercaseletter", "Ll"},
      {"titlecaseletter", "Lt"}, {"modifierletter", "Lm"}, {"otherletter", "Lo"},
      {"mark", "M"}, {"combiningmark", "M"}, {"nonspacingmark", "Mn"}, {"spacingmark", "Mc"},
      {"enclosingmark", "Me"}, {"number", "N"}, {"decimalnumber", "Nd"}, {"letternumber", "Nl"},
      {"othernumber", "No"}, {"punctuation", "P"}, {"connectorpunctuation", "Pc"},
      {"dashpunctuation", "Pd"}, {"openpunctuation", "Ps"}, {"closepunctuation", "Pe"},
      {"initialpunctuation", "Pi"}, {"finalpunctuation", "Pf"}, {"otherpunctuation", "Po"},
      {"symbol", "S"}, {"mathsymbol", "Sm"}, {"currencysymbol", "Sc"},
      {"modifiersymbol", "Sk"}, {"othersymbol", "So"}, {"separator", "Z"},
      {"spaceseparator", "Zs"}, {"lineseparator", "Zl"}, {"paragraphseparator", "Zp"},
      {"other", "C"}, {"control", "Cc"}, {"format", "Cf"}, {"privateuse", "Co"},
      {"unassigned", "Cn"},
  };
  std::string loose = loose_name(name);
  for (const auto& a : kAliases) {
    if (loose == a.long_name) {
      loose = loose_name(a.short_name);
      break;
    }
  }
  for (const RegexClassTable& t : hf_regex_classes_table()) {
    if (loose_name(t.name) == loose) return &t;
  }
  return nullptr;
}

// The table of the escape \w, \d or \s (`e` is 'w', 'd' or 's').
const RegexClassTable* find_escape(char e) {
  const char name[] = {'\\', e, '\0'};
  for (const RegexClassTable& t : hf_regex_classes_table()) {
    if (std::string_view(t.name) == name) return &t;
  }
  return nullptr;
}

void append_ranges(const RegexClassTable& t, std::string* out) {
  char buf[48];
  for (const CodepointRange& r : t.ranges) {
    if (r.first == r.last) {
      std::snprintf(buf, sizeof buf, "\\x{%X}", static_cast<unsigned>(r.first));
    } else {
      std::snprintf(buf, sizeof buf, "\\x{%X}-\\x{%X}", static_cast<unsigned>(r.first),
                    static_cast<unsigned>(r.last));
    }
    *out += buf;
  }
}

// Appends the class for `t`: inside a bracket expression a positive class is spliced in as its
// ranges, anything else becomes a (nested) bracket expression of its own.
void append_class(const RegexClassTable& t, bool negated, bool in_class, std::string* out) {
  if (in_class && !negated) {
    append_ranges(t, out);
    return;
  }
  *out += negated ? "[^" : "[";
  append_ranges(t, out);
  *out += ']';
}

}  // namespace

std::span<const CodepointRange> hf_regex_class(std::string_view name) {
  for (const RegexClassTable& t : hf_regex_classes_table()) {
    if (name == t.name) return t.ranges;
  }
  ET_CHECK(false && "no such regex class table");
  return {};
}

std::string with_hf_unicode_classes(std::string_view p) {
  std::string out;
  out.reserve(p.size());
  int depth = 0;             // bracket expressions open
  size_t class_start = 0;    // where the innermost one's contents began (after "[" or "[^")
  for (size_t i = 0; i < p.size();) {
    const char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      const char e = p[i + 1];
      const RegexClassTable* t = nullptr;
      bool negated = false;
      size_t next = i + 2;
      if (e == 'w' || e == 'd' || e == 's' || e == 'W' || e == 'D' || e == 'S') {
        const char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(e)));
        t = find_escape(lower);
        negated = e != lower;
      } else if ((e == 'p' || e == 'P') && i + 2 < p.size() && p[i + 2] == '{') {
        const size_t close = p.find('}', i + 3);
        if (close != std::string_view::npos) {
          std::string_view name = p.substr(i + 3, close - i - 3);
          negated = e == 'P';
          if (!name.empty() && name[0] == '^') {
            negated = !negated;
            name.remove_prefix(1);
          }
          t = find_class(name);
          next = close + 1;
        }
      }
      if (t != nullptr) {
        append_class(*t, negated, depth > 0, &out);
        i = next;
      } else {
        out.append(p.substr(i, 2));
        i += 2;
      }
      continue;
    }
    if (c == '[') {
      // A "]" right after "[" or "[^" is a literal, as in POSIX bracket expressions.
      ++depth;
      out += c;
      ++i;
      if (i < p.size() && p[i] == '^') out += p[i++];
      class_start = out.size();
      continue;
    }
    if (c == ']' && depth > 0 && out.size() != class_start) {
      --depth;
    }
    out += c;
    ++i;
  }
  return out;
}

Status compile_pattern_json(const nlohmann::json& p, const char* stage,
                            std::unique_ptr<OnigRegex>* out, std::string* desc) {
  std::string source;
  if (p.is_object() && p.contains("String") && p.at("String").is_string()) {
    *desc = p.at("String").get<std::string>();
    static const std::string meta = "\\.+*?()|[]{}^$#&-~";  // Rust regex::escape
    for (char ch : *desc) {
      if (meta.find(ch) != std::string::npos) source += '\\';
      source += ch;
    }
  } else if (p.is_object() && p.contains("Regex") && p.at("Regex").is_string()) {
    *desc = p.at("Regex").get<std::string>();
    source = *desc;
  } else {
    return make_error("%s: \"pattern\" must be {\"String\": \"...\"} or {\"Regex\": \"...\"}", stage);
  }
  return OnigRegex::compile(source, out).wrap(stage);
}

Status OnigRegex::compile(std::string_view pattern, std::unique_ptr<OnigRegex>* out) {
  onig_init_once();
  regex_t* reg = nullptr;
  OnigErrorInfo info;
  const std::string spelled = with_hf_unicode_classes(pattern);
  const auto* begin = reinterpret_cast<const OnigUChar*>(spelled.data());
  int r = onig_new(&reg, begin, begin + spelled.size(), ONIG_OPTION_NONE, ONIG_ENCODING_UTF8,
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
