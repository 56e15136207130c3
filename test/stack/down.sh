#!/usr/bin/env bash
# Stops what stack:up started, each process by the pid it recorded, and nothing else.
source "$(dirname "$0")/lib.sh"

# A service's main class, to find its process by this stack's marker when its pid file was lost.
main_class() {
  case $1 in kafka|kafka2) echo "kafka.Kafka .*/$1/server.properties" ;; metastore) echo metastore.HiveMetaStore ;; hiveserver2) echo server.HiveServer2 ;;
    namenode) echo namenode.NameNode ;; datanode) echo datanode.DataNode ;; registry) echo quarkus-run.jar ;; esac
}

stop() {
  local name=$1 pid
  if ! pid=$(our_pid "$name"); then
    rm -f "$(pid_file "$name")"
    pid=$(pgrep -f -- "-Dhive.kafka.stack=$STACK_DIR .*$(main_class "$name")" | head -n 1) || return 0
  fi
  say "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then say "$name ignored SIGTERM for 30s, killing it"; kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$(pid_file "$name")" "$RUN_DIR/$name.warehouse"
}

# With names, stops only those (npm test stops just what it started); reverse start order by default.
services=("$@"); [ ${#services[@]} -gt 0 ] || services=(registry hiveserver2 metastore kafka2 kafka datanode namenode)
for s in "${services[@]}"; do
  case $s in registry|hiveserver2|metastore|kafka|kafka2|datanode|namenode) stop "$s" ;;
    *) die "unknown service '$s' (expected registry, hiveserver2, metastore, kafka, kafka2, datanode or namenode)" ;; esac
done
