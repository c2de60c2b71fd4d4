"""Django's PostgreSQL backend, loading timestamps and dates that Python cannot hold.

PostgreSQL stores timestamps from 4713 BC to 294276 AD (and +-infinity); Python's
datetime holds years 1 to 9999. psycopg raises DataError on a value outside it
(`timestamp too large (after year 10K)`), and a value within a day of either end
overflows when shifted into a time zone. One such row, written before the time
window's check constraints or restored from a backup, broke every list, feed,
page and the metrics rollup that read it. Here every timestamptz, timestamp and date is
loaded clamped into `crm.time_window.READABLE_EARLIEST .. READABLE_LATEST`
instead, so reads always answer (the row shows at the edge of time, where
staff can find and fix it).

Settings point ENGINE here for PostgreSQL (config/settings/base.py).
"""

from datetime import date

from django.db.backends.postgresql import base
from django.db.backends.postgresql.psycopg_any import BaseTzLoader
from psycopg import DataError
from psycopg.types.datetime import DateLoader, TimestampLoader

from crm.time_window import READABLE_EARLIEST, READABLE_LATEST

_EARLIEST_DATE = READABLE_EARLIEST.date()
_LATEST_DATE = READABLE_LATEST.date()


def _is_before_year_one(data: bytes) -> bool:
    """PostgreSQL's text for a value psycopg could not load: BC dates end in `BC`,
    `-infinity` starts with a minus; everything else is past year 9999."""
    text = bytes(data).strip()
    return text.endswith(b"BC") or text.startswith(b"-")


def clamping_tz_loader(tz):  # noqa: ANN001, ANN201 - a tzinfo in, a Loader class out
    class ClampingTzLoader(BaseTzLoader):
        timezone = tz
        clamps = True

        def load(self, data):  # noqa: ANN001, ANN201
            try:
                value = super().load(data)
            except DataError:
                value = READABLE_EARLIEST if _is_before_year_one(data) else READABLE_LATEST
                return value.astimezone(self.timezone) if self.timezone else value
            if value.tzinfo is None:
                return value  # USE_TZ = False: naive values are not compared with aware bounds
            if value < READABLE_EARLIEST:
                return READABLE_EARLIEST.astimezone(self.timezone)
            if value > READABLE_LATEST:
                return READABLE_LATEST.astimezone(self.timezone)
            return value

    return ClampingTzLoader


class ClampingDateLoader(DateLoader):
    def load(self, data) -> date:  # noqa: ANN001
        try:
            value = super().load(data)
        except DataError:
            return _EARLIEST_DATE if _is_before_year_one(data) else _LATEST_DATE
        return min(max(value, _EARLIEST_DATE), _LATEST_DATE)


class ClampingTimestampLoader(TimestampLoader):
    """`timestamp` without time zone (date_trunc ... AT TIME ZONE, the admin's date
    hierarchy): naive, clamped to the same bounds."""

    def load(self, data):  # noqa: ANN001, ANN201
        earliest = READABLE_EARLIEST.replace(tzinfo=None)
        latest = READABLE_LATEST.replace(tzinfo=None)
        try:
            value = super().load(data)
        except DataError:
            return earliest if _is_before_year_one(data) else latest
        return min(max(value, earliest), latest)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):  # noqa: ANN001, ANN201
        connection = super().get_new_connection(conn_params)
        connection.adapters.register_loader("timestamptz", clamping_tz_loader(self.timezone))
        connection.adapters.register_loader("date", ClampingDateLoader)
        connection.adapters.register_loader("timestamp", ClampingTimestampLoader)
        return connection

    def create_cursor(self, name=None):  # noqa: ANN001, ANN201
        # Django re-registers its own loader on a cursor whose time zone differs from
        # the connection's; register the clamping one in its place.
        cursor = super().create_cursor(name)
        loader = cursor.adapters.get_loader(base.TIMESTAMPTZ_OID, base.Format.TEXT)
        if not getattr(loader, "clamps", False):
            cursor.adapters.register_loader("timestamptz", clamping_tz_loader(self.timezone))
        return cursor
