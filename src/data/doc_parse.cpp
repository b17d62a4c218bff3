// Document readers for pair generation: Markdown, reStructuredText, HTML (libxml2), plain text and
// JSONL, each a line- or tree-walk that feeds one section builder. Not full CommonMark / docutils:
// only the block structure that tells prose from headings, code and markup is recognised.
#include "data/doc_parse.h"

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <utility>

#include "core/file.h"
#include "core/strings.h"
#include "core/utf8.h"

namespace embtune {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string to_lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_ascii_punct(char c) { return std::ispunct(static_cast<unsigned char>(c)) != 0; }
bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || (static_cast<unsigned char>(c) >= 0x80); }

// The lines of a text without their "\n" / "\r\n" endings.
std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    pos = end + 1;
  }
  return lines;
}

// Leading whitespace of a line in columns (tabs to the next multiple of 4) and in bytes.
struct Indent {
  size_t columns = 0, bytes = 0;
};
Indent indent_of(std::string_view line) {
  Indent in;
  while (in.bytes < line.size() && (line[in.bytes] == ' ' || line[in.bytes] == '\t')) {
    in.columns = line[in.bytes] == '\t' ? (in.columns / 4 + 1) * 4 : in.columns + 1;
    ++in.bytes;
  }
  return in;
}

// Code points of a valid UTF-8 string (the display width of a title, for rST underlines).
size_t code_points(std::string_view s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// The file name without directories and extension.
std::string file_stem(const std::string& path) { return std::filesystem::path(path).stem().string(); }

// Decodes the HTML character references Markdown text may hold: numeric ones and the common named
// ones; others are left as written.
std::string decode_entities(std::string_view s) {
  static const std::pair<const char*, const char*> kNamed[] = {
      {"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""}, {"apos", "'"}, {"nbsp", " "},
      {"mdash", "\xE2\x80\x94"}, {"ndash", "\xE2\x80\x93"}, {"hellip", "\xE2\x80\xA6"}, {"copy", "\xC2\xA9"}};
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '&') {
      const size_t semi = s.find(';', i);
      if (semi != std::string_view::npos && semi - i <= 10) {
        const std::string_view name = s.substr(i + 1, semi - i - 1);
        if (name.size() > 1 && name[0] == '#') {
          const bool hex = name[1] == 'x' || name[1] == 'X';
          const std::string digits(name.substr(hex ? 2 : 1));
          char* end = nullptr;
          const unsigned long v = digits.empty() ? 0 : std::strtoul(digits.c_str(), &end, hex ? 16 : 10);
          if (end && *end == '\0' && v > 0 && v <= 0x10FFFF && !(v >= 0xD800 && v <= 0xDFFF)) {
            utf8_append(static_cast<char32_t>(v), &out);
            i = semi;
            continue;
          }
        }
        bool done = false;
        for (const auto& [n, v] : kNamed)
          if (name == n) {
            out += v;
            i = semi;
            done = true;
            break;
          }
        if (done) continue;
      }
    }
    out += s[i];
  }
  return out;
}

// Collects sections and paragraphs in document order. Paragraph text is gathered raw and goes
// through the format's inline stripping and whitespace normalisation when it is closed.
class SectionBuilder {
 public:
  SectionBuilder(ParsedDoc* doc, std::string (*inline_text)(std::string_view)) : doc_(doc), inline_text_(inline_text) {}

  bool paragraph_open() const { return !raw_.empty(); }
  void add_line(std::string_view line) {
    line = trim(line);
    if (line.empty()) return;
    if (!raw_.empty()) raw_ += '\n';
    raw_ += line;
  }
  // The raw text of the open paragraph, which is closed without becoming prose.
  std::string take_raw() { return std::exchange(raw_, std::string()); }
  void close_paragraph() {
    if (raw_.empty()) return;
    std::string p = normalize_whitespace(inline_text_(raw_));
    raw_.clear();
    if (p.empty()) return;
    if (doc_->sections.empty()) doc_->sections.emplace_back();
    doc_->sections.back().paragraphs.push_back(std::move(p));
  }
  // Opens a section; returns its normalised heading ("" when the heading has no text: ignored).
  std::string heading(int level, std::string_view raw) {
    close_paragraph();
    std::string text = normalize_whitespace(inline_text_(raw));
    if (text.empty()) return text;
    while (!stack_.empty() && stack_.back().first >= level) stack_.pop_back();
    DocSection s;
    s.heading = text;
    s.level = level;
    for (const auto& [l, t] : stack_) s.heading_path.push_back(t);
    stack_.emplace_back(level, text);
    doc_->sections.push_back(std::move(s));
    return text;
  }
  void finish() { close_paragraph(); }

 private:
  ParsedDoc* doc_;
  std::string (*inline_text_)(std::string_view);
  std::string raw_;
  std::vector<std::pair<int, std::string>> stack_;
};

// ---- Markdown ----------------------------------------------------------------------------------

