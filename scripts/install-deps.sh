#!/usr/bin/env bash
# Installs what building and testing monitord needs on a Debian bookworm machine with Swift at
# /opt/swift: Debian's packages (libsystemd and libsnappy for the daemons; Prometheus for promtool and a real
# scrape; the packaging and container tools; headless chromium and a font for the status page
# test; scdoc and mandoc to build and lint the man pages) and psutil for the report's Python agent.
# Idempotent: does nothing when everything is already there.
set -euo pipefail

packages=(libsystemd-dev libsnappy-dev pkg-config prometheus curl procps iproute2
          debhelper lintian dpkg-dev systemd-container debootstrap zstd
          chromium fonts-dejavu-core scdoc mandoc)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
    # Debian starts the packaged Prometheus server on install; the tests run their own.
    $sudo systemctl disable --now prometheus 2>/dev/null || true
    pkill -x prometheus 2>/dev/null || true
fi
python3 -c 'import psutil' 2>/dev/null || python3 -m pip install -q psutil
