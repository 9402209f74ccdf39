#!/usr/bin/env bash
# Build the JVM half of the PageRank vector engine (engine/src -> build/kindling-engine.jar)
# against the Spark jars of the venv's pyspark. Needs a JDK (javac); skipped when the jar is
# newer than every source file. kindling/spark.py puts the jar on Spark's classpath (spark.jars).
set -euo pipefail
project="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$project"
jar_file=build/kindling-engine.jar
sources=$(find engine/src -name '*.java' | sort)
if [[ -f "$jar_file" ]] && [[ -z "$(find engine/src -name '*.java' -newer "$jar_file")" ]]; then
    exit 0
fi
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
