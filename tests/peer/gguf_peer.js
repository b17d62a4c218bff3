#!/usr/bin/env node
// Independent GGUF reader: Hugging Face's npm @huggingface/gguf 0.4.6 parsing a file embtune wrote,
// for tests/test_gguf.cpp. Not a loader: it prints what the header says, nothing is computed.
//
// Usage: gguf_peer.js FILE.gguf
//   Prints one JSON object: {"version", "tensor_data_offset", "keys": {key: {type, value}},
//   "tensors": {name: {"shape": [ne0, ne1, ...], "dtype": ggml type number, "offset"}}}.
//   Long arrays are summarised as {"length", "first"} (their first 5 elements); 64-bit integers
//   become numbers. Run with NODE_PATH pointing at build/npm/node_modules (tests/test_util.h).
const { gguf, GGUFValueType } = require("@huggingface/gguf");
const path = require("path");

function plain(v) {
  if (typeof v === "bigint") return Number(v);
  if (Array.isArray(v)) return v.length > 16 ? { length: v.length, first: v.slice(0, 5).map(plain) } : v.map(plain);
  return v;
}

async function main() {
  const file = process.argv[2];
  if (!file) {
    console.error("usage: gguf_peer.js FILE.gguf");
    process.exit(2);
  }
  const out = await gguf(path.resolve(file), { allowLocalFile: true, typedMetadata: true });
  const keys = {};
  for (const [k, tv] of Object.entries(out.typedMetadata)) {
    const type = GGUFValueType[tv.type];
    keys[k] = { type, value: plain(tv.value) };
    if (tv.subType !== undefined) keys[k].subtype = GGUFValueType[tv.subType];
  }
  const tensors = {};
  for (const t of out.tensorInfos) tensors[t.name] = { shape: t.shape.map(Number), dtype: t.dtype, offset: Number(t.offset) };
  console.log(JSON.stringify({ version: Number(out.metadata.version), tensor_data_offset: Number(out.tensorDataOffset),
                               keys, tensors }));
}

main().catch((e) => {
  console.error(String(e && e.stack ? e.stack : e));
  process.exit(1);
});
