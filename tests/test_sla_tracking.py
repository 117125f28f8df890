"""SLA clocks of stored conversations: due times and colours from policies and business calendars,
warnings and breaches announced once (event, timeline, notification), the scheduled re-check, pending
pausing, a reply meeting the target, and the out-of-hours auto-reply that never counts as an answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import select

from tilsvar.actions.sla import do_check_sla
from tilsvar.db import Database
from tilsvar.models import DomainEvent, Job, Message
from workflow_support import FakePipeline, RunJobs, conversation_of, pipeline, set_online, workflow

from conftest import IngestFn, Seeded
from helpers import auth, json_of

__all__ = ["pipeline"]

POLICIES = {
    "policies": [
        {
            "id": "rail-fast",
            "name": "Nordic Rail: 30 minutes",
            "brand": "rail",
            "first_response": {"minutes": 30, "business_hours": False},
            "next_response": {"minutes": 60, "business_hours": False},
        }
    ]
}


def _policies(client: TestClient, seeded: Seeded) -> None:
    response = client.put("/api/v1/workflow/sla-policies", json=POLICIES, headers=auth(seeded.admin_token))
    assert response.status_code == 200, response.text


def _clock(view: dict[str, object], metric: str) -> dict[str, object]:
    sla = view["sla"]
    assert isinstance(sla, dict)
    return next(clock for clock in sla["clocks"] if clock["metric"] == metric)


def test_warning_and_breach_are_announced_once_to_the_owner(
    client: TestClient,
    seeded: Seeded,
    database: Database,
    ingest: IngestFn,
    run_jobs: RunJobs,
    pipeline: FakePipeline,
) -> None:
    _policies(client, seeded)
    set_online(client, seeded.admin_token, seeded.agent.id)
    warned = conversation_of(database, ingest(seeded.fb_channel, "Hvor bliver toget af?", minutes_ago=26))
    breached = conversation_of(
        database, ingest(seeded.fb_channel, "Svar nu!", author_id="c2", minutes_ago=45)
    )
    run_jobs()
    view = workflow(client, seeded.agent_token, warned)
    assert view["sla"]["policy"] == "rail-fast"
    assert _clock(view, "first_response")["level"] == "warning"
    assert _clock(workflow(client, seeded.agent_token, breached), "first_response")["level"] == "breached"
    for _ in range(2):  # checking again announces nothing new
        with database.session() as session:
            do_check_sla(session, conversation_id=warned)
            do_check_sla(session, conversation_id=breached)
    notes = json_of(client.get("/api/v1/notifications", headers=auth(seeded.agent_token)))["items"]
    kinds = sorted(n["kind"] for n in notes if n["kind"].startswith("sla_"))
    assert kinds == ["sla_breach", "sla_warning"]
    with database.reader() as session:
        alerts = list(session.scalars(select(DomainEvent.payload).where(DomainEvent.type == "sla.alert")))
    assert sorted(a["level"] for a in alerts) == ["breach", "warning"]
    # The inbox shows the colour and the due time.
    rows = json_of(client.get("/api/v1/conversations?view=unanswered", headers=auth(seeded.agent_token)))[
        "items"
    ]
    assert {row["id"]: row["sla"]["level"] for row in rows} == {warned: "warning", breached: "breached"}


def test_the_next_check_is_scheduled_and_a_reply_meets_the_target(
    client: TestClient,
    seeded: Seeded,
    database: Database,
    ingest: IngestFn,
    run_jobs: RunJobs,
    pipeline: FakePipeline,
) -> None:
    _policies(client, seeded)
    cid = conversation_of(database, ingest(seeded.fb_channel, "Kan I hjælpe?"))
    run_jobs()
    view = workflow(client, seeded.agent_token, cid)
    clock = _clock(view, "first_response")
    assert clock["level"] == "ok"
    due = datetime.fromisoformat(str(clock["due_at"]))
    with database.reader() as session:
        checks = list(
            session.scalars(select(Job.run_at).where(Job.kind == "sla.check", Job.status == "queued"))
        )
    # The warning begins 20 % before the 30-minute target: the job runs then.
    assert any(abs((at - (due - timedelta(minutes=6))).total_seconds()) < 5 for at in checks)
    reply = client.post(
        f"/api/v1/conversations/{cid}/replies",
        json={"text": "Ja, selvfølgelig"},
        headers=auth(seeded.agent_token),
    )
    assert reply.status_code == 202
    run_jobs()
    assert _clock(workflow(client, seeded.agent_token, cid), "first_response")["state"] == "met"


def test_pending_pauses_the_clock(
    client: TestClient,
    seeded: Seeded,
    database: Database,
    ingest: IngestFn,
    run_jobs: RunJobs,
    pipeline: FakePipeline,
) -> None:
    cid = conversation_of(database, ingest(seeded.fb_channel, "Jeg sender kvitteringen senere"))
    run_jobs()
    client.post(
        f"/api/v1/conversations/{cid}/status", json={"status": "pending"}, headers=auth(seeded.agent_token)
    )
    view = workflow(client, seeded.agent_token, cid)
    assert _clock(view, "first_response")["state"] == "paused"
    assert _clock(view, "first_response")["due_at"] is None


def test_business_hours_calendar_sets_the_due_time_and_closed_hours_send_an_automatic_reply(
    client: TestClient,
    seeded: Seeded,
    database: Database,
    ingest: IngestFn,
    run_jobs: RunJobs,
    pipeline: FakePipeline,
) -> None:
    zone = ZoneInfo("Europe/Copenhagen")
    today = datetime.now(zone).date()
    calendar = {
        "name": "Rail service",
        "timezone": "Europe/Copenhagen",
        "hours": {day: ["09:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
        "holidays": ["DK"],
        "closed_dates": [str(today), str(today + timedelta(days=1))],
    }
    created = client.post(
        "/api/v1/workflow/calendars", json={"spec": calendar}, headers=auth(seeded.admin_token)
    )
    assert created.status_code == 201, created.text
    bad = client.post(
        "/api/v1/workflow/calendars",
        json={"spec": {**calendar, "holidays": ["XX"]}},
        headers=auth(seeded.admin_token),
    )
    assert bad.status_code == 422
    assert "no public holidays known for country 'XX'" in bad.json()["detail"]
    settings = client.put(
        f"/api/v1/channels/{seeded.fb_channel.id}/workflow",
        json={
            "calendar_id": created.json()["id"],
            "auto_reply_enabled": True,
            "auto_reply_text": "Vi svarer {opens_at}.",
        },
        headers=auth(seeded.admin_token),
    )
    assert settings.status_code == 200, settings.text
    policy = {"policies": [{"id": "biz", "first_response": {"minutes": 120, "business_hours": True}}]}
    assert (
        client.put("/api/v1/workflow/sla-policies", json=policy, headers=auth(seeded.admin_token)).status_code
        == 200
    )
    cid = conversation_of(database, ingest(seeded.fb_channel, "Hjælp"))
    run_jobs()
    due = datetime.fromisoformat(
        str(_clock(workflow(client, seeded.agent_token, cid), "first_response")["due_at"])
    )
    local = due.astimezone(zone)
    assert local.date() >= today + timedelta(days=2)
    assert (local.hour, local.minute) == (
        11,
        0,
    )  # two staffed hours after the first opening, not 120 minutes from now
    with database.reader() as session:
        automatic = list(
            session.scalars(select(Message).where(Message.conversation_id == cid, Message.direction == "out"))
        )
    assert len(automatic) == 1
    assert automatic[0].is_automatic
    assert automatic[0].text.startswith("Vi svarer ")
    detail = json_of(client.get(f"/api/v1/conversations/{cid}", headers=auth(seeded.agent_token)))
    assert detail["waiting_since"] is not None  # an automatic reply is no answer
    assert detail["first_response_at"] is None
    assert datetime.now(UTC) < due
