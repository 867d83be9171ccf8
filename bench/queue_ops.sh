#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# Queue operations benchmark (issue 7): with deliveries held and the same mail queued in each,
# times listing, scheduling and removing the whole queue on three daemons in the same run:
#   mxd        this tree (built in $MXD_BUILD, default build-bench), deliveries paused
#              (-P mda -P mta): `mxctl -j show queue | wc -l`, `mxctl show queue | wc -l`,
#              `mxctl schedule all`, `mxctl remove all`; mxctl's peak RSS (/usr/bin/time -v)
#              and the time to the first line of the listing;
#   opensmtpd  smtpd from Debian's package, unpacked by bench/peers.sh and run in a private
#              mount namespace as bench/ingest.sh does (-P mda -P mta): `smtpctl show queue |
#              wc -l`, `smtpctl schedule all`, `smtpctl remove all`, run inside that namespace;
#   postfix    Debian's package, unpacked, every message in the hold queue: `postqueue -j |
#              wc -l` (one line per message), `postsuper -d ALL`.
# The queue is filled through SMTP with smtp-source, RCPTS recipients per message (default 10),
# relayed (never delivered) so that each recipient is one envelope: ENVELOPES / RCPTS messages
# of 2 KB. Postfix keeps one file per message, OpenSMTPD one per envelope, mxd one SQLite row
# per envelope. Schedule has no Postfix counterpart for held mail: the issue's reference for
# both schedule and remove is `postsuper -d ALL`.
# Prints seconds and ratios, and whether the issue's targets are met: mxd at most half of
# Postfix's time for the listing and for schedule all and remove all, mxctl under 30 MB.
# The machine is shared and noisy: compare the ratios of one run, not figures across runs.
# Runs here (2 CPUs), before the batched stream writes and the keyed page query, 100000
# envelopes in 10000 messages: list mxd 3.94 s, OpenSMTPD 8.90 s, Postfix 0.41 s; schedule all
# mxd 1.44 s, OpenSMTPD 22.65 s; remove all mxd 2.20 s, OpenSMTPD 124.73 s, Postfix 1.59 s.
# After them, RCPTS=1 QUEUE_ONLY="mxd postfix", 100000 messages of one envelope: list mxd
# 0.42 s, Postfix 1.40 s (0.30); schedule all mxd 0.23 s; remove all mxd 3.67 s, Postfix
# 8.77 s (0.42); mxctl peak RSS 6.8 MB; first line after 6 ms.
#
# Usage (as root: OpenSMTPD and Postfix need their system users and a mount namespace):
#   bench/queue_ops.sh [ENVELOPES]     envelopes queued in each daemon (default 100000)
# Environment: MXD_BUILD (build directory), BENCH_CACHE (see peers.sh), RCPTS (recipients per
# message), QUEUE_ONLY="mxd postfix" (a subset of mxd opensmtpd postfix), SESSIONS (parallel
# SMTP sessions filling the queue, default 4: OpenSMTPD listens with a backlog of 5).
# Loopback only; everything started is stopped on exit.
# shellcheck disable=SC2317  # the start_*, fill_* and ops_* functions are called by name
set -euo pipefail
cd "$(dirname "$0")/.."
envelopes=${1:-100000}
rcpts=${RCPTS:-10}
sessions=${SESSIONS:-4}
build=${MXD_BUILD:-build-bench}
read -ra daemons <<<"${QUEUE_ONLY:-mxd opensmtpd postfix}"
messages=$((envelopes / rcpts))
if [ $((messages * rcpts)) -ne "$envelopes" ]; then
  echo "queue_ops: ENVELOPES ($envelopes) must be a multiple of RCPTS ($rcpts)" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "queue_ops: run as root (OpenSMTPD and Postfix need their users and a mount namespace)" >&2
  exit 1
fi
[ -f "$build/build.ninja" ] || meson setup "$build" --buildtype=release >/dev/null
if ! nice ninja -C "$build" daemon/mxd cli/mxctl >"$build/queue-ops-build.log" 2>&1; then
  # The worktree is shared: someone else's half-done file must not stop a measurement.
  if [ ! -x "$build/daemon/mxd" ] || [ ! -x "$build/cli/mxctl" ]; then
    cat "$build/queue-ops-build.log" >&2
    exit 1
  fi
  echo "queue_ops: the build failed (see $build/queue-ops-build.log); measuring the mxd built before" >&2
fi
# shellcheck source=bench/peers.sh
. bench/peers.sh
peers_setup
pf_root="$BENCH_CACHE/postfix"
os_root="$BENCH_CACHE/opensmtpd"
tools="$pf_root/usr/sbin"
export LD_LIBRARY_PATH="$POSTFIX_LIBS"
mxctl="$PWD/$build/cli/mxctl"

