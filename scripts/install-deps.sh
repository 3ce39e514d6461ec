#!/usr/bin/env bash
# Installs what building and testing monitord needs on a Debian bookworm machine with Swift at
# /opt/swift: Debian's packages (libsystemd, libsnappy, libcrypt and zlib for the daemons; Prometheus for promtool,
# a real scrape and an https remote-write receiver; VictoriaMetrics as a second remote-write receiver; the packaging and container tools; headless chromium and a font for the status page
# test; scdoc and mandoc to build and lint the man pages; node exporter, Pushgateway and collectd as
# benchmark peers, openssl and binutils for the benchmark's TLS agent and stripping), psutil for the report's Python agent and prometheus_client for the report's
# Python server and its OpenMetrics parser. Idempotent: does nothing when everything is already there.
set -euo pipefail

packages=(libsystemd-dev libsnappy-dev libcrypt-dev zlib1g-dev pkg-config prometheus victoria-metrics curl procps iproute2
          debhelper lintian dpkg-dev systemd-container debootstrap zstd
          chromium fonts-dejavu-core scdoc mandoc
          prometheus-node-exporter prometheus-pushgateway collectd-core openssl binutils make strace)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
    # Debian starts the packaged Prometheus, node exporter and Pushgateway on install (when
    # systemd runs); the tests and benchmarks run their own instances on their own ports.
    for service in prometheus prometheus-node-exporter prometheus-pushgateway victoria-metrics collectd; do
        $sudo systemctl disable --now "$service" 2>/dev/null || true
    done
    pkill -x prometheus 2>/dev/null || true
    pkill -x prometheus-node-exporter 2>/dev/null || true
    pkill -x prometheus-pushgateway 2>/dev/null || true
    pkill -x victoria-metrics 2>/dev/null || true
fi
python3 -c 'import psutil' 2>/dev/null || python3 -m pip install -q psutil
python3 -c 'import prometheus_client' 2>/dev/null || python3 -m pip install -q prometheus_client
