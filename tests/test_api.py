"""The JSON API: token auth, listing and filtering the inbox, reading a thread, replying, posting
inbound messages on the generic API channel, and brand isolation."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tilsvar.api.schemas import InboxPageOut

from conftest import IngestFn, Seeded
from helpers import auth


def test_requests_without_a_valid_token_are_refused(client: TestClient, seeded: Seeded) -> None:
    assert client.get("/api/v1/conversations").status_code == 401
    assert client.get("/api/v1/conversations", headers=auth("tsv_nope")).status_code == 401
    response = client.get("/api/v1/me", headers=auth(seeded.admin_token))
    assert response.status_code == 200
    assert response.json()["email"] == "astrid@nordicrail.example"


def test_openapi_describes_the_api(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/api/v1/conversations" in spec["paths"]
    assert "/api/v1/conversations/{conversation_id}/replies" in spec["paths"]
    assert "/api/v1/inbound" in spec["paths"]


def test_unanswered_inbox_lists_waiting_conversations_longest_waiting_first(
    client: TestClient, seeded: Seeded, ingest: IngestFn
) -> None:
    ingest(seeded.x_channel, "Toget er forsinket", external_id="a", minutes_ago=30)
    ingest(seeded.fb_channel, "Hvor er min bagage?", external_id="b", minutes_ago=90, author_id="kari")
    ingest(seeded.fb_channel, "Tak for hjælpen", external_id="c", minutes_ago=10, author_id="per")
    ingest(seeded.fb_channel, "Svar", external_id="d", direction="out", in_reply_to="c", minutes_ago=5)
    body = client.get("/api/v1/conversations", headers=auth(seeded.admin_token)).json()
    assert [row["preview"] for row in body["items"]] == ["Hvor er min bagage?", "Toget er forsinket"]
    first = body["items"][0]
    assert first["channel"]["platform"] == "facebook"
    assert first["brand"]["name"] == "Nordic Rail"
    assert first["customer"] == "Ola Nordmann"
    assert 89 < first["waiting_minutes"] < 92
    newest = client.get("/api/v1/conversations?sort=newest_waiting", headers=auth(seeded.admin_token)).json()
    assert [row["preview"] for row in newest["items"]] == ["Toget er forsinket", "Hvor er min bagage?"]
    everything = client.get("/api/v1/conversations?view=all", headers=auth(seeded.admin_token)).json()
    assert len(everything["items"]) == 3
    only_x = client.get("/api/v1/conversations?view=all&platform=x", headers=auth(seeded.admin_token)).json()
    assert [row["channel"]["platform"] for row in only_x["items"]] == ["x"]


def test_keyset_paging_walks_every_conversation_once(
    client: TestClient, seeded: Seeded, ingest: IngestFn
) -> None:
    for number in range(7):
        ingest(seeded.fb_channel, f"msg {number}", external_id=f"p{number}", minutes_ago=number)
    seen: list[str] = []
    cursor = None
    while True:
        url = "/api/v1/conversations?limit=3" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(url, headers=auth(seeded.admin_token)).json()
        seen += [row["preview"] for row in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"msg {number}" for number in reversed(range(7))]
    assert (
        client.get("/api/v1/conversations?cursor=garbage", headers=auth(seeded.admin_token)).status_code
        == 400
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sort=waiting", ["m5", "r4", "m3", "r2", "r1"]),
        ("sort=newest_waiting", ["r1", "r2", "m3", "r4", "m5"]),
        ("view=all&sort=recent", ["r0", "r1", "r2", "m3", "r4", "m5"]),
    ],
)
def test_pages_merge_every_brand_in_order_and_match_the_documented_shape(
    client: TestClient, seeded: Seeded, ingest: IngestFn, query: str, expected: list[str]
) -> None:
    for number in range(6):
        channel = seeded.market_channel if number in (3, 5) else seeded.fb_channel
        ingest(
            channel,
            f"{'m' if number in (3, 5) else 'r'}{number}",
            external_id=f"q{number}",
            minutes_ago=number,
        )
    ingest(seeded.fb_channel, "answer", external_id="q0-answer", direction="out", in_reply_to="q0")
    seen: list[str] = []
    cursor = None
    while True:
        url = f"/api/v1/conversations?{query}&limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(url, headers=auth(seeded.admin_token)).json()
        InboxPageOut.model_validate(body)
        seen += [row["preview"] for row in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == expected


def test_an_agent_sees_only_their_brands(client: TestClient, seeded: Seeded, ingest: IngestFn) -> None:
    ingest(seeded.fb_channel, "rail question", external_id="r1")
    market_message = ingest(seeded.market_channel, "market question", external_id="m1")
    del market_message
    body = client.get("/api/v1/conversations?view=all", headers=auth(seeded.agent_token)).json()
    assert [row["preview"] for row in body["items"]] == ["rail question"]
    admin_rows = client.get("/api/v1/conversations?view=all", headers=auth(seeded.admin_token)).json()[
        "items"
    ]
    market_id = next(row["id"] for row in admin_rows if row["preview"] == "market question")
    assert (
        client.get(f"/api/v1/conversations/{market_id}", headers=auth(seeded.agent_token)).status_code == 404
    )
    reply = client.post(
        f"/api/v1/conversations/{market_id}/replies", json={"text": "hi"}, headers=auth(seeded.agent_token)
    )
    assert reply.status_code == 404


def test_reading_a_conversation_gives_the_whole_thread_in_order(
    client: TestClient, seeded: Seeded, ingest: IngestFn
) -> None:
    ingest(seeded.x_channel, "first", external_id="t1", minutes_ago=20)
    ingest(
        seeded.x_channel, "brand answer", external_id="t2", direction="out", in_reply_to="t1", minutes_ago=15
    )
    ingest(seeded.x_channel, "follow-up", external_id="t3", in_reply_to="t2", minutes_ago=10)
    [row] = client.get("/api/v1/conversations", headers=auth(seeded.admin_token)).json()["items"]
    thread = client.get(f"/api/v1/conversations/{row['id']}", headers=auth(seeded.admin_token)).json()
    assert [(m["direction"], m["text"]) for m in thread["messages"]] == [
        ("in", "first"),
        ("out", "brand answer"),
        ("in", "follow-up"),
    ]
    assert thread["messages"][0]["author_handle"] == "@c1"
    assert thread["thread_key"] == "t1"
    assert client.get("/api/v1/conversations/999999", headers=auth(seeded.admin_token)).status_code == 404


def test_reply_is_queued_then_sent_and_answers_the_conversation(
    client: TestClient, seeded: Seeded, ingest: IngestFn, run_jobs: Callable[[], int], monkeypatch: object
) -> None:
    ingest(seeded.api_channel, "Hvornår åbner I?", external_id="q1", minutes_ago=12, kind="chat")
    [row] = client.get("/api/v1/conversations", headers=auth(seeded.agent_token)).json()["items"]
    response = client.post(
        f"/api/v1/conversations/{row['id']}/replies",
        json={"text": "Vi åbner kl. 8", "idempotency_key": "k-1"},
        headers=auth(seeded.agent_token),
    )
    assert response.status_code == 202
    assert response.json()["delivery"]["state"] == "queued"
    again = client.post(
        f"/api/v1/conversations/{row['id']}/replies",
        json={"text": "Vi åbner kl. 8", "idempotency_key": "k-1"},
        headers=auth(seeded.agent_token),
    )
    assert again.json()["id"] == response.json()["id"]
    thread = client.get(f"/api/v1/conversations/{row['id']}", headers=auth(seeded.agent_token)).json()
    assert thread["messages"][-1]["delivery"]["state"] == "queued"
    assert client.get("/api/v1/conversations", headers=auth(seeded.agent_token)).json()[
        "items"
    ]  # still waiting
    run_jobs()
    thread = client.get(f"/api/v1/conversations/{row['id']}", headers=auth(seeded.agent_token)).json()
    assert [m["delivery"]["state"] for m in thread["messages"]] == ["received", "sent"]
    assert thread["messages"][-1]["author"] == "Anders Agent"
    assert thread["first_response_at"] is not None
    assert thread["status"] == "open"
    assert client.get("/api/v1/conversations", headers=auth(seeded.agent_token)).json()["items"] == []


def test_reply_validation_and_permissions(client: TestClient, seeded: Seeded, ingest: IngestFn) -> None:
    ingest(seeded.x_channel, "hi", external_id="v1")
    [row] = client.get("/api/v1/conversations", headers=auth(seeded.admin_token)).json()["items"]
    url = f"/api/v1/conversations/{row['id']}/replies"
    too_long = client.post(url, json={"text": "x" * 281}, headers=auth(seeded.admin_token))
    assert too_long.status_code == 400
    assert "280" in too_long.json()["detail"]
    assert client.post(url, json={"text": ""}, headers=auth(seeded.admin_token)).status_code == 422
    assert client.post(url, json={"text": "hej"}, headers=auth(seeded.analyst_token)).status_code == 403


def test_inbound_on_the_generic_api_channel(client: TestClient, seeded: Seeded) -> None:
    payload = {
        "account": "rail-app",
        "external_id": "app-77",
        "author": {"id": "user-5", "name": "Kari Nordmann"},
        "text": "Appen viser ikke min billet",
    }
    first = client.post("/api/v1/inbound", json=payload, headers=auth(seeded.admin_token))
    assert first.status_code == 201, first.text
    second = client.post("/api/v1/inbound", json=payload, headers=auth(seeded.admin_token))
    assert second.status_code == 200
    assert second.json()["duplicate"] is True
    assert second.json()["id"] == first.json()["id"]
    follow_up = client.post(
        "/api/v1/inbound",
        json={**payload, "external_id": "app-78", "in_reply_to": "app-77", "text": "Hallo?"},
        headers=auth(seeded.admin_token),
    )
    assert follow_up.json()["conversation_id"] == first.json()["conversation_id"]
    [row] = client.get("/api/v1/conversations", headers=auth(seeded.admin_token)).json()["items"]
    assert row["customer"] == "Kari Nordmann"
    assert row["message_count"] == 2


def test_inbound_errors_are_clear(client: TestClient, seeded: Seeded) -> None:
    base = {"account": "rail-app", "author": {"id": "u"}, "text": "x"}
    unknown = client.post(
        "/api/v1/inbound", json={**base, "account": "nope"}, headers=auth(seeded.admin_token)
    )
    assert unknown.status_code == 404
    naive = client.post(
        "/api/v1/inbound",
        json={**base, "created_at": "2026-01-01T10:00:00"},
        headers=auth(seeded.admin_token),
    )
    assert naive.status_code == 422
    assert "time zone" in naive.json()["detail"]
    missing = client.post("/api/v1/inbound", json={"account": "rail-app"}, headers=auth(seeded.admin_token))
    assert missing.status_code == 422
    agent = client.post("/api/v1/inbound", json=base, headers=auth(seeded.agent_token))
    assert agent.status_code == 403
