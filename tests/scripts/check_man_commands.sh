#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# mxctl(8) against the code: its JSON OUTPUT section has a subsection for every listed command
# of the table (commands that print no JSON aside), and its EXIT STATUS section lists every
# exit status of cli/exit_status.hpp.
# Usage: check_man_commands.sh MXCTL SOURCE_ROOT
set -euo pipefail
mxctl=$1 root=$2
page="$root/man/mxctl.8"
failed=0
fail() { echo "check_man_commands: $*" >&2; failed=1; }

# Commands whose output is not JSON: a configuration, a db file, or nothing.
no_json='config migrate|makemap|newaliases'
# The subsection titles: "log verbose, log brief" documents both.
titles=$(sed -n '/^\.Sh JSON OUTPUT/,/^\.Sh /s/^\.Ss //p' "$page" | sed 's/, /\n/g')
while read -r command; do
  [[ $command =~ ^($no_json)$ ]] && continue
  grep -qxF -- "$command" <<<"$titles" ||
    fail "man/mxctl.8: JSON OUTPUT has no subsection for '$command' (.Ss $command)"
done < <("$mxctl" __man-synopsis | sed -n 's/^\.It Cm \([a-z -]*[a-z]\)\( Ar\| Oo\|$\).*/\1/p')

statuses=$(sed -n '/^\.Sh EXIT STATUS/,/^\.Sh /s/^\.It \([0-9][0-9]*\)$/\1/p' "$page")
while read -r status; do
  grep -qx "$status" <<<"$statuses" || fail "man/mxctl.8: EXIT STATUS does not list $status"
done < <(sed -n 's/.*k_exit_[a-z]* = EX_[A-Z]*; *\/\/ \([0-9]*\).*/\1/p' "$root/cli/exit_status.hpp")
exit "$failed"
