#!/usr/bin/env bash
# npm run bench: starts the stack's services that are not answering (and stops exactly those after),
# then runs test/bench/run.ts with Kafka's Java tools on the classpath.
set -euo pipefail
cd "$(dirname "$0")/../.."
source test/stack/lib.sh

use_stack
HIVE_KAFKA_BENCH_KAFKA_CP=$(classpath kafka "$KAFKA_EXCLUDES")
HIVE_KAFKA_BENCH_JAVA=$(find_java17)
export HIVE_KAFKA_BENCH_KAFKA_CP HIVE_KAFKA_BENCH_JAVA
node --import tsx test/bench/run.ts "$@"
