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

# A TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits up to 10 s for a listener on 127.0.0.1:$1 ($2 names it in the error).
wait_port() {
  local _
  for _ in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "bench: nothing listens on 127.0.0.1:$1 ($2)" >&2
  return 1
}

# Starts the unpacked OpenSMTPD in directory $1, listening on 127.0.0.1 port $2, with the
# smtpd.conf rules read from stdin and smtpd's flags after $2; stderr goes to $1.log. It runs
# in a private mount namespace where its compiled-in paths (/var/spool, /var/lib, /run, and
# /usr/libexec for its delivery helpers such as mail.maildir) and a resolv.conf that says
# `lookup file` (no DNS) are bind-mounted from $1, so nothing is installed. Sets os_pid to
# the namespace's first process (smtpd's parent: nsenter --target it for smtpctl) and adds it
# to the caller's pids array.
opensmtpd_start() {
  local d=$1 listen_port=$2
  shift 2
  mkdir -p "$d/spool/smtpd" "$d/lib/opensmtpd/empty" "$d/run"
  chmod 711 "$d/spool/smtpd"
  chmod -R 755 "$d/lib"
  printf 'lookup file\n' >"$d/resolv.conf"  # asr would ask DNS first for each client's name
  { echo "listen on 127.0.0.1 port $listen_port"; cat; } >"$d/smtpd.conf"
  chmod 644 "$d/resolv.conf" "$d/smtpd.conf"
  cat >"$d/start.sh" <<SH
set -e
mount --bind "$d/spool" /var/spool
mount --bind "$d/lib" /var/lib
mount --bind "$d/run" /run
mount --bind "$d/resolv.conf" /etc/resolv.conf
mount --bind "$BENCH_CACHE/opensmtpd/usr/libexec" /usr/libexec
exec "$BENCH_CACHE/opensmtpd/usr/sbin/smtpd" -d -f "$d/smtpd.conf" $*
SH
  # unshare and sh exec: the pid is smtpd's parent process, which stops the others.
  unshare --mount --propagation private sh "$d/start.sh" 2>"$d.log" &
  os_pid=$!
  pids+=("$os_pid")
  wait_port "$listen_port" opensmtpd
}

# Starts the unpacked Postfix with its own configuration, queue and data under directory $1,
# its smtpd on 127.0.0.1 port $2, every accepted message put in the hold queue (stored, never
# delivered); it logs to $1.log. Sets postfix_started for the caller's clean-up
# (`postfix -c $1/conf stop`).
postfix_start() {
  local d=$1 listen_port=$2 pf_root="$BENCH_CACHE/postfix"
  mkdir -p "$d/conf" "$d/queue" "$d/data"
  chown postfix "$d/data"
  cat >"$d/conf/main.cf" <<CF
compatibility_level = 3.7
queue_directory = $d/queue
data_directory = $d/data
command_directory = $pf_root/usr/sbin
daemon_directory = $pf_root/usr/lib/postfix/sbin
shlib_directory = $pf_root/usr/lib/postfix
meta_directory = $pf_root/etc/postfix
mail_owner = postfix
setgid_group = postdrop
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C LD_LIBRARY_PATH=$POSTFIX_LIBS
maillog_file_prefixes = $(dirname "$d")
maillog_file = $d.log
myhostname = bench.localdomain
mydestination =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
# Every message to the hold queue: accepted, stored, never delivered.
smtpd_recipient_restrictions = check_client_access static:HOLD, permit_mynetworks, reject
smtpd_recipient_limit = 1000
CF
  cat >"$d/conf/master.cf" <<CF
127.0.0.1:$listen_port inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n -  0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n -  - trivial-rewrite
bounce    unix  - - n -  0 bounce
defer     unix  - - n -  0 bounce
trace     unix  - - n -  0 bounce
verify    unix  - - n -  1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -  - proxymap
showq     unix  n - n -  - showq
error     unix  - - n -  - error
retry     unix  - - n -  - error
discard   unix  - - n -  - discard
smtp      unix  - - n -  - smtp
relay     unix  - - n -  - smtp
local     unix  - n n -  - local
virtual   unix  - n n -  - virtual
anvil     unix  - - n -  1 anvil
scache    unix  - - n -  1 scache
postlog   unix-dgram n - n - 1 postlogd
CF
  # shellcheck disable=SC2034  # read by the caller's clean-up
  postfix_started=1
  if ! LD_LIBRARY_PATH="$POSTFIX_LIBS" "$pf_root/usr/sbin/postfix" -c "$d/conf" start >/dev/null 2>&1; then
    echo "bench: postfix did not start:" >&2
    cat "$d.log" >&2 || true
    return 1
  fi
  wait_port "$listen_port" postfix
}

# Starts mxd from build directory $2 in directory $1 (spool $1/spool, socket $1.sock, log
# $1.log) with the configuration read from stdin after its queue and listen lines, and mxd's
# flags after $2; sets mxd_port to the SMTP port it bound and adds its pid to the caller's
# pids array.
mxd_start() {
  local d=$1 build_dir=$2 _
  shift 2
  mkdir -p "$d"
  # mxd started as root runs as _mxd, which must pass through to the spool.
  chmod o+x "$(dirname "$d")" "$d"
  {
    echo "queue directory \"$d/spool\""
    echo "listen on 127.0.0.1 port 0"
    cat
  } >"$d.conf"
  "$build_dir/daemon/mxd" -d -f "$d.conf" -s "$d.sock" "$@" >/dev/null 2>"$d.log" &
  pids+=($!)
  for _ in $(seq 200); do [ -S "$d.sock" ] && break; sleep 0.05; done
  # shellcheck disable=SC2034  # read by the caller
  mxd_port=$("$build_dir/cli/mxctl" -s "$d.sock" -j show status |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["listeners"][0]["port"])')
}
