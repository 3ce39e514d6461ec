#!/usr/bin/env python3
"""Writes packaging/monitor-agent.order, the order in which lld lays out monitor-agent's functions
(debian/rules: --symbol-ordering-file), from callgrind profiles of the release agent.

The functions every sample runs come first (most instructions first), then those that ran only
while starting, connecting, with TLS, reloading or stopping: what an agent touches is then a few adjacent
megabytes instead of pages spread over the whole binary, each of which the kernel's fault-around
maps with its 64 KiB neighbourhood. Functions not in the profiles (error paths) follow, unordered.

Profiles (valgrind 3.19 cannot read Swift's DWARF 5: strip --strip-debug keeps the symbols):

    strip --strip-debug -o agent.sym .build-release-agent/release/monitor-agent
    valgrind --tool=callgrind --demangle=no --callgrind-out-file=cg.out ./agent.sym --config agent.conf &
    sleep 30; callgrind_control -d     # start-up, first samples  -> cg.out.1
    sleep 30; callgrind_control -d     # the steady state        -> cg.out.2
    kill -HUP %1; sleep 8; callgrind_control -d   # a reload     -> cg.out.3
    kill -TERM %1; wait                # stopping                -> cg.out
    (the same at the same time with tls = yes to a TLS gateway: cg-tls.out*)

    python3 scripts/bench/agent-order.py cg.out.2 cg-tls.out.2 cg.out.1 cg-tls.out.1 \
        cg.out.3 cg-tls.out.3 cg.out cg-tls.out > packaging/monitor-agent.order

Files are taken in the order given, the steady state's first; within a file, most instructions first.
Then `rm .build-release-agent/release/monitor-agent` before building again: SwiftPM does not know the
order file as an input of the link, and with nothing else changed it keeps the old binary.

A stale order file is harmless but costs memory: names it lists that no longer exist are ignored,
new functions are placed after the listed ones. Make it again from the shipped build whenever the
agent's code or threads change (an order made while the agent ran without Dispatch's threads left
the functions of their once-a-second timer out of the hot part)."""
import collections
import re
import sys


def executed(path):
    """Instructions per function (self cost) in one callgrind output file."""
    names, cost, function, skip = {}, collections.Counter(), None, False
    for line in open(path, errors="replace"):
        if skip:  # the line after calls= is the call's inclusive cost, not the caller's own
            skip = False
            continue
        if line.startswith("fn="):
            match = re.match(r"fn=\((\d+)\)(?: (.*))?", line.rstrip("\n"))
            if match:
                if match.group(2):
                    names[match.group(1)] = match.group(2)
                function = names.get(match.group(1))
            else:
                function = line[3:].strip()
        elif line.startswith("cfn="):
            match = re.match(r"cfn=\((\d+)\) (.*)", line.rstrip("\n"))
            if match:
                names[match.group(1)] = match.group(2)
        elif line.startswith("calls="):
            skip = True
        elif function and (line[:1].isdigit() or line[:1] in "+-*"):
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                cost[function] += int(parts[1])
    return cost


def main():
    seen = set()
    for path in sys.argv[1:]:
        for name, _ in executed(path).most_common():
            # callgrind names a recursive function's deeper levels fn'2, fn'3...: the symbol is fn.
            name = re.sub(r"'\d+$", "", name)
            if name not in seen and not name.startswith("0x"):
                seen.add(name)
                print(name)


if __name__ == "__main__":
    main()
