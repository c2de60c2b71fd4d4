#!/usr/bin/env bash
# Stops the throw-away instances scripts/test_services.py may have started.
cd "$(dirname "$0")/.." || exit 0
state=var/test-services
if [ -f "$state/pg/postmaster.pid" ]; then
  bindir=$(dirname "$(ls /usr/lib/postgresql/*/bin/pg_ctl | sort | tail -n 1)")
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$bindir/pg_ctl" -D "$state/pg" -m fast stop >/dev/null 2>&1
  else "$bindir/pg_ctl" -D "$state/pg" -m fast stop >/dev/null 2>&1; fi
fi
if [ -f "$state/redis/redis.pid" ]; then kill "$(cat "$state/redis/redis.pid")" 2>/dev/null; fi
exit 0
