"""Teams and agents in the web UI (/workflow/teams): supervisors and admins manage team membership,
each team's assignment (strategy, sticky-owner window, fallback queue) and each agent's presence,
skills and capacity per channel through CSRF-protected forms; agents are refused; wrong input is
refused with the reason; and routing uses what was saved at once (the cached roster is invalidated)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import select

from tilsvar.db import Database
from tilsvar.models import AuditEntry, Message
from tilsvar.models.workflow import AgentProfile
from workflow_support import FakePipeline, RunJobs, conversation_of, pipeline, workflow

from conftest import IngestFn, Seeded
from helpers import auth, json_of, sign_in

__all__ = ["pipeline"]


def _teams(client: TestClient, token: str) -> dict[int, dict[str, object]]:
    return {team["id"]: team for team in json_of(client.get("/api/v1/teams", headers=auth(token)))["teams"]}


def test_supervisors_manage_teams_and_agents_through_forms_and_agents_may_not(
    client: TestClient, seeded: Seeded, database: Database
) -> None:
    service = seeded.service_team.id
    csrf = sign_in(client, seeded.supervisor.email, seeded.password)
    page = client.get("/workflow/teams")
    assert page.status_code == 200
    assert "Teams and agents" in page.text
    assert f'action="/workflow/teams/{service}"' in page.text
    assert f'action="/workflow/agents/{seeded.agent.id}"' in page.text
    assert 'name="csrf_token"' in page.text

    forged = client.post(f"/workflow/teams/{service}", data={"strategy": "manual", "csrf_token": "forged"})
    assert forged.status_code == 403

    saved = client.post(
        f"/workflow/teams/{service}",
        data={
            "strategy": "least_loaded",
            "sticky_hours": "24",
            "sticky_wait_minutes": "15",
            "csrf_token": csrf,
        },
    )
    assert saved.status_code == 200
    assert "Customer service: saved" in saved.text
    team = _teams(client, seeded.admin_token)[service]
    assert (team["strategy"], team["sticky_hours"], team["sticky_wait_minutes"]) == (
        "least_loaded",
        24.0,
        15.0,
    )

    wrong = client.post(f"/workflow/teams/{service}", data={"sticky_hours": "soon", "csrf_token": csrf})
    assert wrong.status_code == 422
    assert "sticky hours must be a number" in wrong.text
    unknown = client.post(f"/workflow/teams/{service}", data={"strategy": "lottery", "csrf_token": csrf})
    assert unknown.status_code == 422

    added = client.post(
        f"/workflow/teams/{service}/members", data={"user_id": str(seeded.supervisor.id), "csrf_token": csrf}
    )
    assert added.status_code == 200
    assert seeded.supervisor.id in _teams(client, seeded.admin_token)[service]["members"]  # type: ignore[operator]
    removed = client.post(
        f"/workflow/teams/{service}/members/remove",
        data={"user_id": str(seeded.supervisor.id), "csrf_token": csrf},
    )
    assert removed.status_code == 200
    assert seeded.supervisor.id not in _teams(client, seeded.admin_token)[service]["members"]  # type: ignore[operator]
    missing = client.post("/workflow/teams/999999/members", data={"user_id": "1", "csrf_token": csrf})
    assert missing.status_code == 404

    profile = client.post(
        f"/workflow/agents/{seeded.agent.id}",
        data={
            "online": "1",
            "languages": "da, SV ,",
            "channels": "social, email",
            "topics": "refund",
            "capacity_social": "8",
            "capacity_email": "",
            "capacity_chat": "2",
            "capacity_default": "5",
            "csrf_token": csrf,
        },
    )
    assert profile.status_code == 200
    with database.reader() as session:
        row = session.get_one(AgentProfile, seeded.agent.id)
        assert row.online is True
        assert row.languages == ["da", "sv"]
        assert row.channels == ["email", "social"]
        assert row.topics == ["refund"]
        assert row.capacity == {"social": 8, "chat": 2, "*": 5}
        actions = set(
            session.scalars(
                select(AuditEntry.action).where(
                    AuditEntry.action.in_(
                        ("team.workflow_set", "team.member_added", "team.member_removed", "agent.profile_set")
                    )
                )
            )
        )
    assert actions == {"team.workflow_set", "team.member_added", "team.member_removed", "agent.profile_set"}
    negative = client.post(
        f"/workflow/agents/{seeded.agent.id}", data={"capacity_social": "-1", "csrf_token": csrf}
    )
    assert negative.status_code == 422
    assert "capacity cannot be negative" in negative.text
    fraction = client.post(
        f"/workflow/agents/{seeded.agent.id}", data={"capacity_social": "1.5", "csrf_token": csrf}
    )
    assert fraction.status_code == 422

    # Agents may not see or change team settings.
    client.cookies.clear()
    agent_csrf = sign_in(client, seeded.agent.email, seeded.password)
    assert client.get("/workflow/teams").status_code == 403
    refused = client.post(f"/workflow/teams/{service}", data={"strategy": "manual", "csrf_token": agent_csrf})
    assert refused.status_code == 403
    refused = client.post(
        f"/workflow/agents/{seeded.supervisor.id}", data={"online": "1", "csrf_token": agent_csrf}
    )
    assert refused.status_code == 403


def test_routing_uses_presence_and_membership_saved_in_the_form_at_once(
    client: TestClient,
    seeded: Seeded,
    database: Database,
    ingest: IngestFn,
    run_jobs: RunJobs,
    pipeline: FakePipeline,
) -> None:
    # Warm the routing cache with the agent offline: the conversation waits in the team queue.
    first = conversation_of(database, ingest(seeded.fb_channel, "Hvor er mit tog?", author_id="a1"))
    run_jobs()
    assert workflow(client, seeded.admin_token, first)["assignee"] is None
    csrf = sign_in(client, seeded.supervisor.email, seeded.password)
    client.post(f"/workflow/agents/{seeded.agent.id}", data={"online": "1", "csrf_token": csrf})
    second = conversation_of(database, ingest(seeded.fb_channel, "Mit kort virker ikke", author_id="a2"))
    run_jobs()
    assert workflow(client, seeded.admin_token, second)["assignee"]["id"] == seeded.agent.id
    # Out of the team: no longer offered the team's conversations.
    client.post(
        f"/workflow/teams/{seeded.service_team.id}/members/remove",
        data={"user_id": str(seeded.agent.id), "csrf_token": csrf},
    )
    third = conversation_of(database, ingest(seeded.fb_channel, "Billetten er væk", author_id="a3"))
    run_jobs()
    assert workflow(client, seeded.admin_token, third)["assignee"] is None


def test_a_channels_calendar_and_out_of_hours_auto_reply_are_set_in_the_form(
    client: TestClient,
    seeded: Seeded,
    database: Database,
    ingest: IngestFn,
    run_jobs: RunJobs,
    pipeline: FakePipeline,
) -> None:
    today = datetime.now(ZoneInfo("Europe/Copenhagen")).date()
    calendar = {
        "name": "Closed for two days",
        "timezone": "Europe/Copenhagen",
        "hours": {day: ["09:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")},
        "closed_dates": [str(today), str(today + timedelta(days=1))],
    }
    created = client.post(
        "/api/v1/workflow/calendars", json={"spec": calendar}, headers=auth(seeded.admin_token)
    )
    assert created.status_code == 201, created.text
    csrf = sign_in(client, seeded.supervisor.email, seeded.password)
    page = client.get("/workflow/teams")
    assert f'action="/workflow/channels/{seeded.fb_channel.id}"' in page.text
    assert "Closed for two days" in page.text
    saved = client.post(
        f"/workflow/channels/{seeded.fb_channel.id}",
        data={
            "calendar_id": str(created.json()["id"]),
            "team_id": str(seeded.service_team.id),
            "auto_reply_enabled": "1",
            "auto_reply_text": "Vi er tilbage {opens_at}.",
            "csat_enabled": "1",
            "csat_mode": "link",
            "csrf_token": csrf,
        },
    )
    assert saved.status_code == 200
    settings = json_of(
        client.get(f"/api/v1/channels/{seeded.fb_channel.id}/workflow", headers=auth(seeded.admin_token))
    )
    assert settings["calendar_id"] == created.json()["id"]
    assert (settings["auto_reply_enabled"], settings["csat_enabled"], settings["csat_mode"]) == (
        True,
        True,
        "link",
    )
    bad = client.post(
        f"/workflow/channels/{seeded.fb_channel.id}", data={"csat_mode": "pigeon", "csrf_token": csrf}
    )
    assert bad.status_code == 422
    assert "csat_mode is message or link" in bad.text
    assert client.post("/workflow/channels/999999", data={"csrf_token": csrf}).status_code == 404

    cid = conversation_of(database, ingest(seeded.fb_channel, "Er der nogen?", author_id="n1"))
    run_jobs()
    with database.reader() as session:
        replies = list(
            session.scalars(
                select(Message.text).where(Message.conversation_id == cid, Message.direction == "out")
            )
        )
    assert len(replies) == 1
    assert replies[0].startswith("Vi er tilbage ")
