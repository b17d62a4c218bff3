#!/usr/bin/env node
// Trains a WordPiece vocabulary with Hugging Face tokenizers (npm binding) for the parity test of
// `embtune train-tokenizer`: a tokenizer.json with BertNormalizer (lowercase unless --no-lowercase),
// BertPreTokenizer and an empty WordPiece model, trained on the files with the model's default
// trainer (the binding exposes no trainer settings: vocab_size 30000, min_frequency 0, no special
// tokens, no alphabet limit, prefix "##"). Prints the resulting vocab as one JSON object
// token -> id. Not a tokenizer runner.
//
// Usage: NODE_PATH=DIR/node_modules train_wordpiece_peer.js [--no-lowercase] FILE...
const t = require("tokenizers");

const args = process.argv.slice(2);
let lowercase = true;
const files = [];
for (const a of args) {
  if (a === "--no-lowercase") lowercase = false;
  else files.push(a);
}
if (!files.length) {
  console.error("usage: train_wordpiece_peer.js [--no-lowercase] FILE...");
  process.exit(2);
}
const spec = {
  version: "1.0",
  truncation: null,
  padding: null,
  added_tokens: [],
  normalizer: {
    type: "BertNormalizer", clean_text: true, handle_chinese_chars: true,
    strip_accents: null, lowercase: lowercase,
  },
  pre_tokenizer: { type: "BertPreTokenizer" },
  post_processor: null,
  decoder: null,
  model: {
    type: "WordPiece", unk_token: "[UNK]", continuing_subword_prefix: "##",
    max_input_chars_per_word: 100, vocab: {},
  },
};
const tok = t.Tokenizer.fromString(JSON.stringify(spec));
tok.train(files);
const vocab = tok.getVocab(false);
const sorted = Object.entries(vocab).sort((x, y) => x[1] - y[1]);
const out = Object.create(null);
for (const [k, v] of sorted) out[k] = v;
process.stdout.write(JSON.stringify(out) + "\n");
