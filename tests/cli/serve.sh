#!/usr/bin/env bash
# ServeEndToEnd: `ftmamba serve` as a user runs it, asked with curl.
#
#   bash tests/cli/serve.sh FTMAMBA_BINARY
#
# A small run is trained, then served on a free port: the URL is printed once listening; /healthz, /recommend (a
# known and a new user), /similar_items, /items and DELETE, /metrics and the page answer; bad input is a 400 naming
# the field; /admin/reload checks its token; SIGHUP reloads (the log says so, and requests go on being answered);
# SIGTERM stops the server with status 0. One line per check, then a summary.
set -u

[[ $# -eq 1 ]] || { echo "usage: $0 FTMAMBA_BINARY" >&2; exit 2; }
BIN=$(realpath -- "$1") || exit 2
command -v curl >/dev/null || { echo "curl not found: apt-get install curl (scripts/install-deps does)" >&2; exit 1; }
W=$(mktemp -d "${TMPDIR:-/tmp}/ftmamba-serve.XXXXXX") || exit 2
server=""
cleanup() {
  [[ -n $server ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf -- "$W"
}
trap cleanup EXIT
cd "$W" || exit 2

passed=0 failed=0
check() {  # description, then a command that must succeed
  local what=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
    echo "ok    $what"
  else
    failed=$((failed + 1))
    echo "FAIL  $what"
  fi
}
contains() { grep -qF -- "$2" <<<"$1"; }

"$BIN" generate --preset spotify --pairs 3000 --seed 1 --out D >/dev/null 2>&1 || { echo "generate failed" >&2; exit 1; }
"$BIN" train --data D --out R --device cpu --quiet --set train.epochs=1 --set model.d_token=8 --set model.embed_dim=8 \
  --set model.n_layers=1 >train.log 2>&1 ||
  { cat train.log >&2; echo "train failed" >&2; exit 1; }

# A free port: the kernel picks one for a listening socket, which is then closed.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# serve_in_background OUT ERR ARGS...: `ftmamba serve ARGS` in the background (its pid in server), waiting at most
# 30 s for the line that says it listens (or for it to exit).
serve_in_background() {
  local out=$1 err=$2
  shift 2
  "$BIN" serve "$@" >"$out" 2>"$err" &
  server=$!
  for _ in $(seq 1 300); do
    grep -q "serving on" "$out" 2>/dev/null && break
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
  done
}
serve_in_background serve.out serve.err --run R --port "$port" --threads 4 --admin-token s3cret --max-k 50
check "prints the URL once listening" grep -qx "serving on http://127.0.0.1:$port/" serve.out
url="http://127.0.0.1:$port"
user=$(sed -n 2p D/users.csv | cut -d, -f1)
item=$(sed -n 2p D/items.csv | cut -d, -f1)

post() { curl -s -o body.json -w '%{http_code}' -H 'Content-Type: application/json' -d "$2" "$url$1"; }

check "GET /healthz" contains "$(curl -s "$url/healthz")" '"status":"ok"'
code=$(post /recommend "{\"user_id\": \"$user\", \"k\": 5}")
check "POST /recommend, a known user: 200 and 5 items" \
  python3 -c "import json,sys; j=json.load(open('body.json')); sys.exit(not ($code == 200 and len(j['items']) == 5 and j['index'] == 'exact'))"
code=$(post /recommend '{"features": {"age": 30}, "k": 3}')
check "POST /recommend, a new user: 200, cold start" contains "$code $(cat body.json)" '200 {"user_id":null,"cold_start":true'
code=$(post /similar_items "{\"item_id\": \"$item\", \"k\": 4}")
check "POST /similar_items: 200, never the item itself" \
  python3 -c "import json,sys; j=json.load(open('body.json')); sys.exit(not ($code == 200 and len(j['items']) == 4 and all(i['item_id'] != '$item' for i in j['items'])))"
code=$(post /items '{"items": [{"item_id": "fresh-1", "features": {}}]}')
check "POST /items adds an item" contains "$code $(cat body.json)" '"created":1,"updated":0'
code=$(curl -s -o body.json -w '%{http_code}' -X DELETE "$url/items/fresh-1")
check "DELETE /items/fresh-1" contains "$code" 200
code=$(curl -s -o body.json -w '%{http_code}' -X DELETE "$url/items/fresh-1")
check "DELETE again: 404" contains "$code" 404
code=$(post /items '{"items": [{"item_id": "kept-1", "features": {}}]}')
check "POST /items adds another item" contains "$code" 200
check "  ... each change is in the run's catalog log at once" test "$(wc -l <R/catalog_changes.jsonl)" -eq 3
code=$(post /recommend "{\"user_id\": \"$user\", \"k\": 51}")
check "k over --max-k: 400 naming k" contains "$code $(cat body.json)" '"field":"k"'
code=$(post /recommend '{"features": {"age": "nan"}}')
check "a NaN feature: 400 naming it" contains "$code $(cat body.json)" '400 {"error":'
check "  ... the field is features.age" contains "$(cat body.json)" '"field":"features.age"'
code=$(post /recommend '{"user_id": ')
check "malformed JSON: 400 naming the body" contains "$code $(cat body.json)" '"field":"body"'
code=$(post /recommend/batch "{\"requests\": [{\"user_id\": \"$user\", \"k\": 3}, {\"features\": {\"age\": 30}, \"k\": 2}]}")
check "POST /recommend/batch: a known and a new user, each with its k" \
  test "$code $(grep -o '"rank":[0-9]*' body.json | tr '\n' ' ')" = '200 "rank":1 "rank":2 "rank":3 "rank":1 "rank":2 '
code=$(post /recommend/batch "{\"requests\": [{\"user_id\": \"$user\"}, {\"user_id\": \"NOBODY\"}]}")
check "POST /recommend/batch with an unknown user: 400 naming it" contains "$code $(cat body.json)" '"field":"requests[1].user_id"'
check "GET /metrics counts /recommend" contains "$(curl -s "$url/metrics")" 'ftmamba_requests_total{endpoint="/recommend",code="200"} 2'
check "GET / is the page" contains "$(curl -s "$url/")" '<title>ftmamba recommendations</title>'
check "POST /admin/reload without the token: 403" contains "$(curl -s -o /dev/null -w '%{http_code}' -d '' "$url/admin/reload")" 403
check "POST /admin/reload with the token: 200" contains \
  "$(curl -s -o /dev/null -w '%{http_code}' -d '' -H 'Authorization: Bearer s3cret' "$url/admin/reload")" 200

# More connections at once than workers (4): each is answered in turn.
(
  for _ in $(seq 1 40); do curl -s -o /dev/null -w '%{http_code}\n' -d "{\"user_id\": \"$user\"}" "$url/recommend" & done
  wait
) >burst.txt
check "40 connections at once: every answer a 200" test "$(grep -c '^200$' burst.txt)" -eq 40

kill -HUP "$server"
for _ in $(seq 1 300); do
  [[ $(grep -c "serve: reloaded" serve.err) -ge 2 ]] && break
  sleep 0.1
done
check "SIGHUP reloads the run" test "$(grep -c "serve: reloaded" serve.err)" -ge 2
check "  ... and the server still answers" contains "$(post /recommend "{\"user_id\": \"$user\"}")" 200

kill -TERM "$server"
wait "$server"
rc=$?
server=""
check "SIGTERM stops it with status 0" test "$rc" -eq 0
check "  ... the port is closed" test "$(curl -s -o /dev/null -w '%{http_code}' "$url/healthz")" = 000

# The run's item index: served when there is one (--index auto), required with --index index, refused when it was
# built over another catalog.
"$BIN" serve --run R --port 0 --index index >index-missing.out 2>index-missing.err
check "--index index without one: exit 1 naming the command that builds it" contains \
  "$? $(cat index-missing.err)" "1 ftmamba: error: R/index/index.json: not found; build the run's item index with \`ftmamba index --run R\`"
"$BIN" index --run R --type hnsw --k 10 --queries 50 >index.out 2>&1
check "ftmamba index builds R/index" test -f R/index/index.json
serve_in_background serve2.out serve2.err --run R --port 0 --threads 2
url=$(sed -n 's/^serving on \(http:[^ ]*\)\/$/\1/p' serve2.out)
check "serve answers through the run's hnsw index" contains "$(curl -s "$url/healthz")" '"index":"hnsw M=32'
check "  ... and recommends through it" contains "$(post /recommend "{\"user_id\": \"$user\", \"k\": 5}") $(cat body.json)" \
  '200 {"user_id":'
check "a restarted server has the item added before" contains "$(post /similar_items '{"item_id": "kept-1", "k": 1}')" 200
check "  ... its catalog log rewritten, each item's latest change" test "$(wc -l <R/catalog_changes.jsonl)" -eq 2
kill -TERM "$server"
wait "$server"
server=""
head -n 1 D/items.csv >D2-items.csv && sed -n 2,101p D/items.csv >>D2-items.csv
mkdir -p D2 && cp D/schema.toml D/users.csv D/interactions.csv D2/ && mv D2-items.csv D2/items.csv
awk -F, 'NR == FNR { if (FNR > 1) keep[$1] = 1; next } FNR == 1 || keep[$2]' D2/items.csv D/interactions.csv \
  >D2/interactions.csv
"$BIN" serve --run R --data D2 --port 0 >other.out 2>other.err
check "an index of another catalog is refused, naming both sizes" contains "$? $(cat other.err)" \
  "1 ftmamba: error: R/index: the index was built over"

echo "serve: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
