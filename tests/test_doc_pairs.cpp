// Tests of document parsing (data/doc_parse.h), pair generation (data/doc_pairs.h) and
// `embtune pairs`: hand-made documents of every format with known sections and pairs, sentence
// splitting, each filter and its count, truncation, and the command's output and errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/file.h"
#include "data/doc_pairs.h"
#include "data/doc_parse.h"
#include "test_util.h"

namespace embtune {
namespace {

using test::run_command;
using test::sh_quote;

const char* const kMarkdown = R"(---
title: "Photosynthesis Guide"
tags: [biology]
---

# Photosynthesis

Plants turn **light** into *sugar* with [chlorophyll](https://en.wikipedia.org/wiki/Chlorophyll). This happens in the `chloroplasts` of leaf cells ![leaf](leaf.png).

Light Reactions
---------------

The light reactions capture energy from sunlight.
They split water and release oxygen.

```sh
# not a heading
echo code
```

    indented code is not prose

Calvin Cycle
============

## Carbon Fixation ##

- Carbon dioxide is fixed by <em>RuBisCO</em> into sugars.
- See <https://example.org/calvin>.

> A quoted remark
> over two lines.

## See Also

Related pages are listed here for further study.
)";

const char* const kRst = R"(=============
 User Guide
=============

This guide explains the *whole* system with ``literal`` text, a `link <http://x.org>`_ and :ref:`the configuration <config>`.

Installation
============

Install the package with pip. Then run the checker::

    pip install thing

    thing --check

.. note::

   This note is a directive body.

.. a comment
   spanning lines

Prose follows the directive, with a reference_ and a footnote [1]_.

Configuration
-------------

Options live in a file named |conf|. Each option has a **default**.

Advanced
~~~~~~~~

Advanced tuning is rarely needed.

Troubleshooting
===============

Check the logs first.

.. [1] A footnote.
)";

const char* const kHtml = R"(<!DOCTYPE html>
<html><head><title>Rivers &amp; Lakes</title><style>p { color: red }</style>
<script>document.write("<p>not text</p>");</script></head>
<body>
<nav><a href="/">Home</a> <a href="/about">About</a></nav>
<header><p>Site header</p></header>
<h1>Rivers</h1>
<p>Rivers carry water&nbsp;to the sea &mdash; mostly.
   They <b>shape</b> valleys &amp; plains.</p>
<h2>Deltas</h2>
<p>A delta forms where a river meets the sea.</p>
<ul><li>The Nile delta</li><li>The Ganges delta &lt;largest&gt;</li></ul>
<pre><code>not prose</code></pre>
<noscript>Enable JavaScript</noscript>
<footer>Copyright 2024</footer>
</body></html>
)";

ParsedDoc parse_one(const std::string& text, DocFormat format, const std::string& source = "doc") {
  std::vector<ParsedDoc> docs;
  const Status s = doc_parse_text(text, format, source, &docs);
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(docs.size(), 1u);
  return docs.empty() ? ParsedDoc() : docs[0];
}

// "level|path > path|heading" of each section, and its paragraphs indented below.
std::string outline(const ParsedDoc& d) {
  std::ostringstream o;
  for (const DocSection& s : d.sections) {
    o << s.level << "|";
    for (size_t i = 0; i < s.heading_path.size(); ++i) o << (i ? " > " : "") << s.heading_path[i];
    o << "|" << s.heading << "\n";
    for (const std::string& p : s.paragraphs) o << "  " << p << "\n";
  }
  return o.str();
}

// "method|source|query|passage" per pair.
std::vector<std::string> pair_rows(const std::vector<DocPair>& pairs) {
  std::vector<std::string> rows;
  for (const DocPair& p : pairs)
    rows.push_back(std::string(pair_method_name(p.method)) + "|" + p.source + "|" + p.query + "|" + p.passage);
  return rows;
}

DocPairOptions small_options() {
  DocPairOptions o;
  o.min_passage_words = 3;
  return o;
}

TEST(DocParse, Markdown) {
  const ParsedDoc d = parse_one(kMarkdown, DocFormat::kMarkdown, "guide.md");
  EXPECT_EQ(d.title, "Photosynthesis Guide");
  EXPECT_EQ(d.source, "guide.md");
  EXPECT_EQ(outline(d),
            "1||Photosynthesis\n"
            "  Plants turn light into sugar with chlorophyll. This happens in the chloroplasts of leaf cells.\n"
            "2|Photosynthesis|Light Reactions\n"
            "  The light reactions capture energy from sunlight. They split water and release oxygen.\n"
            "1||Calvin Cycle\n"
            "2|Calvin Cycle|Carbon Fixation\n"
            "  Carbon dioxide is fixed by RuBisCO into sugars.\n"
            "  See https://example.org/calvin.\n"
            "  A quoted remark over two lines.\n"
            "2|Calvin Cycle|See Also\n"
            "  Related pages are listed here for further study.\n");
  // Without front matter the first level-1 heading is the title; text before it is a level-0 section.
  const ParsedDoc e = parse_one("Before any heading.\n\nTitle Here\n==========\n\n# Second\n", DocFormat::kMarkdown);
  EXPECT_EQ(e.title, "Title Here");
  EXPECT_EQ(outline(e), "0||\n  Before any heading.\n1||Title Here\n1||Second\n");
  // Tilde fences, a thematic break, an HTML comment, a link definition and a table.
  const ParsedDoc f = parse_one(
      "~~~~\n## inside\n~~~~\n\ntext one\n\n***\n\n<!-- a\ncomment -->\n[id]: http://x.org\n\n| a | b |\n|---|:-:|\n"
      "| c \\| d | e |\n\nf | g\n--- | ---\nh | i\n\nprose with a | bar\nand more\n",
      DocFormat::kMarkdown);
  EXPECT_EQ(f.title, "");
  EXPECT_EQ(outline(f), "0||\n  text one\n  a b\n  c | d e\n  f g\n  h i\n  prose with a | bar and more\n");
}

