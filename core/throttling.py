"""Per-API-client rate limits on the shared cache (Redis in production).

A fixed window counted with the cache's atomic `incr`, so several gunicorn
workers share one count (DRF's SimpleRateThrottle keeps a list per key and
read-modify-writes it, which loses counts under concurrency). Rate limits
protect capacity; they are not a security control.
"""

import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from core.authentication import api_client_of

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


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
        count = _window_count(key, timeout=period + 1)
        if count > limit:
            self._wait = (window + 1) * period - now
            return False
        return True

    def wait(self) -> float | None:
        return self._wait or None
