#!/bin/bash
# Callgrind profiles of monitor-agent as its packaged unit runs it, for packaging/monitor-agent.order
# (docs/performance.md, "Issue 13, sixth round"). Under systemd the agent logs at the packaged
# config's level (info: its notices at start and on connect) to the journal through libsystemd's
# sd_journal_sendv, and sends READY=1, STATUS= and watchdog pings; an order made from agents at
# log-level warning on stderr left all of that code out of the ordered part (1 MiB of .text more
# resident under the unit), and so did the agent's retries while no gateway listens yet (at boot, or
# installed before monitord: 0.9 MiB more). Here four agents run at once under callgrind, with their
# gateways (a release MONITORD, plain and TLS, started here), in a private mount
# namespace where /run/systemd/journal/socket and a notify socket are datagram sockets this script
# owns, with JOURNAL_STREAM naming the stderr of j and t (so they choose the journal as under systemd):
# j = plain TCP to the journal, t = TLS to the journal, s = plain TCP to stderr (an agent run by hand),
# w = the same at log-level warning (the benchmark's agent: its start-up is what every agent runs).
#
# usage (root): scripts/bench/agent-profile.sh AGENT.sym MONITORD OUTDIR
#   AGENT.sym: the release agent as debian/rules links it, `strip --strip-debug` (valgrind 3.19
#   cannot read Swift's DWARF 5). Run it twice, the second time with RETRY=yes (the gateways start
#   once every agent has retried), then order (the packaged agent's steady state; the start-up every
#   agent runs, what logging to the journal and to stderr adds to it, then the retries; TLS; reload;
#   stop), with P=OUTDIR of the first run and R=OUTDIR of the second:
#   python3 scripts/bench/agent-order.py --binary AGENT.sym $P/cg-j.out.2 $P/cg-w.out.1 $P/cg-j.out.1 \
#       $P/cg-s.out.2 $P/cg-s.out.1 $R/cg-j.out.1 $R/cg-w.out.1 $R/cg-s.out.1 $P/cg-t.out.2 $P/cg-t.out.1 \
#       $R/cg-t.out.1 $P/cg-j.out.3 $P/cg-s.out.3 $P/cg-t.out.3 $P/cg-j.out $P/cg-s.out $P/cg-t.out \
#       > packaging/monitor-agent.order
#   (Retries ordered within the start-up spread a plain start over more pages: 7.7-7.8 MiB.)
set -euo pipefail
if [[ ${1:-} != --inside ]]; then
    [[ $# -eq 3 ]] || { sed -n '2,25p' "$0" >&2; exit 2; }
    mkdir -p "$3"
    exec unshare -m --propagation private "$0" --inside "$(realpath "$1")" "$(realpath "$2")" "$(realpath "$3")"
fi
agent=$2; monitord=$3; out=$4
cd "$out"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -days 2 -keyout gateway.key -out gateway.pem 2>/dev/null
ca=$out/gateway.pem
read -r port metrics_port tls_port tls_metrics_port < <(python3 -c 'import socket
s = [socket.socket() for _ in range(4)]
[x.bind(("127.0.0.1", 0)) for x in s]
print(*[x.getsockname()[1] for x in s])')
printf '[monitord]\nlisten = 127.0.0.1:%s\nmetrics-listen = 127.0.0.1:%s\nlog-level = warning\n' \
    "$port" "$metrics_port" >gateway.conf
printf '[monitord]\nlisten = 127.0.0.1:%s\nmetrics-listen = 127.0.0.1:%s\nlog-level = warning\n%s\n%s\n' \
    "$tls_port" "$tls_metrics_port" "tls-certificate = $out/gateway.pem" "tls-key = $out/gateway.key" >gateway-tls.conf
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
# With RETRY=yes, no gateway yet: each agent retries, as at boot (at most 60 s for all four to log one).
for _ in $( [[ ${RETRY:-no} == yes ]] && seq 120); do
    (($(grep -c 'retrying in' journal.txt) >= 2)) && grep -q 'retrying in' s.err && grep -q 'retrying in' w.err && break
    sleep 0.5
done
"$monitord" --config gateway.conf >gateway.log 2>&1 & gateways=($!)
"$monitord" --config gateway-tls.conf >gateway-tls.log 2>&1 & gateways+=($!)
dump() { for pid in "${pids[@]}"; do callgrind_control -d "$pid" >/dev/null 2>&1; done; }
sleep 35; dump                          # start-up, retries, first samples -> cg-*.out.1
sleep 30; dump                          # the steady state              -> cg-*.out.2
kill -HUP "${pids[@]}"; sleep 10; dump  # a reload                      -> cg-*.out.3
kill -TERM "${pids[@]}"; wait "${pids[@]}" || true  # stopping            -> cg-*.out
kill "${receivers[@]}" "${gateways[@]}"
{ grep -c 'retrying in' journal.txt s.err w.err || true; } | sed 's/^/retries logged: /'
grep -c '^MESSAGE=' journal.txt | sed 's/^/journal entries: /'
grep -c '^WATCHDOG=1' notify.txt | sed 's/^/watchdog pings: /'
