// Raw documents (Markdown, reStructuredText, HTML, plain text, JSONL corpora) read into one simple
// model: a title and sections of prose paragraphs under headings. Not a renderer: code, markup and
// page chrome are dropped, only the text a reader would read as prose is kept.
//
// Usage:
//   std::vector<ParsedDoc> docs;
//   ET_RETURN_IF_ERROR(doc_parse_file("guide/install.md", DocFormat::kAuto, &docs));  // appends
//   for (const DocSection& s : docs[0].sections)
//     printf("%d %s: %zu paragraphs\n", s.level, s.heading.c_str(), s.paragraphs.size());
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace embtune {

enum class DocFormat { kAuto, kMarkdown, kRst, kHtml, kText, kJsonl };

// "markdown", "rst", "html", "text", "jsonl" ("auto" for kAuto).
const char* doc_format_name(DocFormat f);
// The inverse of doc_format_name; an unknown name is an error listing the known ones.
Status doc_format_parse(const std::string& name, DocFormat* out);
// The format of a path by its extension (.md .markdown, .rst, .html .htm, .txt, .jsonl; case
// ignored), or kAuto when the extension is none of these.
DocFormat doc_format_for_path(const std::string& path);

struct DocSection {
  std::string heading;                    // "" for the text before the first heading
  int level = 0;                          // 1 (top) to 6; 0 for the text before the first heading
  std::vector<std::string> heading_path;  // the enclosing headings' texts, outermost first
  std::vector<std::string> paragraphs;    // prose, whitespace-normalised, never empty strings
};

struct ParsedDoc {
  std::string source;  // the file path; "path:LINE" for a JSONL document
  DocFormat format = DocFormat::kText;
  std::string title;   // "" when the document has none
  std::vector<DocSection> sections;  // document order; sections may have no paragraphs
};

// Parses one file (format kAuto: by extension) and appends its documents to `out`: one per file,
// one per non-blank line for JSONL. Errors name the file and the line: unreadable file, invalid
// UTF-8 (with the byte offset), a JSONL line that is not an object with a string "text".
//
// What each format keeps:
// - Markdown: YAML front matter is metadata (its `title:` is the title), ATX and setext headings,
//   paragraphs, list items (one paragraph each), block quotes and table cells as text; fenced and
//   indented code, HTML comments, reference definitions and thematic breaks dropped; inline markup
//   stripped (emphasis, `code` keeps its text, [text](url) keeps text, images dropped, autolinks
//   keep the address, inline HTML tags dropped, backslash escapes resolved). Title: the front
//   matter's, else the first level-1 heading.
// - reStructuredText: section titles underlined (optionally overlined) with one repeated
//   punctuation character at least as long as the title (or 4 or more characters long, which
//   docutils accepts with a warning), levels in order of first appearance of each style as docutils does;
//   explicit markup (directives with their bodies, comments, targets, footnotes), literal blocks
//   after "::", tables' borders and transitions dropped; inline markup stripped (``literal``,
//   *emphasis*, **strong**, `text <url>`_ -> text, :role:`text` -> text, reference_ -> reference).
//   Title: a `:title:` field before the first paragraph, else the first section title.
// - HTML (libxml2's forgiving parser): <title>, else the first <h1>, is the title; h1-h6 open
//   sections; the text of every other element becomes paragraphs split at block elements (p, li,
//   td, dd, blockquote, div, ...); script, style, nav, header, footer, noscript, template, pre,
//   svg, iframe and form are skipped; entities decoded; inline <code> keeps its text.
// - Plain text: paragraphs separated by blank lines; the first line is the title when it has at
//   most 12 words and a blank line follows it, else the file name without its extension is.
// - JSONL: one document per line, {"text": ..., "title": ...} (title optional; a BEIR corpus.jsonl
//   works); one section of the text's paragraphs (split at blank lines).
Status doc_parse_file(const std::string& path, DocFormat format, std::vector<ParsedDoc>* out);

// Parses a document held in memory, as doc_parse_file does; `source` names it in the documents and
// in errors, and gives plain text its fallback title. `format` must not be kAuto.
Status doc_parse_text(std::string_view text, DocFormat format, const std::string& source,
                      std::vector<ParsedDoc>* out);

// The document files under `paths` (files are taken as given; directories are walked recursively
// for files with a known extension, hidden files and directories skipped), sorted and without
// repeats. A path that does not exist is an error; so is a named file of unknown extension when
// `format` is kAuto.
Status doc_list_files(const std::vector<std::string>& paths, DocFormat format, std::vector<std::string>* files);

// Runs of ASCII whitespace (and U+00A0 no-break spaces) become one space; leading and trailing
// whitespace is removed.
std::string normalize_whitespace(std::string_view text);

// The text of one Markdown / reStructuredText inline span with the markup stripped (see above);
// whitespace is not normalised.
std::string markdown_inline_text(std::string_view text);
std::string rst_inline_text(std::string_view text);

}  // namespace embtune
