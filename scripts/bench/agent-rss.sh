#!/bin/bash
# Where an idle monitor-agent's resident pages are (docs/performance.md, issue 13, fifth round).
# usage: scripts/bench/agent-rss.sh MONITORD SECONDS AGENT...
# Each AGENT (a stripped build) is copied afresh, so that the whole file is in the page cache as
# after `apt install`, and run twice at interval = 1s: plain TCP to one MONITORD and TLS to another.
# After SECONDS: /proc/PID/status, Rss per mapped file (smaps) and per section of the binary
# (resident-pages.py). Needs root (pagemap) and openssl.
set -eu
MONITORD=$1; SECONDS_IDLE=$2; shift 2
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d); cd "$WORK"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -days 2 -keyout gw.key -out gw.pem 2>/dev/null
read -r AP MP TP TMP < <(python3 -c 'import socket
s = [socket.socket() for _ in range(4)]
[x.bind(("127.0.0.1", 0)) for x in s]
print(*[x.getsockname()[1] for x in s])')
gateway() { printf '[monitord]\nlisten = 127.0.0.1:%s\nmetrics-listen = 127.0.0.1:%s\nlog-level = warning\n%b' "$@"; }
gateway "$AP" "$MP" "" > m.conf
gateway "$TP" "$TMP" "tls-certificate = $WORK/gw.pem\ntls-key = $WORK/gw.key\n" > mt.conf
"$MONITORD" --config m.conf > m.log 2>&1 & GATEWAYS=($!)
"$MONITORD" --config mt.conf > mt.log 2>&1 & GATEWAYS+=($!)
sleep 1
AGENTS=(); NAMES=()
i=0
for BIN in "$@"; do
    i=$((i + 1))
    cp "$BIN" "agent$i.new" && mv "agent$i.new" "agent$i"
    for mode in plain tls; do
        if [ $mode = plain ]; then port=$AP; extra=""; else port=$TP; extra="tls = yes\ntls-ca-file = $WORK/gw.pem\n"; fi
        printf '[agent]\nserver = 127.0.0.1:%s\nname = agent%s-%s\ninterval = 1s\ncpu-window = 1s\nlog-level = warning\n%b' \
            "$port" $i $mode "$extra" > "a$i-$mode.conf"
        "./agent$i" --config "a$i-$mode.conf" > "a$i-$mode.log" 2>&1 & AGENTS+=($!); NAMES+=("$BIN $mode agent$i")
    done
done
sleep "$SECONDS_IDLE"
for k in "${!AGENTS[@]}"; do
    PID=${AGENTS[$k]}; set -- ${NAMES[$k]}
    echo "=== $1 ($2), pid $PID"
    grep -E 'VmRSS|RssAnon|RssFile' "/proc/$PID/status" | tr -s ' \t\n' ' '; echo
    python3 - "$PID" <<'PY'
import collections, sys
rss, current = collections.OrderedDict(), None
for line in open(f"/proc/{sys.argv[1]}/smaps"):
    fields = line.split()
    if not fields[0].endswith(":"):
        current = fields[5].split("/")[-1] if len(fields) >= 6 else "[anon]"
    elif fields[0] == "Rss:":
        rss[current] = rss.get(current, 0) + int(fields[1])
for name, kib in rss.items():
    if kib: print(f"  {name:32} {kib:6} KiB")
PY
    python3 "$HERE/resident-pages.py" "$PID" "$3" | grep -E '^(\.text|\.rodata|\.data|mapped|  mapping)'
done
curl -s "127.0.0.1:$MP/metrics" "127.0.0.1:$TMP/metrics" | grep '^monitord_samples_received_total' || true
kill "${AGENTS[@]}"; sleep 2; kill "${GATEWAYS[@]}"; wait || true
rm -rf "$WORK"
