"""Per-API-client rate limits on the shared cache (Redis in production).

A fixed window counted with the cache's atomic `incr`, so several gunicorn
workers share one count (DRF's SimpleRateThrottle keeps a list per key and
read-modify-writes it, which loses counts under concurrency). Rate limits
protect capacity; they are not a security control.

Redis down: the API keeps accepting work (DESIGN: "if Redis is down, the API
and UI keep accepting work"), so a cache error never becomes a 500. The
throttle degrades to a per-process limit: each web process counts the same
fixed windows in its own memory for `LOCAL_FALLBACK_SECONDS`, then tries
Redis again. Chosen over failing open because an outage is when a runaway
client hurts most: the limit stays in force per process (at most the limit
times the number of processes in total), and no request is refused that Redis
would have admitted in that process. A warning is logged once per fallback
period with the error, and `degraded_requests` counts the requests decided
locally (read by tests and by an operator's shell).
"""

import logging
import threading
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from core.authentication import api_client_of

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# After a cache error, windows are counted in this process for this long before
# Redis is tried again: one failed connection per period, not one per request.
LOCAL_FALLBACK_SECONDS = 5.0

logger = logging.getLogger(__name__)


def _cache_errors() -> tuple[type[BaseException], ...]:
    try:
        from redis.exceptions import RedisError
    except ImportError:  # no redis client installed: only the local-memory cache is used
        return (OSError,)
    return (RedisError, OSError)


_CACHE_ERRORS = _cache_errors()


class _LocalWindows:
    """Fixed-window counters in this process's memory (the fallback while Redis is down)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[float, int]] = {}  # key -> (expires at, count)
        self.down_until = 0.0
        self.degraded_requests = 0

    def count(self, key: str, *, timeout: int, now: float) -> int:
        with self._lock:
            self.degraded_requests += 1
            expires, count = self._counts.get(key, (now + timeout, 0))
            self._counts[key] = (expires, count + 1)
            if len(self._counts) > 10_000:  # drop ended windows; bounded memory
                self._counts = {k: v for k, v in self._counts.items() if v[0] > now}
            return count + 1

    def is_active(self, now: float) -> bool:
        return now < self.down_until

    def activate(self, now: float, error: BaseException) -> None:
        with self._lock:
            first = not self.is_active(now)
            self.down_until = now + LOCAL_FALLBACK_SECONDS
        if first:
            logger.warning(
                "Rate-limit cache unreachable (%s: %s); counting per process for %.0f s",
                type(error).__name__,
                error,
                LOCAL_FALLBACK_SECONDS,
            )


local_windows = _LocalWindows()


def parse_rate(rate: str) -> tuple[int, int] | None:
    """ "600/m" -> (600, 60); "" -> None. Accepts DRF's "min"/"hour" spellings."""
    if not rate:
        return None
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period.strip()[:1]]


def _window_count(key: str, *, timeout: int) -> int:
    """Add one to the window's counter and return it.

    On Redis one pipelined round trip (SET NX with the expiry, then INCR) on the
    cache's own connection pool; Django's add() + incr() take three and build a
    client each. Other caches (the demo's local memory) use the portable calls.
    """
    backend = getattr(cache, "_cache", None)
    get_client = getattr(backend, "get_client", None)
    if get_client is None:
        cache.add(key, 0, timeout=timeout)
        try:
            return cache.incr(key)
        except ValueError:  # evicted between add and incr: start the window again
            cache.set(key, 1, timeout=timeout)
            return 1
    redis_key = cache.make_and_validate_key(key)
    pipeline = get_client(redis_key, write=True).pipeline(transaction=False)
    pipeline.set(redis_key, 0, ex=timeout, nx=True)
    pipeline.incr(redis_key)
    return int(pipeline.execute()[1])


def _counted(key: str, *, timeout: int, now: float) -> int:
    """The window's count in Redis, or in this process while Redis is unreachable."""
    if local_windows.is_active(now):
        return local_windows.count(key, timeout=timeout, now=now)
    try:
        return _window_count(key, timeout=timeout)
    except _CACHE_ERRORS as error:
        local_windows.activate(now, error)
        return local_windows.count(key, timeout=timeout, now=now)


class ApiClientRateThrottle(BaseThrottle):
    def __init__(self) -> None:
        self._wait = 0.0

    def allow_request(self, request, view) -> bool:
        client = api_client_of(request)
        if client is None:
            return True
        parsed = parse_rate(client.rate_limit or settings.API_CLIENT_DEFAULT_RATE)
        if parsed is None:
            return True
        limit, period = parsed
        now = time.time()
        window = int(now // period)
        key = f"throttle:api-client:{client.pk}:{period}:{window}"
        count = _counted(key, timeout=period + 1, now=now)
        if count > limit:
            self._wait = (window + 1) * period - now
            return False
        return True

    def wait(self) -> float | None:
        return self._wait or None
