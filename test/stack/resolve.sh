#!/usr/bin/env bash
# Resolves every pinned jar of the stack into ~/.m2 (the cache that stays between runs) and prints where.
source "$(dirname "$0")/lib.sh"
t0=$SECONDS
classpath kafka "$KAFKA_EXCLUDES" >/dev/null
classpath hive "$HMS_EXCLUDES" >/dev/null
classpath hs2 "$HS2_EXCLUDES" >/dev/null
classpath hdfs "$HDFS_EXCLUDES" >/dev/null
# The Schema Registry is a build, not a classpath: its jars land in ~/.m2 as it builds.
mvn -B -q -f "$REPO_ROOT/test/stack/registry/pom.xml" package -DskipTests >/dev/null || die "building the Schema Registry (test/stack/registry) failed: mvn -B -f test/stack/registry/pom.xml package -DskipTests" 
say "stack jars resolved in $((SECONDS - t0))s (cached in ~/.m2; classpaths in $CP_DIR)"
