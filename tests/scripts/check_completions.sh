#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# The completion script of one shell, in that shell: its syntax (bash -n and shellcheck,
# zsh -n, fish -n), then what it offers with no daemon running: every first word of mxctl's
# listed commands from its first letters, `mxctl sh` -> show, `mxctl show q` -> queue, a
# subsystem, a choice and an option. The daemon's values are tested by the integration test
# Completion. Exit 77 (skipped) when the shell is not installed.
# Usage: check_completions.sh bash|zsh|fish MXCTL SOURCE_ROOT
set -uo pipefail
shell=$1 mxctl=$2 root=$3
command -v "$shell" >/dev/null || { echo "$shell not installed" >&2; exit 77; }
case $shell in
bash) script="$root/completions/mxctl.bash" ;;
zsh) script="$root/completions/_mxctl" ;;
fish) script="$root/completions/mxctl.fish" ;;
*) echo "usage: check_completions.sh bash|zsh|fish MXCTL SOURCE_ROOT" >&2; exit 64 ;;
esac
PATH="$(cd "$(dirname "$mxctl")" && pwd):$PATH"
export PATH
# No daemon: nothing may wait for one.
export MXD_SOCKET=/nonexistent/mxd.sock
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() { echo "check_completions: $shell: $*" >&2; failed=1; }

case $shell in
bash)
  bash -n "$script" || fail "bash -n failed"
  if command -v shellcheck >/dev/null; then
    shellcheck -s bash "$script" || fail "shellcheck failed"
  fi
  ;;
zsh) zsh -n "$script" || fail "zsh -n failed" ;;
fish) fish -n "$script" || fail "fish -n failed" ;;
esac

# Stubs of zsh's completion functions: each prints what it would offer that starts with
# $PREFIX, one a line.
cat > "$tmp/stub.zsh" <<'EOF'
_describe() {
  local name=${@[-1]} w
  for w in ${${(P)name}%%:*}; do [[ $w == ${PREFIX}* ]] && print -r -- $w; done
  return 0
}
compadd() {
  local -a vals
  if [[ $1 == -a ]]; then vals=(${(P)2}); else shift; vals=("$@"); fi
  local w
  for w in $vals; do [[ $w == ${PREFIX}* ]] && print -r -- $w; done
  return 0
}
_files() { print -r -- '<files>' }
_message() { : }
words=("$@")
CURRENT=$#
PREFIX=${words[-1]}
source $COMPLETION
EOF

# What the shell offers for the command line "$@", the last word being the one at the
# cursor; one candidate a line, without descriptions.
offers() {
  case $shell in
  bash)
    bash --norc --noprofile -c 'source "$0" || exit 1
      COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
      _mxctl && printf "%s\n" "${COMPREPLY[@]}"' "$script" "$@"
    ;;
  zsh) COMPLETION=$script zsh -f "$tmp/stub.zsh" "$@" ;;
  fish)
    # The words joined: an empty last word leaves the line ending in a space.
    # shellcheck disable=SC2016 # fish expands $argv
    fish --no-config -c 'source $argv[1]; complete -C $argv[2]' "$script" "$*" | cut -f1
    ;;
  esac
}

# expect WANTED WORD...: the candidates for the command line include WANTED.
expect() {
  local wanted=$1 got
  shift
  got=$(offers "$@") || fail "'$*' failed"
  grep -qxF -- "$wanted" <<<"$got" || fail "'$*' offers [$(tr '\n' ' ' <<<"$got")], not $wanted"
}

# expect_only WANTED WORD...: the candidates are exactly WANTED (space-separated, sorted).
expect_only() {
  local wanted=$1 got
  shift
  got=$(offers "$@" | sort | tr '\n' ' ')
  [ "${got% }" = "$wanted" ] || fail "'$*' offers [${got% }], not [$wanted]"
}

first_words=$("$mxctl" __man-synopsis | sed -n 's/^\.It Cm \([a-z-]*\).*/\1/p' | sort -u)
[ -n "$first_words" ] || fail "mxctl __man-synopsis listed no command"
for word in $first_words; do
  expect "$word" mxctl "${word:0:2}"
done
expect_only show mxctl sh
expect_only queue mxctl show q
expect_only queue mxctl sh q
expect_only scheduler mxctl trace sc
expect_only bcrypt mxctl encrypt --scheme b
expect_only --strict mxctl check-config --st
expect_only "aliases set" makemap -t ''
expect_only "mda mta" mxctl resume m
expect_only all mxctl untrace a
exit "$failed"
