// report.html: tables and inline SVG charts written as plain strings, readable without a network
// or JavaScript. Not a template engine and not a plotting library: two fixed chart kinds.
#include "eval/report_html.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace embtune {

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string num(double v) { return fmt("%.4f", v); }
std::string px(double v) { return fmt("%.1f", v); }
std::string interval_text(const Interval& ci, const char* format) {
  return "[" + fmt(format, ci.low) + ", " + fmt(format, ci.high) + "]";
}

// Colour of system s: a fixed, colour-blind-friendly cycle (Okabe-Ito).
const char* system_colour(size_t s) {
  static const char* colours[] = {"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"};
  return colours[s % (sizeof colours / sizeof colours[0])];
}

// Grouped bars: one group per metric, one bar per system, the mean on a 0..1 axis with the
// interval as a whisker.
std::string bar_chart(const ComparisonReport& r) {
  const double bar = 22, gap = 36, left = 48, top = 16, plot_h = 220, legend_h = 22;
  const size_t systems = r.systems.size(), metrics = r.metrics.size();
  const double group_w = static_cast<double>(systems) * bar;
  const double width = left + static_cast<double>(metrics) * (group_w + gap) + 16;
  const double height = top + plot_h + 28 + legend_h * static_cast<double>(systems) + 8;
  auto y = [&](double v) { return top + plot_h * (1 - std::clamp(v, 0.0, 1.0)); };
  std::string s = "<svg role=\"img\" width=\"" + px(width) + "\" height=\"" + px(height) + "\" viewBox=\"0 0 " +
                  px(width) + " " + px(height) + "\">\n<title>Mean of each metric per system, with " +
                  fmt("%.0f", r.confidence * 100) + "% bootstrap intervals</title>\n";
  for (int t = 0; t <= 4; t++) {
    const double v = t / 4.0;
    s += "<line class=\"grid\" x1=\"" + px(left) + "\" x2=\"" + px(width - 8) + "\" y1=\"" + px(y(v)) + "\" y2=\"" +
         px(y(v)) + "\"/><text class=\"axis\" x=\"" + px(left - 6) + "\" y=\"" + px(y(v) + 4) +
         "\" text-anchor=\"end\">" + fmt("%.2f", v) + "</text>\n";
  }
  for (size_t m = 0; m < metrics; m++) {
    const double x0 = left + gap / 2 + static_cast<double>(m) * (group_w + gap);
    for (size_t k = 0; k < systems; k++) {
      const MetricSummary& ms = r.systems[k].metrics[m];
      const double x = x0 + static_cast<double>(k) * bar, cx = x + bar / 2;
      s += "<rect x=\"" + px(x + 2) + "\" y=\"" + px(y(ms.mean)) + "\" width=\"" + px(bar - 4) + "\" height=\"" +
           px(y(0) - y(ms.mean)) + "\" fill=\"" + system_colour(k) + "\"><title>" + html_escape(r.systems[k].name) +
           " " + html_escape(r.metrics[m]) + ": " + num(ms.mean) + " " + interval_text(ms.ci, "%.4f") +
           "</title></rect>\n";
      s += "<path class=\"whisker\" d=\"M" + px(cx) + " " + px(y(ms.ci.low)) + "V" + px(y(ms.ci.high)) + "M" +
           px(cx - 4) + " " + px(y(ms.ci.low)) + "H" + px(cx + 4) + "M" + px(cx - 4) + " " + px(y(ms.ci.high)) + "H" +
           px(cx + 4) + "\"/>\n";
    }
    s += "<text class=\"axis\" x=\"" + px(x0 + group_w / 2) + "\" y=\"" + px(top + plot_h + 18) +
         "\" text-anchor=\"middle\">" + html_escape(r.metrics[m]) + "</text>\n";
  }
  for (size_t k = 0; k < systems; k++) {
    const double ly = top + plot_h + 28 + legend_h * static_cast<double>(k);
    s += "<rect x=\"" + px(left) + "\" y=\"" + px(ly + 4) + "\" width=\"14\" height=\"14\" fill=\"" + system_colour(k) +
         "\"/><text x=\"" + px(left + 20) + "\" y=\"" + px(ly + 16) + "\">" + html_escape(r.systems[k].name) +
         (static_cast<int>(k) == r.baseline ? " (baseline)" : "") + "</text>\n";
  }
  return s + "</svg>\n";
}

