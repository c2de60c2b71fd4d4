#!/usr/bin/env bash
# The whole test suite: lint, migrations check, pytest against real services.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

eval "$($PY scripts/test_services.py)"
trap 'bash scripts/stop_test_services.sh' EXIT

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "[test] installing Debian's chromium for the browser tests" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
  else
    echo "[test] /usr/bin/chromium is missing and cannot be installed: browser tests will be skipped" >&2
  fi
fi

echo "== ruff check"; .venv/bin/ruff check .
echo "== ruff format --check"; .venv/bin/ruff format --check .
echo "== lint-imports (the floors of DESIGN.md)"; .venv/bin/lint-imports
echo "== makemigrations --check"
DJANGO_SETTINGS_MODULE=config.settings.test $PY manage.py makemigrations --check --dry-run
echo "== pytest"
$PY -m pytest "$@"
