#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs an unpacked kioskpay-kiosk release on this machine (a Raspberry Pi, as root):
#   tar xzf kioskpay-kiosk-<version>-linux-arm64.tar.gz
#   sudo kioskpay-kiosk-<version>-linux-arm64/deploy/install.sh
# It checks the release's SHA256SUMS, runs its self-check with its own Node (the native modules
# load), copies it to <prefix>/<release name> and points <prefix>/current at it, creates the user
# kioskpay (groups gpio, dialout, input), /var/lib/kioskpay and /etc/kioskpay, installs the systemd
# unit and enables it. An existing /etc/kioskpay/kiosk.json is never touched. Running it again with
# the same release changes nothing. No compiler, npm or network is used.
#
# Options (for images and tests):
#   --root DIR         install into DIR as if it were / (users via useradd --prefix; no systemctl)
#   --prefix DIR       where releases go (default /opt/kioskpay-kiosk)
#   --skip-self-check  do not run the release's Node (e.g. an arm64 release staged on x86-64)
set -eu

root=/
prefix=/opt/kioskpay-kiosk
self_check=1
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root=${2:?--root needs a directory}; shift 2 ;;
    --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
    --skip-self-check) self_check=0; shift ;;
    -h|--help) sed -n '3,17p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

die() { echo "install.sh: $*" >&2; exit 1; }
say() { echo "install.sh: $*"; }

release=$(cd "$(dirname "$0")/.." && pwd)
name=$(basename "$release")
[ -f "$release/manifest.json" ] && [ -f "$release/SHA256SUMS" ] || die "$release is not an unpacked kioskpay-kiosk release"
field() { sed -n "s/^  \"$1\": \"\(.*\)\",\{0,1\}\$/\1/p" "$release/manifest.json" | head -n 1; }
version=$(field version)
target=$(field target)
[ -n "$version" ] && [ -n "$target" ] || die "manifest.json names no version or target"

root=${root%/}
dest_dir="$root$prefix"
dest="$dest_dir/$name"
as_root=0
[ "$(id -u)" = 0 ] && as_root=1
[ "$root" = "" ] && [ $as_root = 0 ] && die "run as root (or give --root DIR to stage into a directory)"

# 1. The files are the ones the release was built with.
(cd "$release" && sha256sum -c --quiet --strict SHA256SUMS) || die "SHA256SUMS does not match: the release is damaged"

# 2. Its Node runs here and its native modules load (before anything is changed).
if [ $self_check = 1 ]; then
  case "$(uname -m)" in
    aarch64|arm64) here=linux-arm64 ;;
    x86_64) here=linux-x64 ;;
    *) here="linux-$(uname -m)" ;;
  esac
  [ "$here" = "$target" ] || die "this release is for $target, this machine is $here (a 64-bit Raspberry Pi OS is linux-arm64)"
  if ! "$release/node/bin/node" "$release/app/self-check.mjs"; then
    die "the release's self-check failed (if node could not start: Node 26 needs libatomic.so.1, 'apt install libatomic1')"
  fi
fi

# 3. The release itself: <prefix>/<name>, then <prefix>/current -> <name> (renamed into place).
mkdir -p "$dest_dir"
if [ -f "$dest/SHA256SUMS" ] && cmp -s "$dest/SHA256SUMS" "$release/SHA256SUMS"; then
  say "$name is already installed in $dest_dir"
else
  tmp="$dest.tmp.$$"
  rm -rf "$tmp"
  cp -R "$release/." "$tmp/"
  [ $as_root = 1 ] && chown -R 0:0 "$tmp"
  chmod -R go-w "$tmp"
  rm -rf "$dest"
  mv "$tmp" "$dest"
  say "installed $name in $dest_dir"
fi
if [ "$(readlink "$dest_dir/current" 2>/dev/null || true)" != "$name" ]; then
  ln -sfn "$name" "$dest_dir/current.tmp.$$"
  mv -T "$dest_dir/current.tmp.$$" "$dest_dir/current"
  say "$dest_dir/current -> $name"
fi

# 4. The kioskpay user, in the groups for GPIO, serial scanners and HID scanners.
mkdir -p "$root/etc"
prefix_opt=
[ "$root" != "" ] && prefix_opt="--prefix $root"
has() { grep -q "^$2:" "$root/etc/$1" 2>/dev/null; }
for g in gpio dialout input; do
  has group "$g" || { groupadd --system $prefix_opt "$g"; say "created group $g"; }
done
if ! has passwd kioskpay; then
  useradd --system --user-group --no-create-home --home-dir /var/lib/kioskpay --shell /usr/sbin/nologin $prefix_opt kioskpay
  say "created user kioskpay"
fi
usermod -a -G gpio,dialout,input $prefix_opt kioskpay
uid=$(sed -n 's/^kioskpay:[^:]*:\([0-9]*\):.*/\1/p' "$root/etc/passwd")
gid=$(sed -n 's/^kioskpay:[^:]*:\([0-9]*\):.*/\1/p' "$root/etc/group")

# 5. Its data and configuration directories; the example config; never an existing kiosk.json.
mkdir -p "$root/var/lib/kioskpay" "$root/etc/kioskpay"
chmod 0750 "$root/var/lib/kioskpay" "$root/etc/kioskpay"
if [ $as_root = 1 ]; then
  chown "$uid:$gid" "$root/var/lib/kioskpay"
  chown "0:$gid" "$root/etc/kioskpay"
fi
cp "$release/deploy/kiosk.json.example" "$root/etc/kioskpay/kiosk.json.example"
chmod 0644 "$root/etc/kioskpay/kiosk.json.example"
if [ ! -e "$root/etc/kioskpay/kiosk.json" ]; then
  cp "$release/deploy/kiosk.json.example" "$root/etc/kioskpay/kiosk.json"
  chmod 0640 "$root/etc/kioskpay/kiosk.json"
  [ $as_root = 1 ] && chown "0:$gid" "$root/etc/kioskpay/kiosk.json"
  say "wrote /etc/kioskpay/kiosk.json from the example: EDIT IT (kiosk id, broker, issuer keys, scanner, pins) before starting the kiosk"
else
  say "kept the existing /etc/kioskpay/kiosk.json"
fi

# 6. The systemd unit.
unit="$release/deploy/kioskpay-kiosk.service"
if [ -f "$unit" ]; then
  mkdir -p "$root/etc/systemd/system"
  cp "$unit" "$root/etc/systemd/system/kioskpay-kiosk.service"
  chmod 0644 "$root/etc/systemd/system/kioskpay-kiosk.service"
  if [ "$root" = "" ] && command -v systemctl >/dev/null 2>&1; then
    systemctl daemon-reload
    systemctl enable kioskpay-kiosk.service
    if systemctl is-active --quiet kioskpay-kiosk.service; then
      systemctl restart kioskpay-kiosk.service
      say "restarted kioskpay-kiosk.service on $name"
    else
      say "enabled kioskpay-kiosk.service; start it with: systemctl start kioskpay-kiosk"
    fi
  else
    say "installed the unit; enable it on the target with: systemctl enable kioskpay-kiosk"
  fi
else
  say "this release has no systemd unit (deploy/kioskpay-kiosk.service): none installed"
fi
say "done: kioskpay-kiosk $version ($target)"
