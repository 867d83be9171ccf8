#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# Ingest benchmark (issue 5): smtp-source sends 2 KB messages, one per connection, at 1, 10 and
# 50 parallel sessions to four receivers started side by side, each on its own 127.0.0.1 port,
# in the same run, interleaved:
#   mxd        this tree, built with optimisation in ./build-bench (or $MXD_BUILD), spool in a
#              temporary directory, deliveries paused (-P mda -P mta);
#   opensmtpd  smtpd from Debian's opensmtpd package, unpacked by bench/peers.sh, never
#              installed: it runs in a private mount namespace (unshare --mount) where its
#              compiled-in /var/spool/smtpd, /var/lib/opensmtpd/empty, /run/smtpd.sock and a
#              resolv.conf that says `lookup file` (no DNS) are bind-mounted from the temporary
#              directory; deliveries paused (-P mda -P mta); same smtpd.conf rules as mxd;
#   postfix    master/smtpd/cleanup from Debian's postfix package, unpacked, run as
#              `postfix -c DIR` with its own main.cf, master.cf, queue and data directories;
#              every message goes to the hold queue (check_client_access static:HOLD), so
#              nothing is delivered;
#   smtp-sink  from the same package: a receiver that stores nothing, the ceiling of this
#              machine; it runs just before and just after mxd, and its figure is the mean of
#              the two.
# Prints messages per second per receiver and session count, the ratios mxd/OpenSMTPD,
# mxd/Postfix and mxd/sink, and whether the targets of the issue are met (at 10 and 50
# sessions: >= 10x OpenSMTPD, >= 2x Postfix, >= 0.5x smtp-sink), then each round's own mxd/sink
# ratio, so that a round under the target shows behind a median that meets it. Afterwards it
# counts what each storing receiver holds in its queue, so that a receiver that refused mail
# cannot look fast.
# The machine is shared and noisy: compare the ratios of one run, not figures across runs.
# OpenSMTPD listens with a backlog of 5: from 10 sessions up, handshakes beyond it are dropped
# and clients wait for the 1 s SYN retransmission, so its figures there swing from run to run
# (about 1000/s when it keeps up, under 10/s when it does not). Every receiver's queue grows
# over the run (warm-up, then each session count in turn).
#
# Usage (as root: OpenSMTPD and Postfix need their system users and a mount namespace):
#   bench/ingest.sh [MESSAGES]     messages per run (default 3000), the same for every receiver
# Environment: MXD_BUILD (build directory, default build-bench), BENCH_CACHE (see peers.sh),
# INGEST_ONLY="mxd postfix" (a subset of mxd opensmtpd postfix sink), INGEST_SESSIONS="10 50",
# INGEST_ROUNDS (default 3: everything is repeated, interleaved, and the median kept, since
# one run of mxd or the sink swings by a quarter with the machine's load; a round takes about
# 7 minutes with OpenSMTPD, under a minute without it).
# Loopback only; everything started is stopped on exit.
# shellcheck disable=SC2317  # the start_* and queued_* functions are called by name
set -euo pipefail
cd "$(dirname "$0")/.."
messages=${1:-3000}
build=${MXD_BUILD:-build-bench}
read -ra receivers <<<"${INGEST_ONLY:-mxd opensmtpd postfix sink}"
read -ra sessions_list <<<"${INGEST_SESSIONS:-1 10 50}"
rounds=${INGEST_ROUNDS:-3}
warmup=100
if [ "$(id -u)" -ne 0 ]; then
  echo "ingest: run as root (OpenSMTPD and Postfix need their users and a mount namespace)" >&2
  exit 1
fi
scripts/setup
[ -f "$build/build.ninja" ] || meson setup "$build" --buildtype=release >/dev/null
if ! nice ninja -C "$build" daemon/mxd cli/mxctl >"$build/ingest-build.log" 2>&1; then
  # The worktree is shared: someone else's half-done file must not stop a measurement.
  if [ ! -x "$build/daemon/mxd" ] || [ ! -x "$build/cli/mxctl" ]; then
    cat "$build/ingest-build.log" >&2
    exit 1
  fi
  echo "ingest: the build failed (see $build/ingest-build.log); measuring the mxd built before" >&2
fi
# shellcheck source=bench/peers.sh
. bench/peers.sh
peers_setup
pf_root="$BENCH_CACHE/postfix"
tools="$pf_root/usr/sbin"
export LD_LIBRARY_PATH="$POSTFIX_LIBS"

