#!/usr/bin/env bash
# ReadmeCommands: every command README.md shows works as written.
#
#   bash tests/cli/readme_commands.sh FTMAMBA_BINARY [README.md]
#
# (a) Every ```sh block runs, in order, in one fresh temporary folder, with `ftmamba` on PATH (a symbolic link
#     to the binary). A command is a line, joined with the next while it ends in `\`, and with its body up to
#     the terminator when it opens a heredoc (`<<EOF`, `<<'EOF'`). Commands that build or install (`make`,
#     `cmake`, `ctest`, `bash scripts/...`, `scripts/...`, `python3 ...`, a path into a build folder) or need a
#     GPU (`--device cuda...`, a `# GPU` comment) are listed as skipped; their `ftmamba` lines are still checked
#     as in (b). The first command that exits non-zero fails the test, naming the block's first line in
#     README.md, the command's line and its output.
# (b) Every `ftmamba ...` line of a ```text block (a synopsis: `[optional]` parts and placeholders) names a
#     subcommand that exists, nested ones (`bench scaling`, `schema infer`, ...) included, and every `--flag`
#     it shows is an option in that subcommand's --help.
#
# One line per command checked, then a summary. README_KEEP_GOING=1 runs on after a failing command (to see
# every failure at once); the exit code is still 1.
set -u

