"""The dashboard: its JSON API (figures, comparison with the previous period, filters, brand access,
drill-down links), the page (charts fed by a JSON data block, no inline script, customer text escaped)
and the per-conversation export for analysts (no personal data)."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tilsvar.actions.replies import do_record_delivery, do_reply
from tilsvar.db import Database
from tilsvar.models import Conversation, Message
from tilsvar.reports.rollups import refresh_rollups

from conftest import IngestFn, Seeded
from helpers import auth, json_of, sign_in

EVIL = '<script>alert("x")</script> Mette Hansen'


def _traffic(database: Database, seeded: Seeded, ingest: IngestFn) -> int:
    """Three inquiries on the rail brand today (one answered by the agent), one on the market brand,
    one rail inquiry eight days ago; returns the answered conversation's id."""
    first = ingest(seeded.x_channel, EVIL, external_id="x1", author_name="Mette Hansen", minutes_ago=50)
    ingest(seeded.fb_channel, "Hvor er mit tog?", external_id="f1", author_id="c2", minutes_ago=30)
    ingest(seeded.fb_channel, "Refusion tak", external_id="f2", author_id="c3", minutes_ago=20)
    ingest(seeded.market_channel, "Åbent søndag?", external_id="m1", author_id="c4", minutes_ago=10)
    ingest(seeded.fb_channel, "Gammel sag", external_id="old1", author_id="c5", minutes_ago=8 * 24 * 60)
    with database.session() as session:
        message = session.get_one(Message, first)
        conversation = session.get_one(Conversation, message.conversation_id)
        reply = do_reply(session, user=seeded.agent, conversation=conversation, text="Vi kigger på det")
        conversation_id: int = conversation.id
    with database.session() as session:
        do_record_delivery(session, message_id=reply.id, external_id="x-reply-1")
    refresh_rollups(database)
    return conversation_id


def test_dashboard_api_figures_comparison_and_access(
    client: TestClient, database: Database, seeded: Seeded, ingest: IngestFn
) -> None:
    answered_id = _traffic(database, seeded, ingest)
    today = datetime.now(UTC).date()
    day = today - timedelta(days=1)  # yesterday and today: the traffic of the last hour, even after midnight
    response = client.get(f"/api/v1/dashboard?from={day}&to={today}", headers=auth(seeded.analyst_token))
    data = json_of(response)
    assert response.status_code == 200
    current = data["current"]
    assert (current["inquiries"], current["answered"], current["unanswered"]) == (4, 1, 3)
    assert data["previous"]["inquiries"] == 0
    assert data["compare"]["inquiries"] == {"previous": 0, "change": 4, "relative": None}
    assert data["waiting_now"]["count"] == 4  # the one answered no longer waits; the old one does
    assert {row["label"]: row["inquiries"] for row in data["by_brand"]} == {
        "Nordic Rail": 3,
        "Fjord Market": 1,
    }
    agents = {row["label"]: row["inquiries"] for row in data["by_agent"]}
    assert agents[seeded.agent.name] == 1
    assert sum(data["current"]["frt_distribution"]["counts"]) == 1
    assert sum(data["series"]["inquiries"]) == 4
    assert data["series"]["bucket_hours"] == 1
    assert all(row["url"].startswith("/dashboard/conversations?") for row in data["by_channel"])

    week = client.get("/api/v1/dashboard", headers=auth(seeded.analyst_token)).json()
    assert week["current"]["inquiries"] == 4
    assert week["previous"]["inquiries"] == 1  # eight days ago is in the seven days before

    rail = client.get(
        f"/api/v1/dashboard?from={day}&to={today}&brand_id={seeded.rail.id}",
        headers=auth(seeded.analyst_token),
    ).json()
    assert rail["current"]["inquiries"] == 3
    x_only = client.get(
        f"/api/v1/dashboard?from={day}&to={today}&channel_id={seeded.x_channel.id}",
        headers=auth(seeded.analyst_token),
    ).json()
    assert (x_only["current"]["inquiries"], x_only["current"]["answered"]) == (1, 1)
    team = client.get(
        f"/api/v1/dashboard?from={day}&to={today}&team_id={seeded.service_team.id}",
        headers=auth(seeded.analyst_token),
    ).json()
    assert team["current"]["inquiries"] == sum(
        row["inquiries"] for row in data["by_team"] if row["key"] == seeded.service_team.id
    )
    assert client.get("/api/v1/dashboard", headers=auth(seeded.agent_token)).status_code == 403
    assert (
        client.get("/api/v1/dashboard?brand_id=999999", headers=auth(seeded.analyst_token)).status_code == 404
    )
    assert EVIL not in response.text
    assert "Mette" not in response.text
    assert answered_id > 0


def test_dashboard_page_charts_and_drill_down(
    client: TestClient, database: Database, seeded: Seeded, ingest: IngestFn
) -> None:
    _traffic(database, seeded, ingest)
    sign_in(client, seeded.admin.email, seeded.password)
    page = client.get("/dashboard")
    assert page.status_code == 200
    html = page.text
    assert "/static/vendor/chartjs/chart.umd.min.js" in html
    assert '<script type="application/json" id="dashboard-data">' in html
    scripts = re.findall(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", html, flags=re.S)
    for attrs, body in scripts:
        assert "src=" in attrs or 'type="application/json"' in attrs, attrs
        assert "</" not in body
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert 'data-kpi="inquiries">4<' in html
    link = re.search(r'href="(/dashboard/conversations\?[^"]*answered=0[^"]*)"', html)
    assert link
    drill = client.get(link.group(1).replace("&amp;", "&"))
    assert drill.status_code == 200
    assert drill.text.count('href="/conversations/') == 3
    answered = client.get(link.group(1).replace("&amp;", "&").replace("answered=0", "answered=1"))
    assert answered.text.count('href="/conversations/') == 1
    assert "<script>alert" not in answered.text
    assert "&lt;script&gt;alert" in answered.text  # customer text is escaped
    filtered = client.get(f"/dashboard?brand_id={seeded.market.id}")
    assert 'data-kpi="inquiries">1<' in filtered.text
    assert client.get("/static/vendor/chartjs/LICENSE.md").status_code == 200


def test_dashboard_page_refuses_roles_without_reports(client: TestClient, seeded: Seeded) -> None:
    sign_in(client, seeded.agent.email, seeded.password)
    assert client.get("/dashboard").status_code == 403


def test_export_conversations_masks_personal_data(
    client: TestClient, database: Database, seeded: Seeded, ingest: IngestFn
) -> None:
    answered_id = _traffic(database, seeded, ingest)
    today = datetime.now(UTC).date()
    as_json = client.get(
        f"/api/v1/exports/conversations?from={today - timedelta(days=10)}&to={today}&format=json",
        headers=auth(seeded.analyst_token),
    )
    rows = json_of(as_json)["conversations"]
    assert len(rows) == 5
    answered = next(row for row in rows if row["conversation_id"] == answered_id)
    assert answered["agent_id"] == seeded.agent.id
    assert answered["frt_minutes"] > 0
    assert answered["customer"].startswith("customer-")
    for forbidden in ("Mette", "Hansen", "alert", "tog", "Refusion", "@c2"):
        assert forbidden not in as_json.text
    as_csv = client.get(
        f"/api/v1/exports/conversations?from={today - timedelta(days=1)}&to={today}"
        f"&brand_id={seeded.market.id}",
        headers=auth(seeded.analyst_token),
    )
    table = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [row["brand"] for row in table] == ["Fjord Market"]
    assert client.get("/api/v1/exports/conversations", headers=auth(seeded.agent_token)).status_code == 403
