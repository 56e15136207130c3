# Shared by the stack scripts: where things live, which JDK runs what, classpaths from Maven.
# Sourced, not run.
set -euo pipefail

STACK_HOME=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$STACK_HOME/../.." && pwd)
STACK_DIR=${HIVE_KAFKA_STACK_DIR:-$REPO_ROOT/.stack}
RUN_DIR=$STACK_DIR/run
LOG_DIR=$STACK_DIR/logs
CP_DIR=$STACK_DIR/classpath
mkdir -p "$RUN_DIR" "$LOG_DIR" "$CP_DIR"

KAFKA_PORT=9092
KAFKA2_PORT=9192     # a second Kafka cluster (up.sh kafka2), for tests of a table moved between clusters
HMS_PORT=9083
HS2_PORT=10000
NN_PORT=8020        # NameNode RPC: hdfs://127.0.0.1:8020
NN_HTTP_PORT=9870   # NameNode HTTP: WebHDFS, JMX
DN_HTTP_PORT=9864   # DataNode HTTP, where WebHDFS redirects reads and writes (also 9866 data, 9867 IPC)
HOOKS_JAR=$REPO_ROOT/hooks/target/hive-kafka-hooks.jar
REGISTRY_PORT=8081  # Apicurio Registry, Confluent-compatible API at /apis/ccompat/v7
REGISTRY_JAR=$REPO_ROOT/test/stack/registry/target/quarkus-app/quarkus-run.jar

say() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }

java_major() { "$1" -version 2>&1 | awk -F'"' '/version/ {split($2, v, "."); print (v[1] == "1" ? v[2] : v[1]); exit}'; }

# Kafka and HiveServer2 run on Java 17 (Hive 4.0.x is not built for anything newer).
find_java17() {
  local j
  for j in "${HIVE_KAFKA_JAVA17:-}" /usr/lib/jvm/java-17-openjdk-amd64/bin/java "$(command -v java || true)"; do
    [ -n "$j" ] && [ -x "$j" ] && [ "$(java_major "$j")" = 17 ] && { echo "$j"; return; }
  done
  die "no Java 17 found: install openjdk-17-jdk-headless or set HIVE_KAFKA_JAVA17=/path/to/java"
}