TEST(DocParse, MarkdownInline) {
  EXPECT_EQ(markdown_inline_text("**bold** and _it_ and ~~gone~~ stays"), "bold and it and gone stays");
  EXPECT_EQ(markdown_inline_text("2 * 3 = 6, snake_case_name"), "2 * 3 = 6, snake_case_name");
  EXPECT_EQ(markdown_inline_text("a [link *text*](http://x.org/(a)) b"), "a link text b");
  EXPECT_EQ(markdown_inline_text("ref [text][id] and [plain] brackets"), "ref text and [plain] brackets");
  EXPECT_EQ(markdown_inline_text("img ![alt](x.png) gone, note[^1]."), "img  gone, note.");
  EXPECT_EQ(markdown_inline_text("``code with ` tick`` and `x`"), "code with ` tick and x");
  EXPECT_EQ(markdown_inline_text("<mailto:me@x.org> <span class=\"k\">in</span> a < b"), "me@x.org in a < b");
  EXPECT_EQ(markdown_inline_text("\\*not emphasis\\* &amp; &#65;&#x42;"), "*not emphasis* & AB");
}

TEST(DocParse, ReStructuredText) {
  const ParsedDoc d = parse_one(kRst, DocFormat::kRst, "manual.rst");
  EXPECT_EQ(d.title, "User Guide");
  EXPECT_EQ(outline(d),
            "1||User Guide\n"
            "  This guide explains the whole system with literal text, a link and the configuration.\n"
            "2|User Guide|Installation\n"
            "  Install the package with pip. Then run the checker:\n"
            "  Prose follows the directive, with a reference and a footnote.\n"
            "3|User Guide > Installation|Configuration\n"
            "  Options live in a file named conf. Each option has a default.\n"
            "4|User Guide > Installation > Configuration|Advanced\n"
            "  Advanced tuning is rarely needed.\n"
            "2|User Guide|Troubleshooting\n"
            "  Check the logs first.\n");
  // A :title: field at the top wins; "text ::" drops the marker; an underline shorter than the title
  // and than 4 characters is no underline; a transition is not text; lists are one paragraph per item.
  const ParsedDoc e = parse_one(
      ":title: Field Title\n:author: Me\n\nLong Title Here\n===\n\nExample ::\n\n  code\n\n----------\n\n"
      "- item one\n- item two\n  continued\n",
      DocFormat::kRst);
  EXPECT_EQ(e.title, "Field Title");
  EXPECT_EQ(outline(e), "0||\n  Long Title Here ===\n  Example\n  item one\n  item two continued\n");
}

TEST(DocParse, RstInline) {
  EXPECT_EQ(rst_inline_text("``a *b*`` *c* **d** `e <http://x>`_ `f`__ g_ h__"), "a *b* c d e f g h");
  EXPECT_EQ(rst_inline_text(":py:func:`load <pkg.load>` and :doc:`setup` and `x`:math:"), "load and setup and x");
  EXPECT_EQ(rst_inline_text("the :class:`~email.message.Message` class, :func:`!open`"), "the Message class, open");
  EXPECT_EQ(rst_inline_text("snake_case stays, 2 * 3 stays, \\*escaped\\*"), "snake_case stays, 2 * 3 stays, *escaped*");
  EXPECT_EQ(rst_inline_text("see [Smith2020]_ and [#]_, |sub|_ here"), "see  and, sub here");
}

TEST(DocParse, Html) {
  const ParsedDoc d = parse_one(kHtml, DocFormat::kHtml, "page.html");
  EXPECT_EQ(d.title, "Rivers & Lakes");
  EXPECT_EQ(outline(d),
            "1||Rivers\n"
            "  Rivers carry water to the sea \xE2\x80\x94 mostly. They shape valleys & plains.\n"
            "2|Rivers|Deltas\n"
            "  A delta forms where a river meets the sea.\n"
            "  The Nile delta\n"
            "  The Ganges delta <largest>\n");
  // No <title>: the first <h1>. Text outside paragraphs still counts, split at block elements.
  const ParsedDoc e = parse_one("<body><div>loose text<p>para</p>tail <i>inline</i></div><h1>Main <em>Title</em></h1>"
                                "<table><tr><td>cell one</td><td>cell two</td></tr></table>",
                                DocFormat::kHtml);
  EXPECT_EQ(e.title, "Main Title");
  EXPECT_EQ(outline(e), "0||\n  loose text\n  para\n  tail inline\n1||Main Title\n  cell one\n  cell two\n");
  EXPECT_EQ(outline(parse_one("", DocFormat::kHtml)), "");
}

