#!/usr/bin/env bash
# Installs everything the project needs, from nothing but the system's Node.js/npm, Python 3.11+
# and the npm and PyPI registries. Idempotent: a second run checks stamps and changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
NODE_VERSION=24.21.0       # LTS line the project targets; system Node >= 22.18 is used as is
tooling=$root/.tooling
mkdir -p "$tooling"

log() { printf '[setup] %s\n' "$*"; }

# --- Node.js ------------------------------------------------------------------------------
node_ok() { # $1 = node binary; true when it can run .ts sources natively (>= 22.18)
  "$1" -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=18)?0:1)' 2>/dev/null
}
if [ -x "$tooling/node/bin/node" ] && node_ok "$tooling/node/bin/node"; then
  log "node $("$tooling/node/bin/node" --version) (cached)"
else
  rm -rf "$tooling/node" "$tooling/node-npm"
  if command -v node >/dev/null && node_ok "$(command -v node)"; then
    mkdir -p "$tooling/node/bin"
    ln -s "$(command -v node)" "$tooling/node/bin/node"
    log "using system node $(node --version)"
  else
    log "system node is $(node --version 2>/dev/null || echo missing); installing node@$NODE_VERSION from the npm registry"
    npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$tooling/node-npm" "node@$NODE_VERSION" >/dev/null
    mkdir -p "$tooling/node/bin"
    ln -s "$tooling/node-npm/node_modules/node/bin/node" "$tooling/node/bin/node"
    log "installed node $("$tooling/node/bin/node" --version)"
  fi
fi
export PATH="$tooling/node/bin:$PATH"

# --- npm dependencies ---------------------------------------------------------------------
stamp() { sha256sum "$@" | sha256sum | cut -c1-16; }
want=$(stamp package-lock.json)
if [ -d node_modules ] && [ "$(cat "$tooling/npm.stamp" 2>/dev/null)" = "$want" ]; then
  log "npm dependencies up to date"
else
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$tooling/npm.stamp"
fi

# --- Python virtual environment (moto, Airflow 3, pytest, cfn-lint) ------------------------
python=${PYTHON:-python3}
"$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || {
  echo "[setup] error: Python >= 3.11 is needed for Airflow 3 and moto; set PYTHON=/path/to/python3.11+" >&2; exit 1; }
want=$(stamp requirements-dev.lock)
if [ -x .venv/bin/python ] && [ "$(cat "$tooling/venv.stamp" 2>/dev/null)" = "$want" ]; then
  log "python venv up to date"
else
  log "creating .venv and installing requirements-dev.lock (Airflow, moto, pytest, cfn-lint): about a minute"
  rm -rf .venv
  "$python" -m venv .venv
  # pip.conf on some machines lists local find-links folders that do not exist; their warnings are noise.
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.lock 2>&1 \
    | { grep -v 'is ignored: it is neither' || true; }
  [ "${PIPESTATUS[0]}" = 0 ] || { echo "[setup] pip install failed" >&2; exit 1; }
  echo "$want" > "$tooling/venv.stamp"
fi
# --- Headless browser for the page tests (Debian's chromium, driven by playwright-core) -------
# Only when /usr/bin/chromium is missing. Never fatal: without apt (or root) the browser checks are
# skipped with a message naming why, and everything else still runs.
chromium=/usr/bin/chromium
if [ -x "$chromium" ]; then
  log "chromium $("$chromium" --version 2>/dev/null | awk '{print $2}') (for the headless-browser tests)"
elif command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  log "installing Debian's chromium for the headless-browser tests: apt-get update, apt-get install -y chromium (a minute or two)"
  if DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 && [ -x "$chromium" ]; then
    log "installed $("$chromium" --version 2>/dev/null)"
  else
    log "warning: could not install chromium with apt-get; the headless-browser tests will be skipped"
  fi
else
  log "warning: $chromium is missing and apt-get (as root) is not available to install it; the headless-browser tests will be skipped"
fi
log "ready: node $(node --version), $(.venv/bin/python --version)"