// The index of the `close` matching the `open` at s[i] (nesting counted, backslash escapes
// skipped), or npos.
size_t matching(std::string_view s, size_t i, char open, char close) {
  int depth = 0;
  for (size_t j = i; j < s.size(); ++j) {
    if (s[j] == '\\') {
      ++j;
    } else if (s[j] == open) {
      ++depth;
    } else if (s[j] == close && --depth == 0) {
      return j;
    }
  }
  return std::string_view::npos;
}

// A "*" / "_" / "~~" run is emphasis markup unless whitespace is on both sides ("2 * 3") or, for
// "_", letters are on both sides (snake_case).
bool is_emphasis_run(std::string_view s, size_t begin, size_t end, char c) {
  const bool before_space = begin == 0 || is_space(s[begin - 1]);
  const bool after_space = end >= s.size() || is_space(s[end]);
  if (before_space && after_space) return false;
  if (c == '_' && begin > 0 && end < s.size() && is_alnum(s[begin - 1]) && is_alnum(s[end])) return false;
  return true;
}

bool is_autolink(std::string_view inner) {
  if (inner.empty() || inner.find_first_of(" \t<") != std::string_view::npos) return false;
  const size_t colon = inner.find(':');
  if (colon != std::string_view::npos && colon >= 2 && std::isalpha(static_cast<unsigned char>(inner[0]))) return true;
  return inner.find('@') != std::string_view::npos && inner.find('@') > 0;
}

// An HTML tag or comment starting at s[i] == '<': its end (one past '>'), or npos.
size_t html_tag_end(std::string_view s, size_t i) {
  if (s.substr(i, 4) == "<!--") {
    const size_t e = s.find("-->", i + 4);
    return e == std::string_view::npos ? e : e + 3;
  }
  if (i + 1 >= s.size()) return std::string_view::npos;
  const char c = s[i + 1];
  if (!(std::isalpha(static_cast<unsigned char>(c)) || c == '/' || c == '!' || c == '?')) return std::string_view::npos;
  const size_t e = s.find('>', i);
  return e == std::string_view::npos ? e : e + 1;
}

// The row under a table's header: "|---|:-:|" or "--- | ---".
bool is_table_delimiter(std::string_view s) {
  return s.find('|') != std::string_view::npos && s.find('-') != std::string_view::npos &&
         s.find_first_not_of("|-: \t") == std::string_view::npos;
}

// After markup that leaves no text ("cells ![img](x)." or "file [1]_."), the space before it would
// end up before the punctuation that follows.
void drop_space_before_punct(std::string_view s, size_t i, std::string* out) {
  if (!out->empty() && out->back() == ' ' && (i == s.size() || is_ascii_punct(s[i]))) out->pop_back();
}

// ---- reStructuredText helpers --------------------------------------------------------------------

// A line made of one punctuation character repeated (trailing whitespace allowed), at column 0.
bool is_rst_adornment(std::string_view line, char* c = nullptr, size_t* len = nullptr) {
  line = std::string_view(line.data(), trim(line).empty() ? 0 : line.find_last_not_of(" \t") + 1);
  if (line.size() < 2 || !is_ascii_punct(line[0])) return false;
  if (std::any_of(line.begin(), line.end(), [&](char x) { return x != line[0]; })) return false;
  if (c) *c = line[0];
  if (len) *len = line.size();
  return true;
}

// The borders of simple ("=====  =====") and grid ("+----+----+") tables.
bool is_rst_table_border(std::string_view line) {
  line = trim(line);
  if (line.size() < 3) return false;
  if (line[0] == '+') return line.find_first_not_of("+-=| ") == std::string_view::npos;
  if (line[0] == '=') return line.find_first_not_of("= ") == std::string_view::npos;
  return false;
}

