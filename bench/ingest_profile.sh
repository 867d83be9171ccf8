#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# Where mxd's time goes at ingest (issue 5): one mxd (deliveries paused, spool in a temporary
# directory) takes smtp-source's 2 KB messages, one per connection, at SESSIONS parallel
# sessions, and this prints
#   - messages per second, and mxd's CPU per message, user and system, per thread;
#   - how many messages each queue commit (one fsync) carried;
#   - system calls per message, counted by strace -c -f over a second, smaller load;
#   - with perf (software clock, no hardware counters needed): mxd's share by system call and
#     its hottest user-space functions.
# PRELOAD messages are queued first (default 100), to see how costs grow with the queue.
# Usage: bench/ingest_profile.sh [SESSIONS] [MESSAGES]      (defaults 10 and 3000)
# Environment: MXD_BUILD (default build-bench), PRELOAD, BENCH_CACHE (see peers.sh).
# Loopback only; everything started is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
sessions=${1:-10}
messages=${2:-3000}
preload=${PRELOAD:-100}
build=${MXD_BUILD:-build-bench}
[ -f "$build/build.ninja" ] || meson setup "$build" --buildtype=release >/dev/null
nice ninja -C "$build" daemon/mxd cli/mxctl >/dev/null
# shellcheck source=bench/peers.sh
. bench/peers.sh
peers_setup
tools="$BENCH_CACHE/postfix/usr/sbin"
export LD_LIBRARY_PATH="$POSTFIX_LIBS"
work=$(mktemp -d)
chmod 711 "$work" # mxd started as root runs as _mxd, which must reach its spool in here
mxd_pid=
tracer=
cleanup() {
  [ -z "$tracer" ] || kill "$tracer" 2>/dev/null || true
  [ -z "$mxd_pid" ] || kill "$mxd_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

start_mxd() {
  rm -rf "$work/spool" "$work/mxd.sock"
  cat > "$work/mxd.conf" <<CONF
queue directory "$work/spool"
listen on 127.0.0.1 port 0
table vusers { "@example.org" = root }
action "local" mbox virtual <vusers>
match from any for domain "example.org" action "local"
smtp limit max-mails 100000
CONF
  "$build/daemon/mxd" -d -f "$work/mxd.conf" -s "$work/mxd.sock" -P mda -P mta 2>"$work/mxd.log" &
  mxd_pid=$!
  local _
  for _ in $(seq 200); do [ -S "$work/mxd.sock" ] && break; sleep 0.05; done
  port=$("$build/cli/mxctl" -s "$work/mxd.sock" -j show status |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["listeners"][0]["port"])')
  send 50 "$preload"
}
stop_mxd() {
  kill "$mxd_pid"
  wait "$mxd_pid" 2>/dev/null || true
  mxd_pid=
}
send() {
  timeout 900 "$tools/smtp-source" -s "$1" -m "$2" -l 2048 -f bench@sender.net -t rcpt@example.org \
    "127.0.0.1:$port"
}
# utime and stime of a /proc stat file, in clock ticks.
ticks() { sed 's/.*) //' "$1" | awk '{ print $12, $13 }'; }

start_mxd
declare -A before
for t in /proc/"$mxd_pid"/task/*; do before[${t##*/}]=$(ticks "$t/stat"); done
read -r u0 s0 < <(ticks "/proc/$mxd_pid/stat")
perf_data=
if perf record -e cpu-clock -o /dev/null -- true >/dev/null 2>&1; then
  perf_data="$work/perf.data"
  perf record -e cpu-clock -g -p "$mxd_pid" -o "$perf_data" >/dev/null 2>&1 &
  tracer=$!
  sleep 0.3
fi
start=$EPOCHREALTIME
send "$sessions" "$messages"
end=$EPOCHREALTIME
if [ -n "$tracer" ]; then
  kill -INT "$tracer"
  wait "$tracer" || true
  tracer=
fi
read -r u1 s1 < <(ticks "/proc/$mxd_pid/stat")
hz=$(getconf CLK_TCK)
echo "mxd, $sessions sessions, $messages messages of 2 KB after $preload queued:"
awk -v m="$messages" -v a="$start" -v b="$end" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v hz="$hz" 'BEGIN {
  printf "  %.0f messages/s; CPU per message %.0f us (user %.0f, system %.0f: %.0f%% system)\n",
    m / (b - a), (u + s) / hz / m * 1e6, u / hz / m * 1e6, s / hz / m * 1e6, 100 * s / (u + s + 1e-9) }'
echo "  per thread (us per message, user+system):"
for t in /proc/"$mxd_pid"/task/*; do
  tid=${t##*/}
  [ -n "${before[$tid]:-}" ] || continue
  read -r a b <<<"${before[$tid]}"
  read -r c d < <(ticks "$t/stat")
  awk -v tid="$tid" -v main="$mxd_pid" -v x=$((c + d - a - b)) -v hz="$hz" -v m="$messages" \
    'BEGIN { if (x > 0) printf "    %-8s %s %.0f\n", tid, (tid == main ? "(event loop)" : ""), x / hz / m * 1e6 }'
done
echo "  queued: $("$build/cli/mxctl" -s "$work/mxd.sock" show queue | wc -l) envelopes"
# Group commit at work: queue transactions (one fsync each) and the messages they carried, the
# preload included.
"$build/cli/mxctl" -s "$work/mxd.sock" show stats |
  awk -F= '$1 == "queue.commit.batch" { b = $2 } $1 == "queue.commit.message" { m = $2 }
    END { if (b > 0) printf "  commits: %d fsyncs for %d messages, %.1f messages each\n", b, m, m / b }'
if [ -n "$perf_data" ]; then
  set +o pipefail  # head closes the pipes early
  echo "  mxd's CPU by system call (perf, children included):"
  perf report -i "$perf_data" --stdio --children --sort sym -g none 2>/dev/null |
    grep -E '\[k\] (__x64_sys_|__do_sys_)' | head -14 | sed 's/^/   /'
  echo "  by object, then the hottest user-space functions:"
  perf report -i "$perf_data" --stdio --no-children --sort dso -g none 2>/dev/null |
    grep -E '^ +[0-9]' | head -6 | sed 's/^/   /'
  perf report -i "$perf_data" --stdio --no-children --sort dso,sym -g none 2>/dev/null |
    grep -E '^ +[0-9]' | grep -v kernel | head -12 | sed 's/^/   /'
  set -o pipefail
fi
stop_mxd

# The system calls of a smaller load, under strace (which slows mxd down, so no timing).
counted=$((messages < 1000 ? messages : 1000))
start_mxd
strace -c -f -p "$mxd_pid" -o "$work/strace.txt" 2>/dev/null &
tracer=$!
sleep 1
send "$sessions" "$counted"
sleep 0.3
kill -INT "$tracer"
wait "$tracer" || true
tracer=
echo "  system calls per message (strace -c -f, $counted messages):"
awk -v m="$counted" '$NF ~ /^[a-z_0-9]+$/ && $4 ~ /^[0-9]+$/ && $NF != "total" {
  printf "    %-16s %6.1f\n", $NF, $4 / m; n += $4 } END { printf "    %-16s %6.1f\n", "all", n / m }' \
  "$work/strace.txt" | sort -k2 -n -r | head -24 || true
stop_mxd
