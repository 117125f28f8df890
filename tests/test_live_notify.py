"""Live views on one node hear about events another process commits at once (PostgreSQL:
LISTEN/NOTIFY; SQLite: the event-log watcher, as for serve's worker process), and never about events
that rolled back."""

from __future__ import annotations

import threading
import time

from tilsvar.db import Database
from tilsvar.events import ConversationCreated, hub, record_events
from tilsvar.notify import start_listener


def wait_for_generation_above(generation: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if hub.generation > generation:
            return True
        time.sleep(0.02)
    return False


def test_a_commit_in_another_process_wakes_the_listener_and_a_rollback_does_not(database: Database) -> None:
    stop = threading.Event()
    listener = start_listener(database.url, stop)
    assert listener is not None
    try:
        time.sleep(0.5)  # listening
        other = Database(database.url)  # another "process": its commits don't wake our hub directly
        try:
            before = hub.generation
            with other.sessionmaker() as session, session.begin():
                record_events(session, [ConversationCreated(conversation_id=None)])
                session.info.clear()  # no in-process wake: only the NOTIFY may arrive
                session.rollback()
            assert not wait_for_generation_above(before, 1.5)
            with other.sessionmaker() as session, session.begin():
                record_events(session, [ConversationCreated(conversation_id=None)])
                session.info.clear()
            assert wait_for_generation_above(before, 3.0)
        finally:
            other.dispose()
    finally:
        stop.set()
        listener.join(timeout=5)
