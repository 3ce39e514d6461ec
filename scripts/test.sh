#!/usr/bin/env bash
# Runs every test: unit and end-to-end tests (swift test, real binaries on loopback, real
# promtool and Prometheus), then the fuzz smoke runs, the benchmark smoke and the booted-container packaging test
# when their scripts are present. Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

swift build --build-tests
swift test --skip-build 2>&1 | tee /tmp/monitord-swift-test.log

# Fuzz smoke: each libFuzzer target for a bounded time; any crash, leak or timeout fails.
for target in splitter codec; do
    bash scripts/fuzz.sh "$target" "${FUZZ_SECONDS:-30}"
done

# Benchmark smoke (under 2 minutes): every component of scripts/bench/run.sh against its peers,
# with the debug binaries built above (a release build alone would exceed the budget). Fails
# when a component fails; missed performance targets are only printed.
bash scripts/bench/run.sh --smoke --debug
