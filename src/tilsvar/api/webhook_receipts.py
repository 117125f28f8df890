"""Group commit for webhook receipts: one writer thread per server stores every delivery waiting at
that moment in one transaction, then answers all of their requests.

Why: each receipt is two small inserts, but on SQLite every transaction takes the database's one
write lock. With a thread per request, hundreds of requests a second each queued for that lock
(and SQLite's busy handler sleeps between tries, up to 100 ms at a time), so acknowledgements
waited seconds whenever the worker held the lock. One writer takes the lock once per batch, so the
cost of a lock wait is shared by everything that arrived meanwhile, and the event loop never blocks:
the request handlers only read the body and await their outcome. A receipt is answered only after
its batch has committed, so a 200 still means "stored" (nothing is lost if the server dies after it).

If a batch fails as a whole (a database error), each of its receipts is tried again on its own, so
one bad delivery cannot fail the others.

**The spool (SQLite).** The job worker holds the write lock while it stores a batch of messages
(ingest, routing: tens of milliseconds per message), and a receipt cannot wait that long. So on
SQLite the writer tries the lock for only ``LOCK_WAIT_MS``; when it is busy, the batch is checked
(signature, JSON) without writing and appended to a small spool database beside the main one
(``<db>.receipts``, WAL, its own lock), committed, and answered 200 (``{"spooled": n}``). A mover
thread moves spooled deliveries into ``raw_events`` (the same action, so redeliveries are still
recognised there) and processes them in that transaction (``store_and_process_deliveries``; if
that fails they are stored with ``webhook.process`` jobs instead), then deletes them from the
spool; spooled rows left by a stopped server are moved when it starts again. Moving is idempotent:
a crash between the two commits moves a delivery again, and the unique key keeps one copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tilsvar.actions.webhooks import (
    WebhookChannel,
    WebhookOutcome,
    check_webhook,
    do_receive_webhook,
    webhook_channels,
)
from tilsvar.channels.webhooks import FAMILIES
from tilsvar.db import Database
from tilsvar.jobs.webhook_handlers import store_and_process_deliveries

log = logging.getLogger(__name__)
# Receipts one transaction stores at most (a burst beyond it commits in several batches).
MAX_BATCH = 500
# How long a receipt batch waits for SQLite's write lock before it goes to the spool instead.
LOCK_WAIT_MS = 10
# After the lock was found busy, receipts go to the spool without trying it for this long.
SPOOL_SECONDS = 1.0
# How often a mover looks for deliveries another process spooled.
MOVER_POLL_SECONDS = 0.1
# Spooled deliveries moved into the database per transaction.
MOVE_BATCH = 200


class LockBusy(Exception):
    """The main database's write lock was not free within ``LOCK_WAIT_MS``."""


