// (query, passage) training pairs from parsed documents without a language model: a document's
// title with the start of its body, each heading with its section, and the inverse cloze task (one
// sentence of a paragraph with the rest of it). Not document reading (doc_parse.h), not output.
//
// Usage:
//   std::vector<ParsedDoc> docs;
//   ET_RETURN_IF_ERROR(doc_parse_file("guide.md", DocFormat::kAuto, &docs));
//   DocPairOptions opt;                              // all three methods, filters at their defaults
//   std::vector<DocPair> pairs;
//   DocPairsReport report;
//   doc_pairs(docs, opt, &pairs, &report);           // pairs[i].query, .passage, .source, .method
//   std::vector<DocPassage> chunks = doc_passages(docs[0], opt.min_passage_words, opt.max_passage_words);
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "data/doc_parse.h"

namespace embtune {

// The ways a pair is made. A new method gets a value here, a name in pair_method_name and a branch
// in doc_pairs' dispatch. kLlm (a language model writing queries for doc_passages) needs a server
// and is made by llm_pairs.h; doc_pairs() passes over it.
enum class PairMethod { kTitleBody, kHeadingSection, kIct, kLlm };

// "title-body", "heading-section", "ict", "llm".
const char* pair_method_name(PairMethod m);
// A comma-separated list of method names, in the order given, without repeats; an unknown or empty
// name is an error listing the known ones.
Status pair_methods_parse(const std::string& list, std::vector<PairMethod>* out);

enum class IctSentence { kFirst, kRandom };

struct DocPairOptions {
  std::vector<PairMethod> methods = {PairMethod::kTitleBody, PairMethod::kHeadingSection, PairMethod::kIct};
  // Words of a title or heading query (after heading context is added).
  int min_query_words = 2;
  int max_query_words = 64;
  // Words of an inverse-cloze sentence query (a short sentence says too little to find its context).
  int ict_min_query_words = 5;
  int ict_max_query_words = 64;
  // Passages with fewer words are dropped; longer ones are cut at the last sentence end within the
  // limit (when that keeps at least min_passage_words), else at the limit.
  int min_passage_words = 20;
  int max_passage_words = 256;
  int max_pairs_per_doc = 0;  // 0: no limit; else the first pairs in output order are kept
  // heading-section: the query is the enclosing headings and the heading joined by ": "
  // ("Photosynthesis: Light reactions"); off: the heading alone.
  bool heading_context = true;
  // ict: which sentence of a paragraph becomes the query; kRandom picks one per paragraph from a
  // hash of (seed, source, paragraph), so the output is the same on every run.
  IctSentence ict_sentence = IctSentence::kFirst;
  uint64_t seed = 0;
};

struct DocPair {
  std::string query, passage;
  std::string source;  // the document's source, "#Heading" appended for a section's pair
  PairMethod method = PairMethod::kTitleBody;
};

// Counts of one doc_pairs call. Maps are keyed by format, method and reason names, and list every
// known key (with 0, "llm" included) so reports always have the same shape.
struct DocPairsReport {
  int64_t documents = 0;
  std::map<std::string, int64_t> documents_per_format;
  int64_t pairs = 0;
  std::map<std::string, int64_t> pairs_per_method;
  // Why candidate pairs were dropped:
  //   generic_heading   a heading in doc_pairs_generic_headings() (heading-section)
  //   query_short       fewer query words than the minimum; query_long: more than the maximum
  //   passage_short     fewer passage words than min_passage_words (also an empty section)
  //   one_sentence      an ict paragraph with a single sentence: nothing is left for the passage
  //   query_is_passage  query and passage have the same words (case and punctuation ignored)
  //   query_in_passage  a query of 5 or more words occurs word for word in its passage
  //   duplicate         the same (query, passage) as an earlier pair
  //   max_per_doc       past max_pairs_per_doc
  std::map<std::string, int64_t> dropped;
  int64_t documents_without_pairs = 0;
};

// Appends the pairs of `docs` to `out` in document order, then per document in the order of
// opt.methods (each method in document order), and counts them in `report` (which is reset).
// PairMethod::kLlm in opt.methods is skipped (llm_pairs.h makes those pairs).
//   title-body       the document title -> its first paragraphs, across sections, up to
//                    max_passage_words
//   heading-section  each heading -> its section's own paragraphs (not its subsections') up to
//                    max_passage_words; a level-1 heading equal to the title is left to title-body
//                    when that method runs too
//   ict              for each paragraph of two or more sentences, one sentence -> the paragraph
//                    without it (Lee et al. 2019, "Latent Retrieval for Weakly Supervised Open
//                    Domain Question Answering")
void doc_pairs(const std::vector<ParsedDoc>& docs, const DocPairOptions& opt, std::vector<DocPair>* out,
               DocPairsReport* report);

// A chunk of a section: consecutive paragraphs with at most max_words words in all (a longer
// paragraph is cut into pieces at sentence ends), with where it came from.
struct DocPassage {
  std::string source;  // as DocPair::source: the document's, "#Heading" for a headed section
  std::string title;   // the document's title ("" when none)
  std::string heading;  // the section's heading ("" before the first heading)
  std::vector<std::string> heading_path;  // the enclosing headings, outermost first
  std::string text;
};

// The passages of one document, sections in order; chunks with fewer than min_words words are left
// out. The text a language model would write queries for.
std::vector<DocPassage> doc_passages(const ParsedDoc& doc, int min_words, int max_words);

// The headings heading-section skips, lower case: "introduction", "overview", "contents", "table of
// contents", "references", "see also", "notes", "footnotes", "external links", "further reading",
// "bibliography", "acknowledgements", "acknowledgments", "index", "summary", "conclusion",
// "conclusions". A heading matches after lower-casing and removing numbering ("2.1 ", "Chapter 3. ",
// "Appendix A: ") and trailing punctuation.
const std::vector<std::string>& doc_pairs_generic_headings();
bool is_generic_heading(std::string_view heading);

// The sentences of a whitespace-normalised text, as byte ranges [begin, end) without surrounding
// spaces. A sentence ends at ".", "!" or "?" (closing quotes and brackets after it included)
// followed by whitespace or the end, and right after "。", "！" or "？". A "." does not end one after
// a common abbreviation (e.g., i.e., cf., vs., Dr., Mr., Mrs., Ms., Prof., Fig., No., Eq., et al.,
// approx.), a single capital initial ("J.") or a run of initials ("U.S."); "3.14" never splits as no
// space follows the ".".
std::vector<std::pair<size_t, size_t>> sentence_spans(std::string_view text);
std::vector<std::string> split_sentences(std::string_view text);

// Words for the limits: runs of non-whitespace, except that each CJK ideograph, kana or Hangul
// syllable is a word of its own (those scripts do not separate words with spaces).
size_t count_words(std::string_view text);
// `text` cut to at most max_words words: at the last sentence end within the limit when that keeps
// at least min_words words, else at the limit. Unchanged when short enough.
std::string truncate_words(std::string_view text, int max_words, int min_words);

}  // namespace embtune
