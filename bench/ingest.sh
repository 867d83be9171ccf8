#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# Ingest benchmark (issue 5): smtp-source (from Debian's postfix package, unpacked, not
# installed) sends 2 KB messages at 1, 10 and 50 parallel sessions to mxd, and to smtp-sink,
# a receiver that stores nothing, as the ceiling of this machine. Messages per second for each
# and mxd's share of the ceiling, measured in the same run. Loopback only.
# Usage: bench/ingest.sh [MESSAGES]     (default 5000 per run)
set -euo pipefail
cd "$(dirname "$0")/.."
messages=${1:-5000}
scripts/setup
scripts/build >/dev/null
# shellcheck source=bench/peers.sh
. bench/peers.sh
peers_setup
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
tools="$BENCH_CACHE/postfix/usr/sbin"
export LD_LIBRARY_PATH="$POSTFIX_LIBS"

# Sends $messages with $1 sessions to port $2; prints messages per second.
rate() {
  local start end
  start=$(date +%s.%N)
  "$tools/smtp-source" -s "$1" -m "$messages" -l 2048 -f bench@sender.net -t rcpt@example.org "127.0.0.1:$2"
  end=$(date +%s.%N)
  awk -v m="$messages" -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", m / (b - a) }'
}

cat > "$work/mxd.conf" <<CONF
queue directory "$work/spool"
listen on 127.0.0.1 port 0
table vusers { "@example.org" = root }
action "local" mbox virtual <vusers>
match from any for domain "example.org" action "local"
smtp limit max-mails 100000
CONF
build/daemon/mxd -d -f "$work/mxd.conf" -s "$work/mxd.sock" -P mda -P mta 2>"$work/mxd.log" &
pids+=($!)
for _ in $(seq 100); do [ -S "$work/mxd.sock" ] && break; sleep 0.05; done
mxd_port=$(build/cli/mxctl -s "$work/mxd.sock" -j show status |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["listeners"][0]["port"])')

sink_port=$((20000 + RANDOM % 20000))
# As root, smtp-sink insists on a user to run as.
"$tools/smtp-sink" -u nobody "127.0.0.1:$sink_port" 1000 &
pids+=($!)
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$sink_port") 2>/dev/null && break; sleep 0.05; done

printf '%-10s %10s %10s %12s\n' sessions mxd/s sink/s mxd/sink
for sessions in 1 10 50; do
  m=$(rate "$sessions" "$mxd_port")
  s=$(rate "$sessions" "$sink_port")
  awk -v n="$sessions" -v m="$m" -v s="$s" 'BEGIN { printf "%-10s %10d %10d %12.2f\n", n, m, s, m / s }'
done
queued=$(build/cli/mxctl -s "$work/mxd.sock" show queue | wc -l)
echo "mxd queued $queued envelopes (expected $((messages * 3)))"
echo "OpenSMTPD and Postfix as receivers are not in this script yet."