// A bullet or enumerated list marker at the start of `s` (already unindented): its length with
// the following space, or 0.
size_t list_marker(std::string_view s, bool rst) {
  if (s.size() >= 2 && (s[0] == '-' || s[0] == '*' || s[0] == '+') && (s[1] == ' ' || s[1] == '\t')) return 2;
  if (rst && s.substr(0, 4) == "\xE2\x80\xA2 ") return 4;  // "• "
  size_t i = 0;
  if (rst && !s.empty() && s[0] == '(') i = 1;
  const size_t start = i;
  while (i < s.size() && i - start < 9 && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  if (rst && i == start && i < s.size() && (s[i] == '#' || (std::isalpha(static_cast<unsigned char>(s[i])) &&
                                                            i + 1 < s.size() && (s[i + 1] == '.' || s[i + 1] == ')'))))
    ++i;
  if (i == start || i >= s.size()) return 0;
  if (s[i] == '.' || s[i] == ')') {
    if (i + 1 < s.size() && (s[i + 1] == ' ' || s[i + 1] == '\t')) return i + 2;
    if (i + 1 == s.size()) return i + 1;
  }
  return 0;
}

void parse_markdown(std::string_view text, ParsedDoc* doc) {
  const std::vector<std::string_view> lines = split_lines(text);
  size_t i = 0;
  std::string front_title;
  if (!lines.empty() && trim(lines[0]) == "---") {
    size_t j = 1;
    while (j < lines.size() && trim(lines[j]) != "---" && trim(lines[j]) != "...") ++j;
    if (j < lines.size()) {
      for (size_t k = 1; k < j; ++k) {
        const std::string_view l = lines[k];
        if (l.substr(0, 6) != "title:") continue;
        std::string_view v = trim(l.substr(6));
        if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) v = v.substr(1, v.size() - 2);
        front_title = normalize_whitespace(v);
      }
      i = j + 1;
    }
  }
  SectionBuilder b(doc, &markdown_inline_text);
  enum class Para { kPlain, kList, kQuote } para = Para::kPlain;
  bool in_fence = false, in_comment = false, in_list = false, in_table = false, prev_blank = true;
  char fence_char = 0;
  size_t fence_len = 0;
  std::string first_h1;
  auto heading = [&](int level, std::string_view raw) {
    const std::string h = b.heading(level, raw);
    if (level == 1 && first_h1.empty()) first_h1 = h;
    in_list = false;
  };
  for (; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    if (in_fence) {
      const Indent in = indent_of(line);
      const std::string_view r = trim(line.substr(in.bytes));
      if (in.columns <= 3 && r.size() >= fence_len && r.find_first_not_of(fence_char) == std::string_view::npos) in_fence = false;
      continue;
    }
    if (in_comment) {
      if (line.find("-->") != std::string_view::npos) in_comment = false;
      continue;
    }
    if (is_blank(line)) {
      b.close_paragraph();
      prev_blank = true;
      in_table = false;
      continue;
    }
    const bool after_blank = std::exchange(prev_blank, false);
    const Indent in = indent_of(line);
    std::string_view rest = trim(line.substr(in.bytes));
    if (in.columns >= 4) {
      if (b.paragraph_open()) {
        b.add_line(rest);
        continue;
      }
      if (!in_list) continue;  // indented code
    } else if (after_blank && in.columns == 0 && !list_marker(rest, false)) {
      in_list = false;
    }
    if (rest.size() >= 3 && (rest[0] == '`' || rest[0] == '~')) {
      const size_t run = rest.find_first_not_of(rest[0]);
      const size_t n = run == std::string_view::npos ? rest.size() : run;
      if (n >= 3 && (rest[0] == '~' || rest.find('`', n) == std::string_view::npos)) {
        b.close_paragraph();
        in_fence = true;
        fence_char = rest[0];
        fence_len = n;
        continue;
      }
    }
    if (rest.substr(0, 4) == "<!--" && !b.paragraph_open()) {
      if (rest.find("-->", 4) == std::string_view::npos) in_comment = true;
      continue;
    }
    if (rest[0] == '#') {
      const size_t n = rest.find_first_not_of('#') == std::string_view::npos ? rest.size() : rest.find_first_not_of('#');
      if (n <= 6 && (n == rest.size() || rest[n] == ' ' || rest[n] == '\t')) {
        std::string_view h = trim(rest.substr(n));
        // A closing sequence of #s counts only after whitespace (or as the whole heading).
        const size_t last = h.find_last_not_of('#');
        if (last == std::string_view::npos) h = {};
        else if (last + 1 < h.size() && (h[last] == ' ' || h[last] == '\t')) h = trim(h.substr(0, last));
        b.close_paragraph();
        heading(static_cast<int>(n), h);
        continue;
      }
    }
    if (b.paragraph_open() && para == Para::kPlain && (rest[0] == '=' || rest[0] == '-') &&
        rest.find_first_not_of(rest[0]) == std::string_view::npos) {
      heading(rest[0] == '=' ? 1 : 2, b.take_raw());
      continue;
    }
    {
      std::string compact;
      for (char c : rest)
        if (c != ' ' && c != '\t') compact += c;
      if (compact.size() >= 3 && (compact[0] == '-' || compact[0] == '*' || compact[0] == '_') &&
          compact.find_first_not_of(compact[0]) == std::string::npos) {
        b.close_paragraph();
        in_list = false;
        continue;  // thematic break
      }
    }
    if (rest[0] == '>') {
      while (!rest.empty() && rest[0] == '>') rest = trim(rest.substr(1));
      if (rest.empty()) {
        b.close_paragraph();
        continue;
      }
      if (para != Para::kQuote) b.close_paragraph();
      para = Para::kQuote;
      b.add_line(rest);
      continue;
    }
    if (const size_t m = list_marker(rest, false)) {
      b.close_paragraph();
      rest = trim(rest.substr(m));
      if (rest.size() >= 3 && rest[0] == '[' && rest[2] == ']' && (rest[1] == ' ' || rest[1] == 'x' || rest[1] == 'X'))
        rest = trim(rest.substr(3));  // task-list box
      para = Para::kList;
      in_list = true;
      b.add_line(rest);
      continue;
    }
    if (!b.paragraph_open() && rest[0] == '[') {
      const size_t close = matching(rest, 0, '[', ']');
      if (close != std::string_view::npos && close + 1 < rest.size() && rest[close + 1] == ':') continue;  // link definition
    }
    if (rest[0] == '|' || in_table || is_table_delimiter(rest) ||
        (i + 1 < lines.size() && is_table_delimiter(trim(lines[i + 1])))) {
      if (is_table_delimiter(rest)) {
        in_table = true;
        continue;
      }
      std::string row;  // cells separated by spaces; an escaped "\|" stays a "|" of the text
      for (size_t k = 0; k < rest.size(); ++k) {
        if (rest[k] == '\\' && k + 1 < rest.size()) {
          row += rest[k];
          row += rest[++k];
          continue;
        }
        row += rest[k] == '|' ? ' ' : rest[k];
      }
      b.close_paragraph();
      para = Para::kPlain;
      b.add_line(row);
      b.close_paragraph();
      continue;
    }
    if (!b.paragraph_open()) para = Para::kPlain;
    b.add_line(rest);
  }
  b.finish();
  doc->title = !front_title.empty() ? front_title : first_h1;
}

