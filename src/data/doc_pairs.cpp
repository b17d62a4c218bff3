// Pairs from parsed documents: the three methods, the filters that judge every candidate pair the
// same way, sentence splitting and word limits. Not reading documents and not writing pairs.
#include "data/doc_pairs.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <unordered_set>
#include <utility>

#include "core/utf8.h"
#include "data/near_duplicate.h"

namespace embtune {

namespace {

constexpr PairMethod kAllMethods[] = {PairMethod::kTitleBody, PairMethod::kHeadingSection, PairMethod::kIct,
                                     PairMethod::kLlm};
constexpr const char* kDropReasons[] = {"generic_heading", "query_short",      "query_long", "passage_short",
                                        "one_sentence",    "query_is_passage", "query_in_passage",
                                        "duplicate",       "max_per_doc"};
constexpr DocFormat kFormats[] = {DocFormat::kMarkdown, DocFormat::kRst, DocFormat::kHtml, DocFormat::kText,
                                  DocFormat::kJsonl};
// A query at least this long that its passage contains word for word is a copy, not a question.
constexpr size_t kCopiedQueryWords = 5;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

// Scripts written without spaces between words: every character is a word.
bool is_cjk_word_char(char32_t c) {
  return (c >= 0x3040 && c <= 0x30FF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0xAC00 && c <= 0xD7AF) || (c >= 0x20000 && c <= 0x2FFFF);
}
// CJK punctuation and full-width forms' punctuation: not words, and not parts of them.
bool is_cjk_punct(char32_t c) {
  return (c >= 0x3000 && c <= 0x303F) || (c >= 0xFF01 && c <= 0xFF0F) || (c >= 0xFF1A && c <= 0xFF20);
}

// The words of a text as byte ranges (see count_words).
std::vector<std::pair<size_t, size_t>> word_spans(std::string_view text) {
  std::vector<std::pair<size_t, size_t>> spans;
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  size_t i = 0, run = std::string_view::npos;
  auto end_run = [&](size_t at) {
    if (run != std::string_view::npos) spans.emplace_back(run, at);
    run = std::string_view::npos;
  };
  while (i < text.size()) {
    char32_t c = 0;
    size_t len = utf8_next(s, text.size(), i, &c);
    if (len == 0) {
      c = 0xFFFD;
      len = 1;
    }
    if (c < 0x80 && is_space(static_cast<char>(c))) {
      end_run(i);
    } else if (is_cjk_word_char(c)) {
      end_run(i);
      spans.emplace_back(i, i + len);
    } else if (is_cjk_punct(c)) {
      end_run(i);
    } else if (run == std::string_view::npos) {
      run = i;
    }
    i += len;
  }
  end_run(text.size());
  return spans;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Whether the "." at text[dot] ends an abbreviation rather than a sentence.
bool is_abbreviation(std::string_view text, size_t sentence_begin, size_t dot) {
  size_t b = dot;
  while (b > sentence_begin && !is_space(text[b - 1])) --b;
  std::string_view token = text.substr(b, dot - b);
  while (!token.empty() && (token.front() == '(' || token.front() == '"' || token.front() == '\'' || token.front() == '['))
    token.remove_prefix(1);
  if (token.empty()) return false;
  if (token.size() == 1) return std::isupper(static_cast<unsigned char>(token[0])) != 0;
  // Initials and dotted abbreviations: "U.S", "e.g", "i.e", "a.m".
  bool initials = token.size() >= 3;
  for (size_t k = 0; k < token.size() && initials; ++k)
    initials = (k % 2 == 0) ? std::isalpha(static_cast<unsigned char>(token[k])) != 0 : token[k] == '.';
  if (initials && token.size() % 2 == 1) return true;
  static const char* const kAbbreviations[] = {"e.g", "i.e", "cf", "vs", "dr", "mr", "mrs", "ms", "prof", "fig",
                                               "figs", "eq", "eqs", "approx", "resp", "viz", "vol", "pp", "jr", "sr"};
  const std::string t = lower(token);
  for (const char* a : kAbbreviations)
    if (t == a) return true;
  if (t == "al") {  // "et al."
    return b >= 3 + sentence_begin && lower(text.substr(b - 3, 3)) == "et ";
  }
  if (t == "no" || t == "nos") {  // "No. 5", not "the answer is no."
    size_t j = dot + 1;
    while (j < text.size() && is_space(text[j])) ++j;
    return j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]));
  }
  return false;
}