TEST(DocParse, PlainText) {
  ParsedDoc d = parse_one("Short Title Line\n\nFirst paragraph of text\nwith two lines.\n\n\n  Second   paragraph.\n",
                          DocFormat::kText, "dir/notes.txt");
  EXPECT_EQ(d.title, "Short Title Line");
  EXPECT_EQ(outline(d), "0||\n  First paragraph of text with two lines.\n  Second paragraph.\n");
  // A first line of 13 words, or one not followed by a blank line, is text: the title is the file name.
  d = parse_one("one two three four five six seven eight nine ten eleven twelve thirteen\n\nmore\n", DocFormat::kText,
                "dir/notes.txt");
  EXPECT_EQ(d.title, "notes");
  EXPECT_EQ(d.sections.at(0).paragraphs.size(), 2u);
  d = parse_one("Heading\nstraight into text\n", DocFormat::kText, "a/b.c.txt");
  EXPECT_EQ(d.title, "b.c");
  EXPECT_EQ(outline(d), "0||\n  Heading straight into text\n");
}

TEST(DocParse, JsonlCorpus) {
  std::vector<ParsedDoc> docs;
  ASSERT_TRUE(doc_parse_text("{\"_id\": \"d1\", \"title\": \"Doc One\", \"text\": \"Alpha beta.\\n\\n  Gamma\\ndelta.\"}\n"
                             "\n{\"text\": \"Only text\"}\n",
                             DocFormat::kJsonl, "corpus.jsonl", &docs)
                  .ok());
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].source, "corpus.jsonl:1");
  EXPECT_EQ(docs[0].title, "Doc One");
  EXPECT_EQ(docs[0].format, DocFormat::kJsonl);
  EXPECT_EQ(outline(docs[0]), "0||\n  Alpha beta.\n  Gamma delta.\n");
  EXPECT_EQ(docs[1].source, "corpus.jsonl:3");
  EXPECT_EQ(docs[1].title, "");
  EXPECT_EQ(outline(docs[1]), "0||\n  Only text\n");
  Status s = doc_parse_text("{\"text\": \"a\"}\n{\"title\": \"x\"}\n", DocFormat::kJsonl, "c.jsonl", &docs);
  EXPECT_EQ(s.message(), "c.jsonl: line 2: no string field \"text\" (each line must be {\"text\": ..., \"title\": ...})");
  s = doc_parse_text("not json\n", DocFormat::kJsonl, "c.jsonl", &docs);
  EXPECT_NE(s.message().find("c.jsonl: line 1: not a JSON object"), std::string::npos) << s.message();
}

TEST(DocParse, InvalidUtf8NamesLineAndByte) {
  std::vector<ParsedDoc> docs;
  const Status s = doc_parse_text("# Title\n\nok\n\xff bad\n", DocFormat::kMarkdown, "bad.md", &docs);
  EXPECT_EQ(s.message(), "bad.md: line 4: invalid UTF-8 at byte 12 (save the file as UTF-8)");
  EXPECT_TRUE(docs.empty());
}

TEST(DocParse, FormatsAndFileLists) {
  EXPECT_EQ(doc_format_for_path("a/B.MD"), DocFormat::kMarkdown);
  EXPECT_EQ(doc_format_for_path("x.markdown"), DocFormat::kMarkdown);
  EXPECT_EQ(doc_format_for_path("x.htm"), DocFormat::kHtml);
  EXPECT_EQ(doc_format_for_path("x.pdf"), DocFormat::kAuto);
  DocFormat f = DocFormat::kAuto;
  EXPECT_TRUE(doc_format_parse("rst", &f).ok());
  EXPECT_EQ(f, DocFormat::kRst);
  EXPECT_FALSE(doc_format_parse("pdf", &f).ok());

  test::TempDir tmp;
  std::filesystem::create_directories(tmp.file("b/.hidden"));
  std::filesystem::create_directories(tmp.file("a"));
  for (const char* name : {"b/z.md", "b/y.rst", "b/.hidden/x.md", "b/.dot.md", "a/w.html", "a/skip.pdf", "v.txt"})
    test::write_text(tmp.file(name), "x\n");
  std::vector<std::string> files;
  ASSERT_TRUE(doc_list_files({tmp.path(), tmp.file("v.txt")}, DocFormat::kAuto, &files).ok());
  EXPECT_EQ(files, (std::vector<std::string>{tmp.file("a/w.html"), tmp.file("b/y.rst"), tmp.file("b/z.md"),
                                             tmp.file("v.txt")}));
  Status s = doc_list_files({tmp.file("missing")}, DocFormat::kAuto, &files);
  EXPECT_EQ(s.message(), tmp.file("missing") + ": no such file or directory (check the path)");
  s = doc_list_files({tmp.file("a/skip.pdf")}, DocFormat::kAuto, &files);
  EXPECT_NE(s.message().find("unknown document format"), std::string::npos);
  EXPECT_TRUE(doc_list_files({tmp.file("a/skip.pdf")}, DocFormat::kText, &files).ok());
}

