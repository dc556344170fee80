#!/usr/bin/env bash
# IndexCommand: `ftmamba index` through the binary on a small generated dataset and a one-epoch run: an hnsw
# index is written to RUN/index/ (index.faiss, vectors.safetensors, index.json) and the report's exact (flat)
# row has recall 1; --json prints one JSON object a line; a second run replaces the files (new inodes, no
# temporary files left) rather than writing through them; a bad --type is a usage error (exit 2) listing the
# choices, and a catalog too small for --nlist is a runtime error naming --nlist.
#
#   bash tests/cli/index_command.sh path/to/ftmamba        (ctest -R IndexCommand from the build folder)
set -u

if [[ $# -ne 1 || ! -x $1 ]]; then
  echo "usage: $0 path/to/ftmamba" >&2
  exit 2
fi
BIN=$(realpath "$1")
W=$(mktemp -d "${TMPDIR:-/tmp}/ftmamba-index.XXXXXX") || exit 1
trap 'rm -rf -- "$W"' EXIT
cd "$W" || exit 1
FAILED=0
fail() {
  echo "FAIL $*"
  FAILED=$((FAILED + 1))
}

"$BIN" generate --preset spotify --pairs 6000 --seed 3 --out D >/dev/null 2>gen.err || { cat gen.err; exit 1; }
"$BIN" train --data D --out R --device cpu --quiet --set train.epochs=1 --set train.batch_size=256 \
  --set model.d_token=8 --set model.embed_dim=8 --set model.n_layers=1 >/dev/null 2>train.err ||
  { cat train.err; exit 1; }

# An hnsw index: the files, and the flat row of the report (exact search against itself) at recall 1.
"$BIN" index --run R --type hnsw --k 10 --queries 100 >out.txt 2>err.txt
code=$?
[[ $code -eq 0 ]] || fail "index exited $code: $(cat err.txt)"
for f in index.faiss vectors.safetensors index.json; do
  [[ -s R/index/$f ]] || fail "R/index/$f was not written"
done
grep -q '^index: hnsw M=32 efConstruction=100 efSearch=64 over [0-9]* items' out.txt || fail "no summary line: $(cat out.txt)"
flat=$(awk '$1 == "flat" {print $3}' out.txt)
[[ $flat == 1.0000 ]] || fail "the flat row's recall is '$flat', not 1.0000: $(cat out.txt)"
grep -q '^  hnsw .*64 \*' out.txt || fail "the saved efSearch 64 is not marked: $(cat out.txt)"
python3 -c 'import json,sys; m=json.load(open("R/index/index.json")); sys.exit(0 if m["params"]["type"]=="hnsw" and m["items"]>0 and m["normalized"] is True else 1)' ||
  fail "index.json does not describe the hnsw index: $(cat R/index/index.json)"

# Run again (ivf, --json): the files are replaced by rename (new inodes), none is left half-written.
before=$(stat -c %i R/index/index.faiss R/index/index.json | tr '\n' ' ')
"$BIN" index --run R --type ivf --k 10 --queries 50 --json >out.jsonl 2>err.txt
code=$?
[[ $code -eq 0 ]] || fail "index --type ivf --json exited $code: $(cat err.txt)"
after=$(stat -c %i R/index/index.faiss R/index/index.json | tr '\n' ' ')
[[ $before != "$after" ]] || fail "the index files were written in place (same inodes $before)"
leftovers=$(find R/index -name '*.tmp-*' | wc -l)
[[ $leftovers -eq 0 ]] || fail "temporary files left in R/index: $(ls R/index)"
python3 - out.jsonl <<'PY' || fail "--json output: $(cat out.jsonl)"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert lines[0]["index"] == "flat" and lines[0]["recall"] == 1.0, lines[0]
assert all(l["index"] == "ivf" and "nprobe" in l for l in lines[1:-1]), lines
assert lines[-1]["index"]["type"] == "ivf" and lines[-1]["k"] == 10, lines[-1]
PY
python3 -c 'import json,sys; sys.exit(0 if json.load(open("R/index/index.json"))["params"]["type"]=="ivf" else 1)' ||
  fail "index.json was not replaced by the ivf index"

# Usage errors: exit 2 with the choices; a catalog too small for --nlist: exit 1 naming it.
"$BIN" index --run R --type annoy >out.txt 2>err.txt
code=$?
[[ $code -eq 2 ]] || fail "--type annoy exited $code"
grep -q '^ftmamba: error: --type must be one of flat, hnsw, ivf, ivfpq' err.txt || fail "--type annoy: $(cat err.txt)"
"$BIN" index --run R --type ivf --nlist 100000 >out.txt 2>err.txt
code=$?
[[ $code -eq 1 ]] || fail "--nlist 100000 exited $code"
grep -q '^ftmamba: error: --nlist 100000 is too large' err.txt || fail "--nlist 100000: $(cat err.txt)"
"$BIN" index --help | grep -q '{flat,hnsw,ivf,ivfpq}' || fail "--help does not list the types"

if [[ $FAILED -gt 0 ]]; then
  echo "index command: $FAILED failed"
  exit 1
fi
echo "index command: ok"
