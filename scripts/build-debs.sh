#!/bin/bash
# Builds the monitord and monitor-agent .debs into dist/ and checks them with lintian.
#
#   scripts/build-debs.sh            # dist/monitord_<v>_<arch>.deb, dist/monitor-agent_<v>_<arch>.deb
#   LINTIAN=no scripts/build-debs.sh # skip lintian
#
# The package is built from a copy of the tracked (and untracked, not ignored) files in
# .build-debs/ (ignored by git), so that dpkg-buildpackage's by-products (debian/monitord/,
# ../*.changes, ...) never land in the source tree or beside it. The copy keeps modification
# times and a fixed path, and SwiftPM's scratch directory is .build-release/ of the tree, so a
# second run recompiles only what changed.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

for file in etc/monitor/monitord.conf etc/monitor/agent.conf packaging/monitord.service packaging/monitor-agent.service; do
    [[ -f $file ]] || { echo "build-debs.sh: $file is missing" >&2; exit 1; }
done
if ! command -v swift >/dev/null && [[ -x /opt/swift/usr/bin/swift ]]; then
    export PATH=/opt/swift/usr/bin:$PATH
fi

version=$(dpkg-parsechangelog -S Version)
stage="$root/.build-debs"
tree="$stage/monitord-$version"
rm -rf "$stage"
mkdir -p "$tree"
git ls-files -z --cached --others --exclude-standard | xargs -0 cp -p --parents -t "$tree"

export SWIFT_SCRATCH_PATH="$root/.build-release"
(cd "$tree" && dpkg-buildpackage -b -us -uc --no-pre-clean) >"$stage/build.log" 2>&1 || {
    tail -n 40 "$stage/build.log" >&2
    echo "build-debs.sh: dpkg-buildpackage failed (log above)" >&2
    exit 1
}

mkdir -p dist
rm -f dist/monitord_*.deb dist/monitor-agent_*.deb
mv "$stage"/monitord_"$version"_*.deb "$stage"/monitor-agent_"$version"_*.deb dist/
ls -l dist/*.deb

if [[ ${LINTIAN:-yes} != no ]]; then
    lintian --fail-on error,warning --display-level '>=warning' dist/monitord_"$version"_*.deb \
        dist/monitor-agent_"$version"_*.deb
    echo "lintian: no errors, no warnings"
fi
