#!/bin/bash
# Builds (once) the Debian bookworm root with systemd that run.sh boots, and caches it as a
# zstd tarball so later runs on the same machine skip the ~40 s debootstrap.
#
# Usage: build-root.sh [CACHE_DIR]   (default: /var/cache/monitord-test)
# Prints the path of the cached tarball on stdout.
set -euo pipefail

cache_dir=${1:-${MONITORD_TEST_CACHE:-/var/cache/monitord-test}}
# What the container needs besides the two .debs: systemd, the test's tools, and the run-time
# libraries the packages depend on that a minimal system lacks (libsnappy for remote write, zlib for gzip on /metrics).
packages=systemd,systemd-sysv,dbus,curl,procps,ca-certificates,libsnappy1v5,zlib1g
# The cache is keyed by the package list, so a change to it builds a new root.
tarball="$cache_dir/bookworm-systemd-root-$(printf %s "$packages" | md5sum | cut -c1-8).tar.zst"
# The Debian archive this machine's apt uses (debootstrap's own default otherwise).
mirror=${DEBIAN_MIRROR:-$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
if [[ -z $mirror ]]; then
    mirror=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
fi

if [[ -s $tarball ]]; then
    echo "$tarball"
    exit 0
fi

for tool in debootstrap zstd; do
    command -v "$tool" >/dev/null || { echo "build-root.sh: $tool is missing (apt-get install debootstrap zstd)" >&2; exit 1; }
done

mkdir -p "$cache_dir"
work=$(mktemp -d "$cache_dir/root.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "build-root.sh: debootstrapping bookworm into $work/root (about a minute)" >&2
debootstrap --variant=minbase --include="$packages" bookworm "$work/root" ${mirror:+"$mirror"} >&2
# An empty machine-id lets systemd generate a fresh one at each (volatile) boot.
: > "$work/root/etc/machine-id"
rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"*_Packages

tar --numeric-owner --xattrs --acls -C "$work/root" -cf - . | zstd -q -T0 -o "$work/root.tar.zst"
mv "$work/root.tar.zst" "$tarball"
echo "$tarball"
