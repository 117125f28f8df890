"""The agent's inbox (issue 9): the Mine / My team / Waiting on customer views, the per-view counts the
tabs show live, bulk actions (assign to me, tag, resolve, hide) through the same actions as one
conversation, "send and resolve" with its satisfaction survey, and the keyboard/theme furniture."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tilsvar.db import Database
from tilsvar.models import AuditEntry, Conversation, ConversationTag, Message, Tag

from conftest import IngestFn, Seeded
from helpers import auth, sign_in


def conversation_of(database: Database, message_id: int) -> int:
    with database.reader() as session:
        return session.get_one(Message, message_id).conversation_id


def counts_of(client: TestClient) -> dict[str, int]:
    page = client.get("/inbox/counts").text
    return {key: int(value) for key, value in re.findall(r'data-view="(\w+)".*?data-count="(\d+)"', page)}


def test_personal_views_and_live_counts(
    client: TestClient, seeded: Seeded, ingest: IngestFn, database: Database
) -> None:
    csrf = sign_in(client, seeded.agent.email, seeded.password)
    mine = conversation_of(database, ingest(seeded.fb_channel, "Min billet", external_id="a", author_id="a"))
    pending = conversation_of(database, ingest(seeded.fb_channel, "Hjælp", external_id="b", author_id="b"))
    ingest(seeded.x_channel, "Forsinket", external_id="c", author_id="c")
    with database.session() as session:
        session.get_one(Conversation, pending).status = "pending"
    response = client.post(
        "/inbox/bulk",
        data={"action": "assign_me", "conversation_id": [str(mine)], "csrf_token": csrf},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["HX-Trigger"] == "inbox-changed"
    assert "Done" in response.text

    mine_page = client.get("/inbox?view=mine").text
    assert f"/conversations/{mine}" in mine_page
    assert f"/conversations/{pending}" not in mine_page
    assert seeded.agent.name in mine_page  # the assignee column
    waiting_page = client.get("/inbox?view=waiting").text
    assert f"/conversations/{pending}" in waiting_page
    assert f"/conversations/{mine}" not in waiting_page
    counts = counts_of(client)
    assert counts["mine"] == 1
    assert counts["waiting"] == 1
    assert counts["all"] == 3
    assert counts["resolved"] == 0
    # The tabs of the page itself load their counts after the first render (it stays fast).
    page = client.get("/inbox").text
    assert 'hx-get="/inbox/counts?' in page
    assert 'hx-trigger="load, refresh, inbox-changed from:body"' in page


def test_bulk_tag_resolve_and_hide_are_audited_and_checked(
    client: TestClient,
    seeded: Seeded,
    ingest: IngestFn,
    database: Database,
    run_jobs: Callable[[], int],
) -> None:
    csrf = sign_in(client, seeded.admin.email, seeded.password)
    first = conversation_of(database, ingest(seeded.fb_channel, "Idioter!", external_id="h1", author_id="h1"))
    second = conversation_of(database, ingest(seeded.fb_channel, "Tak", external_id="h2", author_id="h2"))
    ids = [str(first), str(second)]

    def bulk(**data: object) -> int:
        response = client.post(
            "/inbox/bulk",
            data={**data, "conversation_id": ids, "csrf_token": csrf},
            headers={"HX-Request": "true"},
        )
        return response.status_code

    assert bulk(action="tag") == 422  # a tag needs a name
    assert bulk(action="hide") == 422  # hiding needs a reason
    assert bulk(action="explode") == 422
    assert bulk(action="tag", tag="refund") == 200
    assert bulk(action="tag", tag="refund") == 200  # again: nothing changes
    assert bulk(action="hide", reason="abusive language") == 200
    assert bulk(action="resolve") == 200
    with database.reader() as session:
        tag_id = session.scalar(select(Tag.id).where(Tag.name == "refund"))
        tagged = set(
            session.scalars(select(ConversationTag.conversation_id).where(ConversationTag.tag_id == tag_id))
        )
        assert tagged == {first, second}
        assert {session.get_one(Conversation, cid).status for cid in (first, second)} == {"resolved"}
        states = set(
            session.scalars(select(Message.moderation_state).where(Message.conversation_id == first))
        )
        assert states == {"hide_pending"}
        actions = set(
            session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("conversations.bulk_%")))
        )
        assert actions == {"conversations.bulk_tag", "conversations.bulk_hide", "conversations.bulk_resolve"}


def test_bulk_refuses_a_conversation_the_agent_may_not_see(
    client: TestClient, seeded: Seeded, ingest: IngestFn, database: Database
) -> None:
    other = conversation_of(database, ingest(seeded.market_channel, "Åbent?", external_id="m1"))
    visible = conversation_of(database, ingest(seeded.fb_channel, "Hej", external_id="f1"))
    csrf = sign_in(client, seeded.agent.email, seeded.password)
    if f"/conversations/{other}" in client.get("/inbox?view=all").text:
        pytest.skip("the seeded agent sees both brands")
    response = client.post(
        "/inbox/bulk",
        data={"action": "resolve", "conversation_id": [str(visible), str(other)], "csrf_token": csrf},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    with database.reader() as session:  # one transaction: nothing changed
        assert session.get_one(Conversation, visible).status != "resolved"
        assert session.get_one(Conversation, other).status != "resolved"


def test_send_and_resolve_asks_for_satisfaction(
    client: TestClient,
    seeded: Seeded,
    ingest: IngestFn,
    database: Database,
    run_jobs: Callable[[], int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("tilsvar.channels.simulated.TRANSIENT_FAILURE_RATE", 0.0)
    settings = client.put(
        f"/api/v1/channels/{seeded.fb_channel.id}/workflow",
        json={"csat_enabled": True, "csat_mode": "link"},
        headers=auth(seeded.admin_token),
    )
    assert settings.status_code == 200, settings.text
    cid = conversation_of(database, ingest(seeded.fb_channel, "Mit kort er spærret", external_id="s1"))
    csrf = sign_in(client, seeded.agent.email, seeded.password)
    page = client.get(f"/conversations/{cid}").text
    assert 'name="then" value="resolve"' in page
    assert 'id="reply-suggestions"' in page
    response = client.post(
        f"/conversations/{cid}/reply",
        data={"text": "Nu virker det", "then": "resolve", "csrf_token": csrf},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["HX-Trigger"] == "thread-refresh, workflow-refresh"
    run_jobs()
    with database.reader() as session:
        assert session.get_one(Conversation, cid).status == "resolved"
        texts = list(
            session.scalars(
                select(Message.text).where(Message.conversation_id == cid, Message.direction == "out")
            )
        )
    assert texts[0] == "Nu virker det"
    assert any("How did we do?" in text for text in texts)


def test_pages_carry_the_shortcuts_theme_and_no_inline_script(
    client: TestClient, seeded: Seeded, ingest: IngestFn
) -> None:
    sign_in(client, seeded.agent.email, seeded.password)
    ingest(seeded.fb_channel, "Hej", external_id="k1")
    page = client.get("/inbox").text
    for needle in (
        'src="/static/js/keys.js"',
        'src="/static/js/theme.js"',
        'id="shortcuts"',
        'id="theme-toggle"',
        'id="global-search"',
        "data-keyboard-list",
        'form="bulk"',
    ):
        assert needle in page
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page) is None
    assert re.search(r"\sstyle=", page) is None
    assert client.get("/static/js/keys.js").status_code == 200
