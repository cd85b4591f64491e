#!/usr/bin/env bash
# Installs (idempotently) the system packages PersonaStream's scripts and tests need, from apt only:
#   redis-server (+ redis-tools for redis-cli), clickhouse-server, clickhouse-client, chromium, curl
# and checks that Java (>= 17) and Maven are present (they are not installed here).
#
# Usage: bash tools/infra/ensure-system-deps.sh [--no-browser] [--quiet]
#   --no-browser  skip chromium (infra.sh up uses this; the test script runs the full check)
#   --quiet       print nothing when everything is already present (installs are always reported)
#
# apt-get update runs at most once, and only when something has to be installed and the first
# install attempt failed (stale or missing package lists). Package maintainer scripts are not
# allowed to start system services (policy-rc.d), so the Debian clickhouse/redis services never
# grab the default ports: infra.sh runs its own instances under .infra/.
set -euo pipefail

want_browser=1
quiet=0
for arg in "$@"; do
  case "$arg" in
    --no-browser) want_browser=0 ;;
    --quiet) quiet=1 ;;
    -h | --help)
      sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "[deps] unknown option: $arg (expected --no-browser, --quiet)" >&2
      exit 2
      ;;
  esac
done

say() { if [[ $quiet == 0 ]]; then echo "[deps] $*"; fi; }
fail() {
  echo "[deps] ERROR: $*" >&2
  exit 1
}

# --- what is missing -------------------------------------------------------------------------
missing=()
have() { command -v "$1" >/dev/null 2>&1; }

have redis-server || missing+=(redis-server)
have redis-cli || missing+=(redis-tools)
# Debian 12 ships clickhouse-server as /usr/sbin/clickhouse-server (not always on a user's PATH).
{ have clickhouse-server || [[ -x /usr/sbin/clickhouse-server ]] || have clickhouse; } || missing+=(clickhouse-server)
{ have clickhouse-client || [[ -x /usr/bin/clickhouse-client ]]; } || missing+=(clickhouse-client)
have curl || missing+=(curl)
if [[ $want_browser == 1 ]]; then
  [[ -x /usr/bin/chromium ]] || missing+=(chromium)
fi

# --- install ---------------------------------------------------------------------------------
if ((${#missing[@]} > 0)); then
  echo "[deps] installing with apt: ${missing[*]}"
  sudo=()
  if [[ $(id -u) != 0 ]]; then
    have sudo || fail "need root (or sudo) to apt-get install: ${missing[*]}"
    sudo=(sudo -n)
  fi
  have apt-get || fail "apt-get not found; install manually: ${missing[*]}"

  # Keep package scripts from starting system services on the default ports.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\n# temporary, created by PersonaStream ensure-system-deps.sh\nexit 101\n' |
      "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
    created_policy=1
  fi
  cleanup_policy() { if [[ $created_policy == 1 ]]; then "${sudo[@]}" rm -f "$policy"; fi; }
  trap cleanup_policy EXIT

  log=$(mktemp -t ps-apt.XXXXXX.log)
  apt_install() {
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      -o DPkg::Lock::Timeout=300 "${missing[@]}" >>"$log" 2>&1
  }
  if ! apt_install; then
    echo "[deps] install failed with the current package lists; running apt-get update once and retrying"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -o DPkg::Lock::Timeout=300 >>"$log" 2>&1 ||
      { tail -n 20 "$log" >&2; fail "apt-get update failed (full log: $log)"; }
    apt_install || { tail -n 30 "$log" >&2; fail "apt-get install ${missing[*]} failed (full log: $log)"; }
  fi
  rm -f "$log"
  echo "[deps] installed: ${missing[*]}"
fi

# --- checks for what we do not install -------------------------------------------------------
have java || fail "java not found: Kafka needs Java 17 or newer (Debian: apt-get install openjdk-17-jre-headless)"
java_version=$(java -version 2>&1 | sed -n 's/.*version "\([0-9][0-9]*\)[."].*/\1/p' | head -n 1)
[[ -n $java_version ]] || fail "cannot read the Java version from 'java -version'"
((java_version >= 17)) || fail "Java $java_version found; Kafka 4.x needs Java 17 or newer"
have mvn || fail "mvn (Apache Maven) not found: it fetches the Kafka jars from Maven Central (Debian: apt-get install maven)"

say "ok: redis-server, clickhouse-server, clickhouse-client, curl$([[ $want_browser == 1 ]] && echo ', chromium'), java $java_version, mvn"
