#!/usr/bin/env bash
# npm test: starts the stack's services that are not answering, runs unit and integration tests on the
# real Kafka, metastore and HiveServer2, then stops only the services this run started.
set -euo pipefail
cd "$(dirname "$0")/.."
source test/prerequisites.sh
require_tools mvn java kcat curl
check_node_modules
source test/stack/lib.sh

use_stack

# DuckDB, an independent reader of the Parquet files we write. It lives outside package.json: the
# registry here serves only its linux-x64 binding, so a lock file with it cannot satisfy npm ci.
TOOLS_DIR=$STACK_DIR/tools
if [ ! -d "$TOOLS_DIR/node_modules/@duckdb/node-api" ]; then
  npm install --prefix "$TOOLS_DIR" --no-save --no-package-lock --no-audit --no-fund @duckdb/node-api@1.5.6-r.1 >/dev/null
fi
export HIVE_KAFKA_DUCKDB_MODULE=$TOOLS_DIR/node_modules/@duckdb/node-api/lib/index.js

echo "integration tests run against: Kafka 127.0.0.1:$KAFKA_PORT, Hive Metastore thrift://127.0.0.1:$HMS_PORT, HiveServer2 127.0.0.1:$HS2_PORT, HDFS hdfs://127.0.0.1:$NN_PORT (WebHDFS 127.0.0.1:$NN_HTTP_PORT)"
files=(test/unit/*.test.ts test/integration/*.test.ts)
[ $# -eq 0 ] || files=("$@")
node --import tsx --test --test-reporter=spec "${files[@]}"
