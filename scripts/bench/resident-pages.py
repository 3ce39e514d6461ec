#!/usr/bin/env python3
"""Which pages of a running process's executable are resident (present in its page tables), per ELF
section and per mapping, from /proc/PID/pagemap (root) and readelf -S; --list prints them.
usage: resident-pages.py PID ELF [--list]"""
import os, re, struct, subprocess, sys, time
pid, elf = int(sys.argv[1]), sys.argv[2]
exe = os.path.realpath(f"/proc/{pid}/exe")
maps = []
for line in open(f"/proc/{pid}/maps"):
    f = line.split()
    if len(f) >= 6 and f[5] == exe:
        a, b = (int(x, 16) for x in f[0].split("-"))
        maps.append((a, b, int(f[2], 16), f[1]))
base = maps[0][0] - maps[0][2]
# sections: name, vaddr, size
secs = []
for line in subprocess.run(["readelf", "-SW", elf], capture_output=True, text=True).stdout.splitlines():
    m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)", line)
    if m and int(m.group(2), 16):
        secs.append((m.group(1), int(m.group(2), 16), int(m.group(4), 16)))
pm = open(f"/proc/{pid}/pagemap", "rb")
present = set()
for a, b, off, perm in maps:
    pm.seek(a // 4096 * 8)
    data = pm.read((b - a) // 4096 * 8)
    for i in range((b - a) // 4096):
        v = struct.unpack_from("<Q", data, i * 8)[0]
        if v >> 63 & 1:
            present.add((a - base) // 4096 + i)
tot = 0
print(f"{'section':28} {'size KiB':>9} {'mapped KiB':>10}")
for name, va, size in secs:
    pages = set(range(va // 4096, (va + size + 4095) // 4096))
    n = len(pages & present)
    tot += size
    if size > 16384 or n:
        print(f"{name:28} {size/1024:9.0f} {n*4:10.0f}")
print("mapped pages of the binary:", len(present) * 4, "KiB")
for a, b, off, perm in maps:
    n = sum(1 for p in present if (a - base)//4096 <= p < (b - base)//4096)
    print(f"  mapping {perm} off {off:#x} size {(b-a)//1024} KiB mapped {n*4} KiB")
if "--list" in sys.argv:
    for p in sorted(present): print(hex(p * 4096))
