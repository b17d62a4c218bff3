// The comparison report as one self-contained HTML page: inline CSS and SVG charts, no script and
// no external resource. Not the statistics (compare.h) nor the file writing (report_write).
#pragma once

#include <string>

#include "eval/compare.h"

namespace embtune {

// `&`, `<`, `>`, `"` and `'` as character references; every other byte (UTF-8 included) as is.
std::string html_escape(const std::string& text);

// The page: a summary, the systems × metrics table, a bar chart of the means with interval
// whiskers, the differences table, and per compared system a histogram of its per-query
// differences on the primary metric and its worse queries. Every text from the inputs (system
// names, metric keys, query ids and texts) is escaped with html_escape.
std::string report_html(const ComparisonReport& report);

}  // namespace embtune
