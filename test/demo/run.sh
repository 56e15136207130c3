#!/usr/bin/env bash
# npm run demo: the quickstart on the real stack. Starts what is not running, runs the demo, and stops
# only what it started.
set -euo pipefail
cd "$(dirname "$0")/../.."
source test/prerequisites.sh
require_tools mvn java curl
ensure_node_modules
source test/stack/lib.sh

use_stack
node --import tsx test/demo/demo.ts
