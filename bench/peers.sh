#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# Sourced by the benchmarks: fetches OpenSMTPD and Postfix from Debian's archive by package name
# and unpacks them under $BENCH_CACHE (nothing is installed but their libraries and the system
# groups and user they insist on), so that they run side by side with mxd.
set -euo pipefail
BENCH_CACHE=${BENCH_CACHE:-${TMPDIR:-/tmp}/mxd-bench-peers}

peers_setup() {
  local need=()
  for p in libdb5.3 libevent-2.1-7 libicu72 libnsl2 libsasl2-2 time; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || need+=("$p")
  done
  if [ ${#need[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
  mkdir -p "$BENCH_CACHE"
  if [ ! -x "$BENCH_CACHE/opensmtpd/usr/sbin/smtpctl" ] || [ ! -x "$BENCH_CACHE/postfix/usr/sbin/postmap" ]; then
    (cd "$BENCH_CACHE" && apt-get download -qq opensmtpd postfix 2>/dev/null &&
      dpkg -x opensmtpd_*.deb opensmtpd && dpkg -x postfix_*.deb postfix)
  fi
  # OpenSMTPD's smtpctl refuses to run unless setgid to its queue group; postfix tools check
  # that the users and groups of their configuration exist.
  getent group opensmtpq >/dev/null || groupadd --system opensmtpq
  getent group postdrop >/dev/null || groupadd --system postdrop
  id postfix >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postfix
  # smtpd runs its unprivileged processes as Debian's opensmtpd and its queue as opensmtpq.
  id opensmtpd >/dev/null 2>&1 ||
    useradd --system --user-group --no-create-home --home-dir /var/lib/opensmtpd/empty --shell /usr/sbin/nologin opensmtpd
  id opensmtpq >/dev/null 2>&1 ||
    useradd --system --gid opensmtpq --no-create-home --home-dir /var/lib/opensmtpd/empty --shell /usr/sbin/nologin opensmtpq
  chgrp opensmtpq "$BENCH_CACHE/opensmtpd/usr/sbin/smtpctl"
  chmod 2755 "$BENCH_CACHE/opensmtpd/usr/sbin/smtpctl"
  mkdir -p "$BENCH_CACHE/postfix-conf"
  printf 'compatibility_level = 3.7\n' > "$BENCH_CACHE/postfix-conf/main.cf"
  export OPENSMTPD_MAKEMAP="$BENCH_CACHE/opensmtpd/usr/sbin/makemap"
  export POSTFIX_LIBS="$BENCH_CACHE/postfix/usr/lib/postfix"
}

# postmap of the unpacked Postfix, with its own configuration directory.
postmap_peer() {
  LD_LIBRARY_PATH="$POSTFIX_LIBS" "$BENCH_CACHE/postfix/usr/sbin/postmap" -c "$BENCH_CACHE/postfix-conf" "$@"
}
