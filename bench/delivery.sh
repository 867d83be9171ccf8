#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# End-to-end delivery benchmark (issue 6): smtp-source sends 2 KB messages, one per
# connection, to a daemon that delivers them, and the clock stops when the last one has left
# its queue. Two paths, each run against mxd and against OpenSMTPD with the same smtpd.conf
# rules, side by side in the same run:
#   maildir    rcpt@example.org, delivered as the local user mxdbench (created for the run,
#              removed after) into ~/Maildir;
#   smarthost  rcpt@relay.example, relayed to smtp-sink (from Debian's postfix package) on
#              loopback, which takes every message and stores nothing.
# mxd is this tree, built with optimisation in ./build-bench (or $MXD_BUILD); OpenSMTPD is
# smtpd from Debian's opensmtpd package, unpacked by bench/peers.sh and run in a private mount
# namespace as bench/ingest.sh does. Prints messages per second from the first connection to
# the empty queue, and the ratio mxd/OpenSMTPD. The machine is shared and noisy: compare the
# ratios of one run, not figures across runs. One run here (2 CPUs, 500 messages, 10 sessions):
# maildir mxd 320/s, OpenSMTPD 9/s (its SMTP side stalls on its listen backlog of 5);
# smarthost mxd 1712/s (connections reused), OpenSMTPD 15/s.
#
# Usage (as root: local delivery runs as a user, OpenSMTPD needs its users and a namespace):
#   bench/delivery.sh [MESSAGES]     messages per run (default 1000)
# Environment: MXD_BUILD, BENCH_CACHE (see peers.sh), DELIVERY_SESSIONS (default 10).
# Loopback only; everything started is stopped on exit.
# shellcheck disable=SC2317  # the start_* and queued_* functions are called by name
set -euo pipefail
cd "$(dirname "$0")/.."
messages=${1:-1000}
sessions=${DELIVERY_SESSIONS:-10}
build=${MXD_BUILD:-build-bench}
if [ "$(id -u)" -ne 0 ]; then
  echo "delivery: run as root (local delivery runs as a user; OpenSMTPD needs a namespace)" >&2
  exit 1
fi
scripts/setup
[ -f "$build/build.ninja" ] || meson setup "$build" --buildtype=release >/dev/null
if ! nice ninja -C "$build" daemon/mxd cli/mxctl >"$build/delivery-build.log" 2>&1; then
  cat "$build/delivery-build.log" >&2
  exit 1
fi
# shellcheck source=bench/peers.sh
. bench/peers.sh
peers_setup
pf_root="$BENCH_CACHE/postfix"
tools="$pf_root/usr/sbin"
export LD_LIBRARY_PATH="$POSTFIX_LIBS"

user=mxdbench
work=$(mktemp -d)
chmod 755 "$work"  # the peers' unprivileged processes walk through it
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  userdel --remove "$user" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
useradd --create-home --shell /bin/sh "$user"
home=$(getent passwd "$user" | cut -d: -f6)

declare -A port

sink_port=$(free_port)
# As root, smtp-sink insists on a user to run as.
"$tools/smtp-sink" -u nobody "127.0.0.1:$sink_port" 1000 &
pids+=($!)
wait_port "$sink_port" smtp-sink

# The rules, in smtpd.conf(5) form, that mxd and OpenSMTPD both use.
rules() {
  cat <<CONF
table vusers { "@example.org" = $user }
action "local" maildir virtual <vusers>
action "out" relay host smtp://127.0.0.1:$sink_port
match from any for domain "example.org" action "local"
match from any for domain "relay.example" action "out"
CONF
}

start_mxd() {
  mxd_start "$work/mxd" "$build" < <(rules)
  port[mxd]=$mxd_port
}
queued_mxd() { "$build/cli/mxctl" -s "$work/mxd.sock" show queue | wc -l; }

start_opensmtpd() {
  port[opensmtpd]=$(free_port)
  opensmtpd_start "$work/opensmtpd" "${port[opensmtpd]}" < <(rules)
}
# One file per envelope beside each message's file, while it is queued.
queued_opensmtpd() { find "$work/opensmtpd/spool/smtpd/queue" -type f ! -name message 2>/dev/null | wc -l; }

# Sends $messages messages to $2 at daemon $1 and waits, up to 10 minutes, for its queue to be
# empty; prints messages per second over the whole time.
rate() {
  local start end _
  start=$EPOCHREALTIME
  if ! timeout 900 "$tools/smtp-source" -s "$sessions" -m "$messages" -l 2048 -f bench@sender.net \
    -t "$2" "127.0.0.1:${port[$1]}" >"$work/source.out" 2>&1; then
    echo "delivery: smtp-source to $1 failed:" >&2
    cat "$work/source.out" >&2
    return 1
  fi
  for _ in $(seq 12000); do
    [ "$("queued_$1")" -eq 0 ] && break
    sleep 0.05
  done
  end=$EPOCHREALTIME
  if [ "$("queued_$1")" -ne 0 ]; then
    echo "delivery: $1 still holds mail for $2 after 10 minutes" >&2
    return 1
  fi
  awk -v m="$messages" -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", m / (b - a) }'
}
maildir_count() { find "$home/Maildir/new" -type f 2>/dev/null | wc -l; }

start_mxd
start_opensmtpd
declare -A mps
delivered_before=0
for path in maildir smarthost; do
  rcpt=rcpt@example.org
  [ "$path" = smarthost ] && rcpt=rcpt@relay.example
  for d in mxd opensmtpd; do
    mps[$d,$path]=$(rate "$d" "$rcpt")
    if [ "$path" = maildir ]; then
      now=$(maildir_count)
      if [ "$((now - delivered_before))" -ne "$messages" ]; then
        echo "delivery: $d left $((now - delivered_before)) of $messages messages in the maildir" >&2
        grep -e 'delivery' "$work/$d.log" | head -5 >&2
        exit 1
      fi
      delivered_before=$now
    fi
  done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
echo "delivery: $messages messages of 2 KB per run, $sessions sessions, one message per connection;"
echo "messages/s from the first connection to the empty queue (load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs)"
printf '%-10s %10s %10s %14s\n' path mxd opensmtpd mxd/opensmtpd
for path in maildir smarthost; do
  printf '%-10s %10d %10d %14s\n' "$path" "${mps[mxd,$path]}" "${mps[opensmtpd,$path]}" \
    "$(ratio "${mps[mxd,$path]}" "${mps[opensmtpd,$path]}")"
done
