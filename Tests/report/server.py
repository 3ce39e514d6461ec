#!/usr/bin/env python3
"""The course report's server, reproduced faithfully from SPEC.md section 1.

It is a benchmark peer, so it keeps the report's design and its defects: one thread per
connection, each `recv(1024)` parsed as exactly one JSON object (two messages in one read, or
one message across two reads, kill the connection's thread with an exception), agents numbered
in connection order (a reconnect gets a new number and the old series stay forever), no
notice of dead agents, no authentication. The only additions are command-line options for the
ports and the listen address, so that tests and benchmarks can run it on loopback ports of
their choosing; their defaults are the report's values.
"""
import argparse
import json
import socket
import threading

from prometheus_client import Gauge, start_http_server

ram_usage = Gauge("process_ram_usage_percent", "usage of my ram", ["agent_number"])
cpu_usage = Gauge("process_cpu_usage_percent", "usage of my cpu in 4 seconds", ["agent_number"])
process_ram = Gauge("process_ram_gigabytes", "usage of my ram in current proccess", ["agent_number"])
interrupts = Gauge("process_cpu_interrupts_total", "number of cpu interrupts since boot", ["agent_number"])


def handle_client(connection, agent_number):
    label = f"agent_{agent_number}"
    while True:
        data = connection.recv(1024)
        if not data:
            break
        message = json.loads(data.decode())
        ram_usage.labels(agent_number=label).set(message["RAM usage: "])
        cpu_usage.labels(agent_number=label).set(message["CPU usage: "])
        process_ram.labels(agent_number=label).set(message["currentProccessRAM: "])
        interrupts.labels(agent_number=label).set(message["CPU interrupts: "])
    connection.close()


def main():
    parser = argparse.ArgumentParser(description="the report's monitoring server")
    parser.add_argument("--host", default="0.0.0.0", help="listen address (the report: all interfaces)")
    parser.add_argument("--port", type=int, default=5578, help="agent port")
    parser.add_argument("--metrics-port", type=int, default=8001, help="HTTP port of /metrics")
    args = parser.parse_args()

    start_http_server(args.metrics_port, addr=args.host)
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((args.host, args.port))
    server.listen()
    print(f"listening on {args.host}:{args.port}, metrics on {args.host}:{args.metrics_port}", flush=True)
    agent_number = 0
    while True:
        connection, _ = server.accept()
        agent_number += 1
        threading.Thread(target=handle_client, args=(connection, agent_number), daemon=True).start()


if __name__ == "__main__":
    main()
