#!/usr/bin/env bash
# Builds a libFuzzer target from Fuzz/ against the package's own modules and runs it.
#
#   scripts/fuzz.sh TARGET SECONDS
#   TARGET: splitter | codec | spool | config | conversation | spool-recovery | wal-recovery
#
# The binary is compiled with swiftc directly: SwiftPM cannot link a libFuzzer executable
# (see the fuzzing notes). Each module the target needs is compiled from its whole folder,
# Sources/<Module>/, bottom layer first, with the same instrumentation; the layers are the
# package's (see docs/architecture.md), so none of them pulls in NIO. New inputs found go to
# .build/fuzz/<target>/corpus; the committed seeds in Fuzz/corpus/<target>/ are only read.
# Exits non-zero on any crash, leak or failed property (the crashing input is written to
# .build/fuzz/<target>/).
set -euo pipefail

usage="usage: scripts/fuzz.sh splitter|codec|spool|config|conversation|spool-recovery|wal-recovery SECONDS"
target=${1:?$usage}
seconds=${2:?$usage}
root=$(cd "$(dirname "$0")/.." && pwd)

# The entry point, and any files of Fuzz/ it shares with other targets (compiled with it).
support=()
case "$target" in
    splitter) entry="$root/Fuzz/FuzzSplitter.swift" ;;
    codec) entry="$root/Fuzz/FuzzCodec.swift" ;;
    spool) entry="$root/Fuzz/FuzzSpool.swift" ;;
    config) entry="$root/Fuzz/FuzzConfig.swift" ;;
    # The agent's handling of sequences of gateway messages (GatewayConversation, in the protocol layer).
    conversation) entry="$root/Fuzz/FuzzConversation.swift" ;;
    # Spool recovery over arbitrary segment, watermark and temporary files.
    spool-recovery) entry="$root/Fuzz/FuzzSpoolRecovery.swift" support=("$root/Fuzz/FuzzFiles.swift") ;;
    # The gateway's write-ahead log recovery over arbitrary segment files (GatewayWALFiles).
    wal-recovery) entry="$root/Fuzz/FuzzWALRecovery.swift" support=("$root/Fuzz/FuzzFiles.swift") ;;
    *)
        echo "unknown target '$target' (splitter | codec | spool | config | conversation | spool-recovery | wal-recovery)" >&2
        exit 64
        ;;
esac

# The modules the entry point imports, with everything they depend on, bottom up, read from
# Package.swift (its own scratch path, so that a build in progress does not hold the lookup up).
# System libraries are module maps found through -I; of package products only swift-log's Logging
# is compiled here, and anything else (NIO, say) is refused: the fuzzed layers must not need it.
mapfile -t modules < <(
    swift package --package-path "$root" --scratch-path "$root/.build/fuzz/manifest" dump-package |
        python3 -c '
import json, re, sys
targets = {target["name"]: target for target in json.load(sys.stdin)["targets"]}
order = []
def visit(name):
    if name in order:
        return
    if name == "Logging":
        order.append(name)
        return
    target = targets.get(name)
    if target is None:
        return  # a system module of the platform (Glibc, FoundationEssentials)
    if target["type"] == "system":
        return
    for dependency in target["dependencies"]:
        if "byName" in dependency:
            visit(dependency["byName"][0])
        elif "product" in dependency:
            product = dependency["product"][0]
            if product != "Logging":
                sys.exit(f"{name} needs {product}, which scripts/fuzz.sh does not build")
            visit(product)
    order.append(name)
for line in open(sys.argv[1]):
    match = re.match(r"\s*(?:@testable\s+)?import\s+(\w+)", line)
    if match:
        visit(match.group(1))
print("\n".join(order))
' "$entry"
)
((${#modules[@]})) || { echo "no modules found for $entry" >&2; exit 1; }

work="$root/.build/fuzz/$target"
mkdir -p "$work/corpus" "$work/modules"
# gold warns about every ASan helper symbol it cannot export; those lines are noise.
quiet() { "$@" 2> >(grep -v "Cannot export local symbol '__asan" >&2); }
flags=(-O -sanitize=fuzzer,address -parse-as-library -swift-version 6 -package-name monitord
    -enable-upcoming-feature InternalImportsByDefault -enable-upcoming-feature ExistentialAny
    -I "$work/modules" -I "$root/Sources/CSystemd" -I "$root/Sources/CFileSystem" -I "$root/Sources/CMalloc")

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
quiet swiftc "${flags[@]}" -module-name FuzzTarget "$entry" "${support[@]}" "${objects[@]}" -o "$work/fuzz-$target"

cd "$work"
# The Swift runtime's backtracer trips AddressSanitizer after a fatalError; libFuzzer reports.
export SWIFT_BACKTRACE=enable=no
"./fuzz-$target" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$work/" \
    corpus "$root/Fuzz/corpus/$target"
