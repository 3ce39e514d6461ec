#!/usr/bin/env python3
"""Benchmarks monitord and monitor-agent against their peers, in one run on this machine.

Driven by scripts/bench/run.sh, which builds the binaries first; run that, not this. Every
process listens on 127.0.0.1 only, on ports chosen free at start, and every process started
here is stopped by its own pid at the end (packaged services are never touched).

Phases (figures in docs/performance.md):
  agent   monitor-agent vs the report's agent.py (per sample) vs prometheus-node-exporter
          (per scrape, all default collectors and a minimal set), at one sample/scrape per second;
  ingest  monitor-loadgen as fast as possible with 1, 100, 1,000 (10,000) agents;
  hold    N agents at 1 s held by monitord, by the report's server.py and (the same series
          pushed) by prometheus-pushgateway: CPU, RSS, /metrics latency and size.

Exit status: 1 when a component fails (a process dies, an agent delivers nothing, a page lacks
the series, the load generator reports errors against monitord); a missed performance target
is printed, never a failure.
"""
import argparse
import glob
import http.client
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLK_TCK = os.sysconf("SC_CLK_TCK")


class ComponentFailure(Exception):
    pass


# ---------------------------------------------------------------- processes


class Processes:
    """Every process this run started, stopped by pid at the end."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.running = []

    def start(self, name, argv):
        log = open(os.path.join(self.workdir, name + ".log"), "wb")
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
        process.bench_name = name
        self.running.append(process)
        return process

    def stop(self, process):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process in self.running:
            self.running.remove(process)

    def stop_all(self):
        for process in list(self.running):
            self.stop(process)

    def log(self, process):
        with open(os.path.join(self.workdir, process.bench_name + ".log"), "rb") as f:
            return f.read().decode(errors="replace")[-3000:]

    def check_alive(self, process):
        if process.poll() is not None:
            raise ComponentFailure(f"{process.bench_name} exited with {process.returncode}:\n{self.log(process)}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """CPU time of the process (all threads, user + system), from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def run_seconds(pid):
    """CPU time from the scheduler's nanosecond accounting (sum over live threads); the tick-based
    figure above has 10 ms resolution, too coarse for a few seconds of a quiet agent."""
    total = 0
    for path in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            with open(path) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError):
            pass
    return total / 1e9


def memory_kib(pid):
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                values[line.split(":")[0]] = int(line.split()[1])
    return values["VmRSS"], values["VmHWM"]


def http_get(port, path="/metrics", timeout=30):
    """One GET on a fresh HTTP/1.1 connection, as a scrape of a new target. No `Connection: close`
    header (urllib sends one): monitord truncates large pages for such clients (docs/performance.md)."""
    start = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        status = response.status
    finally:
        connection.close()
    return status, body, time.perf_counter() - start


