#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# For a program: --help goes to stdout, is not empty and fits 80 columns; --version prints the
# meson version; an unknown option is an error on stderr with exit status 64.
# Usage: check_help.sh PROGRAM VERSION [SUBCOMMAND...]
set -uo pipefail
program=$1 version=$2
shift 2
fail() { echo "check_help: $(basename "$program") $*" >&2; exit 1; }

help=$("$program" "$@" --help 2>/dev/null) || fail "$* --help exited non-zero"
[ -n "$help" ] || fail "$* --help printed nothing on stdout"
wide=$(printf '%s\n' "$help" | awk 'length($0) > 80')
[ -z "$wide" ] || fail "$* --help is wider than 80 columns: $wide"

if [ $# -eq 0 ]; then
  out=$("$program" --version) || fail "--version exited non-zero"
  case "$out" in *"$version"*) ;; *) fail "--version printed '$out', not $version" ;; esac

  err=$("$program" --no-such-option 2>&1 >/dev/null)
  status=$?
  [ "$status" -eq 64 ] || fail "an unknown option exited $status, not 64"
  [ -n "$err" ] || fail "an unknown option printed nothing on stderr"
  out=$("$program" --no-such-option 2>/dev/null)
  [ -z "$out" ] || fail "an unknown option printed on stdout"

  # mxctl: the same for every command of its table.
  if [ "$(basename "$program")" = mxctl ]; then
    "$program" __man-synopsis | sed -n 's/^\.It Cm \([a-z -]*[a-z]\)\( Ar\| Oo\|$\).*/\1/p' |
      while read -r -a words; do
        "$0" "$program" "$version" "${words[@]}" || exit 1
      done || exit 1
    # And for its other names (argv[0]), but for an unknown option of mailq, which sendmail's
    # mailq options (-Ac, -q...) must not break.
    names=$(mktemp -d)
    trap 'rm -rf "$names"' EXIT
    for name in sendmail mailq newaliases makemap; do
      ln -s "$(cd "$(dirname "$program")" && pwd)/$(basename "$program")" "$names/$name"
      help=$("$names/$name" --help 2>/dev/null) || fail "as $name: --help exited non-zero"
      [ -n "$help" ] || fail "as $name: --help printed nothing on stdout"
      wide=$(printf '%s\n' "$help" | awk 'length($0) > 80')
      [ -z "$wide" ] || fail "as $name: --help is wider than 80 columns: $wide"
      out=$("$names/$name" --version) || fail "as $name: --version exited non-zero"
      case "$out" in *"$version"*) ;; *) fail "as $name: --version printed '$out', not $version" ;; esac
      [ "$name" = mailq ] && continue
      err=$("$names/$name" --no-such-option </dev/null 2>&1 >/dev/null)
      status=$?
      [ "$status" -eq 64 ] || fail "as $name: an unknown option exited $status, not 64"
      [ -n "$err" ] || fail "as $name: an unknown option printed nothing on stderr"
    done
  fi
fi
exit 0
