"""LinkedIn connector contract: the challenge, signed organisation notifications (both signature
variants) through ``/webhooks/linkedin`` into the real database, and the socialActions comment call
with its configurable ``LinkedIn-Version`` header (mocked with respx)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx
from fastapi.testclient import TestClient

from tilsvar.channels import linkedin
from tilsvar.db import Database
from webhook_support import channel, connect, dumps, message, messages, raw_events

from conftest import Seeded

SECRET = "li-client-secret"
ORG = "urn:li:organization:2414183"
POST_URN = "urn:li:activity:7012345678901234567"
COMMENT = f"urn:li:comment:({POST_URN},7012399999999999999)"
Post = Callable[..., Any]


@pytest.fixture
def org(database: Database, seeded: Seeded) -> int:
    return connect(
        database,
        seeded.rail,
        platform="linkedin",
        account="nordic-rail",
        account_id=ORG,
        credentials={"client_secret": SECRET, "access_token": "li-token"},
        config={"linkedin_version": "202608"},
    )


@pytest.fixture
def post(client: TestClient) -> Post:
    def _post(payload: Any, *, secret: str = SECRET, prefixed: bool = True) -> Any:
        raw = dumps(payload)
        return client.post(
            "/webhooks/linkedin",
            content=raw,
            headers={linkedin.SIGNATURE_HEADER: linkedin.sign(raw, secret, prefixed=prefixed)},
        )

    return _post


def notification(notification_id: int, action: str, activity: str, **decorated: Any) -> dict[str, Any]:
    return {
        "type": "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS",
        "notifications": [
            {
                "notificationId": notification_id,
                "organizationalEntity": ORG,
                "action": action,
                "sourcePost": "urn:li:share:7012345678901234567",
                "generatedActivity": activity,
                "decoratedGeneratedActivity": decorated,
                "lastModifiedAt": 1700000000000,
                "subscriber": "urn:li:person:adminMemberId",
            }
        ],
    }


def test_the_challenge_is_answered_with_the_hmac_of_the_code(client: TestClient, org: int) -> None:
    code = "890e4665-4dfe-4ab1-b689-ed553bceeed0"
    answer = client.get("/webhooks/linkedin", params={"challengeCode": code, "applicationId": "1"})
    assert answer.status_code == 200
    assert answer.json() == {
        "challengeCode": code,
        "challengeResponse": hmac.new(SECRET.encode(), code.encode(), hashlib.sha256).hexdigest(),
    }


@pytest.mark.parametrize("prefixed", [True, False])
def test_a_comment_notification_in_either_signature_variant_becomes_a_message_once(
    post: Post, org: int, database: Database, run_jobs: Callable[[], int], prefixed: bool
) -> None:
    payload = notification(
        1234567890123,
        "COMMENT",
        COMMENT,
        comment={"text": "Når går neste tog?", "owner": "urn:li:person:abc"},
    )
    assert post(payload, prefixed=prefixed).json() == {"stored": 1, "duplicates": 0}
    assert post(payload, prefixed=prefixed).json() == {"stored": 0, "duplicates": 1}
    run_jobs()
    (stored,) = messages(database, org)
    assert (stored.external_id, stored.text, stored.kind) == (COMMENT, "Når går neste tog?", "comment")
    assert raw_events(database)[0].dedupe_key == f"{org}:n:1234567890123"


def test_a_forged_or_wrong_variant_signature_is_refused(
    post: Post, org: int, database: Database, seeded: Seeded
) -> None:
    payload = notification(1, "COMMENT", COMMENT, comment={"text": "x", "owner": "urn:li:person:abc"})
    assert post(payload, secret="forged").status_code == 403
    with database.session() as session:
        from tilsvar.models import Channel

        row = session.get_one(Channel, org)
        row.config = {**row.config, "signature_mode": "prefixed"}
    assert post(payload, prefixed=False).status_code == 403
    assert raw_events(database) == []


def test_mentions_edits_deletes_and_what_is_ignored(
    post: Post, org: int, database: Database, run_jobs: Callable[[], int]
) -> None:
    post(notification(1, "COMMENT", COMMENT, comment={"text": "first", "owner": "urn:li:person:abc"}))
    post(
        notification(
            2, "COMMENT_EDIT", COMMENT, comment={"text": "first (edited)", "owner": "urn:li:person:abc"}
        )
    )
    post(
        notification(
            3,
            "SHARE_MENTION",
            "urn:li:share:99",
            share={"text": "Thanks @Nordic Rail!", "owner": "urn:li:person:def"},
        )
    )
    post(notification(4, "LIKE", "urn:li:reaction:1"))
    post(
        notification(
            5, "ADMIN_COMMENT", "urn:li:comment:(urn:li:activity:1,2)", comment={"text": "ours", "owner": ORG}
        )
    )
    run_jobs()
    edited = message(database, org, COMMENT)
    assert (edited.text, edited.platform_state) == ("first (edited)", "edited")
    assert message(database, org, "urn:li:share:99").kind == "post"
    assert len(messages(database, org)) == 2
    post(notification(6, "COMMENT_DELETE", COMMENT))
    run_jobs()
    assert message(database, org, COMMENT).platform_state == "removed"


def test_a_reply_is_a_socialactions_comment_with_the_configured_version(
    client: TestClient, post: Post, org: int, seeded: Seeded, database: Database, run_jobs: Callable[[], int]
) -> None:
    post(
        notification(1, "COMMENT", COMMENT, comment={"text": "Delayed again?", "owner": "urn:li:person:abc"})
    )
    run_jobs()
    conversation_id = message(database, org, COMMENT).conversation_id
    answer = client.post(
        f"/api/v1/conversations/{conversation_id}/replies",
        json={"text": "Sorry, 10 minutes."},
        headers={"Authorization": f"Bearer {seeded.admin_token}"},
    )
    assert answer.status_code == 202
    url = "https://api.linkedin.com/rest/socialActions/urn%3Ali%3Aactivity%3A7012345678901234567/comments"
    with respx.mock:
        route = respx.post(url).mock(
            return_value=httpx.Response(201, headers={"x-restli-id": "7012400000000000000"})
        )
        run_jobs()
    request = route.calls.last.request
    assert request.headers["LinkedIn-Version"] == "202608"
    assert request.headers["X-Restli-Protocol-Version"] == "2.0.0"
    assert request.headers["Authorization"] == "Bearer li-token"
    assert json.loads(request.content) == {
        "actor": ORG,
        "object": POST_URN,
        "message": {"text": "Sorry, 10 minutes."},
        "parentComment": COMMENT,
    }
    sent = message(database, org, f"urn:li:comment:({POST_URN},7012400000000000000)")
    assert sent.delivery_state == "sent"


@pytest.mark.parametrize(
    ("status", "retryable", "reconnect"),
    [(401, False, True), (429, True, False), (503, True, False), (403, False, False)],
)
def test_linkedin_errors(status: int, retryable: bool, reconnect: bool) -> None:
    error = linkedin.map_error(httpx.Response(status, json={"message": "nope", "status": status}))
    assert (error.retryable, error.needs_reconnect) == (retryable, reconnect)


def test_an_expired_token_marks_the_channel(
    client: TestClient, post: Post, org: int, seeded: Seeded, database: Database, run_jobs: Callable[[], int]
) -> None:
    post(notification(1, "COMMENT", COMMENT, comment={"text": "hi", "owner": "urn:li:person:abc"}))
    run_jobs()
    client.post(
        f"/api/v1/conversations/{message(database, org, COMMENT).conversation_id}/replies",
        json={"text": "hello"},
        headers={"Authorization": f"Bearer {seeded.admin_token}"},
    )
    with respx.mock:
        respx.post(url__regex=r"https://api\.linkedin\.com/rest/socialActions/.*").mock(
            return_value=httpx.Response(401, json={"message": "Expired access token"})
        )
        run_jobs()
    assert channel(database, org).status == "needs_reconnect"
