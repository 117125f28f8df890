"""Inbound messages carry the understanding pipeline's analysis end to end: stored per message and
per conversation, personal data masked in the inbox and thread, inbox views/filters/sort by the labels,
and moderation carried out on the platform (hide by policy, undo by an agent, failures shown)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import respx
from fastapi.testclient import TestClient
from sqlalchemy import select

from tilsvar.db import Database
from tilsvar.models import AuditEntry, Brand, Channel, Message
from webhook_support import connect

from conftest import IngestFn, Seeded
from helpers import auth

CPR_COMMENT = "Mit CPR er 010203-1234, og toget er fucking forsinket igen!"
GRAPH = "https://graph.facebook.com/v25.0"


def thread(client: TestClient, token: str, conversation_id: int) -> dict[str, Any]:
    response = client.get(f"/api/v1/conversations/{conversation_id}", headers=auth(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def conversation_of(database: Database, message_id: int) -> int:
    with database.reader() as session:
        return session.get_one(Message, message_id).conversation_id


def inbox(client: TestClient, token: str, query: str) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/conversations?{query}", headers=auth(token))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_a_public_comment_with_personal_data_and_profanity_is_masked_prioritised_and_hidden(
    client: TestClient,
    seeded: Seeded,
    ingest: IngestFn,
    run_jobs: Callable[[], int],
    database: Database,
) -> None:
    message_id = ingest(seeded.fb_channel, CPR_COMMENT, kind="comment")
    calm_id = ingest(seeded.fb_channel, "Tak for hjælpen, I er virkelig søde", author_id="c2", kind="comment")
    run_jobs()
    conversation_id = conversation_of(database, message_id)
    body = thread(client, seeded.admin_token, conversation_id)
    assert body["priority"] == "urgent"
    assert body["pii_exposed"] is True
    assert body["flagged"] is True
    assert body["language"] == "da"
    assert "010203" not in body["preview"]
    (message,) = body["messages"]
    assert "010203" not in message["text"]
    assert "[CPR]" in message["text"]
    assert message["personal_data_masked"] is True
    assert message["moderation"]["action"] == "hide"
    assert message["moderation"]["state"] == "hidden"  # the simulated platform hid it
    assert "profanity" in message["moderation"]["reason"]
    assert message["sentiment"] == "negative"

    assert [row["id"] for row in inbox(client, seeded.admin_token, "view=personal_data")] == [conversation_id]
    assert [row["id"] for row in inbox(client, seeded.admin_token, "view=flagged")] == [conversation_id]
    assert [row["id"] for row in inbox(client, seeded.admin_token, "view=urgent")] == [conversation_id]
    calm = conversation_of(database, calm_id)
    assert [row["id"] for row in inbox(client, seeded.admin_token, "view=all&sentiment=positive")] == [calm]
    assert {row["id"] for row in inbox(client, seeded.admin_token, "view=all&language=da")} == {
        conversation_id,
        calm,
    }
    assert next(row["id"] for row in inbox(client, seeded.admin_token, "sort=priority")) == conversation_id
    with database.reader() as session:
        actions = list(
            session.scalars(select(AuditEntry.action).where(AuditEntry.target_id == str(message_id)))
        )
    assert "message.hide" in actions


def test_an_agent_undoes_a_hide_with_a_reason_and_the_platform_is_asked_again(
    client: TestClient, seeded: Seeded, ingest: IngestFn, run_jobs: Callable[[], int], database: Database
) -> None:
    message_id = ingest(seeded.fb_channel, "Du er en idiot og en fucking løgner", kind="comment")
    run_jobs()
    conversation_id = conversation_of(database, message_id)
    url = f"/api/v1/messages/{message_id}/moderation"
    missing_reason = client.post(
        url, json={"action": "unhide", "reason": ""}, headers=auth(seeded.agent_token)
    )
    assert missing_reason.status_code == 422
    undo = client.post(
        url, json={"action": "unhide", "reason": "sarcasm among friends"}, headers=auth(seeded.agent_token)
    )
    assert undo.status_code == 202, undo.text
    assert undo.json()["moderation"]["state"] == "unhide_pending"
    again = client.post(url, json={"action": "hide", "reason": "again"}, headers=auth(seeded.agent_token))
    assert again.status_code == 409  # the platform has not answered yet
    run_jobs()
    (message,) = thread(client, seeded.agent_token, conversation_id)["messages"]
    assert message["moderation"]["state"] == "restored"
    assert message["moderation"]["reason"] == "sarcasm among friends"
    assert thread(client, seeded.agent_token, conversation_id)["flagged"] is False
    assert inbox(client, seeded.agent_token, "view=flagged") == []
    # Running the pipeline again never re-hides what an agent restored.
    with database.session() as session:
        from tilsvar.actions.analysis import do_store_analysis

        stored = session.get_one(Message, message_id)
        assert stored.analysis is not None
        do_store_analysis(session, results={message_id: stored.analysis})
    run_jobs()
    (message,) = thread(client, seeded.agent_token, conversation_id)["messages"]
    assert message["moderation"]["state"] == "restored"


def test_private_messages_are_flagged_not_hidden_and_a_flag_can_be_cleared(
    client: TestClient, seeded: Seeded, ingest: IngestFn, run_jobs: Callable[[], int], database: Database
) -> None:
    message_id = ingest(seeded.fb_channel, "Fuck jer og jeres fucking tog", kind="dm")
    run_jobs()
    (message,) = thread(client, seeded.admin_token, conversation_of(database, message_id))["messages"]
    assert message["moderation"]["state"] == "flagged"
    hide_dm = client.post(
        f"/api/v1/messages/{message_id}/moderation",
        json={"action": "hide", "reason": "rude"},
        headers=auth(seeded.admin_token),
    )
    assert hide_dm.status_code == 400
    assert "public" in hide_dm.json()["detail"]
    cleared = client.post(
        f"/api/v1/messages/{message_id}/clear-flag",
        json={"reason": "venting"},
        headers=auth(seeded.admin_token),
    )
    assert cleared.status_code == 200
    assert inbox(client, seeded.admin_token, "view=flagged") == []


def test_moderation_respects_roles_and_brands(
    client: TestClient, seeded: Seeded, ingest: IngestFn, run_jobs: Callable[[], int]
) -> None:
    rail = ingest(seeded.fb_channel, "Hvornår kører toget?", kind="comment")
    market = ingest(seeded.market_channel, "Hvornår åbner I?", kind="comment", author_id="c9")
    run_jobs()
    body = {"action": "hide", "reason": "test"}
    analyst = client.post(
        f"/api/v1/messages/{rail}/moderation", json=body, headers=auth(seeded.analyst_token)
    )
    assert analyst.status_code == 403
    other_brand = client.post(
        f"/api/v1/messages/{market}/moderation", json=body, headers=auth(seeded.agent_token)
    )
    assert other_brand.status_code == 404


def test_a_brand_policy_decides_and_a_live_channel_hides_through_the_graph_api(
    client: TestClient, seeded: Seeded, ingest: IngestFn, run_jobs: Callable[[], int], database: Database
) -> None:
    with database.session() as session:
        market = session.get_one(Brand, seeded.market_channel.brand_id)
        market.settings = {
            "moderation_policy": {"profanity": "allow", "offensive": "allow"},
            "competitors": ["Kvikk Handel"],
            "own_domains": ["fjordmarket.example"],
        }
    live = live_channel(database, market, account="FjordMarketLive", account_id="99887766")
    allowed = ingest(live, "Fucking god service i dag", kind="comment", author_id="p1", external_id="m1")
    advert = ingest(
        live,
        "Køb billigere hos Kvikk Handel: www.kvikk.example",
        kind="comment",
        author_id="p2",
        external_id="m2",
    )
    with respx.mock:
        hide = respx.post(f"{GRAPH}/m2").mock(return_value=httpx.Response(200, json={"success": True}))
        run_jobs()
    assert hide.called
    assert hide.calls.last.request.content == b"is_hidden=true"
    with database.reader() as session:
        states = dict(
            session.execute(
                select(Message.id, Message.moderation_state).where(Message.id.in_([allowed, advert]))
            ).all()
        )
    assert states == {allowed: "", advert: "hidden"}


def test_a_platform_refusal_is_shown_with_its_reason(
    client: TestClient, seeded: Seeded, ingest: IngestFn, run_jobs: Callable[[], int], database: Database
) -> None:
    live = live_channel(
        database, _brand(database, seeded.fb_channel.brand_id), account="RailLive", account_id="1122"
    )
    message_id = ingest(live, "Din fucking idiot", kind="comment", external_id="c-77")
    refusal = {"error": {"message": "Unsupported post request.", "type": "GraphMethodException", "code": 100}}
    with respx.mock:
        respx.post(f"{GRAPH}/c-77").mock(return_value=httpx.Response(400, json=refusal))
        run_jobs()
    (message,) = thread(client, seeded.admin_token, conversation_of(database, message_id))["messages"]
    assert message["moderation"]["state"] == "hide_failed"
    assert "Unsupported post request" in message["moderation"]["reason"]
    conversation_id = conversation_of(database, message_id)
    assert [row["id"] for row in inbox(client, seeded.admin_token, "view=flagged")] == [conversation_id]


def _brand(database: Database, brand_id: int) -> Brand:
    with database.reader() as session:
        return session.get_one(Brand, brand_id)


def live_channel(database: Database, brand: Brand, *, account: str, account_id: str) -> Channel:
    """A live (not simulated) Facebook page channel, whose Graph API calls the test mocks."""
    channel_id = connect(
        database,
        brand,
        platform="facebook",
        account=account,
        account_id=account_id,
        credentials={"access_token": "page-token", "app_secret": "s3cret"},
    )
    with database.reader() as session:
        return session.get_one(Channel, channel_id)


def test_the_web_ui_shows_labels_masks_personal_data_and_offers_the_undo(
    client: TestClient, seeded: Seeded, ingest: IngestFn, run_jobs: Callable[[], int], database: Database
) -> None:
    from helpers import csrf_in, sign_in

    message_id = ingest(seeded.fb_channel, CPR_COMMENT, kind="comment")
    run_jobs()
    conversation_id = conversation_of(database, message_id)
    sign_in(client, seeded.admin.email, seeded.password)
    flagged = client.get("/inbox?view=personal_data").text
    assert f"/conversations/{conversation_id}" in flagged
    assert "010203" not in flagged
    page = client.get(f"/conversations/{conversation_id}").text
    assert "010203" not in page
    assert "personal data masked" in page
    assert "Hidden on the platform" in page
    assert "Undo: show again" in page
    undone = client.post(
        f"/messages/{message_id}/moderation",
        data={"action": "unhide", "reason": "the customer asked", "csrf_token": csrf_in(page)},
        headers={"HX-Request": "true"},
    )
    assert undone.status_code == 200, undone.text
    assert "Unhiding on the platform" in undone.text
    forged = client.post(
        f"/messages/{message_id}/moderation", data={"action": "hide", "reason": "x", "csrf_token": "forged"}
    )
    assert forged.status_code == 403
    run_jobs()
    assert "Shown again" in client.get(f"/conversations/{conversation_id}").text
