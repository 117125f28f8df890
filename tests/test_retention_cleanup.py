"""A retention run cleans up like an erasure: after a policy deletes (or anonymises) old
conversations, their text is gone from search, the raw payloads, queued jobs and domain events
that named them, their attachment files, and — SQLite — from the bytes of the database files
(FTS5 index merged, WAL truncated); other conversations are untouched."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from tilsvar.db import Database
from tilsvar.models import Conversation, DomainEvent, Job, Message, MessageAttachment, RawEvent, utcnow
from tilsvar.settings import Settings

from conftest import IngestFn, Seeded
from helpers import auth, json_of

MARKER = "blafjellqzv"
KEEP = "tranebaerx"


def old_conversation_with_everything(
    client: TestClient, seeded: Seeded, database: Database, settings: Settings, run_jobs: Callable[[], int]
) -> tuple[int, Path]:
    """An API-channel conversation (its raw payload kept) with an attachment file, resolved long ago."""
    response = client.post(
        "/api/v1/inbound",
        json={
            "account": "rail-app",
            "external_id": "old-1",
            "author": {"id": "r1", "name": "Rita Retention"},
            "text": f"Gammel klage {MARKER}",
        },
        headers=auth(seeded.admin_token),
    )
    assert response.status_code == 201, response.text
    run_jobs()
    attachment = settings.data_dir / "attachments" / "ab" / "retention-test.bin"
    attachment.parent.mkdir(parents=True, exist_ok=True)
    attachment.write_bytes(f"scan of {MARKER}".encode())
    with database.session() as session:
        message = session.scalar(select(Message).where(Message.external_id == "old-1"))
        assert message is not None
        session.add(
            MessageAttachment(
                message_id=message.id,
                filename="scan.bin",
                content_type="application/octet-stream",
                size=attachment.stat().st_size,
                sha256="0" * 64,
                storage_path=str(attachment.relative_to(settings.data_dir)),
            )
        )
        # A job still queued about it (e.g. a late pipeline run).
        session.add(Job(queue="pipeline", kind="pipeline.analyze", payload={"message_ids": [message.id]}))
        old = utcnow() - timedelta(days=200)
        session.execute(
            update(Conversation)
            .where(Conversation.id == message.conversation_id)
            .values(status="resolved", resolved_at=old, last_message_at=old)
        )
        return message.conversation_id, attachment


@pytest.mark.parametrize("action", ["delete", "anonymise"])
def test_retention_run_cleans_up_like_an_erasure(
    client: TestClient,
    seeded: Seeded,
    ingest: IngestFn,
    run_jobs: Callable[[], int],
    database: Database,
    settings: Settings,
    action: str,
) -> None:
    admin = auth(seeded.admin_token)
    conversation_id, attachment = old_conversation_with_everything(
        client, seeded, database, settings, run_jobs
    )
    ingest(seeded.x_channel, f"Ny sag {KEEP}", external_id="new-1", author_id="k1")
    run_jobs()
    search = json_of(client.get("/api/v1/search", params={"q": MARKER}, headers=admin))
    assert search["total"] == 1

    created = client.post(
        "/api/v1/privacy/retention/policies",
        json={"target": "conversations", "action": action, "days": 90},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    ran = client.post(f"/api/v1/privacy/retention/policies/{json_of(created)['id']}/run", headers=admin)
    assert ran.status_code == 200, ran.text
    assert json_of(ran)["counts"]["conversations"] == 1

    assert json_of(client.get("/api/v1/search", params={"q": MARKER}, headers=admin))["total"] == 0
    assert json_of(client.get("/api/v1/search", params={"q": KEEP}, headers=admin))["total"] == 1
    assert not attachment.exists()
    with database.reader() as session:
        assert (session.get(Conversation, conversation_id) is not None) == (action == "anonymise")
        assert session.scalar(select(func.count()).select_from(MessageAttachment)) == 0
        bodies = session.scalars(select(RawEvent.body)).all()
        from tilsvar.privacy.sealing import open_raw

        assert not any(MARKER.encode() in open_raw(body) for body in bodies)
        jobs = [payload for payload in session.scalars(select(Job.payload)) if "old-1" in str(payload)]
        assert jobs == []
        payloads = [str(p) for p in session.scalars(select(DomainEvent.payload))]
        assert not any(MARKER in payload for payload in payloads)

    if database.is_sqlite:
        database.dispose()
        files = Path(database.engine.url.database or "").parent.glob("tilsvar.db*")
        data = b"".join(path.read_bytes() for path in files)
        assert KEEP.encode() in data
        assert MARKER.encode() not in data
    else:
        from test_privacy_erase import assert_no_text_in_tables

        assert_no_text_in_tables(database, [MARKER])
