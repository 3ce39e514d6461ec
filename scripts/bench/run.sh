#!/usr/bin/env bash
# Benchmarks monitord and monitor-agent against their peers in one run on this machine and
# writes the tables into docs/performance.md (see that file for what is measured and why).
#
#   bash scripts/bench/run.sh            # full run (about 25 minutes): release build, 5-minute
#                                        # agent window, 1 to 10,000 agents against the peers and
#                                        # 50,000 held by monitord alone; rewrites the
#                                        # measured section of docs/performance.md
#   bash scripts/bench/run.sh --smoke    # under 2 minutes once built: 15 s agent window, at most
#                                        # 1,000 agents; prints the tables, writes nothing
#   bash scripts/bench/run.sh --smoke --debug   # the same with the debug binaries that
#                                        # `swift build --build-tests` already made (CI)
#   bash scripts/bench/run.sh --soak [MINUTES]  # opt-in soak: 1,000 agents at 1 s for 30 (or
#                                        # MINUTES) minutes, monitord's RSS and CPU every 30 s;
#                                        # fails if RSS keeps growing
#
# Every process listens on 127.0.0.1 only, on free ports chosen at start, and is stopped by its
# own pid at the end; packaged services (node exporter, pushgateway) are not used. Exit status
# non-zero only when a component fails; missed performance targets are printed as MISSED.
set -euo pipefail
cd "$(dirname "$0")/../.."

smoke=0
debug=0
soak=0
while (($#)); do
    argument=$1
    shift
    case "$argument" in
        --soak)
            soak=30
            if [[ ${1:-} =~ ^[0-9.]+$ ]]; then soak=$1; shift; fi
            ;;
        --smoke) smoke=1 ;;
        --debug) debug=1 ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "unknown argument: $argument" >&2; exit 2 ;;
    esac
done

for tool in prometheus-node-exporter prometheus-pushgateway collectd openssl strip make ss curl; do
    command -v "$tool" >/dev/null || { echo "missing $tool: run bash scripts/install-deps.sh" >&2; exit 1; }
done
python3 -c 'import prometheus_client, psutil' || { echo "missing Python modules: run bash scripts/install-deps.sh" >&2; exit 1; }

products=(monitord monitor-agent monitor-loadgen)
strip_agent=""
agent=()
if ((debug)); then
    for product in "${products[@]}"; do swift build --product "$product"; done
    bin=$(swift build --show-bin-path)
    label="debug build"
else
    # As debian/rules builds the package (release, static Swift runtime, its linker flags; the
    # agent for size, in a scratch path of its own); the agent is measured stripped as dh_strip
    # ships it (bench.py --strip).
    read -ra flags <<<"$(make -s -f debian/rules print-swift-build-flags)"
    for product in monitord monitor-loadgen; do
        swift build "${flags[@]}" --scratch-path .build-release --product "$product"
    done
    bin=$(swift build "${flags[@]}" --scratch-path .build-release --show-bin-path)
    read -ra agent_flags <<<"$(make -s -f debian/rules print-agent-build-flags)"
    make -s -f debian/rules prepare-agent-build   # the static libstdc++ and unwinder, a fresh link
    swift build "${agent_flags[@]}" --scratch-path .build-release-agent --product monitor-agent
    agent=(--agent "$(swift build "${agent_flags[@]}" --scratch-path .build-release-agent --show-bin-path)/monitor-agent")
    label="release build as debian/rules builds it, agent stripped"
    strip_agent=--strip
fi

# 50,000 agents need 50,000 descriptors in monitor-loadgen and as many in monitord: root may raise
# the hard limit; anyone else gets the hard limit, and bench.py skips the levels it cannot hold.
ulimit -n 120000 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

if [[ $soak != 0 ]]; then
    exec python3 scripts/bench/bench.py --bin "$bin" --soak-minutes "$soak" --json "${BENCH_JSON:-/tmp/monitord-soak.json}"
fi
if ((smoke)); then
    exec python3 scripts/bench/bench.py --bin "$bin" "${agent[@]}" --smoke $strip_agent \
        --label "$label, \`bash scripts/bench/run.sh --smoke$( ((debug)) && echo ' --debug')\`"
fi
exec python3 scripts/bench/bench.py --bin "$bin" "${agent[@]}" $strip_agent --write-doc docs/performance.md \
    --json "${BENCH_JSON:-/tmp/monitord-bench.json}" --label "$label, \`bash scripts/bench/run.sh\`"
