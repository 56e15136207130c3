#!/usr/bin/env bash
# Regenerates src/metastore/gen/ from hive_metastore.thrift with the Debian
# thrift compiler (0.17.0). The output is CommonJS, hence the nested package.json.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/gen"

rm -rf "$out"
mkdir -p "$out"
thrift --gen js:node,ts -out "$out" "$here/hive_metastore.thrift"
printf '{\n  "type": "commonjs"\n}\n' > "$out/package.json"
