#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# `meson install --destdir` into a temporary directory, then: the installed files are exactly
# the expected list (programs, man pages and their other names, completions, the systemd unit,
# sysusers.d and tmpfiles.d entries, the example configuration, and the sendmail links when
# -Dsendmail-links=true), the programs run from there, the unit runs them, and the
# completions and the example are the committed ones and valid.
# Usage: check_install.sh BUILD_DIR SOURCE_ROOT VERSION
set -euo pipefail
build=$1 root=$2 version=$3
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
fail() { echo "check_install: $*" >&2; exit 1; }

meson install -C "$build" --no-rebuild --destdir "$dest" --quiet >/dev/null ||
  fail "meson install --destdir failed"

options=$(meson introspect "$build" --buildoptions)
# The value of a meson option of the build directory.
option() {
  python3 -c 'import json, sys
value = next(o["value"] for o in json.load(sys.stdin) if o["name"] == sys.argv[1])
print(json.dumps(value) if isinstance(value, bool) else value)' "$1" <<<"$options"
}
# A directory option as an absolute path (meson keeps them relative to the prefix).
dir() {
  local d
  d=$(option "$1")
  case $d in /*) echo "$d" ;; *) echo "$prefix/$d" ;; esac
}
# A directory that meson.build picks itself unless the option $1 names one: the option's
# value, or the glob $2.
chosen() {
  local d
  d=$(option "$1")
  if [ -n "$d" ]; then echo "$d"; else echo "$2"; fi
}
prefix=$(option prefix)
sbindir=$(dir sbindir) bindir=$(dir bindir) datadir=$(dir datadir) mandir=$(dir mandir)

expected=("$sbindir/mxd" "$sbindir/mxctl" "$datadir/doc/mxd/examples/mxd.conf")
if [ "$(option man)" != disabled ]; then
  for page in mxd.8 mxctl.8 makemap.8 newaliases.8 sendmail.8 mailq.8; do
    expected+=("$mandir/man8/$page")
  done
  expected+=("$mandir/man5/mxd.conf.5" "$mandir/man5/mxd-tables.5")
fi
bash_dir=$(chosen bashcompletiondir "*/bash-completion/completions")
zsh_dir=$(chosen zshcompletiondir "$datadir/zsh/*")
fish_dir=$(chosen fishcompletiondir "*/fish/vendor_completions.d")
links=$(option sendmail-links)
if [ "$(option completions)" != disabled ]; then
  expected+=("$bash_dir/mxctl" "$zsh_dir/_mxctl" "$fish_dir/mxctl.fish")
  if [ "$links" = true ]; then
    for name in makemap newaliases mailq; do
      expected+=("$bash_dir/$name" "$fish_dir/$name.fish")
    done
  fi
fi
for pair in systemdsystemunitdir:"*/systemd/system/mxd.service" sysusersdir:"*/sysusers.d/mxd.conf" \
  tmpfilesdir:"*/tmpfiles.d/mxd.conf"; do
  name=${pair%%:*} glob=${pair#*:}
  case $(option "$name") in
  no) ;;
  '') expected+=("$glob") ;;
  *) expected+=("$(option "$name")/${glob##*/}") ;;
  esac
done
if [ "$links" = true ]; then
  expected+=("$sbindir/sendmail" "$sbindir/newaliases" "$sbindir/makemap" "$bindir/mailq"
    "$prefix/lib/sendmail")
fi

# Every installed file is expected, and every expected one is installed.
installed=$(cd "$dest" && find . ! -type d | sed 's/^\.//' | sort)
while read -r file; do
  found=
  for pattern in "${expected[@]}"; do
    # shellcheck disable=SC2053 # the expected paths are globs
    [[ $file == $pattern ]] && found=1 && break
  done
  [ -n "$found" ] || fail "installed, but not expected: $file"
done <<<"$installed"
for pattern in "${expected[@]}"; do
  found=
  while read -r file; do
    # shellcheck disable=SC2053
    [[ $file == $pattern ]] && found=1 && break
  done <<<"$installed"
  [ -n "$found" ] || fail "expected, but not installed: $pattern"
done

# The programs run from there.
for program in mxd mxctl; do
  out=$("$dest$sbindir/$program" --version) || fail "installed $program --version failed"
  [[ $out == *"$version"* ]] || fail "installed $program --version printed '$out'"
done
# The unit starts mxd in the foreground and reloads it with mxctl, from where they are.
unit=$(cd "$dest" && find . -path '*/systemd/system/mxd.service' | sed 's/^\.//')
if [ -n "$unit" ]; then
  grep -qx "Type=notify" "$dest$unit" || fail "$unit: no Type=notify"
  grep -qx "ExecStart=$sbindir/mxd -d" "$dest$unit" || fail "$unit: ExecStart is not $sbindir/mxd -d"
  grep -qx "ExecReload=$sbindir/mxctl reload" "$dest$unit" || fail "$unit: ExecReload is not mxctl reload"
  # systemd's own check of the unit, with the programs where the destdir holds them.
  if command -v systemd-analyze >/dev/null; then
    sed "s#=$sbindir/#=$dest$sbindir/#" "$dest$unit" > "$dest/mxd.service"
    systemd-analyze verify --man=no "$dest/mxd.service" || fail "systemd-analyze verify $unit failed"
  fi
fi
# The example configuration is valid (the files it names are the target system's).
"$dest$sbindir/mxctl" check-config --skip-files "$dest$datadir/doc/mxd/examples/mxd.conf" >/dev/null ||
  fail "the installed example configuration does not pass check-config"
# The completions are the committed, fresh ones.
if [ "$(option completions)" != disabled ]; then
  while read -r file; do
    case $file in
    */bash-completion/*/mxctl | "$bash_dir/mxctl") cmp -s "$dest$file" "$root/completions/mxctl.bash" ;;
    */_mxctl) cmp -s "$dest$file" "$root/completions/_mxctl" ;;
    */mxctl.fish) cmp -s "$dest$file" "$root/completions/mxctl.fish" ;;
    *) continue ;;
    esac || fail "$file differs from the committed script"
  done <<<"$installed"
fi
# The links lead to mxctl.
if [ "$links" = true ]; then
  for link in "$sbindir/sendmail" "$sbindir/newaliases" "$sbindir/makemap" "$bindir/mailq" "$prefix/lib/sendmail"; do
    target=$(readlink "$dest$link")
    [ "${target##*/}" = mxctl ] || fail "$link points to $target, not mxctl"
  done
fi
exit 0
