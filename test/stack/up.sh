#!/usr/bin/env bash
# Starts HDFS (a NameNode and a DataNode), Kafka 3.9.2 (KRaft), the Hive Metastore, HiveServer2 and a
# Schema Registry (Apicurio 2.4.2, built from Maven Central by test/stack/registry/pom.xml) on
# loopback, each from Maven jars with its own config and data under $STACK_DIR. Idempotent: a service that
# already answers is left alone. With names (e.g. `up.sh datanode`), starts only those.
# Returns when they answer (HDFS: takes writes), then prints the endpoints.
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

# start_kafka NAME PORT HEAP: a single-node KRaft cluster of its own (its own cluster id) from
# conf/NAME-server.properties. kafka2 is a second cluster, started only by the tests that need one.
start_kafka() {
  local name=$1 port=$2 heap=$3 dir=$STACK_DIR/$1 cp
  mkdir -p "$dir"
  render "$name-server.properties" "$dir/server.properties"
  render kafka-log4j.properties "$dir/log4j.properties"
  cp=$(classpath kafka "$KAFKA_EXCLUDES")
  if [ ! -f "$dir/data/meta.properties" ]; then
    "$JAVA17" -cp "$cp" -Dlog4j.configuration="file:$dir/log4j.properties" kafka.tools.StorageTool format \
      -t "$("$JAVA17" -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null)" -c "$dir/server.properties" >"$LOG_DIR/$name-format.log" 2>&1 \
      || { cat "$LOG_DIR/$name-format.log" >&2; die "formatting $name storage failed"; }
  fi
  start "$name" "$port" 90 -- "$JAVA17" "$MARK" -Xms256m "-Xmx$heap" -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$dir/log4j.properties" -cp "$cp" kafka.Kafka "$dir/server.properties"
}

# Hadoop's own NameNode and DataNode main classes, one JVM each, so either can be restarted alone.
HDFS_DIR=$STACK_DIR/hdfs
hdfs_conf() {
  mkdir -p "$HDFS_DIR/conf"
  render hdfs-core-site.xml "$HDFS_DIR/conf/core-site.xml"
  render hdfs-site.xml "$HDFS_DIR/conf/hdfs-site.xml"
  render hdfs-log4j.properties "$HDFS_DIR/conf/log4j.properties"
  HDFS_CP=$HDFS_DIR/conf:$(classpath hdfs "$HDFS_EXCLUDES")
}
# hdfs_java DAEMON: the JVM command line of one node, up to its main class. Jetty unpacks the web UI under
# java.io.tmpdir at every start and leaves it there: give each node its own, emptied before it starts.
hdfs_java() {
  rm -rf "$HDFS_DIR/tmp/$1" && mkdir -p "$HDFS_DIR/tmp/$1"
  HDFS_JAVA=("$JAVA17" "$MARK" -Xmx512m "${OPENS[@]}" -Dhdfs.daemon="$1" -Dhadoop.log.dir="$LOG_DIR" \
    -Djava.io.tmpdir="$HDFS_DIR/tmp/$1" -Dlog4j.configuration="file:$HDFS_DIR/conf/log4j.properties" -cp "$HDFS_CP")
}

start_namenode() {
  if port_open "$NN_PORT"; then say "namenode already answers on 127.0.0.1:$NN_PORT"; return; fi
  hdfs_conf
  # Format only a new namespace. Blocks left in the data directory belong to no namespace then: drop them,
  # or the DataNode refuses the new cluster id.
  if [ ! -f "$HDFS_DIR/name/current/VERSION" ]; then
    rm -rf "$HDFS_DIR/data"
    hdfs_java namenode-format
    "${HDFS_JAVA[@]}" org.apache.hadoop.hdfs.server.namenode.NameNode -format -force >"$LOG_DIR/namenode-format.out" 2>&1 \
      || { tail -n 30 "$LOG_DIR/namenode-format.log" >&2; die "formatting the NameNode failed (log: $LOG_DIR/namenode-format.log)"; }
  fi
  hdfs_java namenode
  start namenode "$NN_PORT" 90 -- "${HDFS_JAVA[@]}" org.apache.hadoop.hdfs.server.namenode.NameNode
}

# HIVE_KAFKA_STACK_DATANODE_OPTS: settings for this start of the DataNode only ("-D key=value ...", which its
# GenericOptionsParser takes); the benchmark's hdfs-commit part compares one with Hadoop's default.
start_datanode() {
  if port_open "$DN_HTTP_PORT"; then say "datanode already answers on 127.0.0.1:$DN_HTTP_PORT"; return; fi
  hdfs_conf
  hdfs_java datanode
  # shellcheck disable=SC2086 # word splitting is the point: each -D and each key=value is an argument
  start datanode "$DN_HTTP_PORT" 90 -- "${HDFS_JAVA[@]}" org.apache.hadoop.hdfs.server.datanode.DataNode ${HIVE_KAFKA_STACK_DATANODE_OPTS:-}
}

# HDFS is ready when a file written through WebHDFS reads back: the NameNode is out of safe mode (so it has
# every block reported) and knows the DataNode's storage, and the DataNode serves the block pool. Internal
# state (JMX) says less: after a restart of either node it reads "live" before writes work.
hdfs_ready() {
  local url="http://127.0.0.1:$NN_HTTP_PORT/webhdfs/v1/tmp/hive-kafka-stack-ready?user.name=$(id -un)"
  curl -sf -L -X PUT -H 'Content-Type: application/octet-stream' --data-binary ok "$url&op=CREATE&overwrite=true" >/dev/null \
    && [ "$(curl -sf -L "$url&op=OPEN")" = ok ]
}
wait_hdfs() {
  command -v curl >/dev/null || die "curl is needed to see HDFS take writes: apt-get install curl"
  local t0=$SECONDS
  until hdfs_ready; do
    (( SECONDS - t0 > 90 )) && die "HDFS did not take a write within 90s: NameNode in safe mode, or no DataNode (logs: $LOG_DIR/namenode.log, $LOG_DIR/datanode.log)"
    sleep 0.5
  done
  say "HDFS takes writes (waited $((SECONDS - t0))s for it)"
}