// 21 bars of per-query differences in [−1, 1]: ten of width 0.1 below zero, one for exactly zero
// (ties), ten above zero; values outside [−1, 1] fall in the end bars.
std::string difference_histogram(const SystemComparison& sc, const ComparisonReport& r) {
  int64_t counts[21] = {};
  for (double d : sc.primary_differences) {
    int bin = 10;
    if (d < 0) bin = std::clamp(static_cast<int>(std::floor((d + 1) / 0.1)), 0, 9);
    if (d > 0) bin = 11 + std::clamp(static_cast<int>(std::floor(d / 0.1)), 0, 9);
    counts[bin]++;
  }
  const int64_t most = std::max<int64_t>(1, *std::max_element(counts, counts + 21));
  const double bar = 20, left = 40, top = 12, plot_h = 140, width = left + 21 * bar + 16, height = top + plot_h + 40;
  const std::string& base = r.systems[static_cast<size_t>(r.baseline)].name;
  std::string s = "<svg role=\"img\" width=\"" + px(width) + "\" height=\"" + px(height) + "\" viewBox=\"0 0 " +
                  px(width) + " " + px(height) + "\">\n<title>Histogram of " + html_escape(sc.name) + " minus " +
                  html_escape(base) + " on " + html_escape(r.metrics[0]) + ", per query</title>\n";
  s += "<line class=\"grid\" x1=\"" + px(left) + "\" x2=\"" + px(left + 21 * bar) + "\" y1=\"" + px(top + plot_h) +
       "\" y2=\"" + px(top + plot_h) + "\"/>\n";
  s += "<text class=\"axis\" x=\"" + px(left - 6) + "\" y=\"" + px(top + 10) + "\" text-anchor=\"end\">" +
       std::to_string(most) + "</text>\n";
  for (int i = 0; i < 21; i++) {
    const double h = plot_h * static_cast<double>(counts[i]) / static_cast<double>(most);
    const double x = left + i * bar;
    std::string range = i < 10   ? "[" + fmt("%.1f", -1 + 0.1 * i) + ", " + fmt("%.1f", -0.9 + 0.1 * i) + ")"
                        : i == 10 ? "exactly 0"
                                  : "[" + fmt("%.1f", 0.1 * (i - 11)) + ", " + fmt("%.1f", 0.1 * (i - 10)) + ")";
    if (i == 11) range = "(0.0, 0.1)";
    if (i == 0) range = "below -0.9";
    if (i == 20) range = "above 0.9";
    const char* cls = i < 10 ? "loss" : i == 10 ? "tie" : "win";
    s += "<rect class=\"" + std::string(cls) + "\" x=\"" + px(x + 1) + "\" y=\"" + px(top + plot_h - h) +
         "\" width=\"" + px(bar - 2) + "\" height=\"" + px(h) + "\"><title>" + range + ": " +
         std::to_string(counts[i]) + " queries</title></rect>\n";
  }
  for (int t = 0; t <= 2; t++) {
    const double x = left + (t == 0 ? 0 : t == 1 ? 10.5 * bar : 21 * bar);
    s += "<text class=\"axis\" x=\"" + px(x) + "\" y=\"" + px(top + plot_h + 16) + "\" text-anchor=\"middle\">" +
         (t == 0 ? "-1" : t == 1 ? "0" : "+1") + "</text>\n";
  }
  s += "<text class=\"axis\" x=\"" + px(left + 10.5 * bar) + "\" y=\"" + px(top + plot_h + 32) +
       "\" text-anchor=\"middle\">" + html_escape(sc.name) + " − " + html_escape(base) + " (" +
       html_escape(r.metrics[0]) + ")</text>\n";
  return s + "</svg>\n";
}

std::string rank_cell(int64_t rank) { return rank > 0 ? std::to_string(rank) : "none"; }

const char* kStyle =
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em;color:#222;max-width:72em}"
    "table{border-collapse:collapse;margin:0.5em 0 1.5em}"
    "th,td{border:1px solid #ccc;padding:0.25em 0.6em;text-align:left;vertical-align:top}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    "th{background:#f3f3f3}.grid{stroke:#ddd}.whisker{stroke:#222;stroke-width:1.5;fill:none}"
    ".axis{font-size:11px;fill:#555}svg text{font-size:12px}"
    ".loss{fill:#D55E00}.tie{fill:#999}.win{fill:#009E73}.small{color:#666;font-size:90%}";

}  // namespace

