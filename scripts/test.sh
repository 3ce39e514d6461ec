#!/usr/bin/env bash
# Runs every check, after installing what they need: formatting; unit and end-to-end tests
# (swift test: real binaries on loopback and in network namespaces, real promtool, Prometheus
# and Chromium); the man-page lint; the libFuzzer smoke runs; the benchmark smoke; both .debs
# with lintian; and the booted-container test of the packages (as root).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

# Formatting (.swift-format: 4 spaces, 120 columns); the generated protobuf code is exempt.
find Sources Tests Fuzz -name '*.swift' -not -path '*/Generated/*' -print0 | xargs -0 swift format lint --strict

swift build --build-tests

# The release build of both .debs (two cold release builds, the longest step) runs meanwhile
# under SCHED_IDLE: it takes only the CPU the tests leave idle (most of their time is spent
# waiting on schedules, timeouts and real daemons), so their timings are not distorted.
debs_log=$(mktemp)
setsid chrt --idle 0 bash scripts/build-debs.sh >"$debs_log" 2>&1 &
debs_pid=$!
# A failing step ends the script: the build (its own process group) goes with it.
trap 'kill -- -"$debs_pid" 2>/dev/null || true' EXIT

# Serially: the end-to-end tests start real daemons (up to 50 agents at once) and measure
# timings and memory, which parallel suites on 2 cores would distort.
swift test --skip-build --no-parallel 2>&1 | tee /tmp/monitord-swift-test.log

# Man pages: built from docs/man and linted (mandoc, man --warnings, every key documented).
bash scripts/build-man.sh --lint "$(mktemp -d)"

# Fuzz smoke: each libFuzzer target for a bounded time; any crash, leak or timeout fails.
for target in splitter codec spool config conversation spool-recovery wal-recovery; do
    bash scripts/fuzz.sh "$target" "${FUZZ_SECONDS:-30}"
done

# Benchmark smoke (under 2 minutes): every component of scripts/bench/run.sh against its peers,
# with the debug binaries built above (a release build alone would exceed the budget). Fails
# when a component fails; missed performance targets are only printed.
bash scripts/bench/run.sh --smoke --debug

# Packaging: both .debs (release, static Swift stdlib, lintian clean; built since the tests
# started), then the proof in a booted Debian bookworm with systemd (systemd-nspawn; needs root).
if ! wait "$debs_pid"; then
    cat "$debs_log" >&2
    echo "test.sh: building the .debs failed (log above)" >&2
    exit 1
fi
cat "$debs_log"
if [ "$(id -u)" = 0 ]; then
    bash Tests/container/run.sh
else
    echo "SKIP container test: it needs root (systemd-nspawn)"
fi

# The unit and end-to-end tests' verdict, last, for whoever reads only the end.
grep -E "Test run with [0-9]+ tests" /tmp/monitord-swift-test.log | tail -n 1