# The metastore runs DbNotificationListener from hcatalog 4.2.0, which is Java 21 bytecode.
find_java21plus() {
  local j
  for j in "${HIVE_KAFKA_JAVA21:-}" /usr/lib/jvm/*/bin/java; do
    [ -n "$j" ] && [ -x "$j" ] && [ "$(java_major "$j")" -ge 21 ] 2>/dev/null && { echo "$j"; return; }
  done
  die "no Java >= 21 found under /usr/lib/jvm: the metastore's DbNotificationListener (hcatalog 4.2.0) needs one; set HIVE_KAFKA_JAVA21=/path/to/java"
}

# Prints the classpath of test/stack/<name>/pom.xml. Maven keeps the jars in ~/.m2, so a second run
# resolves offline; the result is cached per pom content.
classpath() {
  local name=$1 pom=$STACK_HOME/$1/pom.xml excludes=$2
  local key; key=$(cat "$pom" <(echo "$excludes") | sha1sum | cut -c1-12)
  local out=$CP_DIR/$name-$key.cp
  if [ ! -s "$out" ]; then
    local args=(-B -q -f "$pom" dependency:build-classpath "-Dmdep.outputFile=$out" "-DexcludeArtifactIds=$excludes")
    if ! mvn -o "${args[@]}" >"$LOG_DIR/mvn-$name.log" 2>&1; then
      say "resolving $name jars from Maven Central (first run downloads them)"
      mvn "${args[@]}" >"$LOG_DIR/mvn-$name.log" 2>&1 || { tail -n 20 "$LOG_DIR/mvn-$name.log" >&2; die "Maven could not resolve $pom"; }
    fi
  fi
  cat "$out"
}

KAFKA_EXCLUDES=none
HMS_EXCLUDES=hadoop-client-api,hadoop-client-runtime
HS2_EXCLUDES=hadoop-client-api,hadoop-client-runtime,log4j,reload4j,slf4j-log4j12,slf4j-reload4j,antlr-runtime
HDFS_EXCLUDES=none

# HIVE_KAFKA_WAREHOUSE=hdfs puts the metastore's and HiveServer2's warehouse on the stack's HDFS, so a plain
# CREATE TABLE lands there. The default database keeps the location it was created with, so each choice
# has its own Derby database (hms/ or hms-hdfs/).
WAREHOUSE=${HIVE_KAFKA_WAREHOUSE:-file}
case $WAREHOUSE in
  file) WAREHOUSE_DIR=file://$STACK_DIR/warehouse EXTERNAL_DIR=file://$STACK_DIR/external HMS_DIR=$STACK_DIR/hms ;;
  hdfs) WAREHOUSE_DIR=hdfs://127.0.0.1:$NN_PORT/warehouse/managed EXTERNAL_DIR=hdfs://127.0.0.1:$NN_PORT/warehouse/external
        HMS_DIR=$STACK_DIR/hms-hdfs ;;
  *) die "HIVE_KAFKA_WAREHOUSE must be file or hdfs, not '$WAREHOUSE'" ;;
esac

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pid_file() { echo "$RUN_DIR/$1.pid"; }

# A pid counts as ours only if its command line carries this stack's marker.
our_pid() {
  local f; f=$(pid_file "$1")
  [ -s "$f" ] || return 1
  local pid; pid=$(cat "$f")
  [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "-Dhive.kafka.stack=$STACK_DIR " && echo "$pid"
}

render() {
  sed -e "s#@STACK_DIR@#$STACK_DIR#g" -e "s#@AUX_JARS@#${AUX_JARS:-}#g" -e "s#@HMS_DIR@#$HMS_DIR#g" \
      -e "s#@WAREHOUSE_DIR@#$WAREHOUSE_DIR#g" -e "s#@EXTERNAL_DIR@#$EXTERNAL_DIR#g" "$STACK_HOME/conf/$1" >"$2"
}

# The warehouse a running metastore or HiveServer2 started with stays until it restarts: a different
# HIVE_KAFKA_WAREHOUSE is refused, not silently ignored. Records the choice for one about to start.
check_warehouse() {
  local f=$RUN_DIR/$1.warehouse
  if ! port_open "$2"; then echo "$WAREHOUSE" >"$f"; return; fi
  [ ! -s "$f" ] || [ "$(cat "$f")" = "$WAREHOUSE" ] \
    || die "$1 runs with HIVE_KAFKA_WAREHOUSE=$(cat "$f"), not $WAREHOUSE: run npm run stack:down first"
}

# For npm test and npm run demo: start the services that are not answering, and stop exactly those
# when the calling script exits.
use_stack() {
  check_warehouse metastore "$HMS_PORT"
  check_warehouse hiveserver2 "$HS2_PORT"
  STARTED_SERVICES=()
  port_open "$NN_PORT" || STARTED_SERVICES+=(namenode)
  port_open "$DN_HTTP_PORT" || STARTED_SERVICES+=(datanode)
  port_open "$KAFKA_PORT" || STARTED_SERVICES+=(kafka)
  port_open "$HMS_PORT" || STARTED_SERVICES+=(metastore)
  port_open "$HS2_PORT" || STARTED_SERVICES+=(hiveserver2)
  port_open "$REGISTRY_PORT" || STARTED_SERVICES+=(registry)
  trap '[ ${#STARTED_SERVICES[@]} -eq 0 ] || bash "$STACK_HOME/down.sh" "${STARTED_SERVICES[@]}"' EXIT
  [ ${#STARTED_SERVICES[@]} -eq 0 ] || bash "$STACK_HOME/up.sh"
}
