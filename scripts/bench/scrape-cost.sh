#!/bin/bash
# scrape-cost.sh MONITORD LOADGEN AGENTS SCRAPES: what one GET /metrics costs monitord, whole process
# (utime + stime from /proc/PID/stat, minor faults), while it holds AGENTS agents of monitor-loadgen
# that are connected but stopped (SIGSTOP), so that nothing but the scrapes runs; and the scrapes'
# median wall time. Needs `ulimit -n` above AGENTS (10,000 agents: 20,000 is this machine's limit).
# Issue 14, sixth round (docs/performance.md).
set -u
M=$1; L=$2; N=$3; S=$4
ulimit -n 20000
P=$((20000 + RANDOM % 10000)); MP=$((P + 1)); d=$(mktemp -d)
printf '[monitord]\nlisten = 127.0.0.1:%s\nmetrics-listen = 127.0.0.1:%s\nagent-timeout = 600s\nforget-after = 1h\nlog-level = warning\nmax-connections = %s\nmax-agents = %s\n' $P $MP $((N+1000)) $((N+1000)) > $d/m.conf
$M --config $d/m.conf > $d/m.log 2>&1 & MPID=$!
sleep 1
$L --server 127.0.0.1:$P --agents $N --interval 1s --duration 600s --ramp-up $((N/800 + 1))s > $d/l.log 2>&1 & LPID=$!
for i in $(seq 180); do c=$(ss -tn state established "( sport = :$P )" | tail -n +2 | wc -l); [ $c -ge $N ] && break; sleep 1; done
sleep 3; kill -STOP $LPID; sleep 2
curl -s -o /dev/null http://127.0.0.1:$MP/metrics; curl -s -o /dev/null http://127.0.0.1:$MP/metrics
read f0 t0 < <(awk '{print $10, $14+$15}' /proc/$MPID/stat)
for i in $(seq $S); do curl -s -o /dev/null -w "%{time_total}\n" http://127.0.0.1:$MP/metrics; done > $d/t
read f1 t1 < <(awk '{print $10, $14+$15}' /proc/$MPID/stat)
sort -n $d/t | awk -v c=$c -v f=$((f1-f0)) -v t=$((t1-t0)) -v s=$S '{a[NR]=$1} END {printf "agents %d  faults/scrape %.0f  cpu ms/scrape %.2f  median %.1f ms\n", c, f/s, t*10/s, a[int((NR+1)/2)]*1000}'
grep VmRSS /proc/$MPID/status
kill -CONT $LPID; kill $LPID $MPID; wait 2>/dev/null; rm -rf $d
