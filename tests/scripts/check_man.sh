#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# Every man page is mandoc-lint clean at warning level (without -W warning, mandoc's style
# messages depend on the host's man database). Exit 77 (skipped) without mandoc.
set -euo pipefail
root=$1
command -v mandoc >/dev/null || { echo "mandoc not installed" >&2; exit 77; }
mandoc -T lint -W warning "$root"/man/*.[1-8]
