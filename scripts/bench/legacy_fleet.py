#!/usr/bin/env python3
"""Holds N connections speaking the report's format against a gateway, one message per
interval each, for a bounded time; prints how many messages were sent.

Used to measure monitord's memory with many report-style agents:
    python3 scripts/bench/legacy_fleet.py --port 5578 --agents 1000 --seconds 30
Loopback only: the host is fixed to 127.0.0.1.
"""
import argparse
import json
import selectors
import socket
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=5578)
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()

    sockets = []
    for _ in range(args.agents):
        s = socket.create_connection(("127.0.0.1", args.port))
        s.setblocking(False)
        sockets.append(s)
    message = json.dumps({
        "currentProccessRAM: ": 0.00927734375, "RAM usage: ": 58.4,
        "CPU usage: ": 2.8, "CPU interrupts: ": 706148,
    }).encode()
    sent = 0
    end = time.monotonic() + args.seconds
    while time.monotonic() < end:
        tick = time.monotonic()
        for s in sockets:
            try:
                s.send(message)
                sent += 1
            except BlockingIOError:
                pass
        time.sleep(max(0.0, args.interval - (time.monotonic() - tick)))
    print(f"connections={len(sockets)} messages_sent={sent}")
    for s in sockets:
        s.close()


if __name__ == "__main__":
    main()