work=$(mktemp -d)
chmod 755 "$work"  # the peers' unprivileged processes walk through it
pids=()
postfix_started=
cleanup() {
  if [ -n "$postfix_started" ]; then
    "$tools/postfix" -c "$work/postfix/conf" stop >/dev/null 2>&1 || true
  fi
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

declare -A port

# The routing rules, in smtpd.conf(5) form, that mxd and OpenSMTPD both use.
rules() {
  cat <<CONF
table vusers { "@example.org" = root }
action "local" mbox virtual <vusers>
match from any for domain "example.org" action "local"
CONF
}

start_mxd() {
  mxd_start "$work/mxd" "$build" -P mda -P mta < <({ rules; echo "smtp limit max-mails 100000"; })
  port[mxd]=$mxd_port
}
queued_mxd() { "$build/cli/mxctl" -s "$work/mxd.sock" show queue | wc -l; }

start_opensmtpd() {
  port[opensmtpd]=$(free_port)
  opensmtpd_start "$work/opensmtpd" "${port[opensmtpd]}" -P mda -P mta < <(rules)
}
# One file per envelope beside each message's file.
queued_opensmtpd() { find "$work/opensmtpd/spool/smtpd/queue" -type f ! -name message | wc -l; }

start_postfix() {
  port[postfix]=$(free_port)
  postfix_start "$work/postfix" "${port[postfix]}"
}
queued_postfix() { find "$work/postfix/queue/hold" -type f | wc -l; }

start_sink() {
  port[sink]=$(free_port)
  # As root, smtp-sink insists on a user to run as.
  "$tools/smtp-sink" -u nobody "127.0.0.1:${port[sink]}" 1000 &
  pids+=($!)
  wait_port "${port[sink]}" smtp-sink
}

# Sends $2 messages with $1 sessions to receiver $3; prints messages per second.
rate() {
  local start end
  start=$EPOCHREALTIME
  if ! timeout 900 "$tools/smtp-source" -s "$1" -m "$2" -l 2048 -f bench@sender.net -t rcpt@example.org \
    "127.0.0.1:${port[$3]}" >"$work/source.out" 2>&1; then
    echo "ingest: smtp-source to $3 failed:" >&2
    cat "$work/source.out" >&2
    return 1
  fi
  end=$EPOCHREALTIME
  awk -v m="$2" -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", m / (b - a) }'
}

for r in "${receivers[@]}"; do
  "start_$r"
  rate 50 "$warmup" "$r" >/dev/null  # the peers spawn their processes on first use
done

has() { [[ " ${receivers[*]} " == *" $1 "* ]]; }

# Each round runs every session count against every receiver in turn. The machine's speed
# drifts by a quarter within minutes, and OpenSMTPD takes minutes at 10 and 50 sessions, so
# smtp-sink runs just before and just after mxd and its figure is the mean of the two: the
# ceiling is measured around mxd's run, not minutes away from it. The figure kept is the
# median of the rounds' runs (of the mean of the middle two, for an even count).
order=()
if has mxd && has sink; then order=(sink mxd sink); elif has mxd; then order=(mxd); elif has sink; then order=(sink); fi
for r in "${receivers[@]}"; do
  [ "$r" = mxd ] || [ "$r" = sink ] || order+=("$r")
done
declare -A mps runs
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for _ in $(seq "$rounds"); do
  for s in "${sessions_list[@]}"; do
    for r in "${order[@]}"; do
      runs[$r,$s]+="$(rate "$s" "$messages" "$r") "
    done
  done
done
for key in "${!runs[@]}"; do
  # shellcheck disable=SC2086  # the runs of a key are words
  mps[$key]=$(printf '%s\n' ${runs[$key]} | sort -n |
    awk '{ v[NR] = $1 } END { m = int((NR + 1) / 2); printf "%.0f", NR % 2 ? v[m] : (v[m] + v[m + 1]) / 2 }')
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
echo "ingest: $messages messages of 2 KB per run, one per connection; messages/s, median of $rounds round(s)"
echo "load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg) (on $(nproc) CPUs)"
printf '%-9s' sessions
for r in "${receivers[@]}"; do printf ' %10s' "$r"; done
has mxd && for r in opensmtpd postfix sink; do has "$r" && printf ' %14s' "mxd/$r"; done
echo
for s in "${sessions_list[@]}"; do
  printf '%-9s' "$s"
  for r in "${receivers[@]}"; do printf ' %10d' "${mps[$r,$s]}"; done
  if has mxd; then
    for r in opensmtpd postfix sink; do has "$r" && printf ' %14s' "$(ratio "${mps[mxd,$s]}" "${mps[$r,$s]}")"; done
  fi
  echo
done

if has mxd; then
  declare -A target=([opensmtpd]=10 [postfix]=2 [sink]=0.5)
  for s in "${sessions_list[@]}"; do
    [ "$s" -ge 10 ] || continue
    line="target at $s sessions:"
    for r in opensmtpd postfix sink; do
      has "$r" || continue
      x=$(ratio "${mps[mxd,$s]}" "${mps[$r,$s]}")
      verdict=$(awk -v x="$x" -v t="${target[$r]}" 'BEGIN { print (x >= t ? "met" : "NOT met") }')
      line+=" mxd/$r $x (>= ${target[$r]}) $verdict;"
    done
    echo "${line%;}"
  done
  # The median can hide a round under the target: each round's own ratio to the sink, whose
  # figure for that round is the mean of its runs just before and just after mxd's.
  if has sink; then
    for s in "${sessions_list[@]}"; do
      [ "$s" -ge 10 ] || continue
      # shellcheck disable=SC2086  # the runs of a key are words
      printf 'mxd/sink by round at %s sessions:%s\n' "$s" "$(
        paste <(printf '%s\n' ${runs[mxd,$s]}) <(printf '%s %s\n' ${runs[sink,$s]}) |
          awk '{ printf " %.2f", ($2 + $3 > 0 ? 2 * $1 / ($2 + $3) : 0) }')"
    done
  fi
fi

expected=$((warmup + messages * ${#sessions_list[@]} * rounds))
status=0
line="queued (expected $expected each):"
for r in mxd opensmtpd postfix; do
  has "$r" || continue
  n=$("queued_$r")
  line+=" $r $n"
  [ "$n" -eq "$expected" ] || status=1
done
echo "$line"
[ "$status" -eq 0 ] || echo "ingest: a receiver did not queue every message it was sent" >&2
exit "$status"
