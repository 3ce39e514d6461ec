#!/usr/bin/env bash
# Builds a libFuzzer target from Fuzz/ against the package's own modules and runs it.
#
#   scripts/fuzz.sh TARGET SECONDS
#   TARGET: splitter | codec | spool | config | conversation | spool-recovery
#
# The binary is compiled with swiftc directly: SwiftPM cannot link a libFuzzer executable
# (see the fuzzing notes). Each module the target needs is compiled from its whole folder,
# Sources/<Module>/, bottom layer first, with the same instrumentation; the layers are the
# package's (see docs/architecture.md), so none of them pulls in NIO. New inputs found go to
# .build/fuzz/<target>/corpus; the committed seeds in Fuzz/corpus/<target>/ are only read.
# Exits non-zero on any crash, leak or failed property (the crashing input is written to
# .build/fuzz/<target>/).
set -euo pipefail

usage="usage: scripts/fuzz.sh splitter|codec|spool|config|conversation|spool-recovery SECONDS"
target=${1:?$usage}
seconds=${2:?$usage}
root=$(cd "$(dirname "$0")/.." && pwd)

# The modules each entry point imports, with everything they depend on, bottom up.
case "$target" in
    splitter) entry="$root/Fuzz/FuzzSplitter.swift" modules=(MonitorModel MonitorProtocol) ;;
    codec) entry="$root/Fuzz/FuzzCodec.swift" modules=(MonitorModel MonitorProtocol) ;;
    spool) entry="$root/Fuzz/FuzzSpool.swift" modules=(Logging MonitorModel MonitorSystem MonitorConfig AgentSpool) ;;
    config) entry="$root/Fuzz/FuzzConfig.swift" modules=(Logging MonitorModel MonitorSystem MonitorConfig) ;;
    # The agent's handling of sequences of gateway messages (GatewayConversation, in the protocol layer).
    conversation) entry="$root/Fuzz/FuzzConversation.swift" modules=(MonitorModel MonitorProtocol) ;;
    # Spool recovery over arbitrary segment, watermark and temporary files.
    spool-recovery)
        entry="$root/Fuzz/FuzzSpoolRecovery.swift" modules=(Logging MonitorModel MonitorSystem MonitorConfig AgentSpool)
        ;;
    *)
        echo "unknown target '$target' (splitter | codec | spool | config | conversation | spool-recovery)" >&2
        exit 64
        ;;
esac

work="$root/.build/fuzz/$target"
mkdir -p "$work/corpus" "$work/modules"
# gold warns about every ASan helper symbol it cannot export; those lines are noise.
quiet() { "$@" 2> >(grep -v "Cannot export local symbol '__asan" >&2); }
flags=(-O -sanitize=fuzzer,address -parse-as-library -swift-version 6 -package-name monitord
    -enable-upcoming-feature InternalImportsByDefault -enable-upcoming-feature ExistentialAny
    -I "$work/modules" -I "$root/Sources/CSystemd")

objects=()
for module in "${modules[@]}"; do
    if [[ $module == Logging ]]; then
        # swift-log, from the checkout SwiftPM resolved (the one package these layers use).
        [[ -d $root/.build/checkouts/swift-log ]] || swift package --package-path "$root" resolve
        folder="$root/.build/checkouts/swift-log/Sources/Logging"
    else
        folder="$root/Sources/$module"
    fi
    mapfile -t sources < <(find "$folder" -name '*.swift' | sort)
    # -enable-testing: the entry points check internals (`@testable import`).
    quiet swiftc "${flags[@]}" -enable-testing -wmo -module-name "$module" -emit-module \
        -emit-module-path "$work/modules/$module.swiftmodule" -c "${sources[@]}" -o "$work/modules/$module.o"
    objects+=("$work/modules/$module.o")
done
quiet swiftc "${flags[@]}" "$entry" "${objects[@]}" -o "$work/fuzz-$target"

cd "$work"
# The Swift runtime's backtracer trips AddressSanitizer after a fatalError; libFuzzer reports.
export SWIFT_BACKTRACE=enable=no
"./fuzz-$target" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$work/" \
    corpus "$root/Fuzz/corpus/$target"
