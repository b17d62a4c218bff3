#!/usr/bin/env node
// Many runs of shared/reference/tokenize_peer.js in one node process: each job names a
// tokenizer.json, a texts file and tokenize_peer.js's flags, and gets the same encodings (HF
// tokenizers through npm). Not a different reference: it only saves a node start and a
// tokenizer-per-line round trip per configuration, for tests that check dozens of them.
//
// Usage: NODE_PATH=DIR/node_modules tokenize_jobs_peer.js JOBS_FILE
//   JOBS_FILE: one JSON object per line, {"tokenizer": PATH, "texts": PATH, "args": "--no-special"}
//     ("args" as tokenize_peer.js takes them: --max-length N, --no-special).
//   Prints one JSON line per job: {"encodings": [{"ids": [...], "offsets": [[s,e],...]}, ...]}
//   with one encoding per text line (a line holding a JSON string decoded first), or
//   {"error": "..."} when the peer refuses the job (its tokenizer.json, say).
const { Tokenizer } = require("tokenizers");
const fs = require("fs");

// The lines of a texts file as tokenize_peer.js reads them.
function readTexts(path) {
  const lines = fs.readFileSync(path, "utf8").split("\n");
  if (lines.length && lines[lines.length - 1] === "") lines.pop();
  return lines.map((line) => {
    if (line.startsWith('"')) { try { return JSON.parse(line); } catch (e) {} }
    return line;
  });
}

// encodeBatch encodes each text as encode does (HF's encode_batch_char_offsets maps
// encode_char_offsets over the inputs; padding is off), on all cores.
async function runJob(job, textsCache) {
  const args = (job.args || "").split(/\s+/).filter((a) => a !== "");
  const tok = Tokenizer.fromFile(job.tokenizer);
  const maxLen = args.includes("--max-length") ? parseInt(args[args.indexOf("--max-length") + 1]) : 0;
  const special = !args.includes("--no-special");
  if (maxLen > 0) tok.setTruncation(maxLen);
  tok.disablePadding();
  if (!textsCache.has(job.texts)) textsCache.set(job.texts, readTexts(job.texts));
  const encodings = await tok.encodeBatch(textsCache.get(job.texts), { addSpecialTokens: special });
  return encodings.map((enc) => JSON.stringify({ ids: enc.getIds(), offsets: enc.getOffsets() }));
}

async function main() {
  if (process.argv.length < 3) {
    console.error("usage: tokenize_jobs_peer.js JOBS_FILE");
    process.exit(2);
  }
  const jobs = fs.readFileSync(process.argv[2], "utf8").split("\n").filter((l) => l !== "");
  const textsCache = new Map();
  for (const line of jobs) {
    let out;
    try {
      out = '{"encodings":[' + (await runJob(JSON.parse(line), textsCache)).join(",") + "]}";
    } catch (e) {
      out = JSON.stringify({ error: String(e && e.message ? e.message : e) });
    }
    process.stdout.write(out + "\n");
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
