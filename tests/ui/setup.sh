#!/usr/bin/env bash
# Installs what the browser tests (tests/ui) need on a Debian machine with Python 3, pip and Node 20:
# Debian's chromium (no browser download: Playwright drives /usr/bin/chromium), the playwright client,
# JupyterLab 4 and Notebook 7 from PyPI, and the front-end extension built into dllmagic/labextension.
# Idempotent and quiet: each step is skipped when already done; a failing step prints its log.
#   PYTHON=python             the interpreter whose environment runs the tests
#   DLLMAGIC_REBUILD_FRONTEND=1  rebuild the extension even when its sources did not change
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
if [ -z "${PYTHON:-}" ]; then PYTHON="$(command -v python || command -v python3)"; fi
export PYTHON
LOG="$(mktemp -t dllmagic-ui-setup.XXXXXX)"
trap 'rm -f "$LOG"' EXIT

step() {  # step "what" command...
  local what="$1"; shift
  if ! "$@" >>"$LOG" 2>&1; then
    echo "tests/ui/setup.sh: $what failed:" >&2
    tail -n 40 "$LOG" >&2
    exit 1
  fi
  echo "ui-setup: $what"
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

# 1. Debian's chromium.
if [ ! -x /usr/bin/chromium ]; then
  step "apt-get update" as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  step "apt-get install chromium" as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core
fi

# 2. Python packages: the Jupyter front ends and the Playwright client (it downloads no browser).
if ! "$PYTHON" -c 'import jupyterlab, notebook, playwright, jupyterlab_widgets' 2>/dev/null; then
  step "pip install jupyterlab notebook playwright" "$PYTHON" -m pip install -q --disable-pip-version-check \
    "jupyterlab>=4.1,<5" "notebook>=7.1,<8" "playwright>=1.40" "ipywidgets>=8"
fi

# 3. The front-end extension, rebuilt only when its sources changed since the committed build.
cd "$REPO/frontend"
# docs/kinds is bundled into the extension (src/docs.ts, "learn more" works without a kernel): a changed page
# rebuilds it too.
HASH="$(cat package.json package-lock.json tsconfig.json install.json scripts/*.js ../docs/kinds/*.md \
  ../dllmagic/report/report.css src/*.ts \
  | sha256sum | cut -c1-64)"
STAMP="$REPO/frontend/build-stamp.txt"
if [ "${DLLMAGIC_REBUILD_FRONTEND:-0}" = 1 ] || [ ! -f "$REPO/dllmagic/labextension/package.json" ] \
   || [ "$(cat "$STAMP" 2>/dev/null)" != "$HASH" ]; then
  step "npm ci (frontend)" npm ci --no-audit --no-fund --loglevel=error
  step "build the labextension" npm run build
  echo "$HASH" >"$STAMP"
fi
echo "ui-setup: ready (chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}'))"
