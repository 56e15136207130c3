#!/usr/bin/env bash
# Hive's beeline against the stack's HiveServer2; arguments pass through (e.g. -e "show databases").
source "$(dirname "$0")/lib.sh"
JAVA17=$(find_java17)
cp=$(classpath hs2 "$HS2_EXCLUDES")
[ -f "$HOOKS_JAR" ] && cp="$HOOKS_JAR:$cp"
# A short-lived client: C1 alone and the serial collector halve its CPU (3.7 s to 1.8 s of user time
# for a `select 1` on 2 cores, 2026-12-02), and the suite starts it hundreds of times.
exec "$JAVA17" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Dlog4j2.configurationFile="file:$STACK_HOME/conf/beeline-log4j2.properties" -cp "$cp" \
  org.apache.hive.beeline.BeeLine -u "${HIVE_KAFKA_HS2_JDBC:-jdbc:hive2://127.0.0.1:$HS2_PORT/default}" -n "${USER:-hive}" "$@"