TEST(DocPairs, Sentences) {
  using V = std::vector<std::string>;
  EXPECT_EQ(split_sentences("Dr. Smith arrived at 3.14 p.m. today. He left, e.g. at noon! Did he? Yes."),
            (V{"Dr. Smith arrived at 3.14 p.m. today.", "He left, e.g. at noon!", "Did he?", "Yes."}));
  EXPECT_EQ(split_sentences("See Fig. 2 and Eq. 3 here. Smith et al. showed it. J. R. R. Tolkien wrote. The U.S. Army won."),
            (V{"See Fig. 2 and Eq. 3 here.", "Smith et al. showed it.", "J. R. R. Tolkien wrote.", "The U.S. Army won."}));
  EXPECT_EQ(split_sentences("The answer is no. No. 5 is next. Wait... what? \"Quoted.\" Then (a bracket.) End"),
            (V{"The answer is no.", "No. 5 is next.", "Wait...", "what?", "\"Quoted.\"", "Then (a bracket.)", "End"}));
  EXPECT_EQ(split_sentences("Version 2.0 is out. It costs $3.50 i.e. less. Mr. and Mrs. Lee vs. Prof. Kim."),
            (V{"Version 2.0 is out.", "It costs $3.50 i.e. less.", "Mr. and Mrs. Lee vs. Prof. Kim."}));
  EXPECT_EQ(split_sentences("我爱你。你爱我吗？是的！「好。」最后"), (V{"我爱你。", "你爱我吗？", "是的！", "「好。」", "最后"}));
  EXPECT_EQ(split_sentences("  "), V{});
  EXPECT_EQ(count_words("hello  world"), 2u);
  EXPECT_EQ(count_words("我爱你。你好 abc"), 6u);
}

TEST(DocPairs, Truncation) {
  const std::string t = "One two three. Four five six seven. Eight nine ten eleven twelve.";
  EXPECT_EQ(truncate_words(t, 20, 1), t);
  EXPECT_EQ(truncate_words(t, 9, 2), "One two three. Four five six seven.");
  EXPECT_EQ(truncate_words(t, 7, 2), "One two three. Four five six seven.");
  // The last sentence end would leave fewer than min words: cut at the word limit instead.
  EXPECT_EQ(truncate_words(t, 9, 8), "One two three. Four five six seven. Eight nine");
  EXPECT_EQ(truncate_words("one two three four five", 4, 1), "one two three four");
  EXPECT_EQ(truncate_words("我爱你。你爱我吗？", 5, 1), "我爱你。");
}

TEST(DocPairs, MarkdownPairsPerMethod) {
  const std::vector<ParsedDoc> docs = {parse_one(kMarkdown, DocFormat::kMarkdown, "guide.md")};
  std::vector<DocPair> pairs;
  DocPairsReport r;
  doc_pairs(docs, small_options(), &pairs, &r);
  EXPECT_EQ(pair_rows(pairs),
            (std::vector<std::string>{
                "title-body|guide.md|Photosynthesis Guide|Plants turn light into sugar with chlorophyll. This happens "
                "in the chloroplasts of leaf cells. The light reactions capture energy from sunlight. They split water "
                "and release oxygen. Carbon dioxide is fixed by RuBisCO into sugars. See https://example.org/calvin. A "
                "quoted remark over two lines. Related pages are listed here for further study.",
                "heading-section|guide.md#Light Reactions|Photosynthesis: Light Reactions|The light reactions capture "
                "energy from sunlight. They split water and release oxygen.",
                "heading-section|guide.md#Carbon Fixation|Calvin Cycle: Carbon Fixation|Carbon dioxide is fixed by "
                "RuBisCO into sugars. See https://example.org/calvin. A quoted remark over two lines.",
                "ict|guide.md#Photosynthesis|Plants turn light into sugar with chlorophyll.|This happens in the "
                "chloroplasts of leaf cells.",
                "ict|guide.md#Light Reactions|The light reactions capture energy from sunlight.|They split water and "
                "release oxygen.",
            }));
  EXPECT_EQ(r.documents, 1);
  EXPECT_EQ(r.documents_per_format.at("markdown"), 1);
  EXPECT_EQ(r.documents_per_format.at("html"), 0);
  EXPECT_EQ(r.pairs, 5);
  EXPECT_EQ(r.pairs_per_method,
            (std::map<std::string, int64_t>{{"title-body", 1}, {"heading-section", 2}, {"ict", 2}, {"llm", 0}}));
  // "Photosynthesis" is one word; "Calvin Cycle" has no text of its own; "See Also" is generic;
  // four paragraphs have one sentence.
  EXPECT_EQ(r.dropped.at("query_short"), 1);
  EXPECT_EQ(r.dropped.at("passage_short"), 1);
  EXPECT_EQ(r.dropped.at("generic_heading"), 1);
  EXPECT_EQ(r.dropped.at("one_sentence"), 4);
  EXPECT_EQ(r.dropped.at("duplicate"), 0);
  EXPECT_EQ(r.documents_without_pairs, 0);

  // Headings alone, and one method at a time.
  DocPairOptions o = small_options();
  o.heading_context = false;
  o.methods = {PairMethod::kHeadingSection};
  pairs.clear();
  doc_pairs(docs, o, &pairs, &r);
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[0].query, "Light Reactions");
  EXPECT_EQ(pairs[1].query, "Carbon Fixation");
  EXPECT_EQ(r.pairs_per_method.at("title-body"), 0);
}

