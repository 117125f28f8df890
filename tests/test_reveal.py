"""Revealing masked personal data on a need-to-know basis: the permission and a reason are needed;
someone who has handled the customer sees it at once, new hands wait for a supervisor's approval
(never their own), approvals expire, everything is audited, and the thread itself stays masked."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tilsvar.actions.org import do_create_api_token
from tilsvar.db import Database
from tilsvar.models import AuditEntry, Conversation, Message, User, utcnow
from tilsvar.models.privacy import RevealRequest

from conftest import IngestFn, Seeded
from helpers import auth, json_of, sign_in

PHONE = "+45 20 11 22 33"


def masked_conversation(
    seeded: Seeded, ingest: IngestFn, run_jobs: Callable[[], int], database: Database
) -> int:
    message_id = ingest(seeded.x_channel, f"Ring til mig på {PHONE} tak", external_id="x1", author_id="u1")
    run_jobs()
    with database.reader() as session:
        message = session.get_one(Message, message_id)
        assert message.has_pii
        assert PHONE not in (message.redacted_text or "")
        return message.conversation_id


def token_for(database: Database, user: User) -> str:
    with database.session() as session:
        return do_create_api_token(session, user=session.get_one(User, user.id), name="reveal")


def test_new_hands_need_a_supervisor(
    client: TestClient, seeded: Seeded, ingest: IngestFn, run_jobs: Callable[[], int], database: Database
) -> None:
    conversation_id = masked_conversation(seeded, ingest, run_jobs, database)
    url = f"/api/v1/privacy/conversations/{conversation_id}/reveal"
    agent = auth(seeded.agent_token)
    assert client.post(url, json={"reason": ""}, headers=agent).status_code == 400
    assert (
        client.post(url, json={"reason": "call back"}, headers=auth(seeded.analyst_token)).status_code == 403
    )
    pending = client.post(url, json={"reason": "customer asked for a call back"}, headers=agent)
    assert pending.status_code == 202, pending.text
    request_id = json_of(pending)["id"]
    assert client.get(url, headers=agent).status_code == 409  # not yet

    supervisor = auth(token_for(database, seeded.supervisor))
    listed = json_of(client.get("/api/v1/privacy/reveal-requests", headers=supervisor))
    assert [row["id"] for row in listed] == [request_id]
    assert (
        client.post(f"/api/v1/privacy/reveal-requests/{request_id}/approve", headers=agent).status_code == 403
    )
    approved = client.post(f"/api/v1/privacy/reveal-requests/{request_id}/approve", headers=supervisor)
    assert approved.status_code == 200, approved.text

    revealed = client.get(url, headers=agent)
    assert revealed.status_code == 200
    assert PHONE in json_of(revealed)["messages"][0]["text"]
    # The thread (and everything built on it) stays masked.
    thread = client.get(f"/api/v1/conversations/{conversation_id}", headers=agent).text
    assert PHONE not in thread

    with database.session() as session:
        session.execute(update(RevealRequest).values(expires_at=utcnow() - timedelta(minutes=1)))
    assert client.get(url, headers=agent).status_code == 409

    # A supervisor's own request needs someone else.
    own = json_of(client.post(url, json={"reason": "complaint review"}, headers=supervisor))
    assert own["status"] == "pending"
    assert (
        client.post(f"/api/v1/privacy/reveal-requests/{own['id']}/approve", headers=supervisor).status_code
        == 403
    )
    denied = client.post(
        f"/api/v1/privacy/reveal-requests/{own['id']}/deny", headers=auth(seeded.admin_token)
    )
    assert json_of(denied)["status"] == "denied"

    with database.reader() as session:
        actions = [
            row.action
            for row in session.scalars(
                select(AuditEntry).where(AuditEntry.action.like("privacy.reveal%")).order_by(AuditEntry.id)
            )
        ]
    assert actions == [
        "privacy.reveal_request",
        "privacy.reveal_approve",
        "privacy.reveal",
        "privacy.reveal_request",
        "privacy.reveal_deny",
    ]


def test_someone_who_handled_the_customer_sees_at_once(
    client: TestClient, seeded: Seeded, ingest: IngestFn, run_jobs: Callable[[], int], database: Database
) -> None:
    conversation_id = masked_conversation(seeded, ingest, run_jobs, database)
    # The agent handled an earlier conversation of the same customer.
    earlier = ingest(seeded.x_channel, "Tidligere sag", external_id="x0", author_id="u1", minutes_ago=600)
    with database.session() as session:
        earlier_conversation = session.get_one(Message, earlier).conversation_id
        assert earlier_conversation != conversation_id
        session.execute(
            update(Conversation)
            .where(Conversation.id == earlier_conversation)
            .values(assignee_id=seeded.agent.id)
        )
    response = client.post(
        f"/api/v1/privacy/conversations/{conversation_id}/reveal",
        json={"reason": "follow-up call"},
        headers=auth(seeded.agent_token),
    )
    assert response.status_code == 200, response.text
    assert PHONE in json_of(response)["messages"][0]["text"]
    # Another brand's conversation is not there at all.
    other = ingest(seeded.market_channel, f"Mit nummer {PHONE}", external_id="m1", author_id="u1")
    with database.reader() as session:
        other_conversation = session.get_one(Message, other).conversation_id
    assert (
        client.post(
            f"/api/v1/privacy/conversations/{other_conversation}/reveal",
            json={"reason": "curious"},
            headers=auth(seeded.agent_token),
        ).status_code
        == 404
    )


def test_web_reveal_button_and_approvals_page(
    client: TestClient, seeded: Seeded, ingest: IngestFn, run_jobs: Callable[[], int], database: Database
) -> None:
    conversation_id = masked_conversation(seeded, ingest, run_jobs, database)
    csrf = sign_in(client, seeded.agent.email, seeded.password)
    page = client.get(f"/conversations/{conversation_id}").text
    assert "personal data masked" in page
    assert f'action="/conversations/{conversation_id}/reveal"' in page
    assert PHONE not in page
    pending = client.post(
        f"/conversations/{conversation_id}/reveal", data={"csrf_token": csrf, "reason": "call back"}
    )
    assert pending.status_code == 200
    assert 'id="reveal-pending"' in pending.text
    assert client.get("/admin/privacy").status_code == 403

    client.post("/logout", data={"csrf_token": csrf})
    csrf = sign_in(client, seeded.supervisor.email, seeded.password)
    admin_page = client.get("/admin/privacy")
    assert admin_page.status_code == 200
    match = re.search(r'action="/admin/privacy/reveal-requests/(\d+)/approve"', admin_page.text)
    assert match
    approved = client.post(match.group(0)[8:-1], data={"csrf_token": csrf}, follow_redirects=False)
    assert approved.status_code == 303

    client.post("/logout", data={"csrf_token": csrf})
    csrf = sign_in(client, seeded.agent.email, seeded.password)
    shown = client.post(
        f"/conversations/{conversation_id}/reveal", data={"csrf_token": csrf, "reason": "call back"}
    )
    assert PHONE in shown.text
    assert "do not copy it elsewhere" in shown.text
