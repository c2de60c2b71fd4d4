"""The demo's Celery broker: kombu's SQLAlchemy transport on the demo's PostgreSQL.

Used only without REDIS_URL (`make run`; production sets REDIS_URL). Why this one:
a message is a row, taken with SELECT ... FOR UPDATE in a transaction, so no
process ever reads a half-written message. kombu's file-system transport, the
demo's broker before, did: its reader moves and reads a message file that the
writer has created but not yet written, and readers of the exchange files race
their creation the same way; the worker then stopped with "Unrecoverable error:
JSONDecodeError" in about 1 of 7 starts (kombu#1551). The database is already
running for the demo, so this needs no further server; a Redis server from a
pip package was the other option, and none is well kept.

Two adjustments to the transport as kombu ships it:
- It polls every 1 s, and with one task prefetched per worker process it also
  waits that long between tasks: a burst of reminder e-mails (the seeded demo
  data makes hundreds) drained at 2 a second and queued fresh reminders behind
  it for minutes. 0.2 s: about 10 tasks a second, a few small queries a second idle.
- Its SQLAlchemy engines live in a class-level cache, inherited by the worker's
  forked pool processes (which enqueue e-mail tasks). A pooled connection must
  not be used by two processes, so each child forgets the inherited pools
  (SQLAlchemy's recipe: `Engine.dispose(close=False)` after fork).
  https://docs.sqlalchemy.org/en/20/core/pooling.html#using-connection-pools-with-multiprocessing-or-os-fork
"""

import os

from kombu.transport import sqlalchemy as kombu_sqlalchemy


class Transport(kombu_sqlalchemy.Transport):
    polling_interval = 0.2


def _forget_inherited_engines() -> None:
    for engine, _session_factory in kombu_sqlalchemy.Channel._engines.values():
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_inherited_engines)