TEST(DocPairs, TitleSectionLeftToTitleBody) {
  const std::vector<ParsedDoc> docs = {parse_one(kRst, DocFormat::kRst, "manual.rst")};
  DocPairOptions o = small_options();
  o.methods = {PairMethod::kTitleBody, PairMethod::kHeadingSection};
  std::vector<DocPair> pairs;
  DocPairsReport r;
  doc_pairs(docs, o, &pairs, &r);
  EXPECT_EQ(pair_rows(pairs),
            (std::vector<std::string>{
                "title-body|manual.rst|User Guide|This guide explains the whole system with literal text, a link and "
                "the configuration. Install the package with pip. Then run the checker: Prose follows the directive, "
                "with a reference and a footnote. Options live in a file named conf. Each option has a default. "
                "Advanced tuning is rarely needed. Check the logs first.",
                "heading-section|manual.rst#Installation|User Guide: Installation|Install the package with pip. Then "
                "run the checker: Prose follows the directive, with a reference and a footnote.",
                "heading-section|manual.rst#Configuration|User Guide: Installation: Configuration|Options live in a "
                "file named conf. Each option has a default.",
                "heading-section|manual.rst#Advanced|User Guide: Installation: Configuration: Advanced|Advanced tuning "
                "is rarely needed.",
                "heading-section|manual.rst#Troubleshooting|User Guide: Troubleshooting|Check the logs first.",
            }));
  // Without title-body, the title's own section is a heading pair.
  o.methods = {PairMethod::kHeadingSection};
  pairs.clear();
  doc_pairs(docs, o, &pairs, &r);
  ASSERT_EQ(pairs.size(), 5u);
  EXPECT_EQ(pairs[0].query, "User Guide");
  EXPECT_EQ(pairs[0].source, "manual.rst#User Guide");
}

TEST(DocPairs, HtmlAndRandomIctSentence) {
  const std::vector<ParsedDoc> docs = {parse_one(kHtml, DocFormat::kHtml, "page.html")};
  DocPairOptions o = small_options();
  std::vector<DocPair> pairs;
  DocPairsReport r;
  doc_pairs(docs, o, &pairs, &r);
  EXPECT_EQ(pair_rows(pairs),
            (std::vector<std::string>{
                "title-body|page.html|Rivers & Lakes|Rivers carry water to the sea \xE2\x80\x94 mostly. They shape "
                "valleys & plains. A delta forms where a river meets the sea. The Nile delta The Ganges delta <largest>",
                "heading-section|page.html#Deltas|Rivers: Deltas|A delta forms where a river meets the sea. The Nile "
                "delta The Ganges delta <largest>",
                "ict|page.html#Rivers|Rivers carry water to the sea \xE2\x80\x94 mostly.|They shape valleys & plains.",
            }));
  // "Rivers" (one word) is dropped as a query; the one-sentence paragraphs give no ict pairs.
  EXPECT_EQ(r.dropped.at("query_short"), 1);
  EXPECT_EQ(r.dropped.at("one_sentence"), 3);

  // A random sentence: the same on every run, and the passage is the paragraph without it.
  const std::vector<ParsedDoc> text = {parse_one(
      "T\n\nFirst sentence has five words. Second sentence has five words. Third sentence has five words.\n",
      DocFormat::kText)};
  o.methods = {PairMethod::kIct};
  o.ict_sentence = IctSentence::kRandom;
  std::set<std::string> queries;
  for (uint64_t seed = 0; seed < 16; ++seed) {
    o.seed = seed;
    std::vector<DocPair> a, b;
    doc_pairs(text, o, &a, &r);
    doc_pairs(text, o, &b, &r);
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(pair_rows(a), pair_rows(b));
    EXPECT_EQ(a[0].passage.find(a[0].query), std::string::npos);
    EXPECT_EQ(count_words(a[0].passage), 10u);
    queries.insert(a[0].query);
  }
  EXPECT_EQ(queries.size(), 3u);
}