// The length of closing quotes and brackets at text[i] (ASCII and the common Unicode ones), or 0.
size_t closer_len(std::string_view text, size_t i) {
  const char c = text[i];
  if (c == '"' || c == '\'' || c == ')' || c == ']') return 1;
  static const char* const kClosers[] = {"\xE2\x80\x9D", "\xE2\x80\x99", "\xC2\xBB", "\xE3\x80\x8D", "\xE3\x80\x8F",
                                         "\xEF\xBC\x89"};  // ” ’ » 」 』 ）
  for (const char* k : kClosers)
    if (text.substr(i, std::strlen(k)) == k) return std::strlen(k);
  return 0;
}

size_t skip_spaces(std::string_view text, size_t i) {
  while (i < text.size() && is_space(text[i])) ++i;
  return i;
}

// Paragraphs joined until max_words is reached, then cut to it.
std::string joined_passage(const std::vector<std::string>& paragraphs, size_t first, const DocPairOptions& opt) {
  std::string text;
  size_t words = 0;
  for (size_t i = first; i < paragraphs.size() && words < static_cast<size_t>(opt.max_passage_words); ++i) {
    if (!text.empty()) text += ' ';
    text += paragraphs[i];
    words += count_words(paragraphs[i]);
  }
  return truncate_words(text, opt.max_passage_words, opt.min_passage_words);
}

uint64_t fnv1a(uint64_t h, std::string_view s) {
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  return h;
}

std::string section_source(const ParsedDoc& doc, const DocSection& s) {
  return s.heading.empty() ? doc.source : doc.source + "#" + s.heading;
}

// Applies the filters to candidate pairs of one document and keeps those that pass.
class PairSink {
 public:
  PairSink(const DocPairOptions& opt, std::vector<DocPair>* out, DocPairsReport* r) : opt_(opt), out_(out), r_(r) {}
  void start_document() { kept_in_doc_ = 0; }
  size_t kept_in_doc() const { return kept_in_doc_; }
  void drop(const char* reason) { ++r_->dropped[reason]; }

  // `passage` already cut to max_passage_words.
  void offer(std::string query, std::string passage, std::string source, PairMethod method) {
    const bool ict = method == PairMethod::kIct;
    const size_t qw = count_words(query);
    if (qw < static_cast<size_t>(ict ? opt_.ict_min_query_words : opt_.min_query_words)) return drop("query_short");
    if (qw > static_cast<size_t>(ict ? opt_.ict_max_query_words : opt_.max_query_words)) return drop("query_long");
    if (count_words(passage) < static_cast<size_t>(opt_.min_passage_words)) return drop("passage_short");
    const std::string nq = near_duplicate_normal_form(query), np = near_duplicate_normal_form(passage);
    if (nq == np) return drop("query_is_passage");
    if (std::count(nq.begin(), nq.end(), ' ') + 1 >= static_cast<ptrdiff_t>(kCopiedQueryWords) &&
        (" " + np + " ").find(" " + nq + " ") != std::string::npos)
      return drop("query_in_passage");
    if (!seen_.insert(query + '\x1f' + passage).second) return drop("duplicate");
    if (opt_.max_pairs_per_doc > 0 && kept_in_doc_ >= static_cast<size_t>(opt_.max_pairs_per_doc)) return drop("max_per_doc");
    ++kept_in_doc_;
    ++r_->pairs;
    ++r_->pairs_per_method[pair_method_name(method)];
    out_->push_back({std::move(query), std::move(passage), std::move(source), method});
  }

 private:
  const DocPairOptions& opt_;
  std::vector<DocPair>* out_;
  DocPairsReport* r_;
  std::unordered_set<std::string> seen_;
  size_t kept_in_doc_ = 0;
};

void title_body_pairs(const ParsedDoc& doc, const DocPairOptions& opt, PairSink* sink) {
  if (doc.title.empty()) return;
  std::vector<std::string> paragraphs;
  for (const DocSection& s : doc.sections)
    for (const std::string& p : s.paragraphs) paragraphs.push_back(p);
  sink->offer(doc.title, joined_passage(paragraphs, 0, opt), doc.source, PairMethod::kTitleBody);
}

void heading_section_pairs(const ParsedDoc& doc, const DocPairOptions& opt, PairSink* sink) {
  const bool title_body = std::find(opt.methods.begin(), opt.methods.end(), PairMethod::kTitleBody) != opt.methods.end();
  for (const DocSection& s : doc.sections) {
    if (s.heading.empty()) continue;
    if (title_body && s.level == 1 && lower(s.heading) == lower(doc.title)) continue;
    if (is_generic_heading(s.heading)) {
      sink->drop("generic_heading");
      continue;
    }
    std::string query;
    if (opt.heading_context)
      for (const std::string& h : s.heading_path) query += h + ": ";
    query += s.heading;
    sink->offer(std::move(query), joined_passage(s.paragraphs, 0, opt), section_source(doc, s),
                PairMethod::kHeadingSection);
  }
}

