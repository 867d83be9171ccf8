#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# makemap benchmark (issue 4): an aliases file of N entries (default 1,000,000) built by mxd's
# makemap, OpenSMTPD's makemap and Postfix's postmap, in the same run, interleaved, 3 rounds;
# wall time and peak memory (median), then lookups per second on the built tables.
# Usage: bench/makemap.sh [N]     (as root: the peers need their system groups)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
scripts/setup
scripts/build >/dev/null
# shellcheck source=bench/peers.sh
. bench/peers.sh
peers_setup
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 - "$n" "$work" <<'PY'
import random, sys
n, work = int(sys.argv[1]), sys.argv[2]
random.seed(7)
with open(f"{work}/aliases", "w") as f, open(f"{work}/keys", "w") as k:
    for i in range(n):
        key = f"list{i}@lists{i % 997}.example.org"
        f.write(f'{key}\t"| /usr/lib/sympa/libexec/queue {key}"\n')
        if random.random() < 100000 / n:
            k.write(key + "\n")
PY

# Runs a command under /usr/bin/time; prints "seconds peak_kb".
measure() {
  /usr/bin/time -f '%e %M' -o "$work/time" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; return 1; }
  cat "$work/time"
}
median() { sort -n | sed -n 2p; }

declare -A secs kb
for tool in mxd opensmtpd postfix; do secs[$tool]=""; kb[$tool]=""; done
for round in 1 2 3; do
  for tool in mxd opensmtpd postfix; do
    cp "$work/aliases" "$work/$tool"
    rm -f "$work/$tool.db"
    case $tool in
      mxd) r=$(measure build/cli/mxctl makemap "$work/$tool") ;;
      opensmtpd) r=$(measure "$OPENSMTPD_MAKEMAP" "$work/$tool") ;;
      postfix) r=$(measure env LD_LIBRARY_PATH="$POSTFIX_LIBS" "$BENCH_CACHE/postfix/usr/sbin/postmap" \
                 -c "$BENCH_CACHE/postfix-conf" "hash:$work/$tool") ;;
    esac
    secs[$tool]+="${r% *}"$'\n'
    kb[$tool]+="${r#* }"$'\n'
  done
  echo "round $round done" >&2
done

echo "makemap of $n aliases (median of 3, same run)"
printf '%-10s %10s %12s %12s\n' tool seconds peak_MiB db_MiB
for tool in mxd opensmtpd postfix; do
  s=$(printf '%s' "${secs[$tool]}" | median)
  m=$(printf '%s' "${kb[$tool]}" | median)
  size=$(stat -c %s "$work/$tool.db")
  awk -v t="$tool" -v s="$s" -v m="$m" -v z="$size" 'BEGIN { printf "%-10s %10s %12.1f %12.1f\n", t, s, m / 1024, z / 1048576 }'
done
mxd_s=$(printf '%s' "${secs[mxd]}" | median)
for peer in opensmtpd postfix; do
  p=$(printf '%s' "${secs[$peer]}" | median)
  awk -v peer="$peer" -v p="$p" -v m="$mxd_s" 'BEGIN { printf "time ratio %s/mxd: %.2f\n", peer, p / m }'
done

keys=$(wc -l < "$work/keys")
echo "lookups of $keys keys present in the table"
build/bench/table_lookup_bench "$work/mxd.db" "$work/keys" 5 | sed 's/^/mxd db backend: /'
start=$(date +%s.%N)
postmap_peer -q - "hash:$work/postfix" < "$work/keys" > "$work/found"
end=$(date +%s.%N)
awk -v k="$keys" -v a="$start" -v b="$end" -v f="$(wc -l < "$work/found")" \
  'BEGIN { printf "postfix postmap -q - (one process, batch): lookups=%d per_second=%.0f found=%d\n", k, k / (b - a), f }'
echo "opensmtpd: no lookup command (smtpctl has none)"
