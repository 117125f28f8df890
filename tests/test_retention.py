"""Retention policies: a preview of what a policy would delete, legal holds that exempt a
conversation or a contact, deleting and anonymising, the daily scheduled run, the CLI, and the
record of what went when (counts and ids, never the data)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

from tilsvar.cli import app as cli_app
from tilsvar.db import Database
from tilsvar.jobs.privacy_handlers import tick
from tilsvar.models import AuditEntry, Contact, Conversation, Identity, Message, utcnow
from tilsvar.models.privacy import RetentionPolicy

from conftest import IngestFn, Seeded
from helpers import auth, json_of


def resolved_long_ago(database: Database, message_id: int, days: int) -> int:
    with database.session() as session:
        conversation_id = session.get_one(Message, message_id).conversation_id
        old = utcnow() - timedelta(days=days)
        session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(status="resolved", resolved_at=old, last_message_at=old)
        )
        return conversation_id


def test_conversation_policy_preview_hold_and_run(
    client: TestClient, seeded: Seeded, ingest: IngestFn, database: Database
) -> None:
    admin = auth(seeded.admin_token)
    old_a = resolved_long_ago(database, ingest(seeded.x_channel, "gammel sag a", author_id="a"), 100)
    old_b = resolved_long_ago(database, ingest(seeded.x_channel, "gammel sag b", author_id="b"), 100)
    recent = resolved_long_ago(database, ingest(seeded.x_channel, "ny sag", author_id="c"), 5)
    other_channel = resolved_long_ago(database, ingest(seeded.fb_channel, "facebook sag", author_id="d"), 100)

    assert (
        client.post(
            "/api/v1/privacy/retention/policies",
            json={"target": "conversations", "days": 30},
            headers=auth(seeded.agent_token),
        ).status_code
        == 403
    )
    created = client.post(
        "/api/v1/privacy/retention/policies",
        json={
            "target": "conversations",
            "days": 30,
            "channel_id": seeded.x_channel.id,
            "name": "X after 30 days",
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    policy_id = json_of(created)["id"]
    preview = json_of(client.get(f"/api/v1/privacy/retention/policies/{policy_id}/preview", headers=admin))
    assert preview["count"] == 2
    assert preview["sample_ids"] == [old_a, old_b]

    hold = client.post(
        "/api/v1/privacy/legal-holds", json={"conversation_id": old_b, "reason": "court case"}, headers=admin
    )
    assert hold.status_code == 201, hold.text
    preview = json_of(client.get(f"/api/v1/privacy/retention/policies/{policy_id}/preview", headers=admin))
    assert preview["sample_ids"] == [old_a]

    ran = json_of(client.post(f"/api/v1/privacy/retention/policies/{policy_id}/run", headers=admin))
    assert ran["counts"] == {"messages": 1, "conversations": 1}
    with database.reader() as session:
        left = set(session.scalars(select(Conversation.id)))
        assert left == {old_b, recent, other_channel}
        audited = list(session.scalars(select(AuditEntry).where(AuditEntry.action.like("retention.%"))))
    assert [entry.action for entry in audited] == [
        "retention.policy_create",
        "retention.hold",
        "retention.delete",
    ]

    record = json_of(client.get("/api/v1/privacy/deletions", headers=admin))[0]
    assert record["kind"] == "retention"
    assert record["policy_id"] == policy_id
    assert record["ids"] == {"conversations": [old_a]}
    assert "gammel" not in json.dumps(record)

    # Releasing the hold makes the held conversation due.
    hold_id = json_of(hold)["id"]
    assert client.delete(f"/api/v1/privacy/legal-holds/{hold_id}", headers=admin).status_code == 204
    assert (
        json_of(client.get(f"/api/v1/privacy/retention/policies/{policy_id}/preview", headers=admin))["count"]
        == 1
    )


def test_contact_anonymisation_scheduled_and_cli(
    client: TestClient, seeded: Seeded, ingest: IngestFn, database: Database, run_jobs: Callable[[], int]
) -> None:
    admin = auth(seeded.admin_token)
    old = ingest(seeded.x_channel, "Jeg hedder Sigrid", author_id="sigrid", author_name="Sigrid Dahl")
    resolved_long_ago(database, old, 400)
    ingest(seeded.x_channel, "Aktiv kunde", author_id="active", author_name="Aktiv Person")
    with database.session() as session:
        session.execute(update(Contact).values(created_at=utcnow() - timedelta(days=500)))
    created = client.post(
        "/api/v1/privacy/retention/policies",
        json={"target": "contacts", "action": "anonymise", "days": 365},
        headers=admin,
    )
    policy_id = json_of(created)["id"]
    runner = CliRunner()
    result = runner.invoke(cli_app, ["privacy", "retention", "preview"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[0])["count"] == 1

    tick(database)  # the worker's scheduler queues the daily run
    run_jobs()
    with database.reader() as session:
        message = session.get_one(Message, old)
        assert message.text == "[anonymised]"
        assert message.author_name == ""
        names = set(session.scalars(select(Identity.name)))
        assert names == {"", "Aktiv Person"}
        assert session.get_one(RetentionPolicy, policy_id).last_run_at is not None
    # Nothing left to do: anonymised contacts are not anonymised again.
    result = runner.invoke(cli_app, ["privacy", "retention", "run", "--policy", str(policy_id)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["counts"]["contacts"] == 0