TEST(DocPairs, FiltersDropAndCount) {
  auto jsonl_docs = [](const std::string& text) {
    std::vector<ParsedDoc> docs;
    EXPECT_TRUE(doc_parse_text(text, DocFormat::kJsonl, "c.jsonl", &docs).ok());
    return docs;
  };
  DocPairOptions o;
  o.methods = {PairMethod::kTitleBody};
  o.min_passage_words = 1;
  std::vector<DocPair> pairs;
  DocPairsReport r;
  const std::vector<ParsedDoc> docs = jsonl_docs(
      "{\"title\": \"Same words here\", \"text\": \"Same words, here!\"}\n"                                // query_is_passage
      "{\"title\": \"the quick brown fox jumps\", \"text\": \"Today the quick brown fox jumps high.\"}\n"   // query_in_passage
      "{\"title\": \"quick brown fox jumps\", \"text\": \"Today the quick brown fox jumps high.\"}\n"       // kept: 4 words
      "{\"title\": \"quick brown fox jumps\", \"text\": \"Today the quick brown fox jumps high.\"}\n"       // duplicate
      "{\"title\": \"Lonely\", \"text\": \"A passage.\"}\n"                                                  // query_short
      "{\"title\": \"A title of six words here\", \"text\": \"Another passage.\"}\n"                       // kept
      "{\"title\": \"no body\", \"text\": \"\"}\n");                                                          // passage_short
  doc_pairs(docs, o, &pairs, &r);
  EXPECT_EQ(pair_rows(pairs), (std::vector<std::string>{
                                  "title-body|c.jsonl:3|quick brown fox jumps|Today the quick brown fox jumps high.",
                                  "title-body|c.jsonl:6|A title of six words here|Another passage.",
                              }));
  EXPECT_EQ(r.dropped.at("query_is_passage"), 1);
  EXPECT_EQ(r.dropped.at("query_in_passage"), 1);
  EXPECT_EQ(r.dropped.at("duplicate"), 1);
  EXPECT_EQ(r.dropped.at("query_short"), 1);
  EXPECT_EQ(r.dropped.at("passage_short"), 1);
  EXPECT_EQ(r.documents, 7);
  EXPECT_EQ(r.documents_per_format.at("jsonl"), 7);
  EXPECT_EQ(r.documents_without_pairs, 5);

  // query_long, and the limit of pairs per document (the first ones in output order stay).
  o.max_query_words = 4;
  pairs.clear();
  doc_pairs(docs, o, &pairs, &r);
  EXPECT_EQ(r.dropped.at("query_long"), 2);  // 5 and 6 words
  EXPECT_EQ(pairs.size(), 1u);

  const std::vector<ParsedDoc> md = {parse_one(kMarkdown, DocFormat::kMarkdown, "guide.md")};
  o = small_options();
  o.max_pairs_per_doc = 2;
  pairs.clear();
  doc_pairs(md, o, &pairs, &r);
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[0].method, PairMethod::kTitleBody);
  EXPECT_EQ(pairs[1].query, "Photosynthesis: Light Reactions");
  EXPECT_EQ(r.dropped.at("max_per_doc"), 3);

  // ict sentence limits: the 7-word first sentence is too short at 8.
  o = small_options();
  o.methods = {PairMethod::kIct};
  o.ict_min_query_words = 8;
  pairs.clear();
  doc_pairs(md, o, &pairs, &r);
  EXPECT_TRUE(pairs.empty());
  EXPECT_EQ(r.dropped.at("query_short"), 2);
  EXPECT_EQ(r.documents_without_pairs, 1);
}

TEST(DocPairs, PassageTruncatedAtSentenceEnd) {
  std::vector<ParsedDoc> docs;
  ASSERT_TRUE(doc_parse_text("{\"title\": \"Long document\", \"text\": \"One two three. Four five six seven.\\n\\n"
                             "Eight nine ten eleven twelve.\"}\n",
                             DocFormat::kJsonl, "c.jsonl", &docs)
                  .ok());
  DocPairOptions o;
  o.methods = {PairMethod::kTitleBody};
  o.min_passage_words = 2;
  o.max_passage_words = 9;
  std::vector<DocPair> pairs;
  DocPairsReport r;
  doc_pairs(docs, o, &pairs, &r);
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ(pairs[0].passage, "One two three. Four five six seven.");
  o.min_passage_words = 8;  // the sentence cut would be too short: cut at the word limit
  pairs.clear();
  doc_pairs(docs, o, &pairs, &r);
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ(pairs[0].passage, "One two three. Four five six seven. Eight nine");
}

TEST(DocPairs, PassagesOfADocument) {
  const ParsedDoc d = parse_one(kMarkdown, DocFormat::kMarkdown, "guide.md");
  const std::vector<DocPassage> all = doc_passages(d, 1, 256);
  ASSERT_EQ(all.size(), 4u);  // "Calvin Cycle" has no text
  EXPECT_EQ(all[0].source, "guide.md#Photosynthesis");
  EXPECT_EQ(all[0].title, "Photosynthesis Guide");
  EXPECT_EQ(all[0].heading, "Photosynthesis");
  EXPECT_TRUE(all[0].heading_path.empty());
  EXPECT_EQ(all[2].heading, "Carbon Fixation");
  EXPECT_EQ(all[2].heading_path, std::vector<std::string>{"Calvin Cycle"});
  EXPECT_EQ(all[2].text,
            "Carbon dioxide is fixed by RuBisCO into sugars. See https://example.org/calvin. A quoted remark over two "
            "lines.");
  // Small chunks: paragraphs are packed up to the limit, a long one is cut at sentence ends, and
  // chunks under the minimum are left out.
  const std::vector<DocPassage> small = doc_passages(d, 3, 8);
  std::vector<std::string> texts;
  for (const DocPassage& p : small) texts.push_back(p.text);
  EXPECT_EQ(texts, (std::vector<std::string>{
                       "Plants turn light into sugar with chlorophyll.",
                       "This happens in the chloroplasts of leaf cells.",
                       "The light reactions capture energy from sunlight.",
                       "They split water and release oxygen.",
                       "Carbon dioxide is fixed by RuBisCO into sugars.",
                       "See https://example.org/calvin. A quoted remark over two lines.",
                       "Related pages are listed here for further study.",
                   }));
}

