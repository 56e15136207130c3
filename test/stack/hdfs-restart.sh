#!/usr/bin/env bash
# Restarts the stack's NameNode or DataNode alone (SIGTERM, then a new JVM on the same data), for tests of
# an HDFS restart mid-stream. Returns once HDFS takes writes again.
source "$(dirname "$0")/lib.sh"
case ${1:-} in namenode|datanode) ;; *) die "usage: hdfs-restart.sh namenode|datanode" ;; esac
bash "$STACK_HOME/down.sh" "$1"
bash "$STACK_HOME/up.sh" "$1"
