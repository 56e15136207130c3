# Sourced by npm test and npm run demo: checks what they need before anything starts, and says how
# to install what is missing, instead of failing minutes later inside Maven or a test.
# Java and the JDKs are checked by the stack scripts (test/stack/lib.sh), which know which JVM runs what.

missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$1: $2"); }

# require_tools TOOL...: each is a command the caller needs.
require_tools() {
  local t
  for t in "$@"; do
    case $t in
      mvn) need mvn "apt-get install maven (the stack's jars come from Maven Central)" ;;
      java) need java "apt-get install openjdk-17-jdk-headless" ;;
      kcat) need kcat "apt-get install kcat (the independent Kafka client the tests compare against)" ;;
      curl) need curl "apt-get install curl (the stack checks HDFS by a write and a read through WebHDFS)" ;;
      *) need "$t" "install $t" ;;
    esac
  done
  if [ ${#missing[@]} -gt 0 ]; then
    printf 'missing prerequisite: %s\n' "${missing[@]}" >&2
    exit 1
  fi
}

# The npm dependencies are current: installed from package-lock.json and not older than it.
node_modules_current() {
  [ -f node_modules/.package-lock.json ] && [ ! package-lock.json -nt node_modules/.package-lock.json ]
}

# For the quickstart: install the npm dependencies when they are missing or stale.
ensure_node_modules() {
  node_modules_current && return
  echo "installing npm dependencies (npm ci; better-sqlite3 builds from source, about a minute)" >&2
  # Debian keeps Node's headers in /usr/include/node: node-gyp then needs no download.
  [ -d /usr/include/node ] && export npm_config_nodedir=${npm_config_nodedir:-/usr}
  npm ci --no-audit --no-fund >&2
}

# For the tests: the README's command runs npm ci first; anything else is a mistake to name.
check_node_modules() {
  node_modules_current || { echo "npm dependencies are missing or older than package-lock.json: run npm ci first (the README's test command is: npm ci && npm test)" >&2; exit 1; }
}