work=$(mktemp -d)
chmod 755 "$work"  # the peers' unprivileged processes walk through it
pids=()
postfix_started=
os_pid=
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

# The routing rules, in smtpd.conf(5) form, for mxd and OpenSMTPD: every recipient relayed to
# a host that is never contacted (the MTA is paused), so each one stays its own envelope.
rules() {
  cat <<CONF
action "relay" relay host smtp://127.0.0.1:9
match from any for domain "example.org" action "relay"
CONF
}

start_mxd() {
  mxd_start "$work/mxd" "$build" -P mda -P mta < <({ rules; echo "smtp limit max-mails 1000000 max-rcpt 1000"; })
  port[mxd]=$mxd_port
}
queued_mxd() { "$mxctl" -s "$work/mxd.sock" show queue | wc -l; }

start_opensmtpd() {
  port[opensmtpd]=$(free_port)
  opensmtpd_start "$work/opensmtpd" "${port[opensmtpd]}" -P mda -P mta < <(rules)
}
smtpctl() { nsenter --target "$os_pid" --mount "$os_root/usr/sbin/smtpctl" "$@"; }
queued_opensmtpd() { smtpctl show queue | wc -l; }

start_postfix() {
  port[postfix]=$(free_port)
  postfix_start "$work/postfix" "${port[postfix]}"
}
postfix_tool() { MAIL_CONFIG="$work/postfix/conf" "$tools/$1" -c "$work/postfix/conf" "${@:2}"; }
# Postfix lists messages: its envelopes are their recipients.
queued_postfix() {
  postfix_tool postqueue -j | python3 -c '
import json, sys
print(sum(len(json.loads(l)["recipients"]) for l in sys.stdin))'
}

# Fills daemon $1 with $messages messages of $rcpts recipients each.
fill() {
  local start
  start=$EPOCHREALTIME
  if ! timeout 3600 "$tools/smtp-source" -s "$sessions" -m "$messages" -r "$rcpts" -l 2048 \
    -f bench@sender.net -t rcpt@example.org "127.0.0.1:${port[$1]}" >"$work/source.out" 2>&1; then
    echo "queue_ops: smtp-source to $1 failed:" >&2
    cat "$work/source.out" >&2
    return 1
  fi
  awk -v a="$start" -v b="$EPOCHREALTIME" -v n="$1" -v m="$messages" \
    'BEGIN { printf "filled %s: %d messages in %.1f s\n", n, m, b - a }' >&2
}

# Runs a command line under GNU time; sets $secs (elapsed) and $rss (peak RSS in KB) and
# leaves its stdout in $work/out.
timed() {
  /usr/bin/time -v -o "$work/time" "$@" >"$work/out"
  secs=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0;
    for (i = 1; i <= n; i++) s = s * 60 + t[i]; printf "%.3f", s }' "$work/time")
  rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time")
}
declare -A result
lines_of() { wc -l <"$work/out" | tr -d ' '; }

ops_mxd() {
  local sock="$work/mxd.sock" first start
  timed sh -c "'$mxctl' -s '$sock' -j show queue | wc -l"
  result[mxd,list]=$secs
  result[mxd,list_lines]=$(cat "$work/out")
  timed "$mxctl" -s "$sock" -j show queue
  result[mxd,list_rss]=$rss
  timed sh -c "'$mxctl' -s '$sock' show queue | wc -l"
  result[mxd,list_text]=$secs
  # Time to the first line: the listing streams, it does not wait for the last envelope.
  start=$EPOCHREALTIME
  first=$("$mxctl" -s "$sock" show queue | { IFS= read -r _; echo "$EPOCHREALTIME"; cat >/dev/null; })
  result[mxd,first_line]=$(awk -v a="$start" -v b="$first" 'BEGIN { printf "%.3f", b - a }')
  timed "$mxctl" -s "$sock" schedule all
  result[mxd,schedule]=$secs
  result[mxd,schedule_rss]=$rss
  result[mxd,schedule_out]=$(cat "$work/out")
  timed "$mxctl" -s "$sock" remove all
  result[mxd,remove]=$secs
  result[mxd,remove_rss]=$rss
  result[mxd,remove_out]=$(cat "$work/out")
  result[mxd,left]=$(queued_mxd)
}

