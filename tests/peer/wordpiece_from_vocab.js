#!/usr/bin/env node
// Writes the tokenizer.json that BertTokenizerFast builds from a bare BERT vocab.txt (and the
// tokenizer_config.json beside it, if any), using Hugging Face tokenizers itself, so that
// tokenize_peer.js can serve as the reference for vocab.txt models. Not a tokenizer runner.
//
// Usage: NODE_PATH=DIR/node_modules wordpiece_from_vocab.js VOCAB_TXT OUT_TOKENIZER_JSON
const fs = require("fs");
const path = require("path");
const t = require("tokenizers");

const [vocabPath, outPath] = process.argv.slice(2);
if (!vocabPath || !outPath) {
  console.error("usage: wordpiece_from_vocab.js VOCAB_TXT OUT_TOKENIZER_JSON");
  process.exit(2);
}

// transformers' load_vocab: one token per line, the line number is the id, a repeated token
// keeps its last line.
const text = fs.readFileSync(vocabPath, "utf8");
const rows = text.split("\n");
if (rows.length && rows[rows.length - 1] === "") rows.pop();
const vocab = Object.create(null);  // no prototype: tokens such as "__proto__" stay plain keys
rows.forEach((row, id) => { vocab[row.endsWith("\r") ? row.slice(0, -1) : row] = id; });

let config = {};
const configPath = path.join(path.dirname(vocabPath), "tokenizer_config.json");
if (fs.existsSync(configPath)) config = JSON.parse(fs.readFileSync(configPath, "utf8"));
const name = (key, fallback) => {
  const v = config[key];
  if (typeof v === "string") return v;
  if (v && typeof v.content === "string") return v.content;
  return fallback;
};
const unk = name("unk_token", "[UNK]"), cls = name("cls_token", "[CLS]"), sep = name("sep_token", "[SEP]");
const pad = name("pad_token", "[PAD]"), mask = name("mask_token", "[MASK]");
const option = (key, fallback) => (config[key] === undefined || config[key] === null ? fallback : config[key]);

const tok = new t.Tokenizer(t.WordPiece.init(vocab, { unkToken: unk }));
const normalizerOptions = {
  cleanText: true,
  handleChineseChars: option("tokenize_chinese_chars", true),
  lowercase: option("do_lower_case", true),
};
if (config.strip_accents !== undefined && config.strip_accents !== null) {
  normalizerOptions.stripAccents = config.strip_accents;
}
tok.setNormalizer(t.bertNormalizer(normalizerOptions));
tok.setPreTokenizer(t.bertPreTokenizer());
tok.setPostProcessor(t.bertProcessing([sep, vocab[sep]], [cls, vocab[cls]]));
tok.setDecoder(t.wordPieceDecoder("##"));
tok.addAddedTokens([pad, unk, cls, sep, mask]
  .filter((s) => vocab[s] !== undefined)
  .map((s) => new t.AddedToken(s, true, { normalized: false })));
tok.save(outPath);