class Spool:
    """The spool database of one SQLite database (plain ``sqlite3``: a few statements per batch)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def connect(self) -> sqlite3.Connection:
        # The writer and the mover open a new spool at the same moment: creating the file, switching
        # it to WAL and creating the table race, and SQLite answers such a race with "database is
        # locked" at once instead of waiting, so this process opens spools one at a time.
        with _connect_lock:
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA secure_delete=ON")  # moved bodies leave no trace in the file
            connection.execute(
                "CREATE TABLE IF NOT EXISTS spooled (id INTEGER PRIMARY KEY, source TEXT NOT NULL,"
                " headers TEXT NOT NULL, body BLOB NOT NULL)"
            )
            return connection


_connect_lock = threading.Lock()


def spool_for(database: Database) -> Spool | None:
    """The spool beside a SQLite database file (none for PostgreSQL or in-memory SQLite, whose
    writers do not wait for one database-wide lock or cannot be shared)."""
    if not database.is_sqlite:
        return None
    name = make_url(database.url).database
    if not name or name == ":memory:":
        return None
    return Spool(Path(name + ".receipts"))


@dataclass(slots=True)
class Receipt:
    source: str
    body: bytes
    headers: dict[str, str]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[WebhookOutcome]


class ReceiptWriter:
    """The writer thread of one database; started on first use, a daemon that lives with the process."""

    def __init__(self, database: Database, *, move: bool = True) -> None:
        self.database = database
        self.pending: queue.SimpleQueue[Receipt] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="tilsvar-webhook-receipts", daemon=True)
        self.started = False
        self.lock = threading.Lock()
        self.spool = spool_for(database)
        self.spool_until = 0.0  # monotonic time until which receipts go to the spool directly
        self.move = move

    async def receive(self, *, source: str, body: bytes, headers: dict[str, str]) -> WebhookOutcome:
        """Verify and store one delivery (with whatever else is waiting); its outcome after commit."""
        if not self.started:
            with self.lock:
                if not self.started:
                    self.thread.start()
                    if self.spool is not None and self.move:
                        start_spool_mover(self.database)
                    self.started = True
        loop = asyncio.get_running_loop()
        future: asyncio.Future[WebhookOutcome] = loop.create_future()
        self.pending.put(Receipt(source, body, headers, loop, future))
        return await future

    def _run(self) -> None:
        spool: sqlite3.Connection | None = None
        while True:
            batch = [self.pending.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self.pending.get_nowait())
                except queue.Empty:
                    break
            try:
                if spool is None and self.spool is not None:
                    spool = self.spool.connect()
                outcomes = self._settle(spool, batch)
            except Exception as error:
                # Never leave a request waiting: whatever went wrong is that batch's answer (a 500
                # the platform retries), and the next batch starts afresh.
                log.exception("webhook receipts could not be stored")
                outcomes = [error] * len(batch)
            _answer_all(batch, outcomes)

    def _settle(
        self, spool: sqlite3.Connection | None, batch: list[Receipt]
    ) -> list[WebhookOutcome | BaseException]:
        """Store a batch, or spool it when the database is busy; each receipt's outcome."""
        try:
            if spool is not None and time.monotonic() < self.spool_until:
                return self._to_spool(spool, batch)  # busy lately: don't wait for the lock again
            return self._store(batch, quick=spool is not None)
        except LockBusy:
            assert spool is not None
            self.spool_until = time.monotonic() + SPOOL_SECONDS
            return self._to_spool(spool, batch)
        except Exception:
            log.exception("storing %d webhook receipts together failed; storing them one by one", len(batch))
            return [self._store_one(receipt) for receipt in batch]

    def _checked(self, batch: list[Receipt]) -> list[tuple[list[WebhookChannel], WebhookOutcome]]:
        """Each receipt's channels and what checking it against them says."""
        channels = self._channels(batch)
        checked = []
        for receipt in batch:
            found = channels[receipt.source]
            outcome = check_webhook(
                source=receipt.source, body=receipt.body, headers=receipt.headers, channels=found
            )
            checked.append((found, outcome))
        return checked

    def _channels(self, receipts: list[Receipt]) -> dict[str, list[WebhookChannel]]:
        """The channels each source needs, read once per batch without the write lock (never cached
        longer: a changed secret, signature mode or a new channel counts for the next delivery)."""
        with self.database.reader() as session:
            return {
                source: webhook_channels(session, platforms=FAMILIES[source].platforms)
                for source in {receipt.source for receipt in receipts}
            }

    def _store(self, batch: list[Receipt], *, quick: bool = False) -> list[WebhookOutcome | BaseException]:
        checked = self._checked(batch)
        started = time.monotonic()
        with self._session(quick=quick) as session:
            outcomes: list[WebhookOutcome | BaseException] = [
                do_receive_webhook(
                    session,
                    source=receipt.source,
                    body=receipt.body,
                    headers=receipt.headers,
                    channels=found,
                )
                for receipt, (found, _) in zip(batch, checked, strict=True)
            ]
        log.debug("stored %d webhook receipts in %.1f ms", len(batch), (time.monotonic() - started) * 1000)
        return outcomes

    @contextmanager
    def _session(self, *, quick: bool) -> Iterator[Session]:
        """A write session; ``quick``: raise ``LockBusy`` unless the write lock is free at once."""
        if not quick:
            with self.database.session() as session:
                yield session
            return
        with self.database.engine.connect() as connection:
            driver = connection.connection.driver_connection  # set without beginning a transaction
            assert driver is not None
            driver.execute(f"PRAGMA busy_timeout={LOCK_WAIT_MS}")
            try:
                try:
                    connection.begin()
                except OperationalError as error:
                    raise LockBusy from error
                with Session(bind=connection, expire_on_commit=False) as session:
                    yield session
                    session.flush()
                connection.commit()
            finally:
                connection.rollback()
                driver.execute("PRAGMA busy_timeout=30000")

    def _to_spool(
        self, spool: sqlite3.Connection, batch: list[Receipt]
    ) -> list[WebhookOutcome | BaseException]:
        """Check each receipt without the database's write lock; keep those to be stored in the spool."""
        outcomes: list[WebhookOutcome | BaseException] = []
        rows = []
        for receipt, (_, outcome) in zip(batch, self._checked(batch), strict=True):
            if outcome.status_code != 403:  # forged: nothing is kept
                rows.append((receipt.source, json.dumps(receipt.headers), receipt.body))
                outcome.spooled = True
            outcomes.append(outcome)
        if rows:
            with spool:
                spool.execute("BEGIN IMMEDIATE")
                spool.executemany("INSERT INTO spooled (source, headers, body) VALUES (?, ?, ?)", rows)
            _wake_mover(self.database)
        return outcomes

    def _store_one(self, receipt: Receipt) -> WebhookOutcome | BaseException:
        try:
            return self._store([receipt])[0]
        except Exception as error:
            return error


