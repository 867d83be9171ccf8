#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# Every man page is mandoc-lint clean at warning level (without -W warning, mandoc's style
# messages depend on the host's man database); the pages that an installation promises are
# there, each titled after its file, and sendmail(8) and makemap(8) name mailq and newaliases,
# whose pages are links to them. Exit 77 (skipped) without mandoc.
set -euo pipefail
root=$1
command -v mandoc >/dev/null || { echo "mandoc not installed" >&2; exit 77; }
mandoc -T lint -W warning "$root"/man/*.[1-8]
fail() { echo "check_man: $*" >&2; exit 1; }
for page in mxd.8 mxctl.8 mxd.conf.5 mxd-tables.5 makemap.8 sendmail.8; do
  file="$root/man/$page"
  [ -f "$file" ] || fail "man/$page is missing"
  name=${page%.*} section=${page##*.}
  title=$(tr '[:lower:]' '[:upper:]' <<<"$name")
  grep -qx "\.Dt $title $section" "$file" || fail "man/$page: .Dt is not '$title $section'"
done
# Installed as mailq.8 and newaliases.8 (man/meson.build): their pages must be about them.
sed -n '/^\.Sh NAME/,/^\.Nd/p' "$root/man/sendmail.8" | grep -q '^\.Nm mailq' ||
  fail "man/sendmail.8 does not name mailq in its NAME section"
sed -n '/^\.Sh NAME/,/^\.Nd/p' "$root/man/makemap.8" | grep -q '^\.Nm newaliases' ||
  fail "man/makemap.8 does not name newaliases in its NAME section"
exit 0
