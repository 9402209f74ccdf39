#!/usr/bin/env bash
# Check the machine has what Kindling cannot install itself: Java 17+ (for Spark) and uv's
# prerequisites. Prints one clear message saying what to install, and exits 1, when not.
set -euo pipefail

need_java=17
java_bin="${JAVA_HOME:+$JAVA_HOME/bin/}java"
if ! command -v "$java_bin" >/dev/null 2>&1; then
    echo "Kindling needs Java ${need_java} or newer for Spark, and found none." >&2
    echo "Install it (Debian/Ubuntu: apt-get install openjdk-17-jre-headless) or set JAVA_HOME." >&2
    exit 1
fi
version="$("$java_bin" -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')"
major="${version%%.*}"
[[ "$major" == "1" ]] && major="$(echo "$version" | cut -d. -f2)"
if [[ -z "$major" || "$major" -lt "$need_java" ]]; then
    echo "Kindling needs Java ${need_java} or newer for Spark; $java_bin is version ${version:-unknown}." >&2
    echo "Install it (Debian/Ubuntu: apt-get install openjdk-17-jre-headless) or set JAVA_HOME." >&2
    exit 1
fi
javac_bin="${JAVA_HOME:+$JAVA_HOME/bin/}javac"
if ! command -v "$javac_bin" >/dev/null 2>&1; then
    echo "Kindling builds its PageRank engine (engine/) with javac, and found none: a JRE is not enough." >&2
    echo "Install a JDK ${need_java}+ (Debian/Ubuntu: apt-get install openjdk-17-jdk-headless) or set JAVA_HOME." >&2
    exit 1
fi
if ! command -v python3 >/dev/null 2>&1; then
    echo "Kindling needs Python 3.11 (python3) to bootstrap uv." >&2
    exit 1
fi
