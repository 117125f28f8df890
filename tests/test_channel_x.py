"""X connector contract: the CRC, signed Account Activity and X Activity API deliveries through
``/webhooks/x`` into the real database, and the v2 calls we make (mocked with respx)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx
from fastapi.testclient import TestClient

from tilsvar.channels import x
from tilsvar.channels.activity import AccessRevoked, Ignored, MessageChanged
from tilsvar.channels.base import InboundMessage
from tilsvar.db import Database
from tilsvar.jobs.worker import Worker
from webhook_support import RECORDED, channel, connect, conversation, dumps, message, messages, raw_events

from conftest import Seeded

SECRET = "x-consumer-secret"
BRAND_ID = "2975699229"
CUSTOMER = {
    "id": 1205290247124217856,
    "id_str": "1205290247124217856",
    "name": "pennbrooke",
    "screen_name": "pennbrooke1",
}
Post = Callable[..., Any]


@pytest.fixture
def handle(database: Database, seeded: Seeded) -> int:
    return connect(
        database,
        seeded.rail,
        platform="x",
        account="NordicRailCare",
        account_id=BRAND_ID,
        credentials={"consumer_secret": SECRET, "access_token": "x-user-token"},
    )


@pytest.fixture
def post(client: TestClient) -> Post:
    def _post(payload: Any, *, secret: str = SECRET) -> Any:
        raw = dumps(payload)
        return client.post("/webhooks/x", content=raw, headers={x.SIGNATURE_HEADER: x.sign(raw, secret)})

    return _post


def tweet(
    tweet_id: str, text: str, *, user: dict[str, Any] | None = None, reply_to: str | None = None
) -> dict[str, Any]:
    return {
        "for_user_id": BRAND_ID,
        "user_has_blocked": False,
        "tweet_create_events": [
            {
                "created_at": "Fri Dec 13 04:48:09 +0000 2019",
                "id": int(tweet_id),
                "id_str": tweet_id,
                "text": text,
                "source": '<a href="https://mobile.twitter.com" rel="nofollow">Twitter Web App</a>',
                "truncated": False,
                "in_reply_to_status_id": int(reply_to) if reply_to else None,
                "in_reply_to_status_id_str": reply_to,
                "in_reply_to_user_id": 2975699229,
                "in_reply_to_user_id_str": BRAND_ID,
                "user": user or CUSTOMER,
                "entities": {"user_mentions": [{"screen_name": "NordicRailCare", "id_str": BRAND_ID}]},
                "timestamp_ms": "1576212489730",
            }
        ],
    }


def dm_event(
    event_id: str, text: str, *, sender: str = "1205290247124217856", recipient: str = BRAND_ID
) -> dict[str, Any]:
    return {
        "for_user_id": BRAND_ID,
        "direct_message_events": [
            {
                "type": "message_create",
                "id": event_id,
                "created_timestamp": "1576540475925",
                "message_create": {
                    "target": {"recipient_id": recipient},
                    "sender_id": sender,
                    "message_data": {
                        "text": text,
                        "entities": {"hashtags": [], "symbols": [], "user_mentions": [], "urls": []},
                    },
                },
            }
        ],
        "users": {
            "1205290247124217856": {
                "id": "1205290247124217856",
                "name": "pennbrooke",
                "screen_name": "pennbrooke1",
            },
            BRAND_ID: {"id": BRAND_ID, "name": "Nordic Rail", "screen_name": "NordicRailCare"},
        },
    }


def test_the_crc_answers_with_the_base64_hmac_of_the_token(client: TestClient, handle: int) -> None:
    answer = client.get("/webhooks/x", params={"crc_token": "challenge-123"})
    assert answer.status_code == 200
    expected = base64.b64encode(hmac.new(SECRET.encode(), b"challenge-123", hashlib.sha256).digest()).decode()
    assert answer.json() == {"response_token": f"sha256={expected}"}


def test_forged_deliveries_are_refused(post: Post, handle: int, database: Database) -> None:
    assert post(tweet("1", "@NordicRailCare hi"), secret="wrong").status_code == 403
    assert raw_events(database) == []


def test_a_mention_and_the_replies_in_its_chain_are_one_conversation(
    post: Post, handle: int, database: Database, run_jobs: Callable[[], int]
) -> None:
    assert (
        post(
            tweet("1205348660982083584", "@NordicRailCare This is a test of Twitter API webhooks.")
        ).status_code
        == 200
    )
    post(tweet("1207623566339919872", "@NordicRailCare and my train is late", reply_to="1205348660982083584"))
    post(
        tweet(
            "1207623566339919999",
            "@pennbrooke1 sorry!",
            user={"id_str": BRAND_ID, "screen_name": "NordicRailCare"},
            reply_to="1207623566339919872",
        )
    )
    run_jobs()
    mention, reply = messages(database, handle)
    assert (mention.kind, mention.author_name, mention.text) == (
        "post",
        "pennbrooke",
        "@NordicRailCare This is a test of Twitter API webhooks.",
    )
    assert (reply.kind, reply.conversation_id, reply.in_reply_to) == (
        "comment",
        mention.conversation_id,
        mention.external_id,
    )
    assert conversation(database, mention.conversation_id).thread_key == mention.external_id


def test_dms_thread_by_participant_and_the_brands_own_are_outbound(
    post: Post, handle: int, database: Database, run_jobs: Callable[[], int]
) -> None:
    post(dm_event("1206724334791753732", "Yes, you are!"))
    post(dm_event("1206724334791753799", "Thanks, noted", sender=BRAND_ID, recipient="1205290247124217856"))
    run_jobs()
    incoming, outgoing = messages(database, handle)
    assert (incoming.direction, incoming.kind, incoming.author_name) == ("in", "dm", "pennbrooke")
    assert outgoing.direction == "out"
    assert outgoing.conversation_id == incoming.conversation_id
    assert conversation(database, incoming.conversation_id).thread_key == "dm:1205290247124217856"


def test_deletes_and_revocation(
    post: Post, handle: int, database: Database, run_jobs: Callable[[], int]
) -> None:
    post(tweet("11", "@NordicRailCare hello"))
    run_jobs()
    post(
        {
            "for_user_id": BRAND_ID,
            "tweet_delete_events": [
                {"status": {"id": "11", "user_id": "1205290247124217856"}, "timestamp_ms": "1432228155593"}
            ],
        }
    )
    post(
        {
            "user_event": {
                "revoke": {
                    "date_time": "2018-05-24T09:48:12+00:00",
                    "target": {"app_id": "13090192"},
                    "source": {"user_id": BRAND_ID},
                }
            }
        }
    )
    post({"for_user_id": BRAND_ID, "favorite_events": [{"id": "a7ba59", "favorited_status": {}, "user": {}}]})
    run_jobs()
    assert message(database, handle, "11").platform_state == "removed"
    assert channel(database, handle).status == "needs_reconnect"
    assert all(row.status == "processed" for row in raw_events(database))


def test_x_activity_api_events_in_both_dm_shapes_and_redelivery(
    post: Post, handle: int, database: Database, run_jobs: Callable[[], int]
) -> None:
    flat = {
        "data": {
            "event_uuid": "2080761390344937796",
            "filter": {"user_id": BRAND_ID},
            "event_type": "dm.received",
            "tag": "dms",
            "payload": {
                "id": "dm-flat-1",
                "event_type": "MessageCreate",
                "sender_id": "777",
                "dm_conversation_id": f"777-{BRAND_ID}",
                "participant_ids": ["777", BRAND_ID],
                "text": "Is the 8:15 cancelled?",
                "created_at": "2026-05-01T10:00:00.000Z",
            },
        }
    }
    wrapped = {
        "data": {
            "event_uuid": "2080761390344937797",
            "filter": {"user_id": BRAND_ID},
            "event_type": "dm.received",
            "payload": dm_event("dm-wrapped-1", "hello from the wrapper"),
        }
    }
    created = {
        "data": {
            "event_uuid": "2080761390344937798",
            "filter": {"user_id": BRAND_ID},
            "event_type": "post.create",
            "payload": {
                "id": "p1",
                "text": "@NordicRailCare wifi broken",
                "author_id": "888",
                "created_at": "2026-05-01T10:01:00Z",
                "referenced_tweets": [{"type": "replied_to", "id": "p0"}],
            },
            "includes": {"users": [{"id": "888", "username": "kari", "name": "Kari"}]},
        }
    }
    assert post(flat).json() == {"stored": 1, "duplicates": 0}
    assert post(flat).json() == {"stored": 0, "duplicates": 1}
    post(wrapped)
    post(created)
    run_jobs()
    stored = {row.external_id: row for row in messages(database, handle)}
    assert stored["dm-flat-1"].text == "Is the 8:15 cancelled?"
    assert stored["dm-wrapped-1"].kind == "dm"
    assert (stored["p1"].author_name, stored["p1"].in_reply_to) == ("Kari", "p0")
    assert len(raw_events(database)) == 3


def _reply(client: TestClient, seeded: Seeded, conversation_id: int, text: str) -> int:
    answer = client.post(
        f"/api/v1/conversations/{conversation_id}/replies",
        json={"text": text},
        headers={"Authorization": f"Bearer {seeded.admin_token}"},
    )
    assert answer.status_code == 202, answer.text
    return int(answer.json()["id"])


def test_replies_to_posts_and_dms_use_the_v2_api(
    client: TestClient,
    post: Post,
    handle: int,
    seeded: Seeded,
    database: Database,
    run_jobs: Callable[[], int],
) -> None:
    post(tweet("21", "@NordicRailCare my seat is broken"))
    post(dm_event("dm-1", "hello?"))
    run_jobs()
    _reply(client, seeded, message(database, handle, "21").conversation_id, "Sorry! Which car?")
    _reply(client, seeded, message(database, handle, "dm-1").conversation_id, "Hi, how can we help?")
    with respx.mock:
        tweets = respx.post("https://api.x.com/2/tweets").mock(
            return_value=httpx.Response(
                201,
                json={"data": {"id": "22", "text": "Sorry! Which car?", "edit_history_tweet_ids": ["22"]}},
            )
        )
        dms = respx.post("https://api.x.com/2/dm_conversations/with/1205290247124217856/messages").mock(
            return_value=httpx.Response(
                201, json={"data": {"dm_conversation_id": "c", "dm_event_id": "dm-2"}}
            )
        )
        run_jobs()
    assert json.loads(tweets.calls.last.request.content) == {
        "text": "Sorry! Which car?",
        "reply": {"in_reply_to_tweet_id": "21"},
    }
    assert tweets.calls.last.request.headers["Authorization"] == "Bearer x-user-token"
    assert json.loads(dms.calls.last.request.content) == {"text": "Hi, how can we help?"}
    assert message(database, handle, "22").delivery_state == "sent"
    assert message(database, handle, "dm-2").delivery_state == "sent"
    # Our reply tweet comes back through the webhook; the brand's own post is not stored again.
    post(
        tweet(
            "22",
            "@pennbrooke1 Sorry! Which car?",
            user={"id_str": BRAND_ID, "screen_name": "NordicRailCare"},
            reply_to="21",
        )
    )
    run_jobs()
    assert len(messages(database, handle)) == 4


def test_an_expired_token_and_rate_limits(
    client: TestClient,
    post: Post,
    handle: int,
    seeded: Seeded,
    database: Database,
    run_jobs: Callable[[], int],
) -> None:
    post(tweet("31", "@NordicRailCare hi"))
    run_jobs()
    thread = message(database, handle, "31").conversation_id
    _reply(client, seeded, thread, "Hello")
    with respx.mock:
        route = respx.post("https://api.x.com/2/tweets").mock(
            side_effect=[
                httpx.Response(
                    429, json={"title": "Too Many Requests"}, headers={"x-rate-limit-reset": "1700000000"}
                ),
                httpx.Response(401, json={"title": "Unauthorized", "detail": "Unauthorized"}),
            ]
        )
        run_jobs()
    assert route.call_count == 2
    failed = next(row for row in messages(database, handle) if row.direction == "out")
    assert failed.delivery_state == "failed"
    assert "401" in failed.delivery_error
    assert channel(database, handle).status == "needs_reconnect"


def test_hide_reply() -> None:
    with respx.mock:
        route = respx.put("https://api.x.com/2/tweets/41/hidden").mock(
            return_value=httpx.Response(200, json={"data": {"hidden": True}})
        )
        assert x.XConnector().hide_reply(
            tweet_id="41", hidden=True, credentials={"access_token": "t"}, config={}
        )
    assert json.loads(route.calls.last.request.content) == {"hidden": True}


def test_the_recorded_x_payloads_parse() -> None:
    folder = RECORDED / "x_twitter" / "zammad_test_data"
    if not folder.exists():
        pytest.skip("../shared/platforms/recorded is not available")
    seen: dict[str, int] = {}
    for path in sorted(folder.rglob("*.json")):
        payload = json.loads(path.read_text())
        payload = payload.get("params", payload)  # some files wrap the body with its headers
        for _, account_id in x.accounts(payload):
            for event in x.parse(payload, platform="x", account="recorded", account_id=account_id):
                seen[type(event).__name__] = seen.get(type(event).__name__, 0) + 1
                if isinstance(event, InboundMessage):
                    assert event.external_id
                    assert event.text
                else:
                    assert isinstance(event, Ignored | MessageChanged | AccessRevoked)
    assert seen["InboundMessage"] >= 5
    assert seen["Ignored"] >= 2  # follow, favourite


def test_an_echo_that_arrives_before_the_send_returns_is_merged_into_the_reply(
    client: TestClient,
    post: Post,
    handle: int,
    seeded: Seeded,
    database: Database,
    run_jobs: Callable[[], int],
) -> None:
    post(dm_event("dm-1", "hello?"))
    run_jobs()
    reply_id = _reply(client, seeded, message(database, handle, "dm-1").conversation_id, "Hi!")

    def send_and_echo(request: httpx.Request) -> httpx.Response:
        # The platform delivers the echo of our DM (and we store it) before answering the send.
        post(dm_event("dm-2", "Hi!", sender=BRAND_ID, recipient="1205290247124217856"))
        Worker(database, worker_id="echo", queues=["inbound"]).run_until_idle()
        return httpx.Response(201, json={"data": {"dm_conversation_id": "c", "dm_event_id": "dm-2"}})

    with respx.mock:
        route = respx.post("https://api.x.com/2/dm_conversations/with/1205290247124217856/messages").mock(
            side_effect=send_and_echo
        )
        run_jobs()
    assert route.call_count == 1
    sent = message(database, handle, "dm-2")
    assert (sent.id, sent.delivery_state) == (reply_id, "sent")
    assert len(messages(database, handle)) == 2
