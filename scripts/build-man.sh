#!/usr/bin/env bash
# Builds the man pages from their scdoc sources in docs/man/ into a directory:
#   scripts/build-man.sh OUTDIR            # writes OUTDIR/monitord.8, monitord.conf.5, ...
#   scripts/build-man.sh --lint OUTDIR     # ... and fails on any warning of mandoc -T lint and man --warnings
# Needs scdoc (Debian package scdoc); --lint also needs mandoc and man-db.
set -euo pipefail

lint=no
if [ "${1:-}" = "--lint" ]; then lint=yes; shift; fi
[ $# -eq 1 ] || { echo "usage: $0 [--lint] OUTDIR" >&2; exit 64; }
out=$1
source_dir="$(cd "$(dirname "$0")/.." && pwd)/docs/man"
command -v scdoc >/dev/null || { echo "$0: scdoc is not installed (apt-get install scdoc)" >&2; exit 69; }
mkdir -p "$out"

status=0
for source in "$source_dir"/*.scd; do
    page="$out/$(basename "$source" .scd)"
    scdoc < "$source" > "$page"
    if [ "$lint" = yes ]; then
        # mandoc: warnings and worse, except the one scdoc always produces (a .PP right after .SH or
        # another .PP, which every formatter skips); groff and lintian do not report it.
        warnings=$(mandoc -T lint -W warning "$page" 2>&1 | grep -v -E 'skipping paragraph macro: PP (empty|after SH)' || true)
        if [ -n "$warnings" ]; then echo "$warnings" >&2; status=1; fi
        # man-db renders with groff and reports what it could not typeset.
        warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null || true)
        if [ -n "$warnings" ]; then echo "$warnings" >&2; status=1; fi
    fi
    echo "$page"
done

# Every configuration key must be documented in section 5: the keys of the shipped examples and, when the
# binaries are built, of the effective configuration they print (the code's own list).
if [ "$lint" = yes ]; then
    root="$(cd "$source_dir/../.." && pwd)"
    empty=$(mktemp); trap 'rm -f "$empty"' EXIT
    for pair in monitord:monitord.conf:monitord.conf.5 monitor-agent:agent.conf:monitor-agent.conf.5; do
        IFS=: read -r binary example page <<<"$pair"
        keys=$(sed -n 's/^\([a-z-]*\) *=.*/\1/p' "$root/etc/monitor/$example")
        if [ -x "$root/.build/debug/$binary" ]; then
            keys+=$'\n'$("$root/.build/debug/$binary" --config "$empty" --check-config --verbose | sed -n 's/^\([a-z-]*\) *=.*/\1/p')
        fi
        for key in $(sort -u <<<"$keys"); do
            if ! grep -q "^\*$key\* = " "$source_dir/$page.scd"; then
                echo "$page.scd: key $key is not documented" >&2; status=1
            fi
        done
    done
fi
exit $status
