#!/usr/bin/env bash
# Starts Kafka 3.9.2 (KRaft), the Hive Metastore and HiveServer2 on loopback, each from Maven jars with
# its own config and data under $STACK_DIR. Idempotent: a service that already answers is left alone.
# Returns when all three answer, then prints their endpoints.
source "$(dirname "$0")/lib.sh"

JAVA17=$(find_java17)
JAVA21=$(find_java21plus)
MARK="-Dhive.kafka.stack=$STACK_DIR"
# What Hive 4's own start scripts open for JDK 17+ (reflection in Kryo, Hadoop and Thrift).
OPENS=()
for p in java.nio java.net java.lang java.util java.util.concurrent java.util.concurrent.atomic java.util.regex \
         java.lang.reflect java.io sun.nio.ch; do OPENS+=(--add-opens "java.base/$p=ALL-UNNAMED"); done

# start NAME PORT TIMEOUT_S -- command...: runs the command detached, records its pid, waits for PORT.
start() {
  local name=$1 port=$2 timeout=$3; shift 4
  if port_open "$port"; then say "$name already answers on 127.0.0.1:$port"; return; fi
  local log=$LOG_DIR/$name.out
  say "starting $name (log: $log)"
  setsid "$@" >"$log" 2>&1 </dev/null &
  echo $! >"$(pid_file "$name")"
  local t0=$SECONDS
  until port_open "$port"; do
    if ! kill -0 "$(cat "$(pid_file "$name")")" 2>/dev/null; then
      tail -n 40 "$log" >&2; die "$name exited before answering on 127.0.0.1:$port (full log: $log)"
    fi
    if (( SECONDS - t0 > timeout )); then
      tail -n 40 "$log" >&2; die "$name did not answer on 127.0.0.1:$port within ${timeout}s (full log: $log)"
    fi
    sleep 0.5
  done
  say "$name is up on 127.0.0.1:$port after $((SECONDS - t0))s"
}

start_kafka() {
  local dir=$STACK_DIR/kafka cp
  mkdir -p "$dir"
  render kafka-server.properties "$dir/server.properties"
  render kafka-log4j.properties "$dir/log4j.properties"
  cp=$(classpath kafka "$KAFKA_EXCLUDES")
  if [ ! -f "$dir/data/meta.properties" ]; then
    "$JAVA17" -cp "$cp" -Dlog4j.configuration="file:$dir/log4j.properties" kafka.tools.StorageTool format \
      -t "$("$JAVA17" -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null)" -c "$dir/server.properties" >"$LOG_DIR/kafka-format.log" 2>&1 \
      || { cat "$LOG_DIR/kafka-format.log" >&2; die "formatting Kafka storage failed"; }
  fi
  start kafka "$KAFKA_PORT" 90 -- "$JAVA17" "$MARK" -Xms512m -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$dir/log4j.properties" -cp "$cp" kafka.Kafka "$dir/server.properties"
}

start_metastore() {
  local dir=$STACK_DIR/hms
  mkdir -p "$dir/conf" "$STACK_DIR/warehouse" "$STACK_DIR/external"
  render metastore-site.xml "$dir/conf/metastore-site.xml"
  render metastore-log4j2.properties "$dir/conf/log4j2.properties"
  local cp; cp=$(classpath hive "$HMS_EXCLUDES")
  # Partition filters arrive Kryo-serialized; Kryo needs these JDK internals opened.
  ( cd "$dir" && export METASTORE_CONF_DIR=$dir/conf && start metastore "$HMS_PORT" 180 -- "$JAVA21" "$MARK" -Xmx1g "${OPENS[@]}" \
      -Dlog4j2.configurationFile="file:$dir/conf/log4j2.properties" -Dderby.stream.error.file="$LOG_DIR/derby.log" \
      -cp "$dir/conf:$cp" org.apache.hadoop.hive.metastore.HiveMetaStore )
}

# The storage handler jar goes on HiveServer2's classpath; rebuild it when its sources changed.
build_hooks() {
  local pom=$REPO_ROOT/hooks/pom.xml
  if [ ! -f "$HOOKS_JAR" ] || [ -n "$(find "$REPO_ROOT/hooks/src" "$pom" -newer "$HOOKS_JAR" -print -quit)" ]; then
    say "building the storage handler jar (hooks/)"
    mvn -B -q -o -f "$pom" package >"$LOG_DIR/mvn-hooks.log" 2>&1 || mvn -B -q -f "$pom" package >"$LOG_DIR/mvn-hooks.log" 2>&1 \
      || { tail -n 30 "$LOG_DIR/mvn-hooks.log" >&2; die "building hooks/ failed"; }
  fi
}

start_hiveserver2() {
  local dir=$STACK_DIR/hs2 cp
  mkdir -p "$dir/conf"
  AUX_JARS=""; [ -f "$HOOKS_JAR" ] && AUX_JARS="file://$HOOKS_JAR"
  render hive-site.xml "$dir/conf/hive-site.xml"
  render hiveserver2-log4j2.properties "$dir/conf/hive-log4j2.properties"
  cp=$(classpath hs2 "$HS2_EXCLUDES")
  [ -n "$AUX_JARS" ] && cp="$HOOKS_JAR:$cp"
  ( cd "$dir" && export HIVE_CONF_DIR=$dir/conf && start hiveserver2 "$HS2_PORT" 240 -- "$JAVA17" "$MARK" -Xmx2g "${OPENS[@]}" \
      -Dlog4j2.configurationFile="file:$dir/conf/hive-log4j2.properties" -Dhive.log.dir="$LOG_DIR" \
      -Djava.security.krb5.realm= -Djava.security.krb5.kdc= -Djava.security.krb5.conf=/dev/null \
      -cp "$dir/conf:$cp" org.apache.hive.service.server.HiveServer2 )
}

t0=$SECONDS
start_kafka
start_metastore
build_hooks
start_hiveserver2
say "stack ready in $((SECONDS - t0))s"
cat <<OUT
kafka       127.0.0.1:$KAFKA_PORT
metastore   thrift://127.0.0.1:$HMS_PORT
hiveserver2 jdbc:hive2://127.0.0.1:$HS2_PORT/default
data        $STACK_DIR
OUT
