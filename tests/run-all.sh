#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh machine (Debian or Ubuntu with Python >= 3.9, pip and
# Node 20), then runs every test. Each stage prints its seconds.
#
# Python packages go into the virtual environment that is active when this script starts; when none is,
# into .venv-test/ in the repository (made here, git-ignored, reused by the next run). Never into the
# machine's own Python. System packages (gcc, mingw-w64, clang, wine64, chromium ...) are installed with
# apt-get by tests/*/setup.sh, only those that are missing (as root, or through sudo).
#
# Usage:
#   bash tests/run-all.sh [pytest args...]   e.g. bash tests/run-all.sh tests/unit -x
#   bash tests/run-all.sh --clean            removes .venv-test/, tests/reports/ and the download cache of
#                                            the tests (~1 GB: $DLLMAGIC_TEST_CACHE, else ~/.cache/dllmagic-tests)
# Environment:
#   PYTHON=python3.13                        the interpreter that makes .venv-test/ (default: python3)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"
CACHE="${DLLMAGIC_TEST_CACHE:-$HOME/.cache/dllmagic-tests}"

if [ "${1:-}" = "--clean" ]; then
  case "$(cd "$CACHE" 2>/dev/null && pwd -P || echo "$CACHE")" in
    /|"$HOME"|"$(cd "$HOME" && pwd -P)"|"$REPO") echo "refusing to remove $CACHE (DLLMAGIC_TEST_CACHE)" >&2; exit 2 ;;
  esac
  echo "removing $REPO/.venv-test, $REPO/tests/reports and $CACHE"
  rm -rf "$REPO/.venv-test" "$REPO/tests/reports" "$CACHE"
  exit 0
fi

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_PROGRESS_BAR=off
SECONDS=0
stage() { printf '\n== %s (t=%ss)\n' "$1" "$SECONDS"; }
took() { printf '== %s took %ss\n' "$1" "$(( SECONDS - $2 ))"; }

stage "virtual environment"; t=$SECONDS
in_venv() { "$1" -c 'import sys; sys.exit(0 if sys.prefix != sys.base_prefix else 1)' 2>/dev/null; }
if [ -n "${VIRTUAL_ENV:-}" ] && in_venv "$VIRTUAL_ENV/bin/python"; then
  echo "using the active virtual environment $VIRTUAL_ENV"
else
  base="${PYTHON:-python3}"
  want="$("$base" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  have="$(.venv-test/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true)"
  if [ "$have" != "$want" ]; then
    rm -rf .venv-test
    "$base" -m venv .venv-test
    echo "made .venv-test/ with $("$base" -c 'import sys; print(sys.executable)') (Python $want)"
  else
    echo "reusing .venv-test/ (Python $have)"
  fi
  # shellcheck disable=SC1091
  source .venv-test/bin/activate
fi
PY="$VIRTUAL_ENV/bin/python"
# A venv made by `uv venv` has no pip of its own.
"$PY" -m pip --version >/dev/null 2>&1 || "$PY" -m ensurepip --upgrade >/dev/null
took "virtual environment" $t

stage "python packages"; t=$SECONDS
"$PY" -m pip install --quiet --upgrade pip uv
# numpy and the packaging tools are test extras too; -e keeps the tests on this checkout's sources.
"$PY" -m pip install --quiet -e ".[test]"
took "python packages" $t

for setup in tests/*/setup.sh; do
  [ -f "$setup" ] || continue
  stage "setup $setup"; t=$SECONDS
  PYTHON="$PY" bash "$setup"
  took "setup $setup" $t
done

stage "tests"; t=$SECONDS
mkdir -p tests/reports
set +e
"$PY" -m pytest -q -ra --durations=15 "$@"
rc=$?
set -e
took "tests" $t
echo "tables and logs of this run: tests/reports/; download cache: $CACHE ($(du -sh "$CACHE" 2>/dev/null | cut -f1 || echo empty)); bash tests/run-all.sh --clean removes both and .venv-test/"
# pytest exits 5 when it collected nothing: that is a failure of this script, never a pass.
exit $rc
