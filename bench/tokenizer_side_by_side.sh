#!/usr/bin/env bash
# ftmamba's tokenizer beside Hugging Face tokenizers on this machine, in one interleaved series: both fixture
# tokenizers (tests/fixtures/hf_tokenizer: GPT-NeoX's pipeline and the prefix-space one), the corpus of the
# project's docs (docs/*.md and README.md, each encoded whole, then all joined), ROUNDS rounds (default 3) of
# bench_tokenizer then the peer (bench/tokenizer_peer.js, npm `tokenizers`, installed under BUILD/npm on first use).
# Every JSON line is printed; the last lines give each side's median MB/s on the joined corpus and their ratio.
#   bench/tokenizer_side_by_side.sh [BUILD]     (BUILD: a build folder with bench/bench_tokenizer, default build)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
ROUNDS=${ROUNDS:-3}
VERSION=0.23.2  # the version the fixtures were written with
[ -x "$BUILD/bench/bench_tokenizer" ] || { echo "tokenizer_side_by_side: build $BUILD/bench/bench_tokenizer first" >&2; exit 1; }
if [ ! -d "$BUILD/npm/node_modules/tokenizers" ]; then
  command -v npm >/dev/null || { echo "tokenizer_side_by_side: needs node and npm (apt-get install nodejs npm)" >&2; exit 1; }
  mkdir -p "$BUILD/npm"
  (cd "$BUILD/npm" && npm install --no-audit --no-fund --silent "tokenizers@$VERSION" >&2)
fi
export NODE_PATH=$PWD/$BUILD/npm/node_modules
corpus=(docs/*.md README.md)
lines=$(mktemp)
trap 'rm -f "$lines"' EXIT
for variant in neox prefix; do
  tok=tests/fixtures/hf_tokenizer/$variant/tokenizer.json
  node bench/tokenizer_peer.js "$tok" --cases "tests/fixtures/hf_tokenizer/$variant/cases.jsonl" --seconds 0.1 |
    grep tokenizer-parity | sed "s/^{/{\"variant\": \"$variant\", /"
  for round in $(seq "$ROUNDS"); do
    "$BUILD/bench/bench_tokenizer" "$tok" "${corpus[@]}" |
      sed "s/^{/{\"variant\": \"$variant\", \"round\": $round, \"impl\": \"ftmamba\", /" | tee -a "$lines"
    node bench/tokenizer_peer.js "$tok" "${corpus[@]}" |
      sed "s/^{/{\"variant\": \"$variant\", \"round\": $round, /" | tee -a "$lines"
  done
done
/usr/bin/env python3 - "$lines" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
for variant in ("neox", "prefix"):
    joined = [r for r in rows if r["variant"] == variant and r["file"].startswith("(all")]
    ours = statistics.median(r["mb_per_s"] for r in joined if r["impl"] == "ftmamba")
    peer = statistics.median(r["mb_per_s"] for r in joined if r["impl"] != "ftmamba")
    same = {r["tokens"] for r in joined}
    print(json.dumps({"summary": "tokenizer", "variant": variant, "bytes": joined[0]["bytes"],
                      "ftmamba_mb_per_s": ours, "tokenizers_mb_per_s": peer, "ratio": round(ours / peer, 2),
                      "same_token_count": len(same) == 1}))
PY