if [[ $# -lt 1 || $# -gt 2 ]]; then
  echo "usage: $0 FTMAMBA_BINARY [README.md]" >&2
  exit 2
fi
binary=$(realpath -- "$1") || exit 2
readme=$(realpath -- "${2:-$(dirname -- "$0")/../../README.md}") || exit 2
[[ -x $binary ]] || { echo "not an executable: $binary" >&2; exit 2; }
[[ -f $readme ]] || { echo "no README at $readme" >&2; exit 2; }
name=$(basename -- "$readme")

work=$(mktemp -d "${TMPDIR:-/tmp}/ftmamba-readme.XXXXXX") || exit 2
trap 'rm -rf -- "$work"' EXIT
mkdir -p "$work/bin" "$work/run"
ln -s -- "$binary" "$work/bin/ftmamba"
export PATH="$work/bin:$PATH"

ran=0 checked=0 skipped=0 failed=0
keep_going=${README_KEEP_GOING:-0}

fail() {  # message...
  failed=$((failed + 1))
  echo "FAIL  $*"
}

# --- (b): subcommands and flags against --help -------------------------------------------------------------

declare -A help_cache
help_of() {  # words of the subcommand path -> its --help text (cached); non-zero if it has none
  local key="ftmamba $*"
  if [[ -z ${help_cache[$key]+set} ]]; then
    local text
    text=$("$binary" "$@" --help 2>&1) || return 1
    help_cache[$key]=$text
  fi
  printf '%s\n' "${help_cache[$key]}"
}

# The subcommands a --help text lists (the words after "Subcommands:").
subcommands_in() {
  awk '/^Subcommands:/ {on = 1; next} on && /^  [a-z]/ {print $1}'
}

# The long options a --help text defines: the `--name` tokens at the start of its option lines
# ("  -q,--quiet  ..." or "  --set TEXT ..."), not the ones its descriptions mention.
options_in() {
  awk '/^ +-/ {split($1, names, ","); for (i in names) if (names[i] ~ /^--/) {sub(/[=:].*/, "", names[i]); print names[i]}}'
}

# Checks one `ftmamba ...` command (already joined); prints one line.
check_synopsis() {  # where, command
  local where=$1 cmd
  cmd=$(printf '%s' "$2" | tr '\\\n' '  ' | tr -s ' ')  # continuation lines joined
  local -a words path=()
  read -r -a words <<<"${cmd%%#*}"
  local i=1 help
  help=$(help_of) || { fail "$where: ftmamba --help fails"; return; }
  while ((i < ${#words[@]})); do
    local w=${words[i]}
    [[ $w == -* || $w == \[* ]] && break
    if subcommands_in <<<"$help" | grep -qx -- "$w"; then
      path+=("$w")
      help=$(help_of "${path[@]}") || { fail "$where: ftmamba ${path[*]} --help fails"; return; }
      i=$((i + 1))
    else
      # A word that is no subcommand: ftmamba's commands take options only, so it is a mistake either way.
      if subcommands_in <<<"$help" | grep -q .; then
        fail "$where: '$w' is not a subcommand of 'ftmamba${path[*]:+ ${path[*]}}': $cmd"
      else
        fail "$where: 'ftmamba${path[*]:+ ${path[*]}}' takes no word '$w' before its options: $cmd"
      fi
      return
    fi
  done
  local known flag missing=()
  known=$(options_in <<<"$help")
  while read -r flag; do
    [[ -z $flag || $flag == --help ]] && continue
    grep -qxF -- "$flag" <<<"$known" || missing+=("$flag")
  done < <(grep -oE -- '--[A-Za-z][A-Za-z0-9._-]*' <<<"${cmd%%#*}" | sed 's/[.]$//')
  if ((${#missing[@]} > 0)); then
    fail "$where: ftmamba${path[*]:+ ${path[*]}} has no option ${missing[*]}: $cmd"
    return
  fi
  checked=$((checked + 1))
  echo "ok    $where: ftmamba${path[*]:+ ${path[*]}} (${#words[@]} words, flags checked)"
}

# --- (a): running a command ---------------------------------------------------------------------------------

skip_reason() {  # command -> prints why it is not run, or nothing
  local cmd=$1 first
  first=${cmd%% *}
  case $first in
    make | cmake | ctest | sudo | apt-get | apt | python3 | pip | git) echo "builds or installs ($first)"; return ;;
    bash) [[ $cmd == bash\ scripts/* || $cmd == bash\ bench/* ]] && { echo "a project script"; return; } ;;
    scripts/* | bench/* | ./scripts/*) echo "a project script"; return ;;
    build*/* | ./build*/*) echo "a build folder's program"; return ;;
  esac
  if [[ $cmd =~ --device[[:space:]=]+cuda || $cmd =~ \#.*GPU ]]; then
    echo "needs a GPU"
  fi
}

run_command() {  # where, command
  local where=$1 cmd=$2 reason
  reason=$(skip_reason "$cmd")
  if [[ -n $reason ]]; then
    skipped=$((skipped + 1))
    echo "skip  $where: ${cmd%%$'\n'*}  ($reason)"
    [[ $cmd == ftmamba\ * ]] && check_synopsis "$where" "$cmd"
    return 0
  fi
  local log="$work/last.log" status
  (cd "$work/run" && bash -o pipefail -c "$cmd") >"$log" 2>&1 </dev/null
  status=$?
  if ((status != 0)); then
    fail "$where: exit code $status: ${cmd%%$'\n'*}"
    echo "----- output (last 40 lines) -----"
    tail -n 40 "$log"
    echo "----------------------------------"
    return 1
  fi
  ran=$((ran + 1))
  echo "ran   $where: ${cmd%%$'\n'*}"
}

# --- README.md, block by block -------------------------------------------------------------------------------

# Walks the fences: kind of the block ("sh", "text" or other), the block's first README line, and its lines.
lineno=0 kind="" block_start=0 stop=0
pending="" pending_line=0 heredoc_end=""

flush() {  # runs or checks the pending command
  [[ -z $pending ]] && return 0
  local where="$name:$pending_line (block at line $block_start)"
  local cmd=$pending
  pending="" heredoc_end=""
  if [[ $kind == sh ]]; then
    run_command "$where" "$cmd" || { [[ $keep_going == 1 ]] || stop=1; }
  elif [[ $kind == text && $cmd == ftmamba\ * ]]; then
    check_synopsis "$where" "$cmd"
  elif [[ $cmd == ftmamba\ * ]]; then  # neither run nor checked: the block's kind must say which it is
    fail "$where: an ftmamba command in a \`\`\`$kind block; use \`\`\`sh (runs as written) or \`\`\`text (a synopsis)"
  fi
}

while IFS= read -r line || [[ -n $line ]]; do
  lineno=$((lineno + 1))
  if [[ -z $kind ]]; then
    if [[ $line =~ ^\`\`\`([A-Za-z0-9_-]*)[[:space:]]*$ ]]; then
      kind=${BASH_REMATCH[1]:-none}
      block_start=$lineno
    fi
    continue
  fi
  if [[ -n $heredoc_end ]]; then  # inside a heredoc: the body is the command's, up to the terminator
    pending+=$'\n'"$line"
    [[ $line == "$heredoc_end" ]] && flush
  elif [[ $line =~ ^\`\`\`[[:space:]]*$ ]]; then
    flush
    kind=""
  elif [[ -n $pending ]]; then  # a continuation line
    pending+=$'\n'"$line"
    [[ $line == *\\ ]] || flush
  elif [[ $line =~ ^[[:space:]]*(#.*)?$ ]]; then
    continue  # blank or comment
  else
    pending=$line
    pending_line=$lineno
    if [[ $line =~ \<\<-?[\'\"]?([A-Za-z_][A-Za-z0-9_]*)[\'\"]? ]]; then
      heredoc_end=${BASH_REMATCH[1]}
    elif [[ $line != *\\ ]]; then
      flush
    fi
  fi
  ((stop)) && break
done <"$readme"
[[ -n $kind && $stop == 0 ]] && fail "$name:$block_start: code block never closed"

echo
echo "ReadmeCommands: $ran commands ran, $checked synopses checked, $skipped skipped, $failed failed ($readme)"
((failed == 0 && stop == 0))
