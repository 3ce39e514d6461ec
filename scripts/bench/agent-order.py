#!/usr/bin/env python3
"""Writes packaging/monitor-agent.order, the order in which lld lays out monitor-agent's functions
(debian/rules: --symbol-ordering-file), from callgrind profiles of the release agent.

The functions a plain-TCP agent under its unit runs come first: those of every sample (most instructions first),
then those that ran while it started; then what a TLS agent runs besides, then reloading and
stopping. What an agent touches is then a few adjacent megabytes instead of pages spread over the
whole binary, each of which the kernel's fault-around maps with its 64 KiB neighbourhood (an idle
agent's resident set is its start-up and its samples: they go together). Functions not in the
profiles (error paths) follow, unordered. Functions without a symbol (swiftc's .Lobjectdestroy,
.L__unnamed) cannot be named here: packaging/monitor-agent.ld puts them all before the ordered ones.

Profiles: scripts/bench/agent-profile.sh makes them as the packaged unit runs the agent (log-level
info, to the journal through sd_journal_sendv, READY=1/STATUS=/watchdog pings), plus a TLS agent and
one that logs to stderr; its header has the command that turns them into the order file. The agent
profiled is the release agent `strip --strip-debug` (valgrind 3.19 cannot read Swift's DWARF 5), with
the instruction addresses (--dump-instr=yes --compress-pos=no): with --binary, every instruction is
named by the symbol that contains it, since callgrind's own function names miss tiny functions that
only jump on (metadata accessors, value witnesses), and an unnamed one stays resident elsewhere.
An order made from agents at log-level warning on stderr (before issue 13's sixth round) left the
logging, journal and notify code unordered: 1 MiB more of .text resident under the unit.

Files are taken in the order given; within a file, most instructions first. Without --binary,
callgrind's function names are used (profiles without --dump-instr).
Then `rm .build-release-agent/release/monitor-agent` before building again: SwiftPM does not know the
order file as an input of the link, and with nothing else changed it keeps the old binary.

A stale order file is harmless but costs memory: names it lists that no longer exist are ignored,
new functions are placed after the listed ones. Make it again from the shipped build whenever the
agent's code or threads change (an order made while the agent ran without Dispatch's threads left
the functions of their once-a-second timer out of the hot part)."""
import bisect
import collections
import os
import re
import subprocess
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


def function_symbols(binary):
    """The binary's function symbols by address (nm), to name what callgrind saw by address."""
    listing = subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True, check=True).stdout
    table = sorted((int(fields[0], 16), fields[2]) for fields in (line.split() for line in listing.splitlines())
                   if len(fields) == 3 and fields[1] in "tTwW")
    return [address for address, _ in table], [name for _, name in table]


def executed_at(path, binary, addresses, names):
    """Instructions per function of `binary` from a profile made with --dump-instr=yes --compress-pos=no,
    each instruction named by the symbol that contains it. Callgrind's own function names miss some
    functions that run: tiny ones that only jump on (metadata accessors, value witnesses) are counted
    under another name, and a function it does not name is not ordered and leaves a page resident."""
    objects, current, cost, skip = {}, None, collections.Counter(), False
    target = os.path.realpath(binary)
    for line in open(path, errors="replace"):
        if skip:  # the line after calls= is the call's inclusive cost, not the caller's own
            skip = False
            continue
        if line.startswith(("ob=", "cob=")):
            match = re.match(r"c?ob=\((\d+)\)(?: (.*))?", line.rstrip("\n"))
            if match and match.group(2):
                objects[match.group(1)] = os.path.realpath(match.group(2))
            if line.startswith("ob="):
                current = objects.get(match.group(1)) if match else os.path.realpath(line[3:].strip())
        elif line.startswith("calls="):
            skip = True
        elif line.startswith("0x") and current == target:
            parts = line.split()
            index = bisect.bisect_right(addresses, int(parts[0], 16)) - 1
            if index >= 0 and len(parts) >= 2 and parts[-1].isdigit():
                cost[names[index]] += int(parts[-1])
    return cost


def main():
    arguments = sys.argv[1:]
    binary = None
    if arguments[:1] == ["--binary"]:
        binary, arguments = arguments[1], arguments[2:]
        addresses, names = function_symbols(binary)
    seen = set()
    for path in arguments:
        cost = executed_at(path, binary, addresses, names) if binary else executed(path)
        for name, _ in cost.most_common():
            # callgrind names a recursive function's deeper levels fn'2, fn'3...: the symbol is fn.
            name = re.sub(r"'\d+$", "", name)
            if name not in seen and not name.startswith("0x"):
                seen.add(name)
                print(name)


if __name__ == "__main__":
    main()