def wait_http(port, process, processes, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        processes.check_alive(process)
        try:
            if http_get(port, timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise ComponentFailure(f"{process.bench_name} did not serve /metrics on port {port}:\n{processes.log(process)}")


def established(port):
    """Established TCP connections whose local port is `port` (the server side)."""
    output = subprocess.run(["ss", "-Htn", "state", "established", f"( sport = :{port} )"],
                            capture_output=True, text=True).stdout
    return sum(1 for line in output.splitlines() if line.strip())


def metric_value(page, name, label):
    match = re.search(rf'^{name}{{agent_number="{re.escape(label)}"}} (\S+)$', page, re.M)
    return float(match.group(1)) if match else None


def count_series(page, name):
    return sum(1 for line in page.splitlines() if line.startswith(name + "{"))


def metrics_timing(port, runs):
    """Median and max wall time of GET /metrics (fresh connection each, as a Prometheus scrape
    of a new target), and the page size."""
    times, size, page = [], 0, ""
    for _ in range(runs):
        try:
            status, body, seconds = http_get(port)
        except (OSError, http.client.HTTPException) as error:
            raise ComponentFailure(f"GET /metrics on {port}: {error!r}")
        if status != 200:
            raise ComponentFailure(f"GET /metrics on {port}: status {status}")
        times.append(seconds)
        size, page = len(body), body.decode()
    return statistics.median(times), max(times), size, page


# ---------------------------------------------------------------- components


def monitord_config(workdir, name, agent_port, metrics_port):
    path = os.path.join(workdir, name + ".conf")
    with open(path, "w") as f:
        f.write(f"[monitord]\nlisten = 127.0.0.1:{agent_port}\nmetrics-listen = 127.0.0.1:{metrics_port}\n"
                "agent-timeout = 60s\nforget-after = 1h\nlog-level = warning\n")
    return path


def start_monitord(ctx, name):
    agent_port, metrics_port = free_port(), free_port()
    config = monitord_config(ctx.workdir, name, agent_port, metrics_port)
    process = ctx.processes.start(name, [ctx.bin("monitord"), "--config", config])
    wait_http(metrics_port, process, ctx.processes)
    return process, agent_port, metrics_port


def run_loadgen(ctx, agent_port, agents, interval, duration, ramp_up, dialect="native", background=False, name="loadgen"):
    argv = [ctx.bin("monitor-loadgen"), "--server", f"127.0.0.1:{agent_port}", "--agents", str(agents),
            "--interval", interval, "--duration", duration, "--ramp-up", ramp_up, "--dialect", dialect,
            "--name-prefix", "bench-", "--json"]
    if background:
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    completed = subprocess.run(argv, capture_output=True, text=True)
    return completed.returncode, parse_loadgen(completed.stdout), completed.stderr


def parse_loadgen(stdout):
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return None


def wait_connections(port, want, seconds, watched, processes):
    deadline = time.monotonic() + seconds
    count = 0
    while time.monotonic() < deadline:
        for process in watched:
            processes.check_alive(process)
        count = established(port)
        if count >= want:
            return count
        time.sleep(0.25)
    return count


# ---------------------------------------------------------------- phases


def phase_agent(ctx, seconds):
    """Agent cost per sample at one sample per second, all peers side by side."""
    gateway, agent_port, metrics_port = start_monitord(ctx, "monitord-agentphase")
    agent_conf = os.path.join(ctx.workdir, "agent.conf")
    # cpu-window 900ms, not 1s: with window == interval the sampler (Agent/Sampler.swift) takes
    # itself to be late after every tick and skips the next one, sampling every 2 s.
    with open(agent_conf, "w") as f:
        f.write(f"[agent]\nserver = 127.0.0.1:{agent_port}\nname = bench-agent\ninterval = 1s\ncpu-window = 900ms\n"
                "log-level = warning\n")
    agent = ctx.processes.start("monitor-agent", [ctx.bin("monitor-agent"), "--config", agent_conf])
    # The report's agent: one sample per second means cpu_percent over 1 s and no extra sleep.
    report_agent = ctx.processes.start("report-agent", [sys.executable, os.path.join(ROOT, "Tests/report/agent.py"),
                                                        "--host", "127.0.0.1", "--port", str(agent_port),
                                                        "--interval", "0", "--cpu-window", "1"])
    exporters = {}
    for name, extra in (("node-exporter", []),
                        ("node-exporter-minimal", ["--collector.disable-defaults", "--collector.cpu",
                                                   "--collector.meminfo", "--collector.stat"])):
        port = free_port()
        exporters[name] = (ctx.processes.start(name, ["prometheus-node-exporter", f"--web.listen-address=127.0.0.1:{port}",
                                                      *extra]), port)
    for process, port in exporters.values():
        wait_http(port, process, ctx.processes)

    def scrape_all():
        for name, (process, port) in exporters.items():
            status, body, _ = http_get(port)
            if status != 200 or b"node_" not in body:
                raise ComponentFailure(f"{name}: bad scrape")

    # Warm up: let the agents connect and send their first samples, the exporters serve a scrape.
    for _ in range(4):
        scrape_all()
        time.sleep(1)
    watched = [gateway, agent, report_agent] + [p for p, _ in exporters.values()]
    page = http_get(metrics_port)[1].decode()
    report_label = next(iter(re.findall(r'^monitord_samples_received_total\{agent_number="(agent_\d+)"\}', page, re.M)), None)
    if metric_value(page, "monitord_samples_received_total", "bench-agent") is None or report_label is None:
        raise ComponentFailure(f"agents did not deliver samples within the warm-up:\n{page[-2000:]}\n"
                               f"{ctx.processes.log(agent)}\n{ctx.processes.log(report_agent)}")

    def snapshot():
        page = http_get(metrics_port)[1].decode()
        return {
            "agent": metric_value(page, "monitord_samples_received_total", "bench-agent"),
            "report": metric_value(page, "monitord_samples_received_total", report_label),
            "cpu": {p.bench_name: (run_seconds(p.pid), cpu_seconds(p.pid)) for p in watched},
        }

    before = snapshot()
    start = time.monotonic()
    scrapes = 0
    while time.monotonic() - start < seconds:
        tick = time.monotonic()
        scrape_all()
        scrapes += 1
        for process in watched:
            ctx.processes.check_alive(process)
        time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
    after = snapshot()
    elapsed = time.monotonic() - start

    rows = []
    for label, process, count in (
            ("monitor-agent (Swift, native protocol)", agent, after["agent"] - before["agent"]),
            ("report's agent.py (Python, psutil)", report_agent, after["report"] - before["report"]),
            ("prometheus-node-exporter 1.5, default collectors", exporters["node-exporter"][0], scrapes),
            ("prometheus-node-exporter 1.5, cpu+meminfo+stat only", exporters["node-exporter-minimal"][0], scrapes)):
        if count <= 0:
            raise ComponentFailure(f"{label}: no samples in {elapsed:.0f} s")
        name = process.bench_name
        run = after["cpu"][name][0] - before["cpu"][name][0]
        ticks = after["cpu"][name][1] - before["cpu"][name][1]
        rss, hwm = memory_kib(process.pid)
        rows.append({"peer": label, "samples": int(count), "seconds": elapsed, "cpu_ms_per_sample": run * 1000 / count,
                     "cpu_ms_per_sample_ticks": ticks * 1000 / count, "rss_kib": rss, "hwm_kib": hwm})
    for process in watched:
        ctx.processes.stop(process)
    return rows


def phase_ingest(ctx, levels, seconds):
    rows = []
    for agents in levels:
        gateway, agent_port, _ = start_monitord(ctx, f"monitord-ingest-{agents}")
        cpu_before = run_seconds(gateway.pid)
        ramp = "1s" if agents <= 100 else ("3s" if agents <= 1000 else "12s")
        code, result, stderr = run_loadgen(ctx, agent_port, agents, "0", f"{seconds}s", ramp)
        ctx.processes.check_alive(gateway)
        cpu = run_seconds(gateway.pid) - cpu_before
        rss, hwm = memory_kib(gateway.pid)
        ctx.processes.stop(gateway)
        if code != 0 or result is None:
            raise ComponentFailure(f"monitor-loadgen with {agents} agents failed ({code}): {result}\n{stderr}")
        rows.append({"agents": agents, "samples_per_second": result["samples_per_second"],
                     "p50_us": result["latency_p50_us"], "p99_us": result["latency_p99_us"],
                     "max_us": result["latency_max_us"], "acked": result["samples_acknowledged"],
                     "cpu_us_per_sample": cpu * 1e6 / max(1, result["samples_acknowledged"]),
                     "rss_kib": rss, "hwm_kib": hwm})
    return rows


def hold_with_loadgen(ctx, server, agent_port, metrics_port, agents, dialect, window, metric_runs, strict):
    """N agents at 1 s held by `server`: CPU over `window` s, RSS, /metrics latency and size."""
    ramp = max(2, agents // 800)
    settle = 3
    total = ramp + settle + window + metric_runs * 2 + 10
    baseline_rss = memory_kib(server.pid)[0]
    loadgen = run_loadgen(ctx, agent_port, agents, "1s", f"{total}s", f"{ramp}s", dialect=dialect, background=True)
    try:
        connected = wait_connections(agent_port, agents, ramp + 30, [server], ctx.processes)
        if connected < agents and strict:
            raise ComponentFailure(f"{server.bench_name}: only {connected} of {agents} agents connected")
        time.sleep(settle)
        # Process-wide ticks, not per-thread schedstat: the report's server loses threads (each
        # dies with its connection), and a dead thread's time vanishes from task/*/schedstat.
        cpu_before, wall_before = cpu_seconds(server.pid), time.monotonic()
        time.sleep(window)
        cpu = (cpu_seconds(server.pid) - cpu_before) / (time.monotonic() - wall_before)
        rss, hwm = memory_kib(server.pid)
        median, worst, size, page = metrics_timing(metrics_port, metric_runs)
        series = count_series(page, "process_ram_usage_percent")
        still_connected = established(agent_port)
    except BaseException:
        loadgen.kill()
        loadgen.wait()
        raise
    stdout, stderr = loadgen.communicate(timeout=total + 60)
    result = parse_loadgen(stdout)
    if strict and (loadgen.returncode != 0 or series < agents):
        raise ComponentFailure(f"{server.bench_name} with {agents} agents: loadgen {loadgen.returncode} {result}, "
                               f"{series} series on /metrics\n{stderr[-2000:]}")
    return {"agents": agents, "connected": connected, "still_connected": still_connected,
            "cpu_percent": cpu * 100, "rss_kib": rss, "hwm_kib": hwm, "baseline_rss_kib": baseline_rss,
            "metrics_median_ms": median * 1000, "metrics_max_ms": worst * 1000, "metrics_bytes": size,
            "series": series, "loadgen": result}


PUSH_BODY = """# TYPE process_ram_usage_percent gauge
process_ram_usage_percent 58.4
# TYPE process_cpu_usage_percent gauge
process_cpu_usage_percent 2.8
# TYPE process_ram_gigabytes gauge
process_ram_gigabytes 0.00927734375
# TYPE process_cpu_interrupts_total counter
process_cpu_interrupts_total {interrupts}
"""


def hold_pushgateway(ctx, agents, metric_runs):
    port = free_port()
    process = ctx.processes.start("pushgateway", ["prometheus-pushgateway", f"--web.listen-address=127.0.0.1:{port}",
                                                 # Debian's default persists to /var/lib/prometheus: a
                                                 # later run would start with this run's groups.
                                                 "--persistence.file="])
    wait_http(port, process, ctx.processes)
    baseline_rss = memory_kib(process.pid)[0]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    start = time.monotonic()
    for index in range(1, agents + 1):
        body = PUSH_BODY.format(interrupts=706148 + index)
        connection.request("PUT", f"/metrics/job/monitord_bench/agent_number/bench-{index}", body=body,
                           headers={"Content-Type": "text/plain; version=0.0.4"})
        response = connection.getresponse()
        response.read()
        if response.status not in (200, 202):
            raise ComponentFailure(f"pushgateway PUT: {response.status}")
    push_seconds = time.monotonic() - start
    connection.close()
    cpu_before, wall_before = run_seconds(process.pid), time.monotonic()
    time.sleep(3)
    cpu = (run_seconds(process.pid) - cpu_before) / (time.monotonic() - wall_before)
    median, worst, size, page = metrics_timing(port, metric_runs)
    rss, hwm = memory_kib(process.pid)
    series = count_series(page, "process_ram_usage_percent")
    ctx.processes.stop(process)
    if series < agents:
        raise ComponentFailure(f"pushgateway holds {series} of {agents} groups")
    return {"agents": agents, "cpu_percent": cpu * 100, "rss_kib": rss, "hwm_kib": hwm,
            "baseline_rss_kib": baseline_rss, "metrics_median_ms": median * 1000, "metrics_max_ms": worst * 1000,
            "metrics_bytes": size, "series": series, "pushes_per_second": agents / push_seconds}


def phase_hold(ctx, levels, window, metric_runs):
    rows = []
    for agents in levels:
        gateway, agent_port, metrics_port = start_monitord(ctx, f"monitord-hold-{agents}")
        row = hold_with_loadgen(ctx, gateway, agent_port, metrics_port, agents, "native", window, metric_runs, True)
        ctx.processes.stop(gateway)
        rows.append(("monitord", row))

        agent_port, metrics_port = free_port(), free_port()
        server = ctx.processes.start(f"report-server-{agents}", [sys.executable, os.path.join(ROOT, "Tests/report/server.py"),
                                                               "--host", "127.0.0.1", "--port", str(agent_port),
                                                               "--metrics-port", str(metrics_port)])
        wait_http(metrics_port, server, ctx.processes)
        row = hold_with_loadgen(ctx, server, agent_port, metrics_port, agents, "report", window, metric_runs, False)
        ctx.processes.check_alive(server)
        ctx.processes.stop(server)
        rows.append(("report's server.py", row))

        rows.append(("prometheus-pushgateway", hold_pushgateway(ctx, agents, metric_runs)))
    return rows


# ---------------------------------------------------------------- output


def phase_soak(ctx, minutes, agents=1000, every=30):
    """1,000 agents at one sample per second for `minutes`: monitord's RSS and CPU every `every` s.

    Flat means: no growth of RSS after the first quarter beyond 10 %, and CPU within a band."""
    server, agent_port, metrics_port = start_monitord(ctx, "monitord-soak")
    seconds = int(minutes * 60)
    loadgen = run_loadgen(ctx, agent_port, agents, "1s", f"{seconds + 30}s", "10s", background=True, name="soak")
    wait_connections(agent_port, agents, 60, [server], ctx.processes)
    rows = []
    start = time.monotonic()
    last_cpu, last_time = cpu_seconds(server.pid), time.monotonic()
    while time.monotonic() - start < seconds:
        time.sleep(every)
        ctx.processes.check_alive(server)
        now_cpu, now = cpu_seconds(server.pid), time.monotonic()
        rss, _ = memory_kib(server.pid)
        _, body, _ = http_get(metrics_port)
        up = sum(1 for line in body.decode().splitlines() if line.startswith("monitord_agent_up{") and line.endswith(" 1"))
        rows.append({"minute": round((now - start) / 60, 1), "rss_kib": rss,
                     "cpu_percent": 100 * (now_cpu - last_cpu) / (now - last_time), "agents_up": up})
        last_cpu, last_time = now_cpu, now
        print(f"[bench] soak {rows[-1]}", flush=True)
    loadgen.terminate()
    loadgen.wait(timeout=30)
    ctx.processes.stop(server)
    quarter = rows[max(0, len(rows) // 4 - 1)]["rss_kib"] if rows else 0
    growth = (rows[-1]["rss_kib"] / quarter - 1) * 100 if rows and quarter else 0
    cpus = [row["cpu_percent"] for row in rows]
    return {"rows": rows, "rss_growth_percent_after_first_quarter": growth,
            "cpu_min": min(cpus) if cpus else 0, "cpu_max": max(cpus) if cpus else 0}


def soak_table(soak):
    lines = ["### Soak: 1,000 agents at one sample per second", "",
             "| minute | monitord RSS (MiB) | CPU (% of a core, last interval) | agents up |", "|---:|---:|---:|---:|"]
    for row in soak["rows"]:
        lines.append(f"| {row['minute']} | {row['rss_kib'] / 1024:.1f} | {row['cpu_percent']:.1f} | {row['agents_up']:,} |")
    lines += ["", f"RSS growth after the first quarter: {soak['rss_growth_percent_after_first_quarter']:+.1f} %; "
              f"CPU between {soak['cpu_min']:.1f} and {soak['cpu_max']:.1f} % of a core.", ""]
    return "\n".join(lines)


def mib(kib):
    return f"{kib / 1024:.1f}"


def tables(results):
    out = []
    agent_rows = results.get("agent", [])
    if agent_rows:
        base = agent_rows[0]
        out += ["### Agent: cost per sample at one sample per second", "",
                f"Window: {base['seconds']:.0f} s. CPU from the scheduler's per-thread accounting "
                "(`/proc/PID/task/*/schedstat`; the tick-based `/proc/PID/stat` figure in brackets); "
                "RSS and peak (VmHWM) from `/proc/PID/status`.", "",
                "| peer | samples | CPU per sample (ms) | RSS (MiB) | peak RSS (MiB) | CPU × monitor-agent | RSS × monitor-agent |",
                "|---|---:|---:|---:|---:|---:|---:|"]
        for row in agent_rows:
            out.append(f"| {row['peer']} | {row['samples']} | {row['cpu_ms_per_sample']:.3f} "
                       f"({row['cpu_ms_per_sample_ticks']:.2f}) | {mib(row['rss_kib'])} | {mib(row['hwm_kib'])} | "
                       f"{row['cpu_ms_per_sample'] / max(base['cpu_ms_per_sample'], 1e-9):.1f} | "
                       f"{row['rss_kib'] / base['rss_kib']:.1f} |")
        out.append("")
    ingest = results.get("ingest", [])
    if ingest:
        out += ["### Gateway: ingest, agents sending as fast as possible (32 unacknowledged samples each)", "",
                "| agents | samples/s | send→ack p50 (ms) | p99 (ms) | max (ms) | monitord CPU per sample (µs) | monitord RSS (MiB) |",
                "|---:|---:|---:|---:|---:|---:|---:|"]
        for row in ingest:
            out.append(f"| {row['agents']:,} | {row['samples_per_second']:,.0f} | {row['p50_us'] / 1000:.2f} | "
                       f"{row['p99_us'] / 1000:.2f} | {row['max_us'] / 1000:.2f} | {row['cpu_us_per_sample']:.1f} | "
                       f"{mib(row['rss_kib'])} |")
        out.append("")
    hold = results.get("hold", [])
    if hold:
        out += ["### Gateway: holding N agents at one sample per second each", "",
                "CPU in % of one core over the measurement window; RSS per 1,000 agents is (RSS − RSS before "
                "the agents came) / N × 1,000; `/metrics` median and max of fresh-connection GETs.", "",
                "| server | agents | CPU (% of a core) | RSS (MiB) | RSS per 1,000 agents (MiB) | /metrics median (ms) | max (ms) | size (KiB) | series | /metrics × monitord |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        reference = {}
        for name, row in hold:
            if name == "monitord":
                reference[row["agents"]] = row["metrics_median_ms"]
            ratio = row["metrics_median_ms"] / max(reference.get(row["agents"], row["metrics_median_ms"]), 1e-9)
            per_thousand = (row["rss_kib"] - row["baseline_rss_kib"]) / row["agents"] * 1000
            extra = ""
            if "pushes_per_second" in row:
                extra = f" (PUT {row['pushes_per_second']:,.0f} groups/s)"
            elif row.get("still_connected", row["agents"]) < row["agents"]:
                extra = f" ({row['still_connected']:,} of {row['agents']:,} connections left)"
            out.append(f"| {name}{extra} | {row['agents']:,} | {row['cpu_percent']:.1f} | {mib(row['rss_kib'])} | "
                       f"{mib(per_thousand)} | {row['metrics_median_ms']:.1f} | {row['metrics_max_ms']:.1f} | "
                       f"{row['metrics_bytes'] / 1024:.0f} | {row['series']:,} | {ratio:.1f} |")
        out.append("")
    return "\n".join(out)


def targets(results):
    """The issue's targets, checked: printed, never a failure."""
    lines = []

    def check(name, ok, detail):
        lines.append(f"- {'met' if ok else 'MISSED'}: {name} — {detail}")

    for row in results.get("agent", [])[:1]:
        check("agent ≤ 8 MB RSS", row["rss_kib"] * 1024 <= 8e6, f"{row['rss_kib'] * 1024 / 1e6:.1f} MB")
        check("agent ≤ 1 ms CPU per sample", row["cpu_ms_per_sample"] <= 1, f"{row['cpu_ms_per_sample']:.3f} ms")
    for row in results.get("ingest", []):
        if row["agents"] == max(r["agents"] for r in results["ingest"]):
            best = max(r["samples_per_second"] for r in results["ingest"])
            check("≥ 100,000 samples/s ingest burst", best >= 100_000, f"best {best:,.0f} samples/s")
    hold = results.get("hold", [])
    largest = max((row["agents"] for name, row in hold if name == "monitord"), default=0)
    for name, row in hold:
        if name != "monitord":
            continue
        pgw = next((r for n, r in hold if n == "prometheus-pushgateway" and r["agents"] == row["agents"]), None)
        if row["agents"] != largest:
            check(f"/metrics for {row['agents']:,} agents under 50 ms", row["metrics_median_ms"] < 50,
                  f"{row['metrics_median_ms']:.1f} ms")
            continue
        scale = 10_000 / row["agents"]
        check(f"10,000 agents at 1 s under 25 % of a core (measured {row['agents']:,})",
              row["cpu_percent"] * scale < 25, f"{row['cpu_percent']:.1f} % at {row['agents']:,}"
              + (f", ×{scale:.0f} ≈ {row['cpu_percent'] * scale:.1f} % at 10,000" if scale != 1 else ""))
        projected = row["baseline_rss_kib"] + (row["rss_kib"] - row["baseline_rss_kib"]) * scale
        check(f"10,000 agents under 100 MB RSS (measured {row['agents']:,})", projected * 1024 < 100e6,
              f"{row['rss_kib'] * 1024 / 1e6:.1f} MB at {row['agents']:,}"
              + (f", projected {projected * 1024 / 1e6:.0f} MB at 10,000" if scale != 1 else ""))
        check(f"/metrics for {row['agents']:,} agents under 50 ms", row["metrics_median_ms"] < 50,
              f"{row['metrics_median_ms']:.1f} ms")
        if pgw:
            ratio = pgw["metrics_median_ms"] / max(row["metrics_median_ms"], 1e-9)
            check(f"/metrics ≥ 10× faster than the Pushgateway at {row['agents']:,}", ratio >= 10, f"{ratio:.1f}×")
    return "\n".join(lines)


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        total = int(f.readline().split()[1])
    return f"{os.cpu_count()} CPUs ({model}), {total / 1024 / 1024:.1f} GiB RAM, Linux {os.uname().release}"


def write_doc(path, text):
    with open(path) as f:
        doc = f.read()
    begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
    if begin not in doc or end not in doc:
        raise SystemExit(f"{path} lacks the {begin} ... {end} markers")
    head, rest = doc.split(begin, 1)
    _, tail = rest.split(end, 1)
    with open(path, "w") as f:
        f.write(head + begin + "\n" + text + "\n" + end + tail)


# ---------------------------------------------------------------- main


class Context:
    def __init__(self, bindir, workdir):
        self.bindir = bindir
        self.workdir = workdir
        self.processes = Processes(workdir)

    def bin(self, name):
        return os.path.join(self.bindir, name)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True, help="directory of monitord, monitor-agent, monitor-loadgen")
    parser.add_argument("--smoke", action="store_true", help="short run (< 2 minutes), 1,000 agents at most")
    parser.add_argument("--phases", default="agent,ingest,hold")
    parser.add_argument("--agent-seconds", type=int)
    parser.add_argument("--soak-minutes", type=float, help="run only the soak: 1,000 agents for this long")
    parser.add_argument("--write-doc", help="replace the measured section of this markdown file")
    parser.add_argument("--json", help="also write the raw results here")
    parser.add_argument("--label", default="", help="what was measured (build mode, command), for the document")
    args = parser.parse_args()

    smoke = args.smoke
    workdir = tempfile.mkdtemp(prefix="monitord-bench-")
    ctx = Context(args.bin, workdir)
    results = {}
    phases = args.phases.split(",")
    started = time.monotonic()
    if args.soak_minutes:
        try:
            soak = phase_soak(ctx, args.soak_minutes)
        finally:
            ctx.processes.stop_all()
        print(soak_table(soak))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(soak, f, indent=1, default=str)
        flat = soak["rss_growth_percent_after_first_quarter"] < 10
        print(f"[bench] soak: RSS {'flat' if flat else 'GROWING'}; logs in {workdir}")
        return 0 if flat else 1
    try:
        if "agent" in phases:
            seconds = args.agent_seconds or (15 if smoke else 300)
            print(f"[bench] agent phase: {seconds} s", flush=True)
            results["agent"] = phase_agent(ctx, seconds)
        if "ingest" in phases:
            levels = [1, 100, 1000] if smoke else [1, 100, 1000, 10000]
            print(f"[bench] ingest phase: {levels}", flush=True)
            results["ingest"] = phase_ingest(ctx, levels, 3 if smoke else 15)
        if "hold" in phases:
            levels = [1000] if smoke else [1000, 10000]
            print(f"[bench] hold phase: {levels}", flush=True)
            results["hold"] = phase_hold(ctx, levels, 5 if smoke else 20, 3 if smoke else 7)
    except ComponentFailure as failure:
        print(f"[bench] FAILED: {failure}", file=sys.stderr)
        print(tables(results))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1, default=str)
        return 1
    finally:
        ctx.processes.stop_all()
    text = "\n".join([
        f"Measured {time.strftime('%Y-%m-%d')} on {machine()}; {args.label or 'see the command above'}; "
        f"run took {time.monotonic() - started:.0f} s.", "",
        tables(results), "#### Targets", "", targets(results), ""])
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, default=str)
    if args.write_doc:
        write_doc(args.write_doc, text)
    print(f"[bench] logs in {workdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
