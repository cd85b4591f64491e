#!/usr/bin/env bash
# The demo end to end on a fresh machine: installs, builds, then `personastream demo` (embedded by
# default; pass --stack local to run Kafka, Redis, ClickHouse and the five services as processes).
set -euo pipefail
cd "$(dirname "$0")/../.."
echo "==> npm ci" >&2
npm ci --no-audit --no-fund --loglevel=error >&2
echo "==> build" >&2
npm run --silent build >/dev/null 2>&1 || npm run build >&2
exec node tools/cli/bin/personastream.js demo "$@"