class SpoolMover:
    """Moves spooled deliveries into ``raw_events`` (with their jobs) whenever there are any: woken
    by this process's receipt writer, and looking every ``MOVER_POLL_SECONDS`` for rows another
    process spooled (the job worker moves them when the server runs it as its own process, so the
    server's interpreter stays free for acknowledgements)."""

    def __init__(self, database: Database, spool: Spool) -> None:
        self.database = database
        self.spool = spool
        self.wake = threading.Event()
        self.thread = threading.Thread(target=self._run, name="tilsvar-webhook-spool", daemon=True)

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None
        while True:
            self.wake.wait(MOVER_POLL_SECONDS)
            self.wake.clear()
            try:
                connection = connection or self.spool.connect()
                while move_spooled(self.database, connection):
                    pass
            except Exception:
                log.exception("moving spooled webhook deliveries failed; trying again")
                time.sleep(1.0)


def move_spooled(database: Database, connection: sqlite3.Connection | None = None) -> int:
    """Move up to ``MOVE_BATCH`` spooled deliveries into the database; how many were moved."""
    spool = spool_for(database)
    if spool is None:
        return 0
    own = connection is None
    connection = connection or spool.connect()
    try:
        rows = connection.execute(
            "SELECT id, source, headers, body FROM spooled ORDER BY id LIMIT ?", (MOVE_BATCH,)
        ).fetchall()
        if not rows:
            return 0
        sources = {source for _, source, _, _ in rows}
        with database.reader() as session:
            channels = {s: webhook_channels(session, platforms=FAMILIES[s].platforms) for s in sources}
        deliveries = [(source, json.loads(headers), body) for _, source, headers, body in rows]
        try:
            with database.session() as session:
                store_and_process_deliveries(session, deliveries=deliveries, channels=channels)
        except Exception:
            # Whatever failed in processing: store them for the job worker, which retries with backoff.
            log.exception("processing %d spooled webhook deliveries failed; queueing them", len(rows))
            with database.session() as session:
                for source, headers, body in deliveries:
                    do_receive_webhook(
                        session, source=source, body=body, headers=headers, channels=channels[source]
                    )
        with connection:
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany("DELETE FROM spooled WHERE id = ?", [(row[0],) for row in rows])
        return len(rows)
    finally:
        if own:
            connection.close()


_movers: dict[str, SpoolMover] = {}
_movers_lock = threading.Lock()


def start_spool_mover(database: Database) -> None:
    """This process's mover for ``database``'s spool (once; nothing for PostgreSQL)."""
    spool = spool_for(database)
    if spool is None:
        return
    with _movers_lock:
        if str(spool.path) not in _movers:
            mover = _movers[str(spool.path)] = SpoolMover(database, spool)
            mover.thread.start()


def _wake_mover(database: Database) -> None:
    spool = spool_for(database)
    mover = _movers.get(str(spool.path)) if spool is not None else None
    if mover is not None:
        mover.wake.set()


def _answer_all(batch: list[Receipt], outcomes: list[WebhookOutcome | BaseException]) -> None:
    """Settle each receipt's future in its own event loop: one wake-up per loop for the batch."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Receipt, WebhookOutcome | BaseException]]] = {}
    for receipt, outcome in zip(batch, outcomes, strict=True):
        by_loop.setdefault(receipt.loop, []).append((receipt, outcome))

    def settle(pairs: list[tuple[Receipt, WebhookOutcome | BaseException]]) -> None:
        for receipt, outcome in pairs:
            if receipt.future.done():  # the client went away and the request was cancelled
                continue
            if isinstance(outcome, BaseException):
                receipt.future.set_exception(outcome)
            else:
                receipt.future.set_result(outcome)

    for loop, pairs in by_loop.items():
        with contextlib.suppress(RuntimeError):  # that event loop has closed (a test client that is gone)
            loop.call_soon_threadsafe(settle, pairs)


_writers: dict[int, ReceiptWriter] = {}
_writers_lock = threading.Lock()


def writer_for(database: Database, *, move: bool = True) -> ReceiptWriter:
    """The one writer of ``database`` in this process; ``move``: this process also moves the spool
    (not when `tilsvar serve` runs its worker as a child process, which does it)."""
    with _writers_lock:
        writer = _writers.get(id(database))
        if writer is None or writer.database is not database:
            writer = _writers[id(database)] = ReceiptWriter(database, move=move)
        return writer
