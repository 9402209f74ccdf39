#!/usr/bin/env bash
# The project's JVM jars, both on Spark's classpath through spark.jars (kindling/pipeline/spark.py):
#   1. build/graphframes-spark4_2.13-0.11.0.jar: GraphFrames' core and graphx, from the jar named
#      by KINDLING_GRAPHFRAMES_JAR, else from a Maven repository, else compiled from the source
#      release (kindling/pipeline/jars.py says how); skipped while its inputs are unchanged;
#   2. build/kindling-engine.jar: the JVM half of the PageRank engines, compiled from engine/src
#      against the Spark jars of the venv's pyspark and the GraphFrames jar: the Scala files (the
#      GraphFrames engine, on its GraphX module) with the scalac pyspark ships, the Java files (the
#      vector engine) with javac (needs a JDK); skipped when the jar is newer than every source
#      file and than the GraphFrames jar.
set -euo pipefail
project="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$project"
.venv/bin/python -m kindling.pipeline.jars  # writes the jar below (KINDLING_GRAPHFRAMES_JAR too is copied there)
graphframes_jar=build/graphframes-spark4_2.13-0.11.0.jar
jar_file=build/kindling-engine.jar
java_sources=$(find engine/src -name '*.java' | sort)
scala_sources=$(find engine/src -name '*.scala' | sort)
if [[ ! -f "$jar_file" ]] || [[ -n "$(find engine/src "$graphframes_jar" -newer "$jar_file" -type f)" ]]; then
    java_bin="${JAVA_HOME:+$JAVA_HOME/bin/}java"
    javac_bin="${JAVA_HOME:+$JAVA_HOME/bin/}javac"
    jar_bin="${JAVA_HOME:+$JAVA_HOME/bin/}jar"
    spark_jars="$(.venv/bin/python -c 'import os, pyspark; print(os.path.join(os.path.dirname(pyspark.__file__), "jars"))')"
    classes="$(mktemp -d)"
    trap 'rm -rf "$classes"' EXIT
    echo "build_engine: compiling engine/src into $jar_file" >&2
    if [[ -n "$scala_sources" ]]; then
        # shellcheck disable=SC2086
        "$java_bin" -Xss8m -cp "$spark_jars/*" scala.tools.nsc.Main -release 17 -deprecation -feature -Werror \
            -classpath "$spark_jars/*:$graphframes_jar" -d "$classes" $scala_sources
    fi
    # shellcheck disable=SC2086
    "$javac_bin" --release 17 -Xlint:all,-path -Werror -cp "$classes:$spark_jars/*" -d "$classes" $java_sources
    mkdir -p build
    "$jar_bin" cf "$jar_file.tmp" -C "$classes" .
    mv "$jar_file.tmp" "$jar_file"
fi
