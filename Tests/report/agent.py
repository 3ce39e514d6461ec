#!/usr/bin/env python3
"""The course report's agent, reproduced faithfully from SPEC.md section 1.

It is kept as the report wrote it -- psutil, one JSON object per `send`, no delimiter,
a blocking 4 s CPU measurement, and a keyboard prompt when the connection fails -- because
monitord must keep accepting exactly this. The only additions are command-line options for
the server address and the timings, so that tests need not wait 9 s per sample; their
defaults are the report's values.
"""
import argparse
import json
import socket
import time

import psutil


def main():
    parser = argparse.ArgumentParser(description="the report's monitoring agent")
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, default=5578)
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between messages")
    parser.add_argument("--cpu-window", type=float, default=4.0, help="psutil.cpu_percent interval")
    parser.add_argument("--count", type=int, default=0, help="stop after this many messages (0: never)")
    args = parser.parse_args()

    process = psutil.Process()
    sent = 0
    while True:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.connect((args.host, args.port))
            while args.count == 0 or sent < args.count:
                data = {
                    "currentProccessRAM: ": process.memory_info().rss / 2**30,
                    "RAM usage: ": psutil.virtual_memory().percent,
                    "CPU usage: ": psutil.cpu_percent(args.cpu_window),
                    "CPU interrupts: ": psutil.cpu_stats().interrupts,
                }
                s.send(json.dumps(data).encode())
                sent += 1
                time.sleep(args.interval)
            s.close()
            return
        except (ConnectionError, OSError) as error:
            print(f"connection failed: {error}")
            s.close()
            # The report asked a person whether to reconnect.
            answer = input("reconnect? (y/n) ")
            if answer.strip().lower() != "y":
                return


if __name__ == "__main__":
    main()