TEST(DocPairs, MethodNames) {
  std::vector<PairMethod> m;
  ASSERT_TRUE(pair_methods_parse("ict, title-body,ict", &m).ok());
  EXPECT_EQ(m, (std::vector<PairMethod>{PairMethod::kIct, PairMethod::kTitleBody}));
  ASSERT_TRUE(pair_methods_parse("llm,ict", &m).ok());
  EXPECT_EQ(m, (std::vector<PairMethod>{PairMethod::kLlm, PairMethod::kIct}));
  EXPECT_STREQ(pair_method_name(PairMethod::kLlm), "llm");
  EXPECT_EQ(pair_methods_parse("ict,gpt", &m).message(),
            "unknown pair method 'gpt' (one or more of title-body, heading-section, ict, llm, comma-separated)");
  EXPECT_FALSE(pair_methods_parse("", &m).ok());
  EXPECT_TRUE(is_generic_heading("2.1 See also:"));
  EXPECT_TRUE(is_generic_heading("TABLE OF CONTENTS"));
  EXPECT_TRUE(is_generic_heading("Chapter 1. Introduction"));
  EXPECT_TRUE(is_generic_heading("Appendix B: References"));
  EXPECT_FALSE(is_generic_heading("Chapter 2. Users and Groups"));
  EXPECT_FALSE(is_generic_heading("Introduction to enzymes"));
}

// ---- the command ---------------------------------------------------------------------------------

std::string bin() { return sh_quote(test::embtune_bin()); }

struct DocsDir {
  test::TempDir tmp;
  std::string dir = tmp.file("docs"), out = tmp.file("pairs.jsonl");
  DocsDir() {
    std::filesystem::create_directories(dir + "/sub/.git");
    test::write_text(dir + "/guide.md", kMarkdown);
    test::write_text(dir + "/sub/manual.rst", kRst);
    test::write_text(dir + "/page.html", kHtml);
    test::write_text(dir + "/sub/.git/HEAD.md", "# Hidden\n\nNot a document of ours at all, it is hidden here.\n");
    test::write_text(dir + "/image.png", "not text");
    test::write_text(dir + "/notes.txt", "Field Notes On Rivers\n\nRivers flood in the early spring. Snow melts in the hills.\n");
    test::write_text(dir + "/corpus.jsonl",
                     "{\"_id\": \"1\", \"title\": \"Enzymes at work\", \"text\": \"Enzymes speed up chemical reactions "
                     "in cells. They are mostly proteins.\"}\n");
  }
  std::string pairs(const std::string& extra) const {
    return bin() + " pairs --docs " + sh_quote(dir) + " --out " + sh_quote(out) + " " + extra;
  }
};