// ---- reStructuredText ----------------------------------------------------------------------------

void parse_rst(std::string_view text, ParsedDoc* doc) {
  const std::vector<std::string_view> lines = split_lines(text);
  SectionBuilder b(doc, &rst_inline_text);
  std::vector<std::pair<char, bool>> styles;  // (character, overlined) in order of first use
  auto level_of = [&](char c, bool over) {
    auto it = std::find(styles.begin(), styles.end(), std::make_pair(c, over));
    if (it == styles.end()) {
      styles.emplace_back(c, over);
      it = styles.end() - 1;
    }
    return static_cast<int>(std::min<ptrdiff_t>(it - styles.begin() + 1, 6));
  };
  std::string first_title, field_title;
  bool seen_prose = false;
  // A paragraph ending in "::" announces a literal block: the indented lines after it.
  bool literal_next = false;
  size_t literal_base = 0, para_indent = 0;
  auto close = [&]() {
    if (!b.paragraph_open()) return;
    std::string raw = b.take_raw();
    if (ends_with(raw, "::")) {
      literal_next = true;
      literal_base = para_indent;
      std::string_view t = trim(std::string_view(raw).substr(0, raw.size() - 2));
      if (t.empty()) return;
      // "text ::" loses the marker, "text::" keeps one colon.
      raw = std::string(t) + (is_space(raw[raw.size() - 3]) ? "" : ":");
    }
    b.add_line(raw);
    b.close_paragraph();
    seen_prose = true;
  };
  auto open_section = [&](char c, bool over, std::string_view title) {
    close();
    const std::string h = b.heading(level_of(c, over), title);
    if (first_title.empty()) first_title = h;
  };
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    if (is_blank(line)) {
      close();
      continue;
    }
    const Indent in = indent_of(line);
    std::string_view rest = trim(line.substr(in.bytes));
    if (literal_next) {
      literal_next = false;
      if (!b.paragraph_open() && in.columns > literal_base) {
        while (i + 1 < lines.size() && (is_blank(lines[i + 1]) || indent_of(lines[i + 1]).columns > literal_base)) ++i;
        continue;
      }
    }
    char c = 0, c2 = 0;
    size_t len = 0, len2 = 0;
    if (!b.paragraph_open() && in.columns == 0 && is_rst_adornment(line, &c, &len)) {
      // Overline, title, underline of the same character and length.
      if (i + 2 < lines.size() && !is_blank(lines[i + 1]) && is_rst_adornment(lines[i + 2], &c2, &len2) && c2 == c &&
          len2 == len && code_points(trim(lines[i + 1])) <= len) {
        open_section(c, true, trim(lines[i + 1]));
        i += 2;
      }
      continue;  // else a transition (or a stray adornment line)
    }
    // docutils accepts an underline shorter than the title (with a warning) from 4 characters on.
    if (!b.paragraph_open() && in.columns == 0 && i + 1 < lines.size() && is_rst_adornment(lines[i + 1], &c, &len) &&
        (len >= code_points(rest) || len >= 4) && rest.substr(0, 3) != ".. " && rest != "..") {
      open_section(c, false, rest);
      ++i;
      continue;
    }
    if (rest == ".." || rest.substr(0, 3) == ".. " || rest.substr(0, 3) == "__ ") {
      // Explicit markup: directive, comment, target, footnote or substitution, with its body.
      close();
      while (i + 1 < lines.size() && (is_blank(lines[i + 1]) || indent_of(lines[i + 1]).columns > in.columns)) ++i;
      continue;
    }
    // Inside a paragraph only a border of several columns ("===  ===") is one, not an underline.
    if (is_rst_table_border(rest) && (!b.paragraph_open() || rest[0] == '+' || rest.find(' ') != std::string_view::npos)) {
      close();
      continue;
    }
    if (!seen_prose && !b.paragraph_open() && rest[0] == ':') {
      const size_t end = rest.find(": ", 1);
      if (end != std::string_view::npos && rest.find('`') > end) {
        if (to_lower_ascii(rest.substr(1, end - 1)) == "title") field_title = normalize_whitespace(rst_inline_text(rest.substr(end + 2)));
        continue;  // docinfo field
      }
    }
    if (const size_t m = list_marker(rest, true)) {
      close();
      para_indent = in.columns;
      b.add_line(rest.substr(m));
      continue;
    }
    if (rest[0] == '|' && rest.size() > 1 && rest.back() == '|') {
      std::string row(rest);
      std::replace(row.begin(), row.end(), '|', ' ');
      close();
      b.add_line(row);
      continue;
    }
    if (rest.size() >= 2 && rest[0] == '|' && rest[1] == ' ') rest = trim(rest.substr(1));  // line block
    if (!b.paragraph_open()) para_indent = in.columns;
    b.add_line(rest);
  }
  close();
  b.finish();
  doc->title = !field_title.empty() ? field_title : first_title;
}

