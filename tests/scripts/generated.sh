#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# check: fails when the committed generated text differs from what the command table gives.
# update: rewrites it. Usage: generated.sh check|update MXCTL SOURCE_ROOT
# The generated text: the COMMANDS region of man/mxctl.8 (`mxctl __man-synopsis`) and the
# completion scripts under completions/ (`mxctl __completion bash|zsh|fish`).
set -euo pipefail
mode=$1 mxctl=$2 root=$3
page="$root/man/mxctl.8"
fresh=$(mktemp)
trap 'rm -f "$fresh"' EXIT
stale=0

# Replaces (update) or compares (check) the committed file $1 with $fresh.
settle() {
  if [ "$mode" = update ]; then
    cmp -s "$fresh" "$1" || cp "$fresh" "$1"
  elif ! diff -u "$1" "$fresh"; then
    echo "${1#"$root"/} is stale: run 'ninja -C build update-generated'" >&2
    stale=1
  fi
}

# The page with its generated region replaced by the command table's current text.
awk -v list="$("$mxctl" __man-synopsis)" '
  /^\.\\" BEGIN GENERATED/ { print; getline; print; print list; skip = 1; next }
  /^\.\\" END GENERATED/ { skip = 0 }
  !skip { print }
' "$page" > "$fresh"
settle "$page"

for pair in bash:mxctl.bash zsh:_mxctl fish:mxctl.fish; do
  "$mxctl" __completion "${pair%%:*}" > "$fresh"
  settle "$root/completions/${pair#*:}"
done
exit "$stale"
