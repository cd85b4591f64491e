#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs, checks, builds, starts the local infrastructure,
# runs every vitest project (unit + integration + browser), stops what it started, and prints
# "N passed, N failed" from vitest's own counts.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
step() { echo; echo "==> $*"; }
failures=()

step "npm ci"
npm ci --no-audit --no-fund || { echo "npm ci failed"; exit 1; }

step "system packages (redis, clickhouse, chromium, java/maven check)"
bash tools/infra/ensure-system-deps.sh || { echo "installing system packages failed"; exit 1; }

step "generated code is up to date"
npm run --silent generate >/dev/null || failures+=("generate")
if ! git diff --quiet -- packages/contracts/src/gen || [ -n "$(git ls-files --others --exclude-standard packages/contracts/src/gen)" ]; then
  echo "generated code differs from the committed code: run 'npm run generate' and commit" >&2
  git --no-pager diff --stat -- packages/contracts/src/gen
  failures+=("stale-generated-code")
fi
(cd packages/contracts && npm run --silent lint) || failures+=("buf-lint")

step "lint (biome)"
npx biome check . || failures+=("lint")

step "build (tsc via turbo)"
npm run build || { echo "build failed"; exit 1; }

step "typecheck (tests and scripts too: vitest does not type-check)"
npm run --silent typecheck:tests || failures+=("typecheck-tests")

step "infrastructure"
started_infra=0
if bash tools/infra/infra.sh status >/dev/null 2>&1; then
  echo "infrastructure already running: reusing it and leaving it running"
else
  bash tools/infra/infra.sh up || { echo "infra up failed"; bash tools/infra/infra.sh down || true; exit 1; }
  started_infra=1
fi
cleanup() { if [ "$started_infra" = 1 ]; then step "infra down"; bash tools/infra/infra.sh down || true; fi; }
trap cleanup EXIT
set -a; . "$ROOT/.infra/env"; set +a

step "tests (vitest: unit, integration)"
mkdir -p artifacts
npx vitest run --reporter=default --reporter=json --outputFile.json=artifacts/vitest-results.json
test_status=$?

summary=$(node tools/scripts/vitest-summary.mjs artifacts/vitest-results.json) || summary=""
cleanup
trap - EXIT
if [ "${#failures[@]}" -gt 0 ]; then echo "checks failed: ${failures[*]}" >&2; fi
if [ -z "$summary" ]; then echo "vitest wrote no results" >&2; exit 1; fi
echo "$summary"
if [ "$test_status" -ne 0 ] || [ "${#failures[@]}" -gt 0 ]; then exit 1; fi