// ---- HTML --------------------------------------------------------------------------------------

bool html_skipped(const char* name) {
  static const char* const kSkip[] = {"script", "style", "nav", "header", "footer", "noscript", "template",
                                      "pre", "svg", "iframe", "form", "head"};
  for (const char* s : kSkip)
    if (std::strcmp(name, s) == 0) return true;
  return false;
}

bool html_inline(const char* name) {
  static const char* const kInline[] = {"a", "abbr", "b", "bdi", "bdo", "big", "cite", "code", "data", "del", "dfn",
                                        "em", "font", "i", "ins", "kbd", "label", "mark", "q", "s", "samp", "small",
                                        "span", "strike", "strong", "sub", "sup", "time", "tt", "u", "var", "wbr"};
  for (const char* s : kInline)
    if (std::strcmp(name, s) == 0) return true;
  return false;
}

int html_heading_level(const char* name) {
  if ((name[0] == 'h' || name[0] == 'H') && name[1] >= '1' && name[1] <= '6' && name[2] == '\0') return name[1] - '0';
  return 0;
}

std::string identity_text(std::string_view s) { return std::string(s); }

void html_text(const xmlNode* n, std::string* out) {
  for (const xmlNode* c = n->children; c; c = c->next) {
    if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
      if (c->content) *out += reinterpret_cast<const char*>(c->content);
    } else if (c->type == XML_ELEMENT_NODE) {
      const char* name = reinterpret_cast<const char*>(c->name);
      if (std::strcmp(name, "br") == 0) *out += ' ';
      else if (!html_skipped(name)) html_text(c, out);
    }
  }
}

struct HtmlWalk {
  SectionBuilder* b;
  std::string text, title, first_h1;
  void flush() {
    b->add_line(text);
    text.clear();
    b->close_paragraph();
  }
  void walk(const xmlNode* n) {
    for (const xmlNode* c = n->children; c; c = c->next) {
      if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
        if (c->content) text += reinterpret_cast<const char*>(c->content);
        continue;
      }
      if (c->type != XML_ELEMENT_NODE) continue;
      const char* name = reinterpret_cast<const char*>(c->name);
      if (std::strcmp(name, "head") == 0) {
        for (const xmlNode* h = c->children; h; h = h->next)
          if (h->type == XML_ELEMENT_NODE && std::strcmp(reinterpret_cast<const char*>(h->name), "title") == 0 &&
              title.empty()) {
            std::string t;
            html_text(h, &t);
            title = normalize_whitespace(t);
          }
        continue;
      }
      if (std::strcmp(name, "title") == 0) {  // a <title> the parser left in the body
        std::string t;
        html_text(c, &t);
        if (title.empty()) title = normalize_whitespace(t);
        continue;
      }
      if (html_skipped(name)) continue;
      if (const int level = html_heading_level(name)) {
        flush();
        std::string h;
        html_text(c, &h);
        const std::string t = b->heading(level, h);
        if (level == 1 && first_h1.empty()) first_h1 = t;
        continue;
      }
      if (std::strcmp(name, "br") == 0) {
        text += ' ';
        continue;
      }
      const bool block = !html_inline(name);
      if (block) flush();
      walk(c);
      if (block) flush();
    }
  }
};

void parse_html(std::string_view text, const std::string& source, ParsedDoc* doc) {
  SectionBuilder b(doc, &identity_text);
  HtmlWalk w{&b, {}, {}, {}};
  if (!trim(text).empty()) {
    htmlDocPtr d = htmlReadMemory(text.data(), static_cast<int>(text.size()), source.c_str(), "UTF-8",
                                  HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET);
    if (d) {
      if (const xmlNode* root = xmlDocGetRootElement(d)) {
        xmlNode top{};
        top.children = const_cast<xmlNode*>(root);
        w.walk(&top);
      }
      xmlFreeDoc(d);
    }
  }
  w.flush();
  b.finish();
  doc->title = !w.title.empty() ? w.title : w.first_h1;
}

// ---- plain text and JSONL ------------------------------------------------------------------------

