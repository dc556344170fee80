#!/usr/bin/env node
// Hugging Face tokenizers' encode speed and ids, through its Node binding (npm `tokenizers`: the same Rust core and
// version as the Python package), beside build/bench/bench_tokenizer on the same machine.
//   node bench/tokenizer_peer.js TOKENIZER.json CORPUS_FILE... [--cases CASES.jsonl] [--seconds S]
// Each file is encoded whole, one call at a time, again and again for at least S seconds (default 2): one JSON line
// per file with its bytes, tokens and MB/s, and a last line for the files joined by newlines, as bench_tokenizer
// prints them. --cases: a fixture's cases.jsonl ({"text", "ids"} per line, written by the Python package); the
// line it prints counts the cases whose ids the binding reproduces (so the peer is known to be the same tokenizer).
"use strict";
const fs = require("fs");
const { Tokenizer } = require("tokenizers");

async function main() {
  const args = process.argv.slice(2);
  let seconds = 2.0;
  let cases = null;
  const files = [];
  for (let i = 1; i < args.length; ++i) {
    if (args[i] === "--seconds") seconds = Number(args[++i]);
    else if (args[i] === "--cases") cases = args[++i];
    else files.push(args[i]);
  }
  if (args.length < 2) {
    console.error("usage: node bench/tokenizer_peer.js TOKENIZER.json CORPUS_FILE... [--cases F] [--seconds S]");
    process.exit(2);
  }
  const tok = Tokenizer.fromFile(args[0]);
  const version = require("tokenizers/package.json").version;
  if (cases) {
    let same = 0, total = 0;
    for (const line of fs.readFileSync(cases, "utf8").split("\n")) {
      if (!line.trim()) continue;
      const c = JSON.parse(line);
      const ids = Array.from((await tok.encode(c.text)).getIds());
      total += 1;
      if (ids.length === c.ids.length && ids.every((v, i) => v === c.ids[i])) same += 1;
    }
    console.log(JSON.stringify({ bench: "tokenizer-parity", impl: `tokenizers ${version} (node)`, cases: total, same }));
  }
  const measure = async (name, text) => {
    let tokens = (await tok.encode(text)).getIds().length;
    let runs = 0;
    const start = process.hrtime.bigint();
    let elapsed = 0;
    do {
      tokens = (await tok.encode(text)).getIds().length;
      runs += 1;
      elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    } while (elapsed < seconds);
    const bytes = Buffer.byteLength(text, "utf8");
    console.log(JSON.stringify({ bench: "tokenizer", impl: `tokenizers ${version} (node)`, file: name, bytes, tokens,
                                 mb_per_s: Number((bytes * runs / elapsed / 1e6).toFixed(3)) }));
  };
  let all = "";
  for (const f of files) {
    const text = fs.readFileSync(f, "utf8");
    all += text + "\n";
    await measure(f, text);
  }
  await measure("(all, joined by newlines)", all);
}

main().catch((e) => { console.error(e); process.exit(1); });
