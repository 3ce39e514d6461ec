#!/bin/bash
# Callgrind profiles of monitor-agent as its packaged unit runs it, for packaging/monitor-agent.order
# (docs/performance.md, "Issue 13, sixth round"). Under systemd the agent logs at the packaged
# config's level (info: its notices at start and on connect) to the journal through libsystemd's
# sd_journal_sendv, and sends READY=1, STATUS= and watchdog pings; an order made from agents at
# log-level warning on stderr left all of that code out of the ordered part (1 MiB of .text more
# resident under the unit). Here four agents run at once under callgrind, in a private mount
# namespace where /run/systemd/journal/socket and a notify socket are datagram sockets this script
# owns, with JOURNAL_STREAM naming the stderr of j and t (so they choose the journal as under systemd):
# j = plain TCP to the journal, t = TLS to the journal, s = plain TCP to stderr (an agent run by hand),
# w = the same at log-level warning (the benchmark's agent: its start-up is what every agent runs).
#
# usage (root): scripts/bench/agent-profile.sh AGENT.sym GATEWAY-PORT TLS-GATEWAY-PORT CA.pem OUTDIR
#   AGENT.sym: the release agent as debian/rules links it, `strip --strip-debug` (valgrind 3.19
#   cannot read Swift's DWARF 5). Then, in this order (the packaged agent's steady state, the start-up
#   every agent runs, then what logging to the journal adds to it; the agent by hand; TLS; reload; stop):
#   python3 scripts/bench/agent-order.py --binary AGENT.sym OUTDIR/cg-j.out.2 OUTDIR/cg-w.out.1 \
#       OUTDIR/cg-j.out.1 OUTDIR/cg-s.out.2 OUTDIR/cg-s.out.1 OUTDIR/cg-t.out.2 OUTDIR/cg-t.out.1 OUTDIR/cg-j.out.3 \
#       OUTDIR/cg-s.out.3 OUTDIR/cg-t.out.3 OUTDIR/cg-j.out OUTDIR/cg-s.out OUTDIR/cg-t.out \
#       > packaging/monitor-agent.order
set -euo pipefail
if [[ ${1:-} != --inside ]]; then
    [[ $# -eq 5 ]] || { sed -n '2,21p' "$0" >&2; exit 2; }
    mkdir -p "$5"
    exec unshare -m --propagation private "$0" --inside "$(realpath "$1")" "$2" "$3" "$(realpath "$4")" \
        "$(realpath "$5")"
fi
agent=$2; port=$3; tls_port=$4; ca=$5; out=$6
cd "$out"
# Private to this mount namespace: nothing of the machine's /run/systemd is seen or changed.
mkdir -p /run/systemd
mount -t tmpfs tmpfs /run/systemd
mkdir /run/systemd/journal
cat >receive.py <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "ab") as out:
    while True:
        out.write(s.recv(1 << 20) + b"\n--\n")
        out.flush()
EOF
python3 receive.py /run/systemd/journal/socket journal.txt & receivers=($!)
python3 receive.py /run/systemd/notify notify.txt & receivers+=($!)
sleep 0.5
# conf NAME PORT LEVEL [EXTRA]: an agent's configuration, a sample a second.
conf() {
    printf '[agent]\nserver = 127.0.0.1:%s\nname = profile-%s\ninterval = 1s\ncpu-window = 1s\nlog-level = %s\n%b' \
        "$2" "$1" "$3" "${4:-}" >"$1.conf"
}
conf j "$port" info
conf s "$port" info
conf w "$port" warning
conf t "$tls_port" info "tls = yes\ntls-ca-file = $ca\n"
declare -A pids
for name in j t s w; do
    : >"$name.err"
    stream=
    [[ $name == [sw] ]] || stream=JOURNAL_STREAM=$(stat -c %d:%i "$name.err")
    env -i PATH=/usr/bin:/bin LANG=C.UTF-8 $stream NOTIFY_SOCKET=/run/systemd/notify WATCHDOG_USEC=4000000 \
        valgrind --tool=callgrind --demangle=no --dump-instr=yes --compress-pos=no \
        --callgrind-out-file="cg-$name.out" "$agent" --config "$name.conf" 2>>"$name.err" >/dev/null &
    pids[$name]=$!
done
dump() { for pid in "${pids[@]}"; do callgrind_control -d "$pid" >/dev/null 2>&1; done; }
sleep 40; dump                          # start-up and the first samples -> cg-*.out.1
sleep 30; dump                          # the steady state              -> cg-*.out.2
kill -HUP "${pids[@]}"; sleep 10; dump  # a reload                      -> cg-*.out.3
kill -TERM "${pids[@]}"; wait "${pids[@]}" || true  # stopping            -> cg-*.out
kill "${receivers[@]}"
grep -c '^MESSAGE=' journal.txt | sed 's/^/journal entries: /'
grep -c '^WATCHDOG=1' notify.txt | sed 's/^/watchdog pings: /'
