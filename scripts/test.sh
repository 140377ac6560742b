#!/usr/bin/env bash
# The test command: install what is missing (see scripts/ensure-deps.sh), install packages, build, lint,
# then every vitest project (unit, integration, e2e). Extra arguments go to vitest, e.g. `npm test -- --project unit`.
source "$(dirname "$0")/lib.sh"
ensure_deps test
setup
echo "== lint (biome)"
pnpm exec biome check .
echo "== tests (vitest)"
mkdir -p test-output
status=0
pnpm exec vitest run --reporter=default --reporter=json --outputFile.json=test-output/vitest.json "$@" || status=$?
node scripts/test-summary.mjs test-output/vitest.json || true
exit $status
