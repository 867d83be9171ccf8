#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# Runs Postfix's smtp-source load generator without installing Postfix: the package is fetched
# from Debian's archive by name (`apt-get download postfix`) and unpacked once into CACHE_DIR.
# Usage: smtp-source.sh CACHE_DIR [smtp-source arguments...]
set -euo pipefail
cache=${1:?usage: smtp-source.sh CACHE_DIR [arguments...]}
shift
tools="$cache/postfix/usr"
if [ ! -x "$tools/sbin/smtp-source" ]; then
  mkdir -p "$cache"
  # Another test process may be unpacking at the same time: one at a time.
  exec 9>"$cache/.lock"
  flock 9
  if [ ! -x "$tools/sbin/smtp-source" ]; then
    (cd "$cache" && rm -f postfix_*.deb && apt-get download -qq postfix >/dev/null 2>&1) || {
      echo "smtp-source.sh: 'apt-get download postfix' failed: Debian's archive is needed once" >&2
      exit 69
    }
    dpkg -x "$cache"/postfix_*.deb "$cache/postfix"
  fi
  exec 9>&-
fi
LD_LIBRARY_PATH="$tools/lib/postfix" exec "$tools/sbin/smtp-source" "$@"