// Paragraphs separated by blank lines, each whitespace-normalised.
std::vector<std::string> blank_line_paragraphs(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&]() {
    std::string p = normalize_whitespace(cur);
    if (!p.empty()) out.push_back(std::move(p));
    cur.clear();
  };
  for (std::string_view line : split_lines(text)) {
    if (is_blank(line)) {
      flush();
    } else {
      cur += ' ';
      cur += line;
    }
  }
  flush();
  return out;
}

size_t whitespace_words(std::string_view s) {
  size_t n = 0;
  bool in_word = false;
  for (char c : s) {
    if (is_space(c)) in_word = false;
    else if (!in_word) in_word = true, ++n;
  }
  return n;
}

void parse_text(std::string_view text, const std::string& source, ParsedDoc* doc) {
  const std::vector<std::string_view> lines = split_lines(text);
  size_t first = 0;
  while (first < lines.size() && is_blank(lines[first])) ++first;
  std::string_view body = text;
  doc->title = file_stem(source);
  if (first + 1 < lines.size() && is_blank(lines[first + 1]) && whitespace_words(lines[first]) <= 12) {
    doc->title = normalize_whitespace(lines[first]);
    body = text.substr(static_cast<size_t>(lines[first + 1].data() - text.data()));
  }
  DocSection s;
  s.paragraphs = blank_line_paragraphs(body);
  if (!s.paragraphs.empty()) doc->sections.push_back(std::move(s));
}

Status parse_jsonl(std::string_view text, const std::string& source, std::vector<ParsedDoc>* out) {
  const std::vector<std::string_view> lines = split_lines(text);
  for (size_t i = 0; i < lines.size(); ++i) {
    if (is_blank(lines[i])) continue;
    const nlohmann::json row = nlohmann::json::parse(lines[i], nullptr, false);
    if (row.is_discarded() || !row.is_object())
      return make_error("%s: line %zu: not a JSON object (each line must be {\"text\": ..., \"title\": ...})",
                        source.c_str(), i + 1);
    const auto t = row.find("text");
    if (t == row.end() || !t->is_string())
      return make_error("%s: line %zu: no string field \"text\" (each line must be {\"text\": ..., \"title\": ...})",
                        source.c_str(), i + 1);
    ParsedDoc doc;
    doc.source = source + ":" + std::to_string(i + 1);
    doc.format = DocFormat::kJsonl;
    const auto title = row.find("title");
    if (title != row.end() && title->is_string()) doc.title = normalize_whitespace(title->get<std::string>());
    DocSection s;
    s.paragraphs = blank_line_paragraphs(t->get<std::string>());
    if (!s.paragraphs.empty()) doc.sections.push_back(std::move(s));
    out->push_back(std::move(doc));
  }
  return Status::ok_status();
}

}  // namespace

const char* doc_format_name(DocFormat f) {
  switch (f) {
    case DocFormat::kAuto: return "auto";
    case DocFormat::kMarkdown: return "markdown";
    case DocFormat::kRst: return "rst";
    case DocFormat::kHtml: return "html";
    case DocFormat::kText: return "text";
    case DocFormat::kJsonl: return "jsonl";
  }
  return "?";
}

Status doc_format_parse(const std::string& name, DocFormat* out) {
  for (DocFormat f : {DocFormat::kAuto, DocFormat::kMarkdown, DocFormat::kRst, DocFormat::kHtml, DocFormat::kText,
                      DocFormat::kJsonl})
    if (name == doc_format_name(f)) {
      *out = f;
      return Status::ok_status();
    }
  return make_error("unknown document format '%s' (one of auto, markdown, rst, html, text, jsonl)", name.c_str());
}

DocFormat doc_format_for_path(const std::string& path) {
  const std::string ext = to_lower_ascii(std::filesystem::path(path).extension().string());
  if (ext == ".md" || ext == ".markdown") return DocFormat::kMarkdown;
  if (ext == ".rst") return DocFormat::kRst;
  if (ext == ".html" || ext == ".htm") return DocFormat::kHtml;
  if (ext == ".txt") return DocFormat::kText;
  if (ext == ".jsonl") return DocFormat::kJsonl;
  return DocFormat::kAuto;
}

std::string normalize_whitespace(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    bool space = is_space(c);
    if (!space && static_cast<unsigned char>(c) == 0xC2 && i + 1 < text.size() &&
        static_cast<unsigned char>(text[i + 1]) == 0xA0) {
      space = true;
      ++i;
    }
    if (space) {
      pending = !out.empty();
      continue;
    }
    if (pending) out += ' ';
    pending = false;
    out += c;
  }
  return out;
}

