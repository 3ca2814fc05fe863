#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh machine (Python 3.11, pip, Node 20), then runs every
# test. Each stage prints its seconds. Usage: bash tests/run-all.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_PROGRESS_BAR=off
SECONDS=0
stage() { printf '\n== %s (t=%ss)\n' "$1" "$SECONDS"; }
took() { printf '== %s took %ss\n' "$1" "$(( SECONDS - $2 ))"; }

stage "system packages"; t=$SECONDS
if [ -x tests/setup-system.sh ] || [ -f tests/setup-system.sh ]; then bash tests/setup-system.sh; fi
took "system packages" $t

stage "python packages"; t=$SECONDS
python -m pip install --quiet --upgrade pip uv
python -m pip install --quiet -e ".[test]"
took "python packages" $t

for setup in tests/*/setup.sh; do
  [ -f "$setup" ] || continue
  stage "setup $setup"; t=$SECONDS
  bash "$setup"
  took "setup $setup" $t
done

stage "tests"; t=$SECONDS
set +e
python -m pytest -q -ra "$@"
rc=$?
set -e
took "tests" $t
# pytest exits 5 when it collected nothing: that is a failure of this script, never a pass.
exit $rc
