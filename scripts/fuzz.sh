#!/usr/bin/env bash
# Builds a libFuzzer target from Fuzz/ against the pure MonitorCore sources and runs it.
#
#   scripts/fuzz.sh TARGET SECONDS      TARGET: splitter | codec | spool | config
#
# The binary is compiled with swiftc directly: SwiftPM cannot link a libFuzzer executable
# (see the fuzzing notes). Only Protocol/*.swift and Support/Sample.swift are compiled in, which
# keeps the protocol layer free of NIO (the spool target takes the spool's pure format files
# instead of Protocol/). New inputs found go to .build/fuzz/<target>/corpus; the committed
# seeds in Fuzz/corpus/<target>/ are only read. Exits non-zero on any crash, leak or failed
# property (the crashing input is written to .build/fuzz/<target>/).
set -euo pipefail

target=${1:?usage: scripts/fuzz.sh splitter|codec|spool|config SECONDS}
seconds=${2:?usage: scripts/fuzz.sh splitter|codec|spool|config SECONDS}
root=$(cd "$(dirname "$0")/.." && pwd)

sources=("$root"/Sources/MonitorCore/Protocol/*.swift)
case "$target" in
    splitter) entry="$root/Fuzz/FuzzSplitter.swift" ;;
    codec) entry="$root/Fuzz/FuzzCodec.swift" ;;
    spool)
        entry="$root/Fuzz/FuzzSpool.swift"
        sources=("$root"/Sources/MonitorCore/Spool/{CRC32C,SpoolFormat,SpoolSegmentReader}.swift)
        ;;
    config)
        entry="$root/Fuzz/FuzzConfig.swift"
        sources=("$root"/Sources/MonitorCore/Config/*.swift "$root"/Sources/MonitorCore/Protocol/{AgentName,ProtocolError}.swift
                 "$root"/Sources/MonitorCore/Support/{BoundedFile,DurationSeconds}.swift
                 "$root"/Sources/MonitorCore/Spool/SpoolFsyncPolicy.swift "$root"/Sources/MonitorCore/RemoteWrite/*.swift
                 "$root"/Sources/MonitorCore/Exposition/MetricFamily.swift)
        ;;
    *) echo "unknown target '$target' (splitter | codec | spool | config)" >&2; exit 64 ;;
esac

work="$root/.build/fuzz/$target"
mkdir -p "$work/corpus"
# gold warns about every ASan helper symbol it cannot export; those lines are noise.
swiftc -O -sanitize=fuzzer,address -parse-as-library -swift-version 6 \
    -enable-upcoming-feature InternalImportsByDefault -enable-upcoming-feature ExistentialAny \
    -module-name MonitorCore \
    "$entry" "${sources[@]}" "$root/Sources/MonitorCore/Support/Sample.swift" \
    -o "$work/fuzz-$target" 2> >(grep -v "Cannot export local symbol '__asan" >&2)

cd "$work"
# The Swift runtime's backtracer trips AddressSanitizer after a fatalError; libFuzzer reports.
export SWIFT_BACKTRACE=enable=no
"./fuzz-$target" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$work/" \
    corpus "$root/Fuzz/corpus/$target"
