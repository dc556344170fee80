#!/usr/bin/env bash
# Load test of `ftmamba serve` with wrk on loopback: p50 / p99 latency and requests/s of POST /recommend (known
# users drawn at random, k 100) at 1, 8 and 64 connections, for item catalogs of 10k, 100k and 1M items (grown from
# the spotify preset by bench/wide_catalog.py and searched through an HNSW index built by `ftmamba index`, its
# efSearch the smallest reaching recall@100 TARGET_RECALL against exact search, measured again each run); then, on
# the smallest catalog, 60 s with 5% malformed requests, 20 s during which the server reloads every 2 s, and new
# users (cold start, the features of the data's users) with the user tower's forwards batched across requests
# (--new-user-batch 64) and not (1). Prints JSON lines.
#
#   bash bench/serve_load.sh [BUILD_DIR]
#   SIZES="10000 100000 1000000" CONNECTIONS="1 8 64" SECONDS_EACH=10 MALFORMED_SECONDS=60 RELOAD_SECONDS=20
#   SERVER_THREADS=64 INDEX_ARGS="--type hnsw" TARGET_RECALL=0.95 bash bench/serve_load.sh build
set -euo pipefail
BUILD=$(realpath "${1:-build}")
BIN=$BUILD/ftmamba
WORK=${WORK:-runs/serve-load}
PY=/usr/bin/python3
command -v wrk >/dev/null || { echo "serve_load: wrk not found (apt-get install wrk)" >&2; exit 1; }
mkdir -p "$WORK"
DATA=$WORK/data
[ -f "$DATA/interactions.csv" ] || "$BIN" generate --preset spotify --pairs 160000 --seed 1 --out "$DATA" >&2
[ -f "$WORK/run/model.safetensors" ] || "$BIN" train --quiet --data "$DATA" --out "$WORK/run" --force \
  --set train.epochs=1 >&2
tail -n +2 "$DATA/users.csv" | cut -d, -f1 >"$WORK/users.txt"
# New users' bodies: each user's features (numbers as numbers), k 100.
$PY - "$DATA/users.csv" "$WORK/new_users.jsonl" <<'EOF'
import csv, json, sys
with open(sys.argv[1], newline="") as f, open(sys.argv[2], "w") as out:
    for row in csv.DictReader(f):
        features = {}
        for name, v in row.items():
            if name == "user_id" or v == "":
                continue
            for kind in (int, float, str):
                try:
                    features[name] = kind(v)
                    break
                except ValueError:
                    pass
        out.write(json.dumps({"features": features, "k": 100}) + "\n")
EOF
echo "{\"machine\": \"$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | xargs)\", \"vcpus\": $(nproc --all), \"date\": \"$(date -u +%F)\", \"wrk\": \"$(wrk --version 2>&1 | head -n1 | cut -d' ' -f1-2)\"}"

server=""
stop_server() {
  if [ -n "$server" ]; then
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    server=""
  fi
}
trap stop_server EXIT
# start_server RUN DATA [SERVE_ARGS...]: serves on a free port; PORT is set once it listens.
start_server() {
  local log=$WORK/server.log
  "$BIN" serve --run "$1" --data "$2" --port 0 --threads "${SERVER_THREADS:-64}" --admin-token load-test \
    --max-k 1000 "${@:3}" >"$log" 2>"$WORK/server.err" &
  server=$!
  for _ in $(seq 1200); do
    if grep -q "serving on" "$log"; then
      PORT=$(sed -n 's|.*http://[^:]*:\([0-9]*\)/.*|\1|p' "$log" | head -n1)
      return 0
    fi
    kill -0 "$server" 2>/dev/null || { cat "$WORK/server.err" >&2; exit 1; }
    sleep 0.5
  done
  echo "serve_load: the server did not listen within 10 minutes" >&2
  exit 1
}
# load LABEL CONNECTIONS SECONDS MALFORMED_SHARE [BODIES_FILE]: one wrk run, its JSON line prefixed with the
# label's fields.
load() {
  local threads=$(( $2 < 2 ? 1 : 2 ))
  wrk -t"$threads" -c"$2" -d"$3"s --timeout 10s -s bench/serve_load.lua "http://127.0.0.1:$PORT/recommend" \
    -- "$WORK/users.txt" "$4" 100 ${5:-} | grep '^{"requests"' |
    sed "s/^{/{$1, \"connections\": $2, \"malformed_share\": $4, /"
}

for n in ${SIZES:-10000 100000 1000000}; do
  cat_dir=$WORK/catalog-$n
  run_dir=$WORK/run-$n
  [ -f "$cat_dir/items.csv" ] || $PY bench/wide_catalog.py "$DATA" "$cat_dir" "$n" >&2
  # Built once; each run measures its recall again (--reuse) and serves the smallest efSearch reaching the target.
  index_args=(--reuse)
  if [ ! -f "$run_dir/index/index.json" ]; then
    rm -rf "$run_dir" && cp -r "$WORK/run" "$run_dir"
    index_args=(${INDEX_ARGS:---type hnsw})
  fi
  "$BIN" index --run "$run_dir" --data "$cat_dir" "${index_args[@]}" --k 100 --queries 200 \
    --target-recall "${TARGET_RECALL:-0.95}" --json 2>/dev/null | sed "s/^{/{\"catalog\": $n, /"
  start_server "$run_dir" "$cat_dir"
  for c in ${CONNECTIONS:-1 8 64}; do
    load "\"items\": $n, \"phase\": \"steady\"" "$c" "${SECONDS_EACH:-10}" 0
  done
  # The malformed and the reload phases on the smallest catalog, where a reload (every item encoded again) is
  # quick enough to repeat every 2 s.
  if [ "$n" = "$(echo ${SIZES:-10000 100000 1000000} | awk '{print $1}')" ]; then
    load "\"items\": $n, \"phase\": \"malformed\"" 64 "${MALFORMED_SECONDS:-60}" 0.05
    # Reloads while 64 connections ask: every answer must still be a 200.
    (
      end=$((SECONDS + ${RELOAD_SECONDS:-20} - 2))
      while [ $SECONDS -lt $end ]; do
        sleep 2
        curl -s -o /dev/null -w '%{http_code}\n' -d '' -H "Authorization: Bearer load-test" \
          "http://127.0.0.1:$PORT/admin/reload" >>"$WORK/reloads.txt"
      done
    ) &
    reloader=$!
    load "\"items\": $n, \"phase\": \"reload\"" 64 "${RELOAD_SECONDS:-20}" 0
    wait "$reloader"
    echo "{\"items\": $n, \"reloads\": \"$(sort "$WORK/reloads.txt" | uniq -c | xargs)\"}"
    rm -f "$WORK/reloads.txt"
    # New users: one forward per request against forwards shared by the requests that arrive together.
    for batch in ${NEW_USER_BATCHES:-64 1}; do
      stop_server
      start_server "$run_dir" "$cat_dir" --new-user-batch "$batch"
      for c in ${CONNECTIONS:-1 8 64}; do
        load "\"items\": $n, \"phase\": \"new_users\", \"new_user_batch\": $batch" "$c" "${SECONDS_EACH:-10}" 0 \
          "$WORK/new_users.jsonl"
      done
    done
  fi
  stop_server
done
