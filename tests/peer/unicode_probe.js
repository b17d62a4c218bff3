#!/usr/bin/env node
// Asks Hugging Face tokenizers (npm `tokenizers`) how its BERT stages treat every code point, one
// line per code point that any stage touches. Not a tokenizer: it feeds single characters only.
//
// Usage: NODE_PATH=... unicode_probe.js > probe.txt   (or require() it for probe_lines()).
// Line format: "<hex code point> <fact> <fact> ...", facts being
//   clean=DEL | clean=20     BertNormalizer clean_text removes it | maps it to a space
//   cjk                      handle_chinese_chars pads it with spaces
//   nfd=<hex> <hex>...       NFD changes it (canonical decomposition)
//   mn                       strip_accents removes it (checked only where NFD keeps it as is)
//   ccc                      NFD reorders it (non-zero combining class; only where NFD keeps it)
//   lower=<hex>...           Lowercase changes it
//   punct | ws               BertPreTokenizer isolates it | splits on it
//   nfkd                     NFKD changes it (compatibility or canonical decomposition)
//   mark                     the StripAccents normalizer removes it (HF's is_combining_mark)
//   num                      the Digits pre-tokenizer separates it (Rust's char::is_numeric)
//   word                     Rust regex \w (the Whitespace pre-tokenizer's \w+|[^\w\s]+) matches it
const t = require("tokenizers");

function probe_lines() {
  const clean = t.bertNormalizer({ cleanText: true, handleChineseChars: false, stripAccents: false, lowercase: false });
  const chinese = t.bertNormalizer({ cleanText: false, handleChineseChars: true, stripAccents: false, lowercase: false });
  const strip = t.bertNormalizer({ cleanText: false, handleChineseChars: false, stripAccents: true, lowercase: false });
  const nfd = t.nfdNormalizer();
  const lower = t.lowercase();
  const pre = t.bertPreTokenizer();
  const nfkd = t.nfkdNormalizer();
  const marks = t.stripAccentsNormalizer();
  const digits = t.digitsPreTokenizer(true);
  const whitespace = t.whitespacePreTokenizer();
  const hex = (s) => Array.from(s).map((c) => c.codePointAt(0).toString(16)).join(" ");
  const lines = [];
  for (let c = 0; c <= 0x10ffff; c++) {
    if (c >= 0xd800 && c <= 0xdfff) continue;  // not scalar values; JS would substitute U+FFFD
    const s = String.fromCodePoint(c);
    const facts = [];
    const cl = clean.normalizeString(s);
    if (cl !== s) facts.push(cl === "" ? "clean=DEL" : "clean=" + hex(cl));
    if (chinese.normalizeString(s) !== s) facts.push("cjk");
    const n = nfd.normalizeString(s);
    if (n !== s) {
      facts.push("nfd=" + hex(n));
    } else {
      if (strip.normalizeString(s) === "") facts.push("mn");
      // A non-zero class moves the character before U+0334 (class 1) or after U+0301 (230).
      if (nfd.normalizeString(s + "\u0334") !== s + "\u0334" ||
          nfd.normalizeString("a\u0301" + s) !== "a\u0301" + s) facts.push("ccc");
    }
    const lo = lower.normalizeString(s);
    if (lo !== s) facts.push("lower=" + hex(lo));
    const words = pre.preTokenizeString("a" + s + "a").length;
    if (words === 3) facts.push("punct");
    else if (words === 2) facts.push("ws");
    if (nfkd.normalizeString(s) !== s) facts.push("nfkd");
    if (marks.normalizeString(s) === "") facts.push("mark");
    if (digits.preTokenizeString("a" + s + "a").length === 3) facts.push("num");
    const w = whitespace.preTokenizeString("a" + s);
    if (w.length === 1 && w[0][0] === "a" + s) facts.push("word");
    if (facts.length) lines.push(c.toString(16) + " " + facts.join(" "));
  }
  return lines;
}

module.exports = { probe_lines };

if (require.main === module) process.stdout.write(probe_lines().join("\n") + "\n");
