"""Wall screens: kiosk links created and revoked through the API and the admin page, only a hash of the
token stored, the page and its live stream readable with the link alone, no personal data on any of
them, and a revoked link refused at once (page, data and the open live stream)."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from tilsvar.actions.replies import do_record_delivery, do_reply
from tilsvar.db import Database
from tilsvar.models import Conversation, Message, WallScreen
from tilsvar.passwords import token_hash
from tilsvar.reports.rollups import refresh_rollups
from tilsvar.web.dashboard_routes import wall_stream

from conftest import IngestFn, Seeded
from helpers import auth

CUSTOMER = "Ingrid Privatsen"
TEXT = "my phone is 12345678 and the train was late"


def _traffic(database: Database, seeded: Seeded, ingest: IngestFn) -> None:
    first = ingest(seeded.x_channel, TEXT, external_id="x1", author_name=CUSTOMER, minutes_ago=3)
    ingest(
        seeded.fb_channel,
        "Hvor er mit tog?",
        external_id="f1",
        author_id="c2",
        author_name="Per Hemmelig",
        minutes_ago=2,
    )
    with database.session() as session:
        message = session.get_one(Message, first)
        conversation = session.get_one(Conversation, message.conversation_id)
        reply = do_reply(session, user=seeded.agent, conversation=conversation, text="Sorry, Ingrid!")
    with database.session() as session:
        do_record_delivery(session, message_id=reply.id, external_id="r1")
    refresh_rollups(database)


def _no_personal_data(text: str, seeded: Seeded) -> None:
    for secret in (
        CUSTOMER,
        "Ingrid",
        "12345678",
        "train was late",
        "Per Hemmelig",
        "tog?",
        seeded.agent.name,
    ):
        assert secret not in text, secret


class _Connected:
    async def is_disconnected(self) -> bool:
        return False


def test_kiosk_link_shows_numbers_without_personal_data_until_revoked(
    client: TestClient, database: Database, seeded: Seeded, ingest: IngestFn
) -> None:
    _traffic(database, seeded, ingest)
    created = client.post(
        "/api/v1/wall-screens", json={"name": "Customer centre"}, headers=auth(seeded.admin_token)
    )
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    assert created.json()["url"].endswith(f"/wall/{token}")
    with database.reader() as session:
        wall = session.scalars(select(WallScreen)).one()
        assert wall.token_hash == token_hash(token)
        assert token not in json.dumps([wall.name, wall.prefix, wall.token_hash])
    listed = client.get("/api/v1/wall-screens", headers=auth(seeded.admin_token)).json()
    assert "token" not in listed[0]

    page = client.get(f"/wall/{token}")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert 'data-field="today.inquiries">2<' in page.text
    assert "/static/vendor/chartjs/chart.umd.min.js" in page.text
    assert not re.search(r"<script(?![^>]*(src=|application/json))", page.text)
    _no_personal_data(page.text, seeded)
    data = client.get(f"/wall/{token}/data")
    payload = data.json()
    assert payload["today"]["inquiries"] == 2
    assert payload["today"]["answered"] == 1
    assert payload["waiting_now"]["count"] == 1
    assert payload["boards"] == ["overview", "channels", "topics", "trend"]
    _no_personal_data(data.text, seeded)

    async def first_events() -> list[dict[str, str]]:
        stream = wall_stream(_Connected(), database, token, 0.2)
        events = [await stream.__anext__()]
        with database.session() as session:
            session.get_one(WallScreen, wall.id).revoked_at = wall.created_at
        events.append(await asyncio.wait_for(stream.__anext__(), timeout=10))
        await stream.aclose()
        return events

    live, revoked = asyncio.run(first_events())
    assert live["event"] == "kpis"
    assert json.loads(live["data"])["today"]["inquiries"] == 2
    _no_personal_data(live["data"], seeded)
    assert revoked["event"] == "revoked"
    for path in (f"/wall/{token}", f"/wall/{token}/data", f"/wall/{token}/events"):
        assert client.get(path).status_code == 404, path
    assert client.get("/wall/wall_not-a-token").status_code == 404


def test_revoke_through_the_api_and_who_may(client: TestClient, database: Database, seeded: Seeded) -> None:
    assert client.post("/api/v1/wall-screens", json={}, headers=auth(seeded.analyst_token)).status_code == 403
    created = client.post(
        "/api/v1/wall-screens",
        json={"name": "Market", "brand_id": seeded.market.id, "boards": ["overview", "trend"]},
        headers=auth(seeded.admin_token),
    ).json()
    assert client.get(f"/wall/{created['token']}/data").json()["boards"] == ["overview", "trend"]
    bad = client.post("/api/v1/wall-screens", json={"boards": ["gossip"]}, headers=auth(seeded.admin_token))
    assert bad.status_code == 400
    revoked = client.delete(f"/api/v1/wall-screens/{created['id']}", headers=auth(seeded.admin_token))
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert client.get(f"/wall/{created['token']}").status_code == 404
    assert client.delete("/api/v1/wall-screens/99999", headers=auth(seeded.admin_token)).status_code == 404


def _csrf(client: TestClient, seeded: Seeded) -> str:
    client.post("/login", data={"email": seeded.admin.email, "password": seeded.password, "next": "/inbox"})
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/admin/analytics").text)
    assert found
    return found.group(1)


def test_admin_page_creates_shows_once_and_revokes(client: TestClient, seeded: Seeded) -> None:
    csrf = _csrf(client, seeded)
    created = client.post(
        "/admin/analytics/wall-screens", data={"csrf_token": csrf, "name": "Press office", "brand_id": ""}
    )
    assert created.status_code == 201
    url: Any = re.search(r'value="(http[^"]+/wall/(wall_[^"]+))"', created.text)
    assert url
    token = url.group(2)
    assert client.get(f"/wall/{token}").status_code == 200
    again = client.get("/admin/analytics").text
    assert token not in again  # shown once
    assert "Press office" in again
    wall_id = re.search(r"/admin/analytics/wall-screens/(\d+)/revoke", again)
    assert wall_id
    refused = client.post(
        f"/admin/analytics/wall-screens/{wall_id.group(1)}/revoke", data={"csrf_token": "wrong"}
    )
    assert refused.status_code == 403
    done = client.post(
        f"/admin/analytics/wall-screens/{wall_id.group(1)}/revoke",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert client.get(f"/wall/{token}").status_code == 404
