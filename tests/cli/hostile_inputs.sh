#!/usr/bin/env bash
# Replays, through the ftmamba binary as a user would type it, every hostile case of the integrity audit
# (issue 23): outputs that would destroy what ftmamba did not write, concurrent writers, kills and leftovers,
# NaN through inference, unbounded config values, damaged run folders, data files that are not regular files,
# huge lines, late failures, symbolic links at temporary names and control characters in messages.
#
#   bash tests/cli/hostile_inputs.sh path/to/ftmamba        (ctest -R HostileInputs from the build folder)
#
# Every command runs under `timeout` (a hang is a failure). Each case checks the exit code (2 usage, 1 runtime,
# 0 success, 128+N a signal), the one "ftmamba: error:" line and what it must name (file, line, column, key),
# that no nan/inf text reaches the output where the case is about NaN, that no control character reaches the
# terminal raw, and that the user's files (a dataset D, a run R, a LoRA run L, a folder of notes) are intact.
# It prints "ok   CASE" or "FAIL CASE: why" per case, then "hostile inputs: N cases, M failed", and exits 1 if
# any failed. Everything happens in a fresh folder under $TMPDIR, removed at the end.
set -u

if [[ $# -ne 1 || ! -x $1 ]]; then
  echo "usage: $0 path/to/ftmamba" >&2
  exit 2
fi
BIN=$(realpath "$1")
W=$(mktemp -d "${TMPDIR:-/tmp}/ftmamba-hostile.XXXXXX") || exit 1
BACKGROUND=()  # pids of commands started in the background, ended at exit if still running
cleanup() {
  local p
  for p in "${BACKGROUND[@]}"; do kill -KILL "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT
cd "$W" || exit 1

# A tiny model on the CPU, so that every training takes a second or two.
SMALL=(--device cpu --quiet --set model.d_token=8 --set model.embed_dim=8 --set model.n_layers=1
  --set train.batch_size=256 --set train.threads=1)
LIMIT=60  # seconds any one command may take; more is a hang

# ---- the bookkeeping of cases ---------------------------------------------------------------------------------
CASES=0
FAILED=0
CASE=""
WHY=()
RESULTS=()
begin() {
  CASE=$1
  WHY=()
}
# A reason, with the control characters of the input it quotes made visible (the report is terminal text too).
fail() { WHY+=("$(printf '%s' "$*" | sed 's/\x1b/\\x1b/g' | LC_ALL=C tr -d '\000-\010\013-\037\177')"); }
end() {
  CASES=$((CASES + 1))
  local line
  if ((${#WHY[@]} == 0)); then
    line="ok   $CASE"
  else
    FAILED=$((FAILED + 1))
    line="FAIL $CASE: $(printf '%s; ' "${WHY[@]}")"
    line=${line%; }
  fi
  RESULTS+=("$line")
  echo "$line"
}

# run LIMIT ARGS...: the binary under timeout, stdin closed; stdout in $W/stdout, stderr in $W/stderr, code in RC.
RC=0
CMD=""
run() {
  local limit=$1
  shift
  CMD="ftmamba $*"
  timeout -k 5 "$limit" "$BIN" "$@" </dev/null >"$W/stdout" 2>"$W/stderr"
  RC=$?
}
first_err() { head -c 300 "$W/stderr" | head -n 2 | tr '\n' ' ' | LC_ALL=C tr -d '\000-\010\013-\037\177'; }

expect_rc() {
  local want=$1
  [[ $RC == "$want" ]] && return 0
  if [[ $RC == 124 || ($RC == 137 && $want != 137) ]]; then
    fail "hung: no exit within the time limit ($CMD)"
  else
    fail "exit code $RC, expected $want ($CMD): $(first_err)"
  fi
  return 1
}

# Text that must never reach the user: a crash, LibTorch's own words, a raw allocation failure.
RAW_FAILURE='terminate called|Exception raised from|c10::|std::bad_alloc|what\(\):|Segmentation fault|core dumped|Aborted'

# expect_error TEXT...: one "ftmamba: error:" line that contains every TEXT, and nothing raw.
expect_error() {
  grep -q '^ftmamba: error: ' "$W/stderr" || fail "no 'ftmamba: error:' line ($CMD): $(first_err)"
  local t
  for t in "$@"; do
    grep -qF -- "$t" "$W/stderr" || fail "the error does not name '$t' ($CMD): $(first_err)"
  done
  expect_no_raw_failure "$W/stderr"
  expect_no_control "$W/stderr"
}
expect_no_raw_failure() {
  if grep -Eq "$RAW_FAILURE" "$1"; then fail "$(basename "$1") holds a raw failure: $(grep -Em1 "$RAW_FAILURE" "$1")"; fi
}
# No control character but newline and tab: an ESC from the input must arrive escaped (\x1b).
expect_no_control() {
  if LC_ALL=C tr -d '\n\t' <"$1" | LC_ALL=C grep -q '[[:cntrl:]]'; then
    fail "$(basename "$1") holds a raw control character ($CMD)"
  fi
}
# No nan/inf text (nan, -nan, inf, -inf, infinity) as a word.
NONFINITE_TEXT='(^|[^[:alnum:]_])[-+]?(nan|inf|infinity)([^[:alnum:]_]|$)'
expect_no_nan_text() {
  local f
  for f in "$@"; do
    if grep -Eiq "$NONFINITE_TEXT" "$f"; then fail "$(basename "$f") holds nan/inf text: $(grep -Eim1 "$NONFINITE_TEXT" "$f")"; fi
  done
}
# A safetensors file of F32 tensors only: every value finite (od prints nan / inf for the others).
expect_finite_safetensors() {
  local f=$1 n
  n=$(head -c 8 "$f" | od -An -tu8 | tr -d ' ')
  if [[ -z $n ]]; then
    fail "$f: no safetensors header"
    return
  fi
  local values
  values=$(od -An -v -tf4 -j $((8 + n)) "$f")
  [[ -n $values ]] || fail "$f holds no values"
  if grep -Eiq 'nan|inf' <<<"$values"; then fail "$f holds non-finite values"; fi
}
expect_exists() {
  local p
  for p in "$@"; do [[ -e $p || -L $p ]] || fail "$p is missing"; done
}
expect_absent() {
  local p
  for p in "$@"; do [[ ! -e $p && ! -L $p ]] || fail "$p exists"; done
}
# No staging folder or temporary file of ftmamba's left in a folder.
expect_no_leftovers() {
  local dir=$1 left
  left=$(find "$dir" -maxdepth 1 \( -name '*.partial*' -o -name '*.old*' -o -name '*.tmp-*' \) -printf '%f ' 2>/dev/null)
  [[ -z $left ]] || fail "leftovers in $dir: $left"
}

# The user's own files: their checksums now, compared after every case that aims at them.
manifest() { find D R L notes -type f -print0 | sort -z | xargs -0 sha256sum; }
expect_intact() {
  if ! manifest | cmp -s - "$W/manifest.start"; then
    fail "the user's files changed: $(manifest | diff "$W/manifest.start" - | grep '^[<>]' | head -n 3 | tr '\n' ' ')"
  fi
}
# A run folder loads and evaluates on D (eval reads the dataset and the run, writes nothing).
expect_run_loads() {
  local saved_cmd=$CMD saved_rc=$RC
  run "$LIMIT" eval --run "$1" --data D --device cpu
  [[ $RC == 0 ]] || fail "$1 no longer loads ($CMD): $(first_err)"
  CMD=$saved_cmd
  RC=$saved_rc
}

# wait_for SECONDS CMD...: polls CMD every 0.1 s; false when it never held.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS >= deadline)) && return 1
    sleep 0.1
  done
}
alive() { kill -0 "$1" 2>/dev/null && [[ $(ps -o stat= -p "$1" 2>/dev/null) != Z* ]]; }
not_alive() { ! alive "$1"; }
# start ARGS...: the binary in the background (stdout/stderr in $W/bg.out / bg.err); its pid in BG.
BG=0
start() {
  "$BIN" "$@" </dev/null >"$W/bg.out" 2>"$W/bg.err" &
  BG=$!
  BACKGROUND+=("$BG")
}
# finish PID: waits for it (at most LIMIT seconds, then kills it); its exit code in RC.
# The shell's own "Killed" notice of a job, printed whenever it notices the job ended, goes to /dev/null.
finish() {
  local pid=$1
  {
    if ! wait_for "$LIMIT" not_alive "$pid"; then
      kill -KILL "$pid"
      fail "a background command hung and was killed"
    fi
    wait "$pid"
    RC=$?
  } 2>/dev/null
}

# Rewrites the SHA-256 of FILE recorded in RUN/config.json to the file's current one, as an edit by hand (or a
# run written before the record) would leave it, so that the checks behind the hash are reached too.
rehash() {
  local run=$1 file=$2 new
  new=$(sha256sum "$run/$file" | cut -d' ' -f1)
  sed -i "s/\"$file\": \"[0-9a-f]\{64\}\"/\"$file\": \"$new\"/" "$run/config.json"
}
# The safetensors header (JSON) of FILE, and writing a header of the same length back.
header_of() { dd if="$1" bs=1 skip=8 count="$(head -c 8 "$1" | od -An -tu8 | tr -d ' ')" status=none; }
put_header() { printf '%s' "$2" | dd of="$1" bs=1 seek=8 conv=notrunc status=none; }
flip_last_byte() {
  local f=$1 size b
  size=$(stat -c %s "$f")
  b=$(tail -c 1 "$f" | od -An -tu1 | tr -d ' ')
  printf "\\$(printf %03o $((b ^ 1)))" | dd of="$f" bs=1 seek=$((size - 1)) conv=notrunc status=none
}

# ---- the user's files: a dataset, a run, a LoRA run, a folder of notes ------------------------------------------
setup_failed() {
  echo "FAIL setup: $1 ($CMD): $(first_err)"
  echo "hostile inputs: 0 cases, setup failed"
  exit 1
}
run 120 generate --preset spotify --pairs 3000 --seed 1 --out D
[[ $RC == 0 ]] || setup_failed "generate"
run 120 train --data D --out R "${SMALL[@]}" --set train.epochs=2
[[ $RC == 0 ]] || setup_failed "train"
run 120 finetune --run R --data D --out L --device cpu --quiet --lora.rank 2 --set train.epochs=1
[[ $RC == 0 ]] || setup_failed "finetune"
mkdir -p notes
echo "my notes" >notes/notes.txt
manifest >"$W/manifest.start"
# Numerical features of the generated users table, read from its schema (age, account_age_days, ...).
NUM_FEATURE=$(sed -n '/^\[users\]/,/^\[/s/^numerical = \[ *'"'"'\([^'"'"']*\)'"'"'.*/\1/p' D/schema.toml)
[[ -n $NUM_FEATURE ]] || setup_failed "no numerical user feature in D/schema.toml"
NUM_COLUMN=$(head -n 1 D/users.csv | tr ',' '\n' | grep -nx "$NUM_FEATURE" | cut -d: -f1)

# ---- data loss: --out never deletes what ftmamba did not write --------------------------------------------------
begin "out-is-a-foreign-folder"
mkdir hmraw # an H&M download folder, here without its files
mkdir v
echo x >v/notes.txt
for force in "" --force; do
  run "$LIMIT" train --data D --out v "${SMALL[@]}" $force
  expect_rc 1 && expect_error "--out v" "not empty" "refusing"
  run "$LIMIT" generate --pairs 3000 --out v $force
  expect_rc 1 && expect_error "--out v" "not empty"
  run "$LIMIT" finetune --run R --data D --out v --device cpu --quiet $force
  expect_rc 1 && expect_error "--out v" "not empty"
  run "$LIMIT" merge --run L --out v $force
  expect_rc 1 && expect_error "--out v" "not empty"
  run "$LIMIT" import hm --from hmraw --out v --quiet $force
  expect_rc 1 && expect_error "--out v" "not empty"
done
[[ $(cat v/notes.txt 2>/dev/null) == x ]] || fail "v/notes.txt was changed or deleted"
[[ $(ls -A v) == notes.txt ]] || fail "v holds more than notes.txt: $(ls -A v | tr '\n' ' ')"
expect_no_leftovers .
expect_intact
end

begin "out-is-the-dataset"
for force in "" --force; do
  run "$LIMIT" train --data D --out D "${SMALL[@]}" $force
  expect_rc 1 && expect_error "--out D" "input folder"
  run "$LIMIT" train --data D --out D/run "${SMALL[@]}" $force
  expect_rc 1 && expect_error "--out D/run" "inside" "input folder"
  run "$LIMIT" finetune --run R --data D --out D --device cpu --quiet $force
  expect_rc 1 && expect_error "--out D" "input folder"
  run "$LIMIT" import hm --from D --out D --quiet $force
  expect_rc 1 && expect_error "--out D" "input folder"
done
# encode's --out is a file: never one of the files of the run, the LoRA run's base or the dataset it reads.
for target in R/model.safetensors R/config.json D/users.csv; do
  run "$LIMIT" encode --run R --side user --out "$target" --device cpu
  expect_rc 1 && expect_error "--out $target" "input folder"
done
run "$LIMIT" encode --run L --side item --out R/model.safetensors --device cpu
expect_rc 1 && expect_error "--out R/model.safetensors" "input folder"
# A dataset may replace a dataset (--force), but a failed import leaves the old one as it was.
run "$LIMIT" import hm --from hmraw --out D --quiet --force
expect_rc 1 && expect_error "hmraw/articles.csv"
expect_no_leftovers .
expect_intact
expect_run_loads R
end

begin "finetune-out-is-its-base-run"
for force in "" --force; do
  run "$LIMIT" finetune --run R --data D --out R --device cpu --quiet $force
  expect_rc 1 && expect_error "--out R" "input folder"
  run "$LIMIT" merge --run L --out L $force
  expect_rc 1 && expect_error "--out L" "input folder"
  run "$LIMIT" finetune --run R --data D --out R/inner --device cpu --quiet $force
  expect_rc 1 && expect_error "--out R/inner" "inside"
done
expect_no_leftovers .
expect_intact
expect_run_loads R
expect_run_loads L
end

begin "out-is-the-working-folder"
# A folder holding the dataset, the runs and the notes: refused as the folder that contains the inputs, and
# "." (the same folder) as a folder of other files.
run "$LIMIT" train --data D --out "$W" "${SMALL[@]}" --force
expect_rc 1 && expect_error "contains the input folder"
run "$LIMIT" train --data "$W/D" --out . "${SMALL[@]}" --force
expect_rc 1 && expect_error "--out ."
run "$LIMIT" generate --pairs 3000 --out . --force
expect_rc 1 && expect_error "--out ." "not empty"
(cd notes && timeout -k 5 "$LIMIT" "$BIN" train --data ../D --out . "${SMALL[@]}" --force </dev/null >"$W/stdout" 2>"$W/stderr")
RC=$?
CMD="(in notes/) ftmamba train --data ../D --out . --force"
expect_rc 1 && expect_error "--out ." "not empty"
expect_no_leftovers .
expect_no_leftovers notes
expect_intact
end

begin "out-is-a-file"
echo "a file" >afile
for force in "" --force; do
  run "$LIMIT" train --data D --out afile "${SMALL[@]}" $force
  expect_rc 1 && expect_error "--out afile" "not a folder"
  run "$LIMIT" generate --pairs 3000 --out afile $force
  expect_rc 1 && expect_error "--out afile" "not a folder"
done
[[ $(cat afile) == "a file" ]] || fail "afile was changed"
expect_no_leftovers .
end

begin "out-is-a-symbolic-link"
mkdir -p linked
echo keep >linked/keep.txt
ln -s linked outlink
run "$LIMIT" train --data D --out outlink "${SMALL[@]}" --force
expect_rc 1 && expect_error "--out outlink" "symbolic link"
[[ -L outlink && $(ls -A linked) == keep.txt ]] || fail "the link or its folder changed"
end

# ---- replacing a run: in one step; a kill in the middle leaves the old run --------------------------------------
begin "replace-a-run-with-force"
# (The fallback of two renames runs only on a filesystem without renameat2(RENAME_EXCHANGE); the CLI cannot
# choose it, so the window between them is covered by test_staged_dir, not here.)
run "$LIMIT" train --data D --out P "${SMALL[@]}" --set train.epochs=1
expect_rc 0
old_hash=$(sha256sum P/model.safetensors 2>/dev/null | cut -d' ' -f1)
run "$LIMIT" train --data D --out P "${SMALL[@]}" --set train.epochs=1
expect_rc 1 && expect_error "--out P" "already holds an ftmamba run" "--force"
[[ $(sha256sum P/model.safetensors | cut -d' ' -f1) == "$old_hash" ]] || fail "refused, yet P changed"
start train --data D --out P "${SMALL[@]}" --set train.epochs=50 --set train.patience=0 --force
wait_for "$LIMIT" test -d P.partial/checkpoint || fail "no checkpoint appeared in P.partial"
kill -KILL "$BG"
finish "$BG"
expect_rc 137
[[ $(sha256sum P/model.safetensors | cut -d' ' -f1) == "$old_hash" ]] || fail "killed while replacing, P is not the old run"
expect_run_loads P
run "$LIMIT" train --data D --out P "${SMALL[@]}" --set train.epochs=1 --set train.seed=2 --force
expect_rc 0
[[ $(sha256sum P/model.safetensors | cut -d' ' -f1) != "$old_hash" ]] || fail "--force did not replace P"
expect_run_loads P
expect_no_leftovers .
end
rm -rf P P.partial

# ---- concurrent writers ------------------------------------------------------------------------------------------
begin "two-concurrent-train-same-out"
start train --data D --out X "${SMALL[@]}" --set train.epochs=15 --set train.patience=0
first=$BG
wait_for "$LIMIT" test -e X.partial/.ftmamba-staging || fail "the first writer's staging folder never appeared"
# The first writer is held still while the others try, so that it cannot finish first on a slow or busy machine
# (it was seen to: the --force writer then replaced a finished run and exited 0); stopped, it still holds its lock.
kill -STOP "$first"
run "$LIMIT" train --data D --out X "${SMALL[@]}" --set train.epochs=1
expect_rc 1 && expect_error "being written by another ftmamba process" "X.partial"
run "$LIMIT" train --data D --out X "${SMALL[@]}" --set train.epochs=1 --force
expect_rc 1 && expect_error "being written by another ftmamba process"
kill -CONT "$first"
finish "$first"
expect_rc 0 || fail "the first writer did not succeed: $(head -c 300 "$W/bg.err")"
expect_run_loads X
expect_no_leftovers .
# Started together: exactly one writes, the other is refused (locked, or the run is already there).
"$BIN" train --data D --out Y "${SMALL[@]}" --set train.epochs=2 </dev/null >/dev/null 2>"$W/y1.err" &
y1=$!
"$BIN" train --data D --out Y "${SMALL[@]}" --set train.epochs=2 </dev/null >/dev/null 2>"$W/y2.err" &
y2=$!
BACKGROUND+=("$y1" "$y2")
finish "$y1"
rc1=$RC
finish "$y2"
rc2=$RC
if [[ "$rc1 $rc2" != "0 1" && "$rc1 $rc2" != "1 0" ]]; then
  fail "two writers started together exited $rc1 and $rc2, expected one 0 and one 1"
else
  refused=$W/y1.err
  [[ $rc2 == 1 ]] && refused=$W/y2.err
  grep -Eq '^ftmamba: error: .*(being written by another ftmamba process|already holds an ftmamba run)' "$refused" ||
    fail "the refused writer does not say why: $(head -c 300 "$refused")"
fi
expect_run_loads Y
expect_no_leftovers .
end
rm -rf X X.partial Y Y.partial

# ---- kills and leftovers -----------------------------------------------------------------------------------------
begin "sigkill-train-then-resume"
KARGS=(train --data D --out K "${SMALL[@]}" --set train.epochs=20 --set train.patience=0)
start "${KARGS[@]}"
wait_for "$LIMIT" test -d K.partial/checkpoint || fail "no checkpoint appeared in K.partial"
kill -KILL "$BG"
finish "$BG"
expect_rc 137
expect_absent K
run "$LIMIT" "${KARGS[@]}"
expect_rc 1 && expect_error "interrupted run" "--resume" "--force"
run "$LIMIT" "${KARGS[@]}" --resume
expect_rc 0
expect_run_loads K
expect_no_leftovers .
end
rm -rf K K.partial

begin "sigterm-train-then-rerun"
start train --data D --out T "${SMALL[@]}" --set train.epochs=40 --set train.patience=0
wait_for "$LIMIT" test -d T.partial/checkpoint || fail "no checkpoint appeared in T.partial"
kill -TERM "$BG"
finish "$BG"
expect_rc 143
grep -q '^ftmamba: ' "$W/bg.err" || fail "SIGTERM gave no message"
expect_absent T
run "$LIMIT" train --data D --out T "${SMALL[@]}" --set train.epochs=1 --force
expect_rc 0
expect_run_loads T
expect_no_leftovers .
end
rm -rf T T.partial

begin "kill-generate-then-rerun"
# 2,000,000 pairs take minutes: the kill always comes while it writes.
start generate --pairs 2000000 --out G
wait_for "$LIMIT" test -e G.partial || fail "G.partial never appeared"
sleep 0.3
kill -TERM "$BG"
finish "$BG"
expect_rc 143
wait_for 10 test ! -e G.partial || fail "SIGTERM left G.partial"
expect_absent G
start generate --pairs 2000000 --out G
wait_for "$LIMIT" test -e G.partial || fail "G.partial never appeared"
kill -KILL "$BG"
finish "$BG"
expect_rc 137
run "$LIMIT" generate --pairs 3000 --out G
expect_rc 0
expect_exists G/dataset.json G/interactions.csv
expect_no_leftovers .
end
rm -rf G G.partial

begin "compare-killed-kills-its-train-child"
# A background job of a non-interactive shell ignores SIGINT, so the signals are SIGTERM and SIGKILL.
CARGS=(compare --data D --out C --models ft-mamba --seeds 1 "${SMALL[@]}" --set train.epochs=30 --set train.patience=0)
for sig in TERM KILL; do
  start "${CARGS[@]}"
  parent=$BG
  child=""
  find_child() {
    child=$(pgrep -P "$parent" | head -n 1)
    [[ -n $child ]]
  }
  if wait_for "$LIMIT" find_child; then
    wait_for "$LIMIT" test -d C/runs/ft-mamba-seed1.partial/checkpoint || fail "SIG$sig: the child wrote no checkpoint"
    ps -o args= -p "$child" | grep -q ' train ' || fail "SIG$sig: compare's child is not a train: $(ps -o args= -p "$child")"
    kill -"$sig" "$parent"
    finish "$parent"
    [[ $sig == TERM ]] && expect_rc 143
    [[ $sig == KILL ]] && expect_rc 137
    wait_for 15 not_alive "$child" || {
      fail "SIG$sig: compare's train child $child is still running"
      kill -KILL "$child" 2>/dev/null
    }
  else
    fail "SIG$sig: compare started no child"
    kill -KILL "$parent" 2>/dev/null
  fi
done
# The next compare continues the interrupted run and leaves nothing behind.
run 120 "${CARGS[@]}"
expect_rc 0
expect_exists C/report.md C/comparison.json C/runs/ft-mamba-seed1/model.safetensors
expect_no_leftovers C/runs
expect_no_leftovers C
expect_no_leftovers .
end
rm -rf C

# ---- NaN through inference ---------------------------------------------------------------------------------------
begin "recommend-feature-out-of-range"
for v in 1e40 -1e40 1e300 nan inf -inf; do
  run "$LIMIT" recommend --run R --user NEW --feature "$NUM_FEATURE=$v" --device cpu
  expect_rc 1 && expect_error "feature '$NUM_FEATURE'" "$v"
  expect_no_nan_text "$W/stdout"
done
# At the edge of the accepted range: scores, all finite.
run "$LIMIT" recommend --run R --user NEW --feature "$NUM_FEATURE=1e30" --device cpu --k 20
expect_rc 0
expect_no_nan_text "$W/stdout"
[[ $(grep -c '^ *[0-9]' "$W/stdout") == 20 ]] || fail "recommend printed no 20 rows"
run "$LIMIT" recommend --run R --user NEW --feature "$NUM_FEATURE=-1e30" --device cpu --json
expect_rc 0
expect_no_nan_text "$W/stdout"
end

begin "encode-never-writes-nan"
run "$LIMIT" encode --run R --side user --out eu.safetensors --device cpu
expect_rc 0 && expect_finite_safetensors eu.safetensors
run "$LIMIT" encode --run R --side item --out ei.safetensors --device cpu
expect_rc 0 && expect_finite_safetensors ei.safetensors
# A value past the supported range in users.csv: refused naming file, line and column.
rm -rf Dbig && cp -r D Dbig
set_user_value() { awk -F, -v OFS=, -v c="$NUM_COLUMN" -v v="$1" 'NR == 2 { $c = v } 1' D/users.csv >Dbig/users.csv; }
set_user_value 1e40
run "$LIMIT" encode --run R --side user --data Dbig --out ebig.safetensors --device cpu
expect_rc 1 && expect_error "Dbig/users.csv:2:" "1e40"
expect_absent ebig.safetensors
# At the edge of the range: finite rows, or a refusal naming the row; never a NaN row.
set_user_value 1e30
run "$LIMIT" encode --run R --side user --data Dbig --out ebig.safetensors --device cpu
if [[ $RC == 0 ]]; then expect_finite_safetensors ebig.safetensors; else expect_rc 1 && expect_error "users.csv"; fi
end

begin "inference-on-nan-weights"
# A run whose weights are all NaN (written as such, its hash re-recorded): refused, no file written.
rm -rf Rnan && cp -r R Rnan
n=$(head -c 8 Rnan/model.safetensors | od -An -tu8 | tr -d ' ')
size=$(stat -c %s Rnan/model.safetensors)
head -c $((size - 8 - n)) /dev/zero | tr '\0' '\377' | dd of=Rnan/model.safetensors bs=1 seek=$((8 + n)) conv=notrunc status=none
rehash Rnan model.safetensors
run "$LIMIT" encode --run Rnan --side user --out enan.safetensors --device cpu
expect_rc 1 && expect_error "non-finite embedding"
expect_absent enan.safetensors
expect_no_leftovers .
run "$LIMIT" recommend --run Rnan --user "$(sed -n 2p D/users.csv | cut -d, -f1)" --device cpu
expect_rc 1 && expect_error "non-finite embedding"
expect_no_nan_text "$W/stdout"
run "$LIMIT" eval --run Rnan --device cpu
expect_rc 1 && expect_error "non-finite embedding"
expect_no_nan_text "$W/stdout"
end

begin "divergent-training-writes-no-nan"
# The largest learning rate and the smallest temperature allowed. Whether the steps overflow depends on the CPU's
# kernels (on AVX-512 machines every step does; on an AVX2 EPYC the embeddings collapse, finite): either the run
# stops naming train.max_nonfinite_steps, keeps its checkpoint for --resume and writes no model (the next --force
# clears it), or it ends with every weight finite. Never a NaN written. (test_nonfinite_steps covers the stop
# itself on every machine.)
DIVERGE=(--set train.lr=10 --set train.grad_clip=0 --set train.warmup_frac=0 --set train.epochs=3)
run 120 train --data D --out Z "${SMALL[@]}" "${DIVERGE[@]}" --set train.temperature=0.0001
if [[ $RC == 0 ]]; then
  expect_finite_safetensors Z/model.safetensors
else
  expect_rc 1 && expect_error "training diverged" "train.max_nonfinite_steps"
  expect_absent Z
fi
expect_no_nan_text "$W/stdout"
run 120 train --data D --out Z "${SMALL[@]}" "${DIVERGE[@]}" --force
if [[ $RC == 0 ]]; then
  expect_finite_safetensors Z/model.safetensors
  expect_no_nan_text "$W/stdout"
else
  expect_rc 1 && expect_error "train.max_nonfinite_steps"
fi
rm -rf Z Z.partial
end

# ---- config values: refused naming the key, before anything is written -------------------------------------------
set_case() {  # set_case KEY=VALUE TEXT...: train --set KEY=VALUE is refused, naming TEXT
  local kv=$1
  shift
  run "$LIMIT" train --data D --out Q "${SMALL[@]}" --set "$kv"
  expect_rc 1 && expect_error "$@"
  expect_absent Q
}
begin "set-batch-size-int64-max"
set_case train.batch_size=9223372036854775807 "train.batch_size"
set_case train.batch_size=99999999999999999999 "train.batch_size"
end

begin "set-temperature-inf"
set_case train.temperature=inf "train.temperature"
set_case train.temperature=nan "train.temperature"
set_case train.temperature=1e400 "train.temperature"
end

begin "set-unbounded-sizes"
set_case train.threads=100000 "train.threads" "100000"
set_case model.d_state=100000000 "model.d_state"
set_case train.negatives=1000000000 "train.negatives"
set_case model.d_token=1000000000 "model.d_token"
set_case model.d_token=0 "model.d_token"
run "$LIMIT" finetune --run R --data D --out Q --device cpu --quiet --set train.threads=100000
expect_rc 1 && expect_error "train.threads"
printf '[train]\nthreads = 100000\n' >threads.toml
run "$LIMIT" train --data D --out Q --config threads.toml --device cpu --quiet
expect_rc 1 && expect_error "train.threads"
expect_absent Q
end

# ---- damaged run folders -----------------------------------------------------------------------------------------
begin "flipped-byte-in-weights"
rm -rf Rflip Lflip && cp -r R Rflip && cp -r L Lflip
flip_last_byte Rflip/model.safetensors
flip_last_byte Lflip/adapters.safetensors
for cmd in "eval --run Rflip" "recommend --run Rflip --user U00001" "encode --run Rflip --side user --out ef.safetensors" \
  "finetune --run Rflip --data D --out Q --quiet"; do
  run "$LIMIT" $cmd --device cpu
  expect_rc 1 && expect_error "Rflip/model.safetensors" "SHA-256"
done
run "$LIMIT" eval --run Lflip --device cpu
expect_rc 1 && expect_error "Lflip/adapters.safetensors" "SHA-256"
run "$LIMIT" merge --run Lflip --out Q
expect_rc 1 && expect_error "Lflip/adapters.safetensors" "SHA-256"
expect_absent ef.safetensors Q
end

begin "tensor-relabelled-f32-to-i32"
rm -rf Rrel && cp -r R Rrel
sed -i '0,/"F32"/s//"I32"/' Rrel/model.safetensors
run "$LIMIT" eval --run Rrel --device cpu
expect_rc 1 && expect_error "Rrel/model.safetensors" "SHA-256"
rehash Rrel model.safetensors  # past the hash, the header check itself
run "$LIMIT" eval --run Rrel --device cpu
expect_rc 1 && expect_error "Rrel/model.safetensors" "dtype"
end

begin "overlapping-data-offsets"
rm -rf Rover && cp -r R Rover
h=$(header_of Rover/model.safetensors)
# The second tensor's [a,b] becomes [0,b-a], padded with spaces to the same length: it overlaps the first.
second=$(grep -o '"data_offsets":\[[0-9]*,[0-9]*\]' <<<"$h" | sed -n 2p)
a=$(sed 's/.*\[\([0-9]*\),.*/\1/' <<<"$second")
b=$(sed 's/.*,\([0-9]*\)\]/\1/' <<<"$second")
moved="\"data_offsets\":[0,$((b - a))]"
moved=$(printf "%-${#second}s" "$moved")
put_header Rover/model.safetensors "${h/"$second"/$moved}"
rehash Rover model.safetensors
run "$LIMIT" eval --run Rover --device cpu
expect_rc 1 && expect_error "Rover/model.safetensors" "overlap"
end

begin "config-json-d-token-0-and-threads-100000"
for edit in 's/"d_token": [0-9]*/"d_token": 0/:model.d_token' 's/"threads": [0-9]*/"threads": 100000/:train.threads'; do
  key=${edit##*:}
  rm -rf Rcfg && cp -r R Rcfg
  sed -i "${edit%:*}" Rcfg/config.json
  for cmd in "eval --run Rcfg" "recommend --run Rcfg --user U00001" "encode --run Rcfg --side user --out ec.safetensors" \
    "finetune --run Rcfg --data D --out Q --quiet"; do
    run 20 $cmd --device cpu # quickly: 100000 threads once hung here
    expect_rc 1 && expect_error "Rcfg/config.json" "$key"
  done
done
expect_absent ec.safetensors Q
end

# ---- data files that are not regular files, and huge lines -------------------------------------------------------
begin "fifo-as-a-data-file"
for f in interactions.csv users.csv schema.toml; do
  rm -rf Dfifo && cp -r D Dfifo && rm Dfifo/$f && mkfifo Dfifo/$f
  run 20 train --data Dfifo --out Q "${SMALL[@]}"
  expect_rc 1 && expect_error "Dfifo/$f" "FIFO"
  run 20 recommend --run R --data Dfifo --user U00001 --device cpu
  expect_rc 1 && expect_error "Dfifo/$f"
done
rm -rf Ddev && cp -r D Ddev && rm Ddev/items.csv && ln -s /dev/zero Ddev/items.csv
run 20 train --data Ddev --out Q "${SMALL[@]}"
expect_rc 1 && expect_error "Ddev/items.csv" "not a regular file"
rm -rf Ddir && cp -r D Ddir && rm Ddir/items.csv && mkdir Ddir/items.csv
run 20 train --data Ddir --out Q "${SMALL[@]}"
expect_rc 1 && expect_error "Ddir/items.csv"
rm -f cfg.fifo && mkfifo cfg.fifo
run 20 train --data D --out Q --config cfg.fifo --device cpu --quiet
expect_rc 1 && expect_error "cfg.fifo" "FIFO"
rm -rf Dfifo Ddev Ddir cfg.fifo
expect_absent Q
end

begin "fifo-in-a-run-folder"
# The weights are hashed before they are read: a FIFO there must not block, a device must not be read forever.
rm -rf Rfifo Lfifo Rcfifo && cp -r R Rfifo && cp -r L Lfifo && cp -r R Rcfifo
rm Rfifo/model.safetensors && mkfifo Rfifo/model.safetensors
rm Lfifo/adapters.safetensors && ln -s /dev/zero Lfifo/adapters.safetensors
rm Rcfifo/config.json && mkfifo Rcfifo/config.json
for cmd in "eval --run Rfifo" "recommend --run Rfifo --user U00001" "encode --run Rfifo --side user --out ef.safetensors" \
  "finetune --run Rfifo --data D --out Q --quiet"; do
  run 20 $cmd --device cpu
  expect_rc 1 && expect_error "Rfifo/model.safetensors" "FIFO"
done
run 20 eval --run Lfifo --device cpu
expect_rc 1 && expect_error "Lfifo/adapters.safetensors" "character device"
run 20 merge --run Lfifo --out Q
expect_rc 1 && expect_error "Lfifo/adapters.safetensors" "character device"
run 20 eval --run Rcfifo --device cpu
expect_rc 1 && expect_error "Rcfifo/config.json" "FIFO"
expect_absent ef.safetensors Q
rm -rf Rfifo Lfifo Rcfifo
end

begin "one-line-of-50-mb-of-commas"
# Bounded memory: the process's peak resident set, from GNU time when it is there.
TIME_BIN=""
[[ -x /usr/bin/time ]] && /usr/bin/time -f %M true >/dev/null 2>&1 && TIME_BIN=/usr/bin/time
MAX_RSS_KB=600000
commas() { head -c 50000000 /dev/zero | tr '\0' ','; }
for variant in header row; do
  rm -rf Dlong && cp -r D Dlong
  if [[ $variant == header ]]; then
    { commas; echo; } >Dlong/interactions.csv
    want=("Dlong/interactions.csv:1")
  else
    { head -n 1 D/interactions.csv; commas; echo; } >Dlong/interactions.csv
    want=("Dlong/interactions.csv:2")
  fi
  CMD="ftmamba train --data Dlong (50 MB of commas in the $variant)"
  if [[ -n $TIME_BIN ]]; then
    timeout -k 5 "$LIMIT" "$TIME_BIN" -o "$W/rss" -f %M "$BIN" train --data Dlong --out Q "${SMALL[@]}" </dev/null >"$W/stdout" 2>"$W/stderr"
    RC=$?
    rss=$(tail -n 1 "$W/rss")
    [[ $rss =~ ^[0-9]+$ ]] && ((rss < MAX_RSS_KB)) || fail "$variant: peak memory ${rss} kB, the bound is $MAX_RSS_KB kB"
  else
    timeout -k 5 "$LIMIT" "$BIN" train --data Dlong --out Q "${SMALL[@]}" </dev/null >"$W/stdout" 2>"$W/stderr"
    RC=$?
  fi
  expect_rc 1 && expect_error "${want[@]}"
done
rm -rf Dlong
expect_absent Q
end

begin "multi-valued-cell-of-170000-values"
# One 1 MiB cell of distinct values (the most one field may hold): refused for its count at once, not after the
# quadratic search for repeats that once took a minute per cell.
rm -rf Dtags && cp -r D Dtags
sed -i 's/^\[items\]$/[items]\nmulti_valued = [ "tags" ]/' Dtags/schema.toml
awk 'NR == 1 { print $0 ",tags"; next } NR == 2 { printf "%s,", $0; for (i = 0; i < 170000; ++i) printf "%s%05x", (i ? "|" : ""), i; print ""; next } { print $0 ",a|b" }' \
  D/items.csv >Dtags/items.csv
run 15 train --data Dtags --out Q "${SMALL[@]}"
expect_rc 1 && expect_error "Dtags/items.csv:2:tags" "more than 64 values"
rm -rf Dtags
expect_absent Q Q.partial
end

# ---- late failures: refused before training ----------------------------------------------------------------------
begin "catalog-too-small-for-sampled-protocol"
# 50 items and the default 100 sampled negatives per test user; 100,000 epochs if training ever started.
rm -rf Dsmall && mkdir Dsmall && cp D/schema.toml D/users.csv Dsmall/
head -n 51 D/items.csv >Dsmall/items.csv
awk -F, 'NR == FNR { if (FNR > 1) keep[$1] = 1; next } FNR == 1 || keep[$2]' Dsmall/items.csv D/interactions.csv \
  >Dsmall/interactions.csv
run 30 train --data Dsmall --out Q "${SMALL[@]}" --set train.epochs=100000
expect_rc 1 && expect_error "eval.sampled_negatives" "50 items"
expect_absent Q Q.partial
run 30 train --data D --out Q "${SMALL[@]}" --set train.epochs=100000 --set eval.sampled_negatives=479
expect_rc 1 && expect_error "eval.sampled_negatives"
expect_absent Q Q.partial
end

# ---- temporary names redirected by a symbolic link ---------------------------------------------------------------
begin "symlink-at-the-temporary-name"
mkdir -p victim
echo keep >victim/notes.txt
# The staging folder of a folder output is OUT.partial (src/ftmamba/io/staged_dir.cpp).
ln -s victim S.partial
run "$LIMIT" train --data D --out S "${SMALL[@]}" --set train.epochs=1
expect_rc 1 && expect_error "S.partial" "not an ftmamba staging folder"
ln -s victim G2.partial
run "$LIMIT" generate --pairs 3000 --out G2
expect_rc 1 && expect_error "G2.partial" "not an ftmamba staging folder"
[[ -L S.partial && -L G2.partial ]] || fail "a planted link was removed"
[[ $(ls -A victim) == notes.txt && $(cat victim/notes.txt) == keep ]] || fail "the link's target folder changed: $(ls -A victim | tr '\n' ' ')"
expect_absent S G2
# A single file goes through FILE.tmp-PID-N (src/ftmamba/io/atomic_file.cpp): a shell that plants the links
# for its own pid and then becomes ftmamba (exec keeps the pid) meets them.
CMD="ftmamba encode --out E.safetensors, E.safetensors.tmp-PID-N planted"
timeout -k 5 "$LIMIT" bash -c 'for i in 0 1 2 3 4 5 6 7 8 9; do ln -s "$2/planted.safetensors" "$3.tmp-$$-$i"; done
  exec "$1" encode --run R --side user --out "$3" --device cpu' _ "$BIN" "$W/victim" E.safetensors </dev/null \
  >"$W/stdout" 2>"$W/stderr"
RC=$?
expect_rc 1 && expect_error "E.safetensors"
expect_absent victim/planted.safetensors
[[ $(ls -A victim) == notes.txt ]] || fail "the link was followed: victim holds $(ls -A victim | tr '\n' ' ')"
rm -f S.partial G2.partial E.safetensors.tmp-*
end

# ---- control characters in input are escaped in messages ---------------------------------------------------------
ESC=$'\x1b[31m'
begin "control-characters-are-escaped"
rm -rf Dhdr && cp -r D Dhdr
sed -i "1s/,$NUM_FEATURE,/,${ESC}$NUM_FEATURE,/" Dhdr/users.csv
run "$LIMIT" train --data Dhdr --out Q "${SMALL[@]}"
expect_rc 1 && expect_error 'Dhdr/users.csv:1:' '\x1b[31m'"$NUM_FEATURE"
rm -rf Dval && cp -r D Dval
sed -i "2s/^\([^,]*\),\([^,]*\),/\1,${ESC}\2,/" Dval/users.csv
run "$LIMIT" train --data Dval --out Q "${SMALL[@]}"
expect_rc 1 && expect_error 'Dval/users.csv:2:' '\x1b[31m'
rm -rf Did && cp -r D Did
sed -i "2s/^\([^,]*\),/\1${ESC}x,/" Did/interactions.csv
run "$LIMIT" train --data Did --out Q "${SMALL[@]}"
expect_rc 1 && expect_error 'Did/interactions.csv:2:' '\x1b[31m'
run "$LIMIT" recommend --run R --user "U${ESC}X"$'\a' --device cpu
expect_rc 1 && expect_error 'U\x1b[31mX\x07'
run "$LIMIT" recommend --run R --user NEW --feature "${ESC}$NUM_FEATURE=3" --device cpu
expect_rc 1 && expect_error '\x1b[31m'"$NUM_FEATURE"
run "$LIMIT" recommend --run R --user NEW --feature "$NUM_FEATURE=${ESC}3" --device cpu
expect_rc 1 && expect_error '\x1b[31m3'
expect_absent Q
# An item id holding ESC that trains fine: recommend's table shows it escaped, its JSON as \u001b.
rm -rf Ditem Ritem && cp -r D Ditem
item=$(sed -n 2p D/items.csv | cut -d, -f1)
sed -i "s/^$item,/${item}${ESC},/" Ditem/items.csv
sed -i "s/,$item,/,${item}${ESC},/" Ditem/interactions.csv
run 120 train --data Ditem --out Ritem "${SMALL[@]}" --set train.epochs=1
expect_rc 0 && expect_no_control "$W/stdout" && expect_no_control "$W/stderr"
n_items=$(($(wc -l <Ditem/items.csv) - 1))
run "$LIMIT" recommend --run Ritem --user NEW --feature "$NUM_FEATURE=3" --k "$n_items" --device cpu
expect_rc 0 && expect_no_control "$W/stdout"
grep -qF "${item}"'\x1b[31m' "$W/stdout" || fail "recommend's table does not show the item '${item}\\x1b[31m'"
run "$LIMIT" recommend --run Ritem --user NEW --feature "$NUM_FEATURE=3" --k "$n_items" --device cpu --json
expect_rc 0 && expect_no_control "$W/stdout"
grep -qF "${item}"'\u001b[31m' "$W/stdout" || fail "recommend --json does not show the item '${item}\\u001b[31m'"
# An output path holding ESC is echoed escaped.
run "$LIMIT" generate --pairs 3000 --out "G${ESC}"
expect_rc 0 && expect_no_control "$W/stdout"
grep -qF 'G\x1b[31m' "$W/stdout" || fail "generate does not echo its --out escaped: $(head -c 200 "$W/stdout")"
run "$LIMIT" encode --run R --side item --out "e${ESC}.safetensors" --device cpu
expect_rc 0 && expect_no_control "$W/stdout"
run "$LIMIT" merge --run L --out "M${ESC}"
expect_rc 0 && expect_no_control "$W/stdout"
end
rm -rf "G${ESC}" "e${ESC}.safetensors" "M${ESC}"

# ---- usage errors exit with 2 ------------------------------------------------------------------------------------
begin "usage-errors-exit-2"
run "$LIMIT" train --data D --out Q --no-such-option
expect_rc 2 && expect_error "--no-such-option"
run "$LIMIT" recommend --run R --user U00001 --k many
expect_rc 2 && expect_error "--k"
run "$LIMIT" eval
expect_rc 2 && expect_error "--run"
expect_absent Q
end

# ---- at the end: nothing the user owned was touched --------------------------------------------------------------
begin "user-files-intact-at-the-end"
expect_intact
[[ $(cat notes/notes.txt) == "my notes" ]] || fail "notes/notes.txt changed"
expect_run_loads R
expect_run_loads L
run "$LIMIT" train --data D --out Qfinal "${SMALL[@]}" --set train.epochs=1
expect_rc 0
expect_no_leftovers .
end

echo
for line in "${RESULTS[@]}"; do [[ $line == FAIL* ]] && echo "$line"; done
echo "hostile inputs: $CASES cases, $FAILED failed"
((FAILED == 0))
