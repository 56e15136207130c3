#!/usr/bin/env bash
# npm run demo: the quickstart on the real stack. Starts what is not running, runs the demo, and stops
# only what it started.
set -euo pipefail
cd "$(dirname "$0")/../.."
source test/stack/lib.sh

started=()
port_open "$KAFKA_PORT" || started+=(kafka)
port_open "$HMS_PORT" || started+=(metastore)
port_open "$HS2_PORT" || started+=(hiveserver2)
cleanup() { [ ${#started[@]} -eq 0 ] || bash test/stack/down.sh "${started[@]}"; }
trap cleanup EXIT
[ ${#started[@]} -eq 0 ] || bash test/stack/up.sh
node --import tsx test/demo/demo.ts
