#!/usr/bin/env node
// Reference for pair encoding and truncation: Hugging Face `tokenizers` (npm, 0.23.2) encodes
// each pair of texts as encode(a, b), as shared/reference/tokenize_peer.js does for single texts.
// Not a test by itself: tests/test_tokenizer_pairs.cpp compares embtune's output with this.
//
// Usage: tokenize_pair_peer.js TOKENIZER_JSON PAIRS_FILE [--max-length N] [--stride S]
//          [--strategy longest_first|only_first|only_second] [--direction right|left]
//          [--no-special]
//        tokenize_pair_peer.js TOKENIZER_JSON PAIRS_FILE --configs CONFIGS_JSON
//   PAIRS_FILE: one JSON array of two strings per line. CONFIGS_JSON: a JSON array of
//   {"max_length", "stride", "strategy", "direction", "special"} run one after another (one
//   node start for many settings); the output holds all pairs for each in turn.
//   Prints one JSON object per line: {"ids", "type_ids", "offsets", "sequence_ids" (null for
//   special tokens), "overflowing": [{the same four}, ...]}, or {"error": message} when HF
//   refuses the pair. Offsets count Unicode code points of text a or text b.
//
// HF aborts the whole process (a Rust panic across the N-API boundary) where Encoding::truncate
// asserts stride < max_len. To report such pairs as errors instead, each pair is first encoded
// with stride 0 (truncate_encodings picks the lengths before any stride matters): a text cut to n > 0 tokens (its tokens in some
// overflowing window differ from the kept ones) with stride >= n is the panic, reported as
// {"error": "panic: ..."} without running it.
const { Tokenizer } = require("tokenizers");
const fs = require("fs");

function option(args, name, fallback) {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
}

// Sets the truncation of `tok` (none when maxLength is 0); returns the error text or null.
function setTruncation(tok, maxLength, options) {
  tok.disableTruncation();
  if (maxLength <= 0) return null;
  try {
    tok.setTruncation(maxLength, options);
    return null;
  } catch (e) {
    return String(e);
  }
}

function describe(enc) {
  return {
    ids: enc.getIds(),
    type_ids: enc.getTypeIds(),
    offsets: enc.getOffsets(),
    sequence_ids: enc.getSequenceIds(),
  };
}

// The tokens (id and offsets) of sequence `seq` in `enc`, as one string.
function part(enc, seq) {
  const ids = enc.getIds(), offsets = enc.getOffsets(), seqs = enc.getSequenceIds();
  const out = [];
  for (let i = 0; i < ids.length; i++) if (seqs[i] === seq) out.push(ids[i], offsets[i][0], offsets[i][1]);
  return JSON.stringify(out);
}

const strategies = { longest_first: "LongestFirst", only_first: "OnlyFirst", only_second: "OnlySecond" };

// One output line per pair for configuration `c` ({max_length, stride, strategy, direction,
// special}).
async function run(tok, pairs, c) {
  const strategy = strategies[c.strategy || "longest_first"];
  const direction = c.direction || "right";
  if (!strategy || (direction !== "right" && direction !== "left")) throw new Error("bad strategy or direction");
  const maxLength = c.max_length || 0, stride = c.stride || 0, special = c.special !== false;
  const options = { stride, strategy, direction };
  const panics = new Array(pairs.length).fill(null);
  if (maxLength > 0 && stride > 0 && !setTruncation(tok, maxLength, { ...options, stride: 0 })) {
    for (let i = 0; i < pairs.length; i++) {
      let p;
      try {
        p = await tok.encode(pairs[i][0], pairs[i][1], { addSpecialTokens: special });
      } catch (e) {
        continue;  // the same error comes back below
      }
      const windows = p.getOverflowing();
      for (const seq of [0, 1]) {
        const kept = p.getSequenceIds().filter((s) => s === seq).length;
        const cut = windows.some((w) => part(w, seq) !== part(p, seq));
        if (cut && kept > 0 && stride >= kept) panics[i] = `panic: stride ${stride} >= max_len ${kept}`;
      }
    }
  }
  const setupError = setTruncation(tok, maxLength, options);
  const out = [];
  for (let i = 0; i < pairs.length; i++) {
    if (setupError || panics[i]) {
      out.push(JSON.stringify({ error: setupError || panics[i] }));
      continue;
    }
    try {
      const enc = await tok.encode(pairs[i][0], pairs[i][1], { addSpecialTokens: special });
      const d = describe(enc);
      d.overflowing = enc.getOverflowing().map(describe);
      out.push(JSON.stringify(d));
    } catch (e) {
      out.push(JSON.stringify({ error: String(e) }));
    }
  }
  return out;
}

async function main() {
  const args = process.argv.slice(2);
  if (args.length < 2) {
    console.error("usage: tokenize_pair_peer.js TOKENIZER_JSON PAIRS_FILE [--max-length N] [--stride S] " +
                  "[--strategy longest_first|only_first|only_second] [--direction right|left] [--no-special] " +
                  "| --configs CONFIGS_JSON");
    process.exit(2);
  }
  // --configs FILE: a JSON array of {max_length, stride, strategy, direction, special}; the output
  // is every pair's line for the first configuration, then for the next, and so on.
  const configs = args.includes("--configs")
    ? JSON.parse(fs.readFileSync(option(args, "--configs"), "utf8"))
    : [{
        max_length: parseInt(option(args, "--max-length", "0")),
        stride: parseInt(option(args, "--stride", "0")),
        strategy: option(args, "--strategy", "longest_first"),
        direction: option(args, "--direction", "right"),
        special: !args.includes("--no-special"),
      }];
  const lines = fs.readFileSync(args[1], "utf8").split("\n");
  if (lines.length && lines[lines.length - 1] === "") lines.pop();
  const pairs = lines.map((line) => JSON.parse(line));
  const tok = Tokenizer.fromFile(args[0]);
  tok.disablePadding();
  const out = [];
  for (const c of configs) out.push(...(await run(tok, pairs, c)));
  process.stdout.write(out.join("\n") + (out.length ? "\n" : ""));
}
main().catch((e) => { console.error(e); process.exit(1); });
