#!/usr/bin/env bash
# Make sure a headless Chromium is on the machine: tests/test_report.py renders the HTML report
# in it. Does nothing when `chromium` (or `chromium-browser`) is on PATH; installs Debian's
# `chromium` package with apt-get when run as root; otherwise says what to install and exits 1.
set -euo pipefail

for exe in chromium chromium-browser; do
    if command -v "$exe" >/dev/null 2>&1; then
        exit 0
    fi
done

if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure_chromium: installing Debian's chromium with apt-get (about 1 minute, ~300 MB)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
    command -v chromium >/dev/null 2>&1 && exit 0
    echo "ensure_chromium: apt-get installed chromium, but it is not on PATH" >&2
    exit 1
fi

echo "Kindling's tests render the HTML report in headless Chromium, and found none on PATH." >&2
echo "Install it (Debian/Ubuntu as root: apt-get install chromium; elsewhere your system's" >&2
echo "chromium or chromium-browser package), then run make test again." >&2
exit 1