std::string markdown_inline_text(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (c == '\\' && i + 1 < s.size() && is_ascii_punct(s[i + 1])) {
      out += s[i + 1];
      i += 2;
    } else if (c == '`') {
      const size_t n = s.find_first_not_of('`', i) == std::string_view::npos ? s.size() - i : s.find_first_not_of('`', i) - i;
      const std::string ticks(n, '`');
      size_t close = s.find(ticks, i + n);
      while (close != std::string_view::npos && close + n < s.size() && s[close + n] == '`')
        close = s.find(ticks, s.find_first_not_of('`', close));
      if (close == std::string_view::npos) {
        out += ticks;
      } else {
        out += s.substr(i + n, close - i - n);
      }
      i = close == std::string_view::npos ? i + n : close + n;
    } else if (c == '!' && i + 1 < s.size() && s[i + 1] == '[') {
      const size_t close = matching(s, i + 1, '[', ']');
      size_t end = std::string_view::npos;
      if (close != std::string_view::npos && close + 1 < s.size() && s[close + 1] == '(') end = matching(s, close + 1, '(', ')');
      else if (close != std::string_view::npos && close + 1 < s.size() && s[close + 1] == '[') end = matching(s, close + 1, '[', ']');
      if (end == std::string_view::npos) {
        out += c;
        ++i;
      } else {
        i = end + 1;  // images are not text
        drop_space_before_punct(s, i, &out);
      }
    } else if (c == '[') {
      const size_t close = matching(s, i, '[', ']');
      size_t end = std::string_view::npos;
      if (close != std::string_view::npos && close + 1 < s.size() && s[close + 1] == '(') end = matching(s, close + 1, '(', ')');
      else if (close != std::string_view::npos && close + 1 < s.size() && s[close + 1] == '[') end = matching(s, close + 1, '[', ']');
      if (close != std::string_view::npos && i + 1 < s.size() && s[i + 1] == '^') {
        i = close + 1;  // footnote reference
        drop_space_before_punct(s, i, &out);
      } else if (end == std::string_view::npos) {
        out += c;
        ++i;
      } else {
        out += markdown_inline_text(s.substr(i + 1, close - i - 1));
        i = end + 1;
      }
    } else if (c == '<') {
      const size_t gt = s.find('>', i);
      if (gt != std::string_view::npos && is_autolink(s.substr(i + 1, gt - i - 1))) {
        std::string_view inner = s.substr(i + 1, gt - i - 1);
        if (inner.substr(0, 7) == "mailto:") inner.remove_prefix(7);
        out += inner;
        i = gt + 1;
      } else if (const size_t e = html_tag_end(s, i); e != std::string_view::npos) {
        i = e;
      } else {
        out += c;
        ++i;
      }
    } else if (c == '*' || c == '_' || (c == '~' && i + 1 < s.size() && s[i + 1] == '~')) {
      const size_t end = s.find_first_not_of(c, i) == std::string_view::npos ? s.size() : s.find_first_not_of(c, i);
      if (!is_emphasis_run(s, i, end, c)) out += s.substr(i, end - i);
      i = end;
    } else {
      out += c;
      ++i;
    }
  }
  return decode_entities(out);
}

std::string rst_inline_text(std::string_view s) {
  std::string out;
  auto role_at = [&](size_t i) -> size_t {  // ":role:" at s[i]: its length, or 0
    if (s[i] != ':') return 0;
    size_t j = i + 1;
    while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || std::strchr("_.+-:", s[j]) != nullptr) &&
           !(s[j] == ':' && j + 1 < s.size() && s[j + 1] == '`'))
      ++j;
    if (j > i + 1 && j < s.size() && s[j] == ':' && j + 1 < s.size() && s[j + 1] == '`') return j + 1 - i;
    return 0;
  };
  for (size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (c == '\\' && i + 1 < s.size()) {
      if (!is_space(s[i + 1])) out += s[i + 1];
      i += 2;
    } else if (s.substr(i, 2) == "``") {
      const size_t close = s.find("``", i + 2);
      if (close == std::string_view::npos) {
        out += "``";
        i += 2;
      } else {
        out += s.substr(i + 2, close - i - 2);
        i = close + 2;
      }
    } else if (const size_t r = role_at(i)) {
      i += r;  // the role name; the interpreted text follows
    } else if (c == '`' || (c == '_' && i + 1 < s.size() && s[i + 1] == '`')) {
      const size_t open = c == '_' ? i + 1 : i;
      const size_t close = s.find('`', open + 1);
      if (close == std::string_view::npos) {
        out += c;
        ++i;
        continue;
      }
      std::string_view inner = s.substr(open + 1, close - open - 1);
      i = close + 1;
      while (i < s.size() && s[i] == '_') ++i;
      if (i < s.size() && s[i] == ':') {  // `text`:role:
        const size_t e = s.find(':', i + 1);
        if (e != std::string_view::npos && e - i < 32 && s.substr(i + 1, e - i - 1).find(' ') == std::string_view::npos) i = e + 1;
      }
      // `title <target>` keeps the title; `<target>` alone keeps the target. Sphinx's "~a.b.c"
      // shows only "c", and a leading "!" only turns the link off.
      const std::string_view t = trim(inner);
      if (!t.empty() && (t[0] == '~' || t[0] == '!') && t.find(' ') == std::string_view::npos) {
        inner = t[0] == '~' && t.rfind('.') != std::string_view::npos ? t.substr(t.rfind('.') + 1) : t.substr(1);
        out += inner;
        continue;
      }
      if (!t.empty() && t.back() == '>') {
        const size_t lt = t.rfind('<');
        if (lt != std::string_view::npos) {
          const std::string_view title = trim(t.substr(0, lt));
          inner = title.empty() ? t.substr(lt + 1, t.size() - lt - 2) : title;
        }
      }
      out += inner;
    } else if (c == '[') {
      const size_t close = s.find(']', i);
      if (close != std::string_view::npos && close + 1 < s.size() && s[close + 1] == '_' &&
          s.substr(i, close - i).find(' ') == std::string_view::npos) {
        i = close + 2;  // footnote or citation reference
        while (i < s.size() && s[i] == '_') ++i;
        drop_space_before_punct(s, i, &out);
      } else {
        out += c;
        ++i;
      }
    } else if (c == '|' && i + 1 < s.size() && !is_space(s[i + 1])) {
      const size_t close = s.find('|', i + 1);
      if (close != std::string_view::npos && close - i < 64 && !is_space(s[close - 1])) {
        out += s.substr(i + 1, close - i - 1);
        i = close + 1;
        while (i < s.size() && s[i] == '_') ++i;
      } else {
        out += c;
        ++i;
      }
    } else if (c == '*') {
      const size_t end = s.find_first_not_of('*', i) == std::string_view::npos ? s.size() : s.find_first_not_of('*', i);
      if (!is_emphasis_run(s, i, end, c)) out += s.substr(i, end - i);
      i = end;
    } else if (c == '_' && i > 0 && is_alnum(s[i - 1])) {
      // reference_ / anonymous reference__: the underscores go when a word ends with them.
      size_t end = i;
      while (end < s.size() && s[end] == '_') ++end;
      if (end - i <= 2 && (end == s.size() || !is_alnum(s[end]))) {
        i = end;
      } else {
        out += s.substr(i, end - i);
        i = end;
      }
    } else {
      out += c;
      ++i;
    }
  }
  return out;
}

