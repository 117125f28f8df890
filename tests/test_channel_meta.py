"""Meta connector contract: the hub handshake, signed deliveries for the Facebook Page feed, Messenger
and Instagram (both comment field variants) through ``/webhooks/meta`` into the real database, and
every Graph API call we make (mocked with respx; nothing leaves the machine)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from tilsvar import cli
from tilsvar.actions.org import channel_credentials
from tilsvar.channels import meta
from tilsvar.channels.activity import Ignored, MessageChanged, Receipt
from tilsvar.channels.base import InboundMessage, OutboundReply
from tilsvar.db import Database
from tilsvar.models import Channel, utcnow
from tilsvar.privacy.sealing import open_raw
from tilsvar.settings import Settings
from webhook_support import (
    RECORDED,
    channel,
    connect,
    conversation,
    count_jobs,
    dumps,
    message,
    messages,
    outbound_job,
    raw_events,
)

from conftest import Seeded

APP_SECRET = "meta-app-secret"
VERIFY_TOKEN = "meatyhamhock"
PAGE_ID = "448242228374517"
IG_ID = "17841474524784050"
GRAPH = "https://graph.facebook.com/v25.0"
CREDENTIALS = {"app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN, "access_token": "page-token"}


@pytest.fixture
def page(database: Database, seeded: Seeded) -> int:
    return connect(
        database,
        seeded.rail,
        platform="facebook",
        account="NordicRailPage",
        account_id=PAGE_ID,
        credentials=CREDENTIALS,
    )


@pytest.fixture
def insta(database: Database, seeded: Seeded) -> int:
    return connect(
        database,
        seeded.rail,
        platform="instagram",
        account="nordicrail",
        account_id=IG_ID,
        credentials=CREDENTIALS,
    )


Post = Callable[..., Any]


@pytest.fixture
def post(client: TestClient) -> Post:
    def _post(payload: Any, *, secret: str = APP_SECRET, body: bytes | None = None) -> Any:
        raw = body if body is not None else dumps(payload)
        return client.post(
            "/webhooks/meta",
            content=raw,
            headers={"Content-Type": "application/json", meta.SIGNATURE_HEADER: meta.sign(raw, secret)},
        )

    return _post


def feed(value: dict[str, Any], *, page_id: str = PAGE_ID) -> dict[str, Any]:
    return {
        "object": "page",
        "entry": [{"id": page_id, "time": 1742667606, "changes": [{"field": "feed", "value": value}]}],
    }


def comment(comment_id: str = "122131676912594941_1213590066982748", **overrides: Any) -> dict[str, Any]:
    value = {
        "from": {"id": "9038263149527012", "name": "Jane Customer"},
        "post": {
            "status_type": "mobile_status_update",
            "is_published": True,
            "updated_time": "2025-03-22T18:20:04+0000",
            "promotion_status": "inactive",
            "id": f"{PAGE_ID}_122131676912594941",
        },
        "message": "Is this still available? Toget til Bergen er forsinket ✈",
        "post_id": f"{PAGE_ID}_122131676912594941",
        "comment_id": comment_id,
        "created_time": 1742667604,
        "item": "comment",
        "parent_id": f"{PAGE_ID}_122131676912594941",
        "verb": "add",
    }
    value.update(overrides)
    return feed(value)


def messaging(*items: dict[str, Any], obj: str = "page", account_id: str = PAGE_ID) -> dict[str, Any]:
    return {"object": obj, "entry": [{"id": account_id, "time": 1458692752478, "messaging": list(items)}]}


def dm(
    mid: str, text: str, *, sender: str = "psid-1", recipient: str = PAGE_ID, **extra: Any
) -> dict[str, Any]:
    timestamp = int(utcnow().timestamp() * 1000)
    return {
        "sender": {"id": sender},
        "recipient": {"id": recipient},
        "timestamp": timestamp,
        "message": {"mid": mid, "text": text, **extra},
    }


# --- handshake and verification ---------------------------------------------------------------


def test_handshake_echoes_the_challenge_only_for_the_right_verify_token(
    client: TestClient, page: int
) -> None:
    params = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": VERIFY_TOKEN}
    answer = client.get("/webhooks/meta", params=params)
    assert answer.status_code == 200
    assert answer.text == "1158201444"
    assert client.get("/webhooks/meta", params={**params, "hub.verify_token": "wrong"}).status_code == 403
    assert client.get("/webhooks/meta", params={**params, "hub.mode": "unsubscribe"}).status_code == 403


def test_a_forged_signature_is_refused_and_nothing_is_stored(
    client: TestClient, post: Post, page: int, database: Database
) -> None:
    assert post(comment(), secret="not-the-app-secret").status_code == 403
    raw = dumps(comment())
    assert client.post("/webhooks/meta", content=raw).status_code == 403  # no signature at all
    tampered = client.post(
        "/webhooks/meta",
        content=raw.replace(b"available", b"AVAILABLE"),
        headers={meta.SIGNATURE_HEADER: meta.sign(raw, APP_SECRET)},
    )
    assert tampered.status_code == 403
    assert raw_events(database) == []
    assert count_jobs(database, "webhook.process") == 0


def test_malformed_json_is_refused_with_400_and_the_raw_body_kept(
    client: TestClient, post: Post, page: int, database: Database
) -> None:
    body = b'{"object": "page", "entry": [ ...'
    answer = post(None, body=body)
    assert answer.status_code == 400
    (kept,) = raw_events(database)
    assert open_raw(kept.body) == body  # kept, encrypted at rest (docs/privacy.md)
    assert body not in kept.body
    assert kept.status == "rejected"
    assert kept.channel_id == page
    assert "malformed JSON" in kept.error
    assert post(None, body=body, secret="forged").status_code == 403
    assert len(raw_events(database)) == 1


def test_a_signed_delivery_for_an_unknown_page_is_acknowledged_and_kept_unrouted(
    post: Post, page: int, database: Database
) -> None:
    payload = comment()
    payload["entry"][0]["id"] = "999999"
    assert post(payload).status_code == 200
    (kept,) = raw_events(database)
    assert (kept.status, kept.channel_id) == ("unrouted", None)


# --- Facebook Page feed -----------------------------------------------------------------------


def test_a_comment_becomes_a_conversation_and_a_redelivery_changes_nothing(
    post: Post, page: int, database: Database, run_jobs: Callable[[], int]
) -> None:
    answer = post(comment())
    assert answer.status_code == 200
    assert answer.json() == {"stored": 1, "duplicates": 0}
    assert messages(database, page) == []  # stored raw, processed by the queue
    run_jobs()
    stored = message(database, page, "122131676912594941_1213590066982748")
    assert stored.text == "Is this still available? Toget til Bergen er forsinket ✈"
    assert (stored.direction, stored.kind, stored.author_name) == ("in", "comment", "Jane Customer")
    thread = conversation(database, stored.conversation_id)
    assert thread.thread_key == stored.external_id  # a top-level comment is its own conversation
    assert thread.subject.startswith("Comment on post")
    assert raw_events(database)[0].status == "processed"

    again = post(comment())
    assert again.json() == {"stored": 0, "duplicates": 1}
    run_jobs()
    assert len(raw_events(database)) == 1
    assert len(messages(database, page)) == 1


def test_a_reply_joins_its_comment_and_the_pages_own_comment_is_not_a_customer_message(
    post: Post, page: int, database: Database, run_jobs: Callable[[], int]
) -> None:
    post(comment("c_1"))
    post(
        comment("c_2", parent_id="c_1", message="And when will the next one leave?", created_time=1742667700)
    )
    post(
        comment(
            "c_3",
            parent_id="c_1",
            message="Hi Jane, in 20 minutes.",
            **{"from": {"id": PAGE_ID, "name": "Nordic Rail"}},
        )
    )
    run_jobs()
    stored = {row.external_id: row for row in messages(database, page)}
    assert set(stored) == {"c_1", "c_2"}
    assert stored["c_2"].conversation_id == stored["c_1"].conversation_id
    assert stored["c_2"].in_reply_to == "c_1"


def test_a_second_top_level_comment_on_the_same_post_is_a_separate_conversation(
    post: Post, page: int, database: Database, run_jobs: Callable[[], int]
) -> None:
    post(comment("c_1"))
    post(comment("c_9", **{"from": {"id": "555", "name": "Per"}}))
    run_jobs()
    first, second = messages(database, page)
    assert first.conversation_id != second.conversation_id


@pytest.mark.parametrize(
    ("verb", "state"),
    [("edited", "edited"), ("remove", "removed"), ("hide", "hidden"), ("unhide", "unhidden")],
)
def test_edits_removals_and_hides_update_the_stored_comment(
    post: Post, page: int, database: Database, run_jobs: Callable[[], int], verb: str, state: str
) -> None:
    post(comment("c_1"))
    run_jobs()
    change: dict[str, Any] = {"verb": verb, "created_time": 1742667800}
    if verb == "edited":
        change["message"] = "Never mind, found it"
    else:
        change["message"] = None
    post(comment("c_1", **change))
    run_jobs()
    stored = message(database, page, "c_1")
    assert stored.platform_state == state
    assert stored.text == (
        "Never mind, found it"
        if verb == "edited"
        else "Is this still available? Toget til Bergen er forsinket ✈"
    )
    assert len(messages(database, page)) == 1


def test_a_visitor_post_is_a_conversation_of_its_own(
    post: Post, page: int, database: Database, run_jobs: Callable[[], int]
) -> None:
    post(
        feed(
            {
                "item": "post",
                "verb": "add",
                "post_id": f"{PAGE_ID}_777",
                "from": {"id": "1234", "name": "Visitor"},
                "created_time": 1700000000,
                "message": "Hello page, my bike was not on the train",
                "is_hidden": False,
            }
        )
    )
    run_jobs()
    (stored,) = messages(database, page)
    assert (stored.kind, stored.external_id, stored.author_name) == ("post", f"{PAGE_ID}_777", "Visitor")


def test_likes_and_reactions_are_ignored(
    post: Post, page: int, database: Database, run_jobs: Callable[[], int]
) -> None:
    post(
        feed(
            {
                "item": "reaction",
                "verb": "add",
                "post_id": f"{PAGE_ID}_1",
                "reaction_type": "like",
                "from": {"id": "5"},
            }
        )
    )
    run_jobs()
    assert messages(database, page) == []
    assert raw_events(database)[0].status == "processed"


def test_a_batch_for_two_pages_is_stored_once_per_page(
    post: Post, page: int, database: Database, seeded: Seeded, run_jobs: Callable[[], int]
) -> None:
    other = connect(
        database,
        seeded.market,
        platform="facebook",
        account="FjordMarketPage",
        account_id="222",
        credentials=CREDENTIALS,
    )
    payload = comment("c_1")
    payload["entry"].append(comment("c_2", post_id="222_1", parent_id="222_1")["entry"][0] | {"id": "222"})
    assert post(payload).json() == {"stored": 2, "duplicates": 0}
    run_jobs()
    assert [row.external_id for row in messages(database, page)] == ["c_1"]
    assert [row.external_id for row in messages(database, other)] == ["c_2"]


# --- Messenger --------------------------------------------------------------------------------


def test_messenger_messages_with_attachments_thread_by_sender(
    post: Post, page: int, database: Database, run_jobs: Callable[[], int]
) -> None:
    post(messaging(dm("m_1", "hello, world!", quick_reply={"payload": "HELP"})))
    post(
        messaging(
            dm(
                "m_2",
                "",
                attachments=[
                    {"type": "image", "payload": {"url": "https://cdn.example/ticket.jpg"}},
                    {"type": "fallback"},
                ],
                reply_to={"mid": "m_1"},
            )
        )
    )
    run_jobs()
    first, second = messages(database, page)
    assert (first.kind, first.text) == ("dm", "hello, world!")
    assert second.conversation_id == first.conversation_id
    assert second.text == "[image] https://cdn.example/ticket.jpg\n[fallback]"
    assert conversation(database, first.conversation_id).thread_key == "dm:psid-1"


def test_echoes_of_our_sends_are_skipped_and_native_inbox_replies_recorded(
    post: Post, page: int, database: Database, run_jobs: Callable[[], int]
) -> None:
    post(messaging(dm("m_1", "is my seat booked?")))
    ours = dm(
        "m_ours",
        "Yes it is",
        sender=PAGE_ID,
        recipient="psid-1",
        is_echo=True,
        app_id=1517776481860111,
        metadata="tilsvar:abc",
    )
    native = dm(
        "m_native",
        "Also: bring your card",
        sender=PAGE_ID,
        recipient="psid-1",
        is_echo=True,
        app_id=263902037430900,
    )
    post(messaging(ours, native))
    run_jobs()
    stored = {row.external_id: row for row in messages(database, page)}
    assert set(stored) == {"m_1", "m_native"}
    assert stored["m_native"].direction == "out"
    assert stored["m_native"].conversation_id == stored["m_1"].conversation_id
    assert conversation(database, stored["m_1"].conversation_id).waiting_since is None


def test_postbacks_are_customer_messages_and_unknown_events_are_ignored(
    post: Post, page: int, database: Database, run_jobs: Callable[[], int]
) -> None:
    now = int(utcnow().timestamp() * 1000)
    post(
        messaging(
            {
                "sender": {"id": "psid-1"},
                "recipient": {"id": PAGE_ID},
                "timestamp": now,
                "postback": {"mid": "m_pb", "title": "Talk to a human", "payload": "HUMAN"},
            },
            {
                "sender": {"id": "psid-1"},
                "recipient": {"id": PAGE_ID},
                "timestamp": now,
                "reaction": {"mid": "m_1", "action": "react"},
            },
        )
    )
    run_jobs()
    (stored,) = messages(database, page)
    assert stored.text == "[button] Talk to a human"


# --- replies: Messenger send, window, receipts -------------------------------------------------


def _reply(client: TestClient, seeded: Seeded, conversation_id: int, text: str) -> int:
    answer = client.post(
        f"/api/v1/conversations/{conversation_id}/replies",
        json={"text": text},
        headers={"Authorization": f"Bearer {seeded.admin_token}"},
    )
    assert answer.status_code == 202, answer.text
    return int(answer.json()["id"])


def test_a_messenger_reply_is_sent_in_the_window_and_its_echo_and_receipts_are_recognised(
    client: TestClient, post: Post, page: int, seeded: Seeded, database: Database, run_jobs: Callable[[], int]
) -> None:
    post(messaging(dm("m_1", "is my seat booked?")))
    run_jobs()
    thread_id = message(database, page, "m_1").conversation_id
    reply_id = _reply(client, seeded, thread_id, "Yes, seat 42")
    with respx.mock:
        send = respx.post(f"{GRAPH}/{PAGE_ID}/messages").mock(
            return_value=httpx.Response(200, json={"recipient_id": "psid-1", "message_id": "m_sent"})
        )
        run_jobs()
    assert send.call_count == 1
    request = send.calls.last.request
    body = json.loads(request.content)
    assert body["recipient"] == {"id": "psid-1"}
    assert body["messaging_type"] == "RESPONSE"
    assert body["message"]["text"] == "Yes, seat 42"
    assert body["message"]["metadata"].startswith("tilsvar:")
    assert request.url.params["access_token"] == "page-token"
    assert request.url.params["appsecret_proof"]
    sent = message(database, page, "m_sent")
    assert (sent.id, sent.delivery_state) == (reply_id, "sent")

    # The echo (with our metadata) adds nothing; delivery then read receipts mark the reply.
    echo = dm(
        "m_sent",
        "Yes, seat 42",
        sender=PAGE_ID,
        recipient="psid-1",
        is_echo=True,
        metadata=body["message"]["metadata"],
    )
    watermark = int(utcnow().timestamp() * 1000) + 1000
    post(messaging(echo))
    post(
        messaging(
            {
                "sender": {"id": "psid-1"},
                "recipient": {"id": PAGE_ID},
                "delivery": {"mids": ["m_sent"], "watermark": watermark},
            }
        )
    )
    run_jobs()
    assert message(database, page, "m_sent").platform_state == "delivered"
    post(
        messaging(
            {
                "sender": {"id": "psid-1"},
                "recipient": {"id": PAGE_ID},
                "timestamp": watermark,
                "read": {"watermark": watermark},
            }
        )
    )
    run_jobs()
    assert message(database, page, "m_sent").platform_state == "read"
    assert len(messages(database, page)) == 2


def test_a_messenger_reply_after_24_hours_fails_clearly_without_calling_meta(
    client: TestClient, post: Post, page: int, seeded: Seeded, database: Database, run_jobs: Callable[[], int]
) -> None:
    old = dm("m_old", "anyone there?")
    old["timestamp"] = int((utcnow() - timedelta(hours=30)).timestamp() * 1000)
    post(messaging(old))
    run_jobs()
    reply_id = _reply(client, seeded, message(database, page, "m_old").conversation_id, "Sorry for the wait")
    with respx.mock:
        run_jobs()  # any Graph call would fail: respx refuses unmocked requests
    failed = next(row for row in messages(database, page) if row.id == reply_id)
    assert failed.delivery_state == "failed"
    assert "24-hour messaging window" in failed.delivery_error
    assert outbound_job(database).status == "dead"


def _move_to_private(client: TestClient, seeded: Seeded, conversation_id: int) -> int:
    moved = client.post(
        f"/api/v1/conversations/{conversation_id}/move-to-private",
        json={},
        headers={"Authorization": f"Bearer {seeded.admin_token}"},
    )
    assert moved.status_code == 201, moved.text
    return int(moved.json()["conversation_id"])


def test_a_comment_moved_to_private_is_answered_by_a_private_reply_and_the_answer_joins_it(
    client: TestClient, post: Post, page: int, seeded: Seeded, database: Database, run_jobs: Callable[[], int]
) -> None:
    post(comment("c_priv", created_time=int(utcnow().timestamp()) - 3600))
    run_jobs()
    private = _move_to_private(client, seeded, message(database, page, "c_priv").conversation_id)
    reply_id = _reply(client, seeded, private, "Send us your booking number here, please")
    with respx.mock:
        send = respx.post(f"{GRAPH}/{PAGE_ID}/messages").mock(
            return_value=httpx.Response(200, json={"recipient_id": "psid-77", "message_id": "m_priv"})
        )
        run_jobs()
    assert send.call_count == 1
    body = json.loads(send.calls.last.request.content)
    assert body["recipient"] == {"comment_id": "c_priv"}
    assert body["message"]["text"] == "Send us your booking number here, please"
    assert body["message"]["metadata"].startswith("tilsvar:")  # its echo is recognised as ours
    sent = message(database, page, "m_priv")
    assert (sent.id, sent.delivery_state, sent.conversation_id) == (reply_id, "sent", private)

    # The customer answers in Messenger from the PSID Meta told us: the same private conversation.
    post(messaging(dm("m_answer", "AB-1234", sender="psid-77")))
    run_jobs()
    assert message(database, page, "m_answer").conversation_id == private
    # From then on replies are ordinary Messenger messages to that PSID.
    _reply(client, seeded, private, "Thanks, you are rebooked")
    with respx.mock:
        send = respx.post(f"{GRAPH}/{PAGE_ID}/messages").mock(
            return_value=httpx.Response(200, json={"recipient_id": "psid-77", "message_id": "m_priv2"})
        )
        run_jobs()
    body = json.loads(send.calls.last.request.content)
    assert (body["recipient"], body["messaging_type"]) == ({"id": "psid-77"}, "RESPONSE")


def test_a_private_reply_to_a_comment_older_than_7_days_fails_clearly_without_calling_meta(
    client: TestClient, post: Post, page: int, seeded: Seeded, database: Database, run_jobs: Callable[[], int]
) -> None:
    post(comment("c_old", created_time=int((utcnow() - timedelta(days=8)).timestamp())))
    run_jobs()
    private = _move_to_private(client, seeded, message(database, page, "c_old").conversation_id)
    reply_id = _reply(client, seeded, private, "Can we help?")
    with respx.mock:
        run_jobs()  # any Graph call would fail: respx refuses unmocked requests
    failed = next(row for row in messages(database, page) if row.id == reply_id)
    assert failed.delivery_state == "failed"
    assert "within 7 days" in failed.delivery_error
    assert outbound_job(database).status == "dead"


def test_with_the_human_agent_permission_a_late_reply_is_tagged(database: Database, seeded: Seeded) -> None:
    reply = OutboundReply(
        platform="facebook",
        account="NordicRailPage",
        kind="dm",
        text="Sorry for the wait",
        thread_key="dm:psid-1",
        in_reply_to="m_old",
        recipient_id="psid-1",
        last_inbound_at=utcnow() - timedelta(days=2),
        idempotency_key="k1",
        credentials=CREDENTIALS,
        config={"account_id": PAGE_ID, "human_agent": True},
    )
    with respx.mock:
        send = respx.post(f"{GRAPH}/{PAGE_ID}/messages").mock(
            return_value=httpx.Response(200, json={"message_id": "m_x"})
        )
        assert meta.MetaConnector("facebook").send_reply(reply).external_id == "m_x"
    body = json.loads(send.calls.last.request.content)
    assert (body["messaging_type"], body["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")


# --- replies to comments, errors -------------------------------------------------------------


def test_a_reply_to_a_comment_posts_under_that_comment(
    client: TestClient, post: Post, page: int, seeded: Seeded, database: Database, run_jobs: Callable[[], int]
) -> None:
    post(comment("c_1"))
    run_jobs()
    _reply(client, seeded, message(database, page, "c_1").conversation_id, "Yes, still available!")
    with respx.mock:
        route = respx.post(f"{GRAPH}/c_1/comments").mock(
            return_value=httpx.Response(200, json={"id": "c_1_reply"})
        )
        run_jobs()
    assert route.call_count == 1
    assert route.calls.last.request.content == b"message=Yes%2C+still+available%21"
    assert message(database, page, "c_1_reply").delivery_state == "sent"
    # The page's own comment comes back through the feed webhook: not a customer message.
    post(
        comment(
            "c_1_reply",
            parent_id="c_1",
            message="Yes, still available!",
            **{"from": {"id": PAGE_ID, "name": "Nordic Rail"}},
        )
    )
    run_jobs()
    assert len(messages(database, page)) == 2


def test_an_expired_token_marks_the_channel_for_reconnection(
    client: TestClient, post: Post, page: int, seeded: Seeded, database: Database, run_jobs: Callable[[], int]
) -> None:
    post(comment("c_1"))
    run_jobs()
    reply_id = _reply(client, seeded, message(database, page, "c_1").conversation_id, "Hello")
    error = {
        "error": {
            "message": "Error validating access token: Session has expired",
            "type": "OAuthException",
            "code": 190,
            "error_subcode": 463,
        }
    }
    with respx.mock:
        respx.post(f"{GRAPH}/c_1/comments").mock(return_value=httpx.Response(400, json=error))
        run_jobs()
    failed = next(row for row in messages(database, page) if row.id == reply_id)
    assert failed.delivery_state == "failed"
    assert "Meta error 190/463" in failed.delivery_error
    connected = channel(database, page)
    assert connected.status == "needs_reconnect"
    assert "reconnect" in connected.status_reason


def test_throttling_is_retried_later(
    client: TestClient, post: Post, page: int, seeded: Seeded, database: Database, run_jobs: Callable[[], int]
) -> None:
    post(comment("c_1"))
    run_jobs()
    reply_id = _reply(client, seeded, message(database, page, "c_1").conversation_id, "Hello")
    error = {"error": {"message": "(#32) Page request limit reached", "code": 32, "fbtrace_id": "x"}}
    with respx.mock:
        route = respx.post(f"{GRAPH}/c_1/comments").mock(
            side_effect=[httpx.Response(400, json=error), httpx.Response(200, json={"id": "c_r"})]
        )
        run_jobs()  # backoff is 0 s in tests, so the retry runs in the same call
    assert route.call_count == 2
    sent = next(row for row in messages(database, page) if row.id == reply_id)
    assert (sent.delivery_state, sent.external_id) == ("sent", "c_r")


@pytest.mark.parametrize(
    ("status", "error", "retryable"),
    [
        (500, {"error": {"message": "boom", "code": 1}}, True),
        (400, {"error": {"message": "x", "code": 100, "is_transient": True}}, True),
        (400, {"error": {"message": "Invalid parameter", "code": 100}}, False),
        (400, {"error": {"message": "outside window", "code": 10, "error_subcode": 2018278}}, False),
        (403, {"error": {"message": "BUC", "code": 80006}}, True),
    ],
)
def test_graph_errors_map_to_retry_or_not(status: int, error: dict[str, Any], retryable: bool) -> None:
    mapped = meta.map_error(httpx.Response(status, json=error))
    assert mapped.retryable is retryable
    assert not mapped.needs_reconnect


# --- private replies and moderation --------------------------------------------------------------


def test_private_reply_hide_unhide_and_delete_call_the_graph_api() -> None:
    connector = meta.MetaConnector("facebook")
    config = {"account_id": PAGE_ID}
    with respx.mock:
        private = respx.post(f"{GRAPH}/{PAGE_ID}/messages").mock(
            return_value=httpx.Response(200, json={"message_id": "m_p"})
        )
        hide = respx.post(f"{GRAPH}/c_1").mock(return_value=httpx.Response(200, json={"success": True}))
        delete = respx.delete(f"{GRAPH}/c_1").mock(return_value=httpx.Response(200, json={"success": True}))
        assert (
            connector.private_reply(
                comment_id="c_1", text="Let's continue here", credentials=CREDENTIALS, config=config
            )
            == "m_p"
        )
        connector.private_reply(post_id=f"{PAGE_ID}_777", text="Hi", credentials=CREDENTIALS, config=config)
        connector.hide_comment(comment_id="c_1", hidden=True, credentials=CREDENTIALS, config=config)
        connector.hide_comment(comment_id="c_1", hidden=False, credentials=CREDENTIALS, config=config)
        connector.delete_comment(comment_id="c_1", credentials=CREDENTIALS, config=config)
    first, second = (json.loads(call.request.content) for call in private.calls)
    assert first == {"recipient": {"comment_id": "c_1"}, "message": {"text": "Let's continue here"}}
    assert second["recipient"] == {"post_id": f"{PAGE_ID}_777"}
    assert [call.request.content for call in hide.calls] == [b"is_hidden=true", b"is_hidden=false"]
    assert delete.call_count == 1


def test_instagram_moderation_uses_its_own_field_and_login_host() -> None:
    connector = meta.MetaConnector("instagram")
    config = {"account_id": IG_ID, "instagram_login": True, "graph_api_version": "v26.0"}
    with respx.mock:
        hide = respx.post("https://graph.instagram.com/v26.0/ig_c1").mock(
            return_value=httpx.Response(200, json={"success": True})
        )
        private = respx.post("https://graph.instagram.com/v26.0/me/messages").mock(
            return_value=httpx.Response(200, json={"message_id": "ig_m"})
        )
        connector.hide_comment(comment_id="ig_c1", hidden=True, credentials=CREDENTIALS, config=config)
        assert (
            connector.private_reply(comment_id="ig_c1", text="DM us", credentials=CREDENTIALS, config=config)
            == "ig_m"
        )
    assert hide.calls.last.request.content == b"hide=true"
    assert private.call_count == 1


# --- Instagram ------------------------------------------------------------------------------------


def _ig_comment_changes(value: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "instagram",
        "entry": [{"id": IG_ID, "time": 1755779280, "changes": [{"field": "comments", "value": value}]}],
    }


def test_instagram_comments_in_both_field_variants(
    post: Post, insta: int, database: Database, run_jobs: Callable[[], int]
) -> None:
    # Real deliveries: changes[] with ``id``.
    post(
        _ig_comment_changes(
            {
                "from": {"id": "2105722729836161", "username": "someuser"},
                "media": {"id": "18172143295349192", "media_product_type": "FEED"},
                "id": "17919697626119712",
                "text": "price?",
            }
        )
    )
    # The Facebook-login example calls the id ``comment_id`` and the docs nest field/value in the
    # entry, wrapped in a list; a reply carries ``parent_id``.
    post(
        [
            {
                "object": "instagram",
                "entry": [
                    {
                        "id": IG_ID,
                        "time": 1755779290,
                        "field": "comments",
                        "value": {
                            "comment_id": "17919697626119999",
                            "parent_id": "17919697626119712",
                            "from": {"id": "2105722729836161", "username": "someuser"},
                            "text": "still waiting",
                            "media": {"id": "18172143295349192"},
                        },
                    }
                ],
            }
        ]
    )
    # The account's own comment (its reply) is not a customer message.
    post(
        _ig_comment_changes(
            {"from": {"id": IG_ID, "username": "nordicrail"}, "id": "17919697626110000", "text": "DM us!"}
        )
    )
    run_jobs()
    first, second = messages(database, insta)
    assert (first.external_id, first.text, first.author_name) == ("17919697626119712", "price?", "someuser")
    assert (second.external_id, second.in_reply_to) == ("17919697626119999", "17919697626119712")
    assert second.conversation_id == first.conversation_id


def test_instagram_direct_messages_unsend_and_reply(
    client: TestClient,
    post: Post,
    insta: int,
    seeded: Seeded,
    database: Database,
    run_jobs: Callable[[], int],
) -> None:
    post(messaging(dm("ig_m1", "hi", sender="igsid-1", recipient=IG_ID), obj="instagram", account_id=IG_ID))
    post(
        messaging(
            dm("ig_m2", "wrong chat", sender="igsid-1", recipient=IG_ID), obj="instagram", account_id=IG_ID
        )
    )
    post(
        messaging(
            dm("ig_m2", "", sender="igsid-1", recipient=IG_ID, is_deleted=True),
            obj="instagram",
            account_id=IG_ID,
        )
    )
    run_jobs()
    assert message(database, insta, "ig_m2").platform_state == "removed"
    thread_id = message(database, insta, "ig_m1").conversation_id
    _reply(client, seeded, thread_id, "Hello from Nordic Rail")
    with respx.mock:
        send = respx.post(f"{GRAPH}/{IG_ID}/messages").mock(
            return_value=httpx.Response(200, json={"message_id": "ig_sent"})
        )
        run_jobs()
    body = json.loads(send.calls.last.request.content)
    assert body["recipient"] == {"id": "igsid-1"}
    assert "metadata" not in body["message"]
    assert message(database, insta, "ig_sent").delivery_state == "sent"


def test_an_instagram_comment_reply_uses_the_replies_edge(
    client: TestClient,
    post: Post,
    insta: int,
    seeded: Seeded,
    database: Database,
    run_jobs: Callable[[], int],
) -> None:
    post(
        _ig_comment_changes(
            {"from": {"id": "2105722729836161", "username": "someuser"}, "id": "ig_c1", "text": "price?"}
        )
    )
    run_jobs()
    _reply(client, seeded, message(database, insta, "ig_c1").conversation_id, "Check the link in bio")
    with respx.mock:
        route = respx.post(f"{GRAPH}/ig_c1/replies").mock(
            return_value=httpx.Response(200, json={"id": "ig_c1_r"})
        )
        run_jobs()
    assert route.call_count == 1
    assert message(database, insta, "ig_c1_r").direction == "out"


def test_instagram_mentions_and_dashboard_test_events_are_understood() -> None:
    mention = {
        "object": "instagram",
        "entry": [
            {
                "id": IG_ID,
                "time": 1,
                "changes": [{"field": "mentions", "value": {"media_id": "m1", "comment_id": "c1"}}],
            }
        ],
    }
    (event,) = meta.parse(mention, platform="instagram", account="nordicrail", account_id=IG_ID)
    assert isinstance(event, InboundMessage)
    assert event.external_id == "c1"
    test_event = {
        "object": "instagram",
        "entry": [
            {
                "id": IG_ID,
                "time": 1,
                "changes": [
                    {"field": "messages", "value": dm("t1", "test", sender="igsid", recipient=IG_ID)}
                ],
            }
        ],
    }
    (event,) = meta.parse(test_event, platform="instagram", account="nordicrail", account_id=IG_ID)
    assert isinstance(event, InboundMessage)
    assert event.kind == "dm"


# --- recorded payloads --------------------------------------------------------------------------


def test_the_recorded_messenger_payloads_parse() -> None:
    recorded = RECORDED / "meta_messenger" / "botman_driver_facebook_webhook_bodies.jsonl"
    if not recorded.exists():
        pytest.skip("../shared/platforms/recorded is not available")
    kinds: dict[str, int] = {}
    for line in recorded.read_text().splitlines():
        payload = json.loads(line)["payload"]
        for platform, account_id in meta.accounts(payload):
            for event in meta.parse(payload, platform=platform, account="recorded", account_id=account_id):
                kinds[type(event).__name__] = kinds.get(type(event).__name__, 0) + 1
                if isinstance(event, InboundMessage):
                    assert event.external_id
                    assert event.created_at.tzinfo is not None
                else:
                    assert isinstance(event, Ignored | Receipt | MessageChanged)
    assert kinds["InboundMessage"] >= 5
    assert kinds["Receipt"] == 2
    assert kinds["Ignored"] >= 4  # referral, optin, account linking, checkout, unknown


def test_channels_add_reads_secrets_from_files_and_stores_them_encrypted(
    settings: Settings, seeded: Seeded, database: Database, tmp_path: Path
) -> None:
    (tmp_path / "app-secret").write_text("s3cret-from-file\n")
    (tmp_path / "token").write_text("page-token-from-file\n")
    result = CliRunner().invoke(
        cli.app,
        [
            "channels", "add", "--platform", "facebook", "--account", "NordicRailCli", "--brand", "rail",
            "--account-id", "4242", "--verify-token", "vt", "--app-secret-file", str(tmp_path / "app-secret"),
            "--access-token-file", str(tmp_path / "token"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "s3cret" not in result.output
    with database.reader() as session:
        added = session.scalars(select(Channel).where(Channel.account == "NordicRailCli")).one()
        assert added.config == {"account_id": "4242"}
        assert added.credentials_encrypted is not None
        assert b"s3cret" not in added.credentials_encrypted
        assert channel_credentials(added) == {
            "app_secret": "s3cret-from-file",
            "access_token": "page-token-from-file",
            "verify_token": "vt",
        }
