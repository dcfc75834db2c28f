#!/usr/bin/env bash
# The whole test suite: static checks, TypeScript tests (mocha, against moto and the simulator over
# real HTTP) and the DAG tests (pytest under real Airflow 3). `scripts/test.sh lint` runs the static part.
# Each suite starts the services it needs (moto server, simulator) on free loopback ports and stops them.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.tooling/node/bin:$PWD/node_modules/.bin:$PWD/.venv/bin:$PATH"
export NODE_OPTIONS="--disable-warning=ExperimentalWarning ${NODE_OPTIONS:-}"

failed=()
step() { # name, command...
  local name=$1; shift
  local t0=$SECONDS
  printf '\n=== %s\n' "$name"
  if "$@"; then printf '=== %s: ok (%ss)\n' "$name" $((SECONDS - t0)); else
    printf '=== %s: FAILED (%ss)\n' "$name" $((SECONDS - t0)); failed+=("$name"); fi
}

step "eslint" eslint --max-warnings=0 .
step "prettier" prettier --check --log-level warn .
step "tsc" tsc -p tsconfig.json --noEmit
step "cfn-lint" cfn-lint infra/*.yml
step "hadolint" hadolint Dockerfile
if [ "${1:-}" != lint ]; then
  step "mocha" mocha 'test/**/*.test.ts'
  # The failpoint matrix once more on the DynamoDB product state store (the run above uses the S3 one).
  step "failpoints (dynamodb)" env CATALOG_SYNC_TEST_STATE_STORE=dynamodb mocha test/failpoints/matrix.test.ts
  step "pytest" python -m pytest -q test/dags
fi

echo
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all test steps passed"