std::string report_html(const ComparisonReport& r) {
  const std::string pct = fmt("%.0f", r.confidence * 100);
  const std::string& base = r.systems[static_cast<size_t>(r.baseline)].name;
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>embtune eval report</title>\n";
  h += "<style>" + std::string(kStyle) + "</style>\n</head>\n<body>\n<h1>embtune eval report</h1>\n";
  h += "<p>" + std::to_string(r.query_ids.size()) + " queries, " + std::to_string(r.systems.size()) +
       (r.systems.size() == 1 ? " system" : " systems") + (r.systems.size() > 1 ? ", baseline <b>" + html_escape(base) + "</b>" : "") +
       ". Intervals: " + pct + "% percentile bootstrap over queries (" + std::to_string(r.resamples) +
       " resamples)" + (r.systems.size() > 1 ? "; p: paired randomisation test, two-sided (" + std::to_string(r.trials) + " trials)" : "") +
       "; seed " + std::to_string(r.seed) + ".</p>\n";

  h += "<h2>Systems</h2>\n<table>\n<tr><th>system</th>";
  for (const std::string& m : r.metrics) h += "<th>" + html_escape(m) + "</th>";
  h += "</tr>\n";
  for (const SystemComparison& s : r.systems) {
    h += "<tr><td>" + html_escape(s.name) + "</td>";
    for (const MetricSummary& ms : s.metrics)
      h += "<td class=\"n\">" + num(ms.mean) + " <span class=\"small\">" + interval_text(ms.ci, "%.4f") + "</span></td>";
    h += "</tr>\n";
  }
  h += "</table>\n" + bar_chart(r);

  if (r.systems.size() > 1) {
    h += "<h2>Differences to " + html_escape(base) + "</h2>\n<table>\n<tr><th>system</th><th>metric</th><th>difference</th>"
         "<th>" + pct + "% interval</th><th>p</th><th>wins</th><th>ties</th><th>losses</th></tr>\n";
    for (const SystemComparison& s : r.systems)
      for (size_t m = 0; m < s.differences.size(); m++) {
        const MetricDifference& d = s.differences[m];
        h += "<tr><td>" + html_escape(s.name) + "</td><td>" + html_escape(r.metrics[m]) + "</td><td class=\"n\">" +
             fmt("%+.4f", d.mean) + "</td><td class=\"n\">" + interval_text(d.ci, "%+.4f") + "</td><td class=\"n\">" +
             num(d.p_value) + (d.exact ? " (exact)" : "") + "</td><td class=\"n\">" + std::to_string(d.wins) +
             "</td><td class=\"n\">" + std::to_string(d.ties) + "</td><td class=\"n\">" + std::to_string(d.losses) +
             "</td></tr>\n";
      }
    h += "</table>\n<p class=\"small\">difference: mean over queries of system − baseline. wins / ties / losses: "
         "queries where the system scores above / equal to / below the baseline.</p>\n";
    for (const SystemComparison& s : r.systems) {
      if (s.differences.empty()) continue;
      h += "<h2>" + html_escape(s.name) + " against " + html_escape(base) + "</h2>\n" + difference_histogram(s, r);
      h += "<p>" + std::to_string(s.worse_total) + " of " + std::to_string(r.query_ids.size()) + " queries are worse on " +
           html_escape(r.metrics[0]) + (s.worse.size() < static_cast<size_t>(s.worse_total) ? "; the worst " + std::to_string(s.worse.size()) + " are listed" : "") +
           ". Rank: of the first relevant document in each run (none: not retrieved).</p>\n";
      if (s.worse.empty()) continue;
      h += "<table>\n<tr><th>query</th><th>text</th><th>" + html_escape(base) + "</th><th>" + html_escape(s.name) +
           "</th><th>rank " + html_escape(base) + "</th><th>rank " + html_escape(s.name) + "</th></tr>\n";
      for (const WorseQuery& w : s.worse)
        h += "<tr><td>" + html_escape(w.query_id) + "</td><td>" + html_escape(w.text) + "</td><td class=\"n\">" +
             num(w.baseline_value) + "</td><td class=\"n\">" + num(w.system_value) + "</td><td class=\"n\">" +
             rank_cell(w.baseline_rank) + "</td><td class=\"n\">" + rank_cell(w.system_rank) + "</td></tr>\n";
      h += "</table>\n";
    }
  }
  return h + "</body>\n</html>\n";
}

}  // namespace embtune
