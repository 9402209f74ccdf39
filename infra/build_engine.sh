#!/usr/bin/env bash
# The project's JVM jars, both on Spark's classpath through spark.jars (kindling/spark.py):
#   1. build/kindling-engine.jar: the JVM half of the PageRank vector engine, compiled from
#      engine/src against the Spark jars of the venv's pyspark (needs a JDK: javac); skipped when
#      the jar is newer than every source file;
#   2. build/graphframes-spark4_2.13-0.11.0.jar: GraphFrames' core and graphx, from the jar named
#      by KINDLING_GRAPHFRAMES_JAR, else from a Maven repository, else compiled from the source
#      release (kindling/jars.py says how); skipped while its inputs are unchanged.
set -euo pipefail
project="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$project"
jar_file=build/kindling-engine.jar
sources=$(find engine/src -name '*.java' | sort)
if [[ ! -f "$jar_file" ]] || [[ -n "$(find engine/src -name '*.java' -newer "$jar_file")" ]]; then
    javac_bin="${JAVA_HOME:+$JAVA_HOME/bin/}javac"
    jar_bin="${JAVA_HOME:+$JAVA_HOME/bin/}jar"
    spark_jars="$(.venv/bin/python -c 'import os, pyspark; print(os.path.join(os.path.dirname(pyspark.__file__), "jars"))')"
    classes="$(mktemp -d)"
    trap 'rm -rf "$classes"' EXIT
    echo "build_engine: compiling engine/src into $jar_file"
    # shellcheck disable=SC2086
    "$javac_bin" --release 17 -Xlint:all,-path -Werror -cp "$spark_jars/*" -d "$classes" $sources
    mkdir -p build
    "$jar_bin" cf "$jar_file.tmp" -C "$classes" .
    mv "$jar_file.tmp" "$jar_file"
fi
.venv/bin/python -m kindling.jars