std::vector<nlohmann::json> read_rows(const std::string& path) {
  std::vector<nlohmann::json> rows;
  std::istringstream in(test::read_text(path));
  for (std::string line; std::getline(in, line);) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

TEST(PairsCommand, WritesPairsAndCounts) {
  DocsDir d;
  auto r = run_command(d.pairs("--min-passage-words 3 --json"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const nlohmann::json j = test::last_json_line(r.out);
  EXPECT_EQ(j["documents"], 5);
  EXPECT_EQ(j["per_format"], (nlohmann::json{{"html", 1}, {"jsonl", 1}, {"markdown", 1}, {"rst", 1}, {"text", 1}}));
  // markdown 5 (as above), rst 7 (title-body, 4 headings, 2 ict), html 3, text 2, jsonl 2.
  EXPECT_EQ(j["per_method"], (nlohmann::json{{"heading-section", 7}, {"ict", 7}, {"llm", 0}, {"title-body", 5}}));
  EXPECT_EQ(j["pairs"], 19);
  EXPECT_EQ(j["dropped"]["generic_heading"], 1);
  EXPECT_EQ(j["dropped"]["query_short"], 2);
  EXPECT_EQ(j["dropped"]["passage_short"], 1);
  EXPECT_EQ(j["dropped"]["one_sentence"], 11);
  EXPECT_EQ(j["documents_without_pairs"], 0);
  EXPECT_NE(r.out.find("pairs            19  heading-section 7, ict 7, title-body 5"), std::string::npos) << r.out;

  const std::vector<nlohmann::json> rows = read_rows(d.out);
  ASSERT_EQ(rows.size(), 19u);
  // Files in sorted order: corpus.jsonl, guide.md, notes.txt, page.html, sub/manual.rst.
  EXPECT_EQ(rows[0], (nlohmann::json{{"anchor", "Enzymes at work"},
                                      {"positive", "Enzymes speed up chemical reactions in cells. They are mostly proteins."}}));
  EXPECT_EQ(rows[1], (nlohmann::json{{"anchor", "Enzymes speed up chemical reactions in cells."},
                                      {"positive", "They are mostly proteins."}}));
  EXPECT_EQ(rows[2]["anchor"], "Photosynthesis Guide");
  EXPECT_EQ(rows[7]["anchor"], "Field Notes On Rivers");
  EXPECT_EQ(rows[7]["positive"], "Rivers flood in the early spring. Snow melts in the hills.");
  EXPECT_EQ(rows[12]["anchor"], "User Guide");
  EXPECT_EQ(rows[18]["anchor"], "Options live in a file named conf.");
  for (const auto& row : rows) EXPECT_EQ(row.size(), 2u) << row.dump();

  // --with-source and --with-method, one method, one file.
  const std::string page = bin() + " pairs --docs " + sh_quote(d.dir + "/page.html") + " --out " + sh_quote(d.out) +
                           " --methods heading-section --min-passage-words 3 --min-query-words 1 --no-heading-context";
  r = run_command(page + " --with-source --with-method");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(read_rows(d.out),
            (std::vector<nlohmann::json>{{{"anchor", "Rivers"},
                                          {"positive", "Rivers carry water to the sea \xE2\x80\x94 mostly. They shape valleys "
                                                       "& plains."},
                                          {"source", d.dir + "/page.html#Rivers"},
                                          {"method", "heading-section"}},
                                         {{"anchor", "Deltas"},
                                          {"positive", "A delta forms where a river meets the sea. The Nile delta The "
                                                       "Ganges delta <largest>"},
                                          {"source", d.dir + "/page.html#Deltas"},
                                          {"method", "heading-section"}}}));
  EXPECT_EQ(test::read_text(d.out).substr(0, 43), "{\"anchor\":\"Rivers\",\"positive\":\"Rivers carry");
  // --with-source alone adds only "source" (embtune prepare groups by it; "method" would be a text).
  r = run_command(page + " --with-source");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  for (const auto& row : read_rows(d.out)) {
    EXPECT_EQ(row.size(), 3u) << row.dump();
    EXPECT_EQ(row.count("method"), 0u) << row.dump();
  }
  EXPECT_EQ(read_rows(d.out).at(1)["source"], d.dir + "/page.html#Deltas");
  r = run_command(page + " --with-method");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(read_rows(d.out).at(0), (nlohmann::json{{"anchor", "Rivers"},
                                                     {"positive", "Rivers carry water to the sea \xE2\x80\x94 mostly. They "
                                                                  "shape valleys & plains."},
                                                     {"method", "heading-section"}}));
  // --min-query-words applies to ict sentences too: only the HTML page's first sentence has 8 words.
  r = run_command(d.pairs("--methods ict --min-passage-words 3 --min-query-words 8 --json"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(test::last_json_line(r.out)["per_method"]["ict"], 1);
  EXPECT_EQ(test::last_json_line(r.out)["dropped"]["query_short"], 6);
}

TEST(PairsCommand, FormatForcedOnAFile) {
  DocsDir d;
  const std::string file = d.tmp.file("guide.notes");
  test::write_text(file, kMarkdown);
  auto r = run_command(bin() + " pairs --docs " + sh_quote(file) + " --out " + sh_quote(d.out) + " --json");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find(file + ": unknown document format"), std::string::npos) << r.out;
  r = run_command(bin() + " pairs --docs " + sh_quote(file) + " --out " + sh_quote(d.out) +
                  " --format markdown --min-passage-words 3 --max-pairs-per-doc 1 --json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const nlohmann::json j = test::last_json_line(r.out);
  EXPECT_EQ(j["per_format"]["markdown"], 1);
  EXPECT_EQ(j["pairs"], 1);
  EXPECT_EQ(j["dropped"]["max_per_doc"], 4);
  EXPECT_EQ(read_rows(d.out).at(0)["anchor"], "Photosynthesis Guide");
}

TEST(PairsCommand, Errors) {
  DocsDir d;
  auto r = run_command(bin() + " pairs --docs " + sh_quote(d.tmp.file("nope")) + " --out " + sh_quote(d.out));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("embtune pairs: error: " + d.tmp.file("nope") + ": no such file or directory"), std::string::npos)
      << r.out;

  r = run_command(d.pairs("--methods title-body,gpt"));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("--methods: unknown pair method 'gpt'"), std::string::npos) << r.out;
  // llm needs a server and a model name; nothing is written without them.
  r = run_command(d.pairs("--methods title-body,llm"));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("--methods llm needs --llm-url"), std::string::npos) << r.out;
  EXPECT_FALSE(file_exists(d.out));

  r = run_command(d.pairs("--min-passage-words 50 --max-passage-words 10"));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("--min-passage-words 50 is more than --max-passage-words 10"), std::string::npos) << r.out;

  r = run_command(d.pairs("--max-passage-words lots"));
  EXPECT_NE(r.exit_code, 0) << r.out;

  // No pairs at all: exit 1, and no output file.
  r = run_command(d.pairs("--min-passage-words 1000 --max-passage-words 2000"));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("no pairs from 5 documents in 5 files"), std::string::npos) << r.out;
  EXPECT_FALSE(file_exists(d.out));

  // Invalid UTF-8 stops the run with the file and line; no partial output.
  test::write_text(d.dir + "/sub/bad.md", "# Bad\n\nfine line\n\xc3\x28 broken\n");
  r = run_command(d.pairs(""));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find(d.dir + "/sub/bad.md: line 4: invalid UTF-8 at byte 17"), std::string::npos) << r.out;
  EXPECT_FALSE(file_exists(d.out));
}

}  // namespace
}  // namespace embtune
