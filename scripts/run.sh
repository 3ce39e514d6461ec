#!/usr/bin/env bash
# Builds monitord and monitor-agent, starts both on this machine (gateway on loopback ports
# 5578/8001, one agent sampling every second), waits for the first samples and shows where to
# look. `scripts/run.sh stop` stops them.
set -euo pipefail
cd "$(dirname "$0")/.."
state=.run
if [ "${1:-}" = stop ]; then
    for pidfile in "$state"/*.pid; do
        [ -e "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
        rm -f "$pidfile"
    done
    echo "stopped"
    exit 0
fi

bash scripts/install-deps.sh
swift build --product monitord
swift build --product monitor-agent
bin=$(swift build --show-bin-path)

mkdir -p "$state"
"$0" stop >/dev/null
# The shipped files, with the gateway kept on loopback and a livelier agent for a first look.
sed -e 's/^listen = .*/listen = 127.0.0.1:5578/' -e 's/^metrics-listen = .*/metrics-listen = 127.0.0.1:8001/' \
    etc/monitor/monitord.conf > "$state/monitord.conf"
sed -e 's/^interval = .*/interval = 1s/' -e 's/^cpu-window = .*/cpu-window = 1s/' \
    etc/monitor/agent.conf > "$state/agent.conf"

"$bin/monitord" --config "$state/monitord.conf" >"$state/monitord.log" 2>&1 &
echo $! > "$state/monitord.pid"
"$bin/monitor-agent" --config "$state/agent.conf" >"$state/agent.log" 2>&1 &
echo $! > "$state/agent.pid"

for _ in $(seq 1 50); do
    if curl -fs http://127.0.0.1:8001/metrics 2>/dev/null | grep -q '^process_ram_usage_percent{'; then
        echo
        echo "monitord and monitor-agent are running. The agent's series, as Prometheus sees them:"
        curl -fs http://127.0.0.1:8001/metrics | grep -E '^(process_(ram|cpu)_[a-z_]+|monitord_agent_up)\{'
        echo
        echo "  look:  curl localhost:8001/metrics     (status page: http://localhost:8001/)"
        echo "  logs:  $state/monitord.log  $state/agent.log"
        echo "  stop:  bash scripts/run.sh stop"
        exit 0
    fi
    sleep 0.2
done
echo "no samples arrived within 10 s; logs follow" >&2
cat "$state/monitord.log" "$state/agent.log" >&2
exit 1
