// An evaluation set built from (query, positive…) pairs in JSONL, as BeirData: the corpus is the
// distinct positives plus an optional extra corpus, each query judges its positives relevant.
// Not the trainer's reader (data/training_data.h): negatives are not used, rows may differ in columns.
#pragma once

#include <string>

#include "core/status.h"
#include "eval/beir.h"

namespace embtune {

// pairs_jsonl: one JSON object per non-blank line, with the column conventions of the trainer's
// JSONL (data/training_data.h):
//   query     "anchor", else "query", else the line's first field (in file order) that is not
//             "score" / "label";
//   positives "positive" (a string or a list of strings) and "positives" (a list), else the
//             next field in file order that is not the query, "score", "label" or "negative…".
//   Other fields (negatives, scores) are ignored.
// extra_corpus ("" for none): JSONL as a BEIR corpus.jsonl, {"text", "title"?, "_id"?} per line;
// a document's text is title + " " + text, stripped. "_id" is accepted and not used.
//
// Texts are stripped of surrounding whitespace. Documents: the distinct positive texts in order of
// first appearance, then the extra documents whose text is not among them yet; ids "d0", "d1", …
// in that order. Queries: the distinct query texts, ids "q0", "q1", … in order of first
// appearance; a query on several lines judges all of its positives relevant (grade 1).
// Errors name the file and line: invalid UTF-8 or JSON, not an object, no query or no positive,
// a non-string query or positive, an empty query or positive, an extra document without "text";
// and a file without any row.
Status pairs_read(const std::string& pairs_jsonl, const std::string& extra_corpus, BeirData* out);

}  // namespace embtune
