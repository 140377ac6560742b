# Shared by the scripts: run from the repo root, pnpm through npm (corepack fails its signature check here).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PNPM_VERSION=10.34.9
pnpm() { npm exec --yes "pnpm@${PNPM_VERSION}" -- "$@"; }
source scripts/ensure-deps.sh

# Installs dependencies from the lockfile and builds every package (skipped when nothing changed).
setup() {
  if ! command -v node >/dev/null; then echo "Node.js 20+ is required" >&2; exit 1; fi
  pnpm install --frozen-lockfile --reporter=silent
  pnpm run build --output-logs=errors-only
}