void ict_pairs(const ParsedDoc& doc, const DocPairOptions& opt, PairSink* sink) {
  size_t paragraph_index = 0;
  for (const DocSection& s : doc.sections) {
    for (const std::string& p : s.paragraphs) {
      const auto spans = sentence_spans(p);
      const size_t index = paragraph_index++;
      if (spans.size() < 2) {
        sink->drop("one_sentence");
        continue;
      }
      size_t k = 0;
      if (opt.ict_sentence == IctSentence::kRandom) {
        uint64_t h = fnv1a(0xcbf29ce484222325ULL ^ opt.seed, doc.source);
        h = fnv1a(h, std::to_string(index));
        k = static_cast<size_t>(h % spans.size());
      }
      const std::string_view text(p);
      std::string rest = k + 1 < spans.size()
                             ? std::string(text.substr(0, spans[k].first)) + std::string(text.substr(spans[k + 1].first))
                             : std::string(trim(text.substr(0, spans[k - 1].second)));
      sink->offer(std::string(text.substr(spans[k].first, spans[k].second - spans[k].first)),
                  truncate_words(trim(rest), opt.max_passage_words, opt.min_passage_words), section_source(doc, s),
                  PairMethod::kIct);
    }
  }
}

}  // namespace

const char* pair_method_name(PairMethod m) {
  switch (m) {
    case PairMethod::kTitleBody: return "title-body";
    case PairMethod::kHeadingSection: return "heading-section";
    case PairMethod::kIct: return "ict";
    case PairMethod::kLlm: return "llm";
  }
  return "?";
}

Status pair_methods_parse(const std::string& list, std::vector<PairMethod>* out) {
  out->clear();
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t end = list.find(',', pos);
    if (end == std::string::npos) end = list.size();
    const std::string name(trim(std::string_view(list).substr(pos, end - pos)));
    bool found = false;
    for (PairMethod m : kAllMethods)
      if (name == pair_method_name(m)) {
        if (std::find(out->begin(), out->end(), m) == out->end()) out->push_back(m);
        found = true;
      }
    if (!found)
      return make_error(
          "unknown pair method '%s' (one or more of title-body, heading-section, ict, llm, comma-separated)",
          name.c_str());
    pos = end + 1;
  }
  return Status::ok_status();
}

const std::vector<std::string>& doc_pairs_generic_headings() {
  static const std::vector<std::string> kGeneric = {
      "introduction", "overview", "contents", "table of contents", "references", "see also",
      "notes", "footnotes", "external links", "further reading", "bibliography", "acknowledgements",
      "acknowledgments", "index", "summary", "conclusion", "conclusions"};
  return kGeneric;
}

bool is_generic_heading(std::string_view heading) {
  std::string l = lower(trim(heading));
  std::string_view h = l;
  // Numbering is not part of the name: "2.1 ", "Chapter 3. ", "Appendix A: ".
  for (const char* word : {"chapter ", "section ", "part ", "appendix "})
    if (h.substr(0, std::strlen(word)) == word) {
      const size_t end = h.find(' ', std::strlen(word));
      if (end != std::string_view::npos) h = trim(h.substr(end));
    }
  const size_t num = h.find_first_not_of("0123456789.");
  if (num != std::string_view::npos && num > 0 && is_space(h[num])) h = trim(h.substr(num));
  while (!h.empty() && std::ispunct(static_cast<unsigned char>(h.back()))) h.remove_suffix(1);
  l = std::string(trim(h));
  const auto& g = doc_pairs_generic_headings();
  return std::find(g.begin(), g.end(), l) != g.end();
}

