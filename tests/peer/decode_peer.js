#!/usr/bin/env node
// Reference decoder: Hugging Face `tokenizers` 0.23 (npm binding) turning ids back into text, for
// the decoder parity test (tests/test_tokenizer_decoders.cpp). Not an encoder: tokenize_peer.js
// in shared/reference does that.
//
// Usage: decode_peer.js TOKENIZER_JSON IDS_FILE [--skip-special]
//   IDS_FILE: one JSON array of ids per line.
//   Prints one JSON string per line: tok.decode(ids, skipSpecialTokens), where skipSpecialTokens
//   is true only with --skip-special (the npm binding has no default).
// Run with NODE_PATH pointing at the node_modules holding tokenizers (tests/test_util.h).
const { Tokenizer } = require("tokenizers");
const fs = require("fs");

async function main() {
  const args = process.argv.slice(2);
  if (args.length < 2) {
    console.error("usage: decode_peer.js TOKENIZER_JSON IDS_FILE [--skip-special]");
    process.exit(2);
  }
  const tok = Tokenizer.fromFile(args[0]);
  const skipSpecial = args.includes("--skip-special");
  const lines = fs.readFileSync(args[1], "utf8").split("\n");
  if (lines.length && lines[lines.length - 1] === "") lines.pop();
  const ids = lines.map((line, i) => {
    try {
      return JSON.parse(line);
    } catch (e) {
      throw new Error(`${args[1]}: line ${i + 1}: not JSON (${e.message})`);
    }
  });
  // All lines in flight at once (each decode is a promise); Promise.all keeps their order.
  const texts = await Promise.all(ids.map((line) => tok.decode(line, skipSpecial)));
  const out = texts.map((t) => JSON.stringify(t));
  process.stdout.write(out.length ? out.join("\n") + "\n" : "");
}
main().catch((e) => { console.error(e); process.exit(1); });