ops_opensmtpd() {
  timed sh -c "nsenter --target '$os_pid' --mount '$os_root/usr/sbin/smtpctl' show queue | wc -l"
  result[opensmtpd,list]=$secs
  result[opensmtpd,list_lines]=$(cat "$work/out")
  timed nsenter --target "$os_pid" --mount "$os_root/usr/sbin/smtpctl" schedule all
  result[opensmtpd,schedule]=$secs
  result[opensmtpd,schedule_out]=$(tr '\n' ' ' <"$work/out")
  timed nsenter --target "$os_pid" --mount "$os_root/usr/sbin/smtpctl" remove all
  result[opensmtpd,remove]=$secs
  result[opensmtpd,remove_out]=$(tr '\n' ' ' <"$work/out")
  result[opensmtpd,left]=$(queued_opensmtpd)
}

ops_postfix() {
  timed sh -c "MAIL_CONFIG='$work/postfix/conf' '$tools/postqueue' -c '$work/postfix/conf' -j | wc -l"
  result[postfix,list]=$secs
  result[postfix,list_lines]=$(cat "$work/out")
  timed env MAIL_CONFIG="$work/postfix/conf" "$tools/postsuper" -c "$work/postfix/conf" -d ALL
  result[postfix,remove]=$secs
  result[postfix,left]=$(queued_postfix)
}

for d in "${daemons[@]}"; do
  "start_$d"
done
for d in "${daemons[@]}"; do
  fill "$d"
  n=$("queued_$d")
  if [ "$n" -ne "$envelopes" ]; then
    echo "queue_ops: $d holds $n envelopes, not $envelopes" >&2
    exit 1
  fi
done
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for d in "${daemons[@]}"; do
  "ops_$d"
done

has() { [[ " ${daemons[*]} " == *" $1 "* ]]; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
get() { echo "${result[$1]:--}"; }
echo "queue_ops: $envelopes envelopes ($messages messages x $rcpts recipients) in each daemon; seconds"
echo "load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg) (on $(nproc) CPUs)"
printf '%-22s %10s %10s %10s\n' operation mxd opensmtpd postfix
printf '%-22s %10s %10s %10s\n' "list (lines)" "$(get mxd,list_lines)" "$(get opensmtpd,list_lines)" \
  "$(get postfix,list_lines)"
printf '%-22s %10s %10s %10s\n' "list" "$(get mxd,list)" "$(get opensmtpd,list)" "$(get postfix,list)"
printf '%-22s %10s\n' "list, text" "$(get mxd,list_text)"
printf '%-22s %10s\n' "list, first line" "$(get mxd,first_line)"
printf '%-22s %10s %10s %10s\n' "schedule all" "$(get mxd,schedule)" "$(get opensmtpd,schedule)" "-"
printf '%-22s %10s %10s %10s\n' "remove all" "$(get mxd,remove)" "$(get opensmtpd,remove)" "$(get postfix,remove)"
printf '%-22s %10s %10s %10s\n' "left after remove" "$(get mxd,left)" "$(get opensmtpd,left)" "$(get postfix,left)"
if has mxd; then
  echo "mxctl peak RSS: list $(get mxd,list_rss) KB, schedule $(get mxd,schedule_rss) KB, remove $(get mxd,remove_rss) KB"
  echo "mxctl said: $(get mxd,schedule_out) / $(get mxd,remove_out)"
fi
has opensmtpd && echo "smtpctl said: $(get opensmtpd,schedule_out)/ $(get opensmtpd,remove_out)"
status=0
verdict() {  # name value limit
  if awk -v x="$2" -v t="$3" 'BEGIN { exit !(x <= t) }'; then
    echo "target $1: $2 <= $3 met"
  else
    echo "target $1: $2 <= $3 NOT met"
    status=1
  fi
}
if has mxd; then
  for op in list schedule remove; do
    has opensmtpd && [ -n "${result[opensmtpd,$op]:-}" ] &&
      echo "mxd/opensmtpd $op: $(ratio "${result[mxd,$op]}" "${result[opensmtpd,$op]}")"
  done
  if has postfix; then
    verdict "mxd/postfix list" "$(ratio "${result[mxd,list]}" "${result[postfix,list]}")" 0.5
    verdict "mxd schedule all / postfix postsuper -d ALL" \
      "$(ratio "${result[mxd,schedule]}" "${result[postfix,remove]}")" 0.5
    verdict "mxd/postfix remove all" "$(ratio "${result[mxd,remove]}" "${result[postfix,remove]}")" 0.5
  fi
  verdict "mxctl peak RSS (KB)" "${result[mxd,list_rss]}" 30720
  [ "${result[mxd,list_lines]}" -eq "$envelopes" ] || { echo "mxctl -j show queue printed ${result[mxd,list_lines]} lines" >&2; status=1; }
fi
exit "$status"
