#!/usr/bin/env bash
# Resolves every pinned jar of the stack into ~/.m2 (the cache that stays between runs) and prints where.
source "$(dirname "$0")/lib.sh"
t0=$SECONDS
classpath kafka "$KAFKA_EXCLUDES" >/dev/null
classpath hive "$HMS_EXCLUDES" >/dev/null
classpath hs2 "$HS2_EXCLUDES" >/dev/null
classpath hdfs "$HDFS_EXCLUDES" >/dev/null
say "stack jars resolved in $((SECONDS - t0))s (cached in ~/.m2; classpaths in $CP_DIR)"