start_metastore() {
  local dir=$HMS_DIR
  check_warehouse metastore "$HMS_PORT"
  mkdir -p "$dir/conf" "$STACK_DIR/warehouse" "$STACK_DIR/external"
  render metastore-site.xml "$dir/conf/metastore-site.xml"
  render metastore-log4j2.properties "$dir/conf/log4j2.properties"
  local cp; cp=$(classpath hive "$HMS_EXCLUDES")
  # Partition filters arrive Kryo-serialized; Kryo needs these JDK internals opened.
  # derby.locks.waitTimeout: on a new Derby schema the first CREATE TABLE's notification waits for a lock
  # its own transaction holds (README "The stack"); Derby's default 60 s timeout is what ends that wait.
  # derby.locks.deadlockTimeout: concurrent alter_partition calls on one table deadlock in Derby (each
  # counts the SDS rows of the table's column descriptor the other just changed); Derby looks for
  # deadlocks only after this wait, and not at all when it is not below waitTimeout (default 20 s).
  ( cd "$dir" && export METASTORE_CONF_DIR=$dir/conf && start metastore "$HMS_PORT" 180 -- "$JAVA21" "$MARK" -Xmx1g "${OPENS[@]}" \
      -Dlog4j2.configurationFile="file:$dir/conf/log4j2.properties" -Dderby.stream.error.file="$LOG_DIR/derby.log" -Dderby.locks.waitTimeout=10 -Dderby.locks.deadlockTimeout=1 \
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
  check_warehouse hiveserver2 "$HS2_PORT"
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

# Apicurio Registry from Maven Central: a Quarkus build over its library jar (test/stack/registry/pom.xml),
# rebuilt when that project changed. In-memory storage: every start is an empty registry.
build_registry() {
  local dir=$REPO_ROOT/test/stack/registry
  if [ ! -f "$REGISTRY_JAR" ] || [ -n "$(find "$dir/src" "$dir/pom.xml" -newer "$REGISTRY_JAR" -print -quit)" ]; then
    say "building the Schema Registry (test/stack/registry, a Quarkus build of Apicurio Registry)"
    mvn -B -q -o -f "$dir/pom.xml" package -DskipTests >"$LOG_DIR/mvn-registry.log" 2>&1 || mvn -B -q -f "$dir/pom.xml" package -DskipTests >"$LOG_DIR/mvn-registry.log" 2>&1 \
      || { tail -n 30 "$LOG_DIR/mvn-registry.log" >&2; die "building the Schema Registry failed (log: $LOG_DIR/mvn-registry.log)"; }
  fi
}

start_registry() {
  if port_open "$REGISTRY_PORT"; then say "registry already answers on 127.0.0.1:$REGISTRY_PORT"; return; fi
  build_registry
  start registry "$REGISTRY_PORT" 120 -- "$JAVA17" "$MARK" -Xms64m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$REGISTRY_PORT" -jar "$REGISTRY_JAR"
  # Quarkus opens its port before the API serves.
  local t0=$SECONDS
  until curl -sf "http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7/subjects" >/dev/null; do
    (( SECONDS - t0 > 60 )) && { tail -n 30 "$LOG_DIR/registry.out" >&2; die "the registry's API did not answer within 60s (log: $LOG_DIR/registry.out)"; }
    sleep 0.5
  done
}

services=("$@"); [ ${#services[@]} -gt 0 ] || services=(namenode datanode kafka metastore hiveserver2 registry)
for s in "${services[@]}"; do
  case $s in namenode|datanode|kafka|kafka2|metastore|hiveserver2|registry) ;; *) die "unknown service '$s' (expected namenode, datanode, kafka, kafka2, metastore, hiveserver2 or registry)" ;; esac
done
want() { [[ " ${services[*]} " == *" $1 "* ]]; }

t0=$SECONDS
if want namenode; then start_namenode; fi
if want datanode; then start_datanode; fi
if want kafka; then start_kafka kafka "$KAFKA_PORT" 1g; fi
if want kafka2; then start_kafka kafka2 "$KAFKA2_PORT" 512m; fi
# The DataNode registers while Kafka starts; the metastore may keep its warehouse on HDFS.
if want namenode || want datanode; then wait_hdfs; fi
if want metastore; then start_metastore; fi
if want hiveserver2; then build_hooks; start_hiveserver2; fi
if want registry; then start_registry; fi
say "stack ready in $((SECONDS - t0))s"
cat <<OUT
namenode    hdfs://127.0.0.1:$NN_PORT (WebHDFS http://127.0.0.1:$NN_HTTP_PORT/webhdfs/v1)
datanode    127.0.0.1:$DN_HTTP_PORT (HTTP), 127.0.0.1:9866 (data), 127.0.0.1:9867 (IPC)
warehouse   $WAREHOUSE_DIR (external: $EXTERNAL_DIR)
kafka       127.0.0.1:$KAFKA_PORT$(port_open "$KAFKA2_PORT" && echo " (a second cluster, kafka2: 127.0.0.1:$KAFKA2_PORT)")
metastore   thrift://127.0.0.1:$HMS_PORT
hiveserver2 jdbc:hive2://127.0.0.1:$HS2_PORT/default
registry    http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7 (Apicurio, Confluent-compatible)
data        $STACK_DIR
OUT
