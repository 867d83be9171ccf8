#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# check: fails when the committed generated text differs from what the command table gives.
# update: rewrites it. Usage: generated.sh check|update MXCTL SOURCE_ROOT
set -euo pipefail
mode=$1 mxctl=$2 root=$3
page="$root/man/mxctl.8"
fresh=$(mktemp)
trap 'rm -f "$fresh"' EXIT
# The page with its generated region replaced by the command table's current text.
awk -v list="$("$mxctl" __man-synopsis)" '
  /^\.\\" BEGIN GENERATED/ { print; getline; print; print list; skip = 1; next }
  /^\.\\" END GENERATED/ { skip = 0 }
  !skip { print }
' "$page" > "$fresh"
if [ "$mode" = update ]; then
  cp "$fresh" "$page"
  exit 0
fi
if ! diff -u "$page" "$fresh"; then
  echo "man/mxctl.8 is stale: run 'ninja -C build update-generated'" >&2
  exit 1
fi