std::vector<std::pair<size_t, size_t>> sentence_spans(std::string_view text) {
  std::vector<std::pair<size_t, size_t>> spans;
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  size_t start = skip_spaces(text, 0);
  auto push = [&](size_t end) {
    std::string_view t = text.substr(start, end - start);
    while (!t.empty() && is_space(t.back())) t.remove_suffix(1);
    if (!t.empty()) spans.emplace_back(start, start + t.size());
    start = skip_spaces(text, end);
  };
  size_t i = start;
  while (i < text.size()) {
    char32_t c = 0;
    size_t len = utf8_next(s, text.size(), i, &c);
    if (len == 0) len = 1;
    if (c == U'。' || c == U'！' || c == U'？') {
      size_t j = i + len;
      while (j < text.size()) {
        const size_t cl = closer_len(text, j);
        if (cl == 0) break;
        j += cl;
      }
      push(j);
      i = start > j ? start : j;
      continue;
    }
    if (c == '.' || c == '!' || c == '?') {
      size_t j = i + 1;
      while (j < text.size() && (text[j] == '.' || text[j] == '!' || text[j] == '?')) ++j;
      const bool single_dot = c == '.' && j == i + 1;
      while (j < text.size()) {
        const size_t cl = closer_len(text, j);
        if (cl == 0) break;
        j += cl;
      }
      if ((j == text.size() || is_space(text[j])) && !(single_dot && is_abbreviation(text, start, i))) {
        push(j);
        i = start > j ? start : j;
        continue;
      }
      i = j;
      continue;
    }
    i += len;
  }
  if (start < text.size()) push(text.size());
  return spans;
}

std::vector<std::string> split_sentences(std::string_view text) {
  std::vector<std::string> out;
  for (const auto& [b, e] : sentence_spans(text)) out.emplace_back(text.substr(b, e - b));
  return out;
}

size_t count_words(std::string_view text) { return word_spans(text).size(); }

std::string truncate_words(std::string_view text, int max_words, int min_words) {
  const auto words = word_spans(text);
  if (max_words <= 0 || words.size() <= static_cast<size_t>(max_words)) return std::string(trim(text));
  const size_t limit = words[static_cast<size_t>(max_words) - 1].second;
  size_t cut = limit;
  size_t best = 0;
  // The text goes on past the limit, so a sentence ending within it ends with its terminator.
  for (const auto& [b, e] : sentence_spans(text))
    if (e <= limit) best = e;
  if (best > 0) {
    const auto within = static_cast<size_t>(
        std::count_if(words.begin(), words.end(), [&](const auto& w) { return w.second <= best; }));
    if (within >= static_cast<size_t>(std::max(min_words, 1))) cut = best;
  }
  return std::string(trim(text.substr(0, cut)));
}

void doc_pairs(const std::vector<ParsedDoc>& docs, const DocPairOptions& opt, std::vector<DocPair>* out,
               DocPairsReport* report) {
  *report = DocPairsReport();
  for (DocFormat f : kFormats) report->documents_per_format[doc_format_name(f)] = 0;
  for (PairMethod m : kAllMethods) report->pairs_per_method[pair_method_name(m)] = 0;
  for (const char* r : kDropReasons) report->dropped[r] = 0;
  PairSink sink(opt, out, report);
  for (const ParsedDoc& doc : docs) {
    ++report->documents;
    ++report->documents_per_format[doc_format_name(doc.format)];
    sink.start_document();
    for (PairMethod m : opt.methods) {
      switch (m) {
        case PairMethod::kTitleBody: title_body_pairs(doc, opt, &sink); break;
        case PairMethod::kHeadingSection: heading_section_pairs(doc, opt, &sink); break;
        case PairMethod::kIct: ict_pairs(doc, opt, &sink); break;
        case PairMethod::kLlm: break;
      }
    }
    if (sink.kept_in_doc() == 0) ++report->documents_without_pairs;
  }
}

std::vector<DocPassage> doc_passages(const ParsedDoc& doc, int min_words, int max_words) {
  std::vector<DocPassage> out;
  for (const DocSection& s : doc.sections) {
    // Paragraphs longer than the limit become pieces cut at sentence ends.
    std::vector<std::string> pieces;
    for (const std::string& p : s.paragraphs) {
      std::string_view rest = p;
      while (!rest.empty()) {
        std::string piece = truncate_words(rest, max_words, 1);
        if (piece.empty()) break;
        const size_t used = static_cast<size_t>(rest.find(piece)) + piece.size();
        rest = trim(rest.substr(std::min(used, rest.size())));
        pieces.push_back(std::move(piece));
      }
    }
    auto emit = [&](std::string text) {
      if (text.empty() || count_words(text) < static_cast<size_t>(std::max(min_words, 0))) return;
      out.push_back({section_source(doc, s), doc.title, s.heading, s.heading_path, std::move(text)});
    };
    std::string chunk;
    size_t words = 0;
    for (std::string& piece : pieces) {
      const size_t n = count_words(piece);
      if (!chunk.empty() && words + n > static_cast<size_t>(max_words)) {
        emit(std::exchange(chunk, std::string()));
        words = 0;
      }
      if (!chunk.empty()) chunk += ' ';
      chunk += piece;
      words += n;
    }
    emit(std::move(chunk));
  }
  return out;
}

}  // namespace embtune
