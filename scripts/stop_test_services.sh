#!/usr/bin/env bash
# Stops the throw-away instances scripts/test_services.py may have started.
cd "$(dirname "$0")/.." || exit 0
state=var/test-services
if [ -f "$state/postgres/postmaster.pid" ]; then
  .venv/bin/python scripts/embedded_db.py stop "$state/postgres" || true
fi
if [ -f "$state/redis/redis.pid" ]; then kill "$(cat "$state/redis/redis.pid")" 2>/dev/null; fi
exit 0