Status doc_parse_text(std::string_view text, DocFormat format, const std::string& source,
                      std::vector<ParsedDoc>* out) {
  ET_CHECK(format != DocFormat::kAuto);
  size_t bad = 0;
  if (!utf8_valid(text, &bad)) {
    const size_t line = 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + static_cast<ptrdiff_t>(bad), '\n'));
    return make_error("%s: line %zu: invalid UTF-8 at byte %zu (save the file as UTF-8)", source.c_str(), line, bad);
  }
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // byte-order mark
  if (format == DocFormat::kJsonl) return parse_jsonl(text, source, out);
  ParsedDoc doc;
  doc.source = source;
  doc.format = format;
  switch (format) {
    case DocFormat::kMarkdown: parse_markdown(text, &doc); break;
    case DocFormat::kRst: parse_rst(text, &doc); break;
    case DocFormat::kHtml: parse_html(text, source, &doc); break;
    default: parse_text(text, source, &doc); break;
  }
  out->push_back(std::move(doc));
  return Status::ok_status();
}

Status doc_parse_file(const std::string& path, DocFormat format, std::vector<ParsedDoc>* out) {
  if (format == DocFormat::kAuto) format = doc_format_for_path(path);
  if (format == DocFormat::kAuto)
    return make_error("%s: unknown document format (use a .md, .markdown, .rst, .html, .htm, .txt or .jsonl file, "
                      "or --format)", path.c_str());
  std::string data;
  ET_RETURN_IF_ERROR(read_file(path, &data));
  return doc_parse_text(data, format, path, out);
}

Status doc_list_files(const std::vector<std::string>& paths, DocFormat format, std::vector<std::string>* files) {
  namespace fs = std::filesystem;
  std::vector<std::string> found;
  for (const std::string& p : paths) {
    std::error_code ec;
    const fs::file_status st = fs::status(p, ec);
    if (ec || !fs::exists(st)) return make_error("%s: no such file or directory (check the path)", p.c_str());
    if (!fs::is_directory(st)) {
      if (format == DocFormat::kAuto && doc_format_for_path(p) == DocFormat::kAuto)
        return make_error("%s: unknown document format (use a .md, .markdown, .rst, .html, .htm, .txt or .jsonl "
                          "file, or --format)", p.c_str());
      found.push_back(p);
      continue;
    }
    fs::recursive_directory_iterator it(p, fs::directory_options::none, ec), end;
    if (ec) return make_error("%s: cannot read the directory (%s)", p.c_str(), ec.message().c_str());
    for (; it != end; it.increment(ec)) {
      if (ec) return make_error("%s: cannot read the directory (%s)", p.c_str(), ec.message().c_str());
      const std::string name = it->path().filename().string();
      if (!name.empty() && name[0] == '.') {
        if (it->is_directory(ec)) it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file(ec) && doc_format_for_path(name) != DocFormat::kAuto) found.push_back(it->path().string());
    }
  }
  std::sort(found.begin(), found.end());
  found.erase(std::unique(found.begin(), found.end()), found.end());
  *files = std::move(found);
  return Status::ok_status();
}

}  // namespace embtune
