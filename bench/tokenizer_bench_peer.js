#!/usr/bin/env node
// The Hugging Face tokenizers side of bench/run_tokenizer_bench.sh: encoding throughput of the npm
// binding (tokenizers@0.23.2) on the lines of a file, measured as `embtune bench tokenize` measures
// embtune's. Not a parity check (tests/test_tokenizer_parity.cpp is): it counts tokens and hashes ids.
//
// Usage: NODE_PATH=DIR/node_modules tokenizer_bench_peer.js TOKENIZER_JSON FILE [--repeat R] [--batch B]
//          [--no-special] [--threads N]
//   FILE: one text per line, a line holding a JSON string decoded first (as tokenize_peer.js reads).
//   --threads N sets RAYON_NUM_THREADS, the size of the pool encodeBatch runs on, before the binding
//   loads; without it the environment's RAYON_NUM_THREADS holds (rayon's default: every core).
// One untimed encodeBatch pass (it counts tokens and hashes the ids), then R timed passes of
// "encode" (one text a call, each awaited before the next; only at one thread, as embtune) and of
// "encodeBatch" (B lines a call). Prints one JSON line per mode, the shape of embtune's.
const fs = require("fs");
const os = require("os");

function flagValue(args, name, fallback) {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const v = parseInt(args[i + 1], 10);
  if (!(v > 0)) {
    console.error(`tokenizer_bench_peer.js: ${name} needs a positive integer`);
    process.exit(2);
  }
  return v;
}

// Word-wise FNV-1a over each text's token count, then its ids: embtune's ids_hash_update.
function idsHashUpdate(h, ids) {
  h = Math.imul(h ^ ids.length, 16777619) >>> 0;
  for (const id of ids) h = Math.imul(h ^ id, 16777619) >>> 0;
  return h;
}

async function main() {
  const args = process.argv.slice(2);
  if (args.length < 2 || args[0].startsWith("--") || args[1].startsWith("--")) {
    console.error(
      "usage: tokenizer_bench_peer.js TOKENIZER_JSON FILE [--repeat R] [--batch B] [--no-special] [--threads N]");
    process.exit(2);
  }
  const repeat = flagValue(args, "--repeat", 3);
  const batch = flagValue(args, "--batch", 256);
  const special = !args.includes("--no-special");
  if (args.includes("--threads")) process.env.RAYON_NUM_THREADS = String(flagValue(args, "--threads", 0));
  // The binding runs encodeBatch in parallel unless this says false; say true in case it was.
  process.env.TOKENIZERS_PARALLELISM = "true";
  const threads = parseInt(process.env.RAYON_NUM_THREADS || "", 10) || os.availableParallelism();
  const { Tokenizer } = require("tokenizers");  // after the environment is set: rayon reads it once

  const tok = Tokenizer.fromFile(args[0]);
  tok.disablePadding();
  tok.disableTruncation();
  const lines = fs.readFileSync(args[1], "utf8").split("\n");
  if (lines.length && lines[lines.length - 1] === "") lines.pop();
  const texts = lines.map((line) => {
    if (line.startsWith('"')) {
      try { return JSON.parse(line); } catch (e) {}
    }
    return line;
  });
  if (!texts.length) {
    console.error(`tokenizer_bench_peer.js: ${args[1]}: no lines to tokenize`);
    process.exit(1);
  }
  let bytes = 0;
  for (const t of texts) bytes += Buffer.byteLength(t, "utf8");
  const batches = [];
  for (let i = 0; i < texts.length; i += batch) batches.push(texts.slice(i, i + batch));
  const opts = { addSpecialTokens: special };

  let tokens = 0, hash = 2166136261;
  for (const b of batches) {
    for (const enc of await tok.encodeBatch(b, opts)) {
      const ids = enc.getIds();
      tokens += ids.length;
      hash = idsHashUpdate(hash, ids);
    }
  }
  const base = {
    tokenizer: args[0], input: args[1], texts: texts.length, bytes, tokens, ids_hash: hash, threads, repeat,
    batch, special,
  };
  // cpu_seconds: every thread of the process, as embtune's (the wall clock also counts the time
  // other processes held the cores).
  const cpuSeconds = (c0) => {
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / 1e6;
  };
  const report = (mode, seconds, cpu_seconds, counted) => {
    const r = {
      ...base, mode, seconds, cpu_seconds, mb_per_s: (repeat * bytes) / seconds / 1e6, texts_per_s: (repeat * texts.length) / seconds,
      tokens_per_s: (repeat * tokens) / seconds,
    };
    if (counted !== tokens * repeat) r.tokens_mismatch = counted / repeat;  // passes must agree
    console.log(JSON.stringify(r));
  };

  if (threads === 1) {
    let counted = 0;
    const t0 = process.hrtime.bigint(), c0 = process.cpuUsage();
    for (let r = 0; r < repeat; r++)
      for (const t of texts) counted += (await tok.encode(t, null, opts)).getLength();
    report("encode", Number(process.hrtime.bigint() - t0) / 1e9, cpuSeconds(c0), counted);
  }
  let counted = 0;
  const t0 = process.hrtime.bigint(), c0 = process.cpuUsage();
  for (let r = 0; r < repeat; r++)
    for (const b of batches)
      for (const enc of await tok.encodeBatch(b, opts)) counted += enc.getLength();
  report("encodeBatch", Number(process.hrtime.bigint() - t0) / 1e9, cpuSeconds(c0), counted);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
