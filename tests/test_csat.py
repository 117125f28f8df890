"""CSAT: after a resolution the customer is asked on the same channel; an answer by message ("1",
😊, "godt") or on the public page (signed link, three faces, comment) attaches to the conversation,
the agent and the team, and never reopens the conversation or starts a clock."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from tilsvar.actions.csat import parse_rating, survey_token
from tilsvar.db import Database
from tilsvar.models import Message
from workflow_support import FakePipeline, RunJobs, conversation_of, pipeline, workflow

from conftest import IngestFn, Seeded
from helpers import auth, json_of

__all__ = ["pipeline"]


def _answered_and_resolved(
    client: TestClient, seeded: Seeded, database: Database, ingest: IngestFn, run_jobs: RunJobs, mode: str
) -> int:
    settings = client.put(
        f"/api/v1/channels/{seeded.fb_channel.id}/workflow",
        json={"csat_enabled": True, "csat_mode": mode},
        headers=auth(seeded.admin_token),
    )
    assert settings.status_code == 200, settings.text
    cid = conversation_of(database, ingest(seeded.fb_channel, "Mit kort er spærret", external_id="root"))
    run_jobs()
    client.post(
        f"/api/v1/conversations/{cid}/replies",
        json={"text": "Nu virker det"},
        headers=auth(seeded.agent_token),
    )
    run_jobs()
    resolved = client.post(
        f"/api/v1/conversations/{cid}/status", json={"status": "resolved"}, headers=auth(seeded.agent_token)
    )
    assert resolved.status_code == 200
    run_jobs()
    return cid


def test_a_survey_answered_by_message_attaches_to_conversation_agent_and_team(
    client: TestClient,
    seeded: Seeded,
    database: Database,
    ingest: IngestFn,
    run_jobs: RunJobs,
    pipeline: FakePipeline,
) -> None:
    cid = _answered_and_resolved(client, seeded, database, ingest, run_jobs, "message")
    with database.reader() as session:
        survey_message = session.scalars(
            select(Message).where(Message.conversation_id == cid, Message.is_automatic.is_(True))
        ).one()
    assert "1 😊" in survey_message.text
    ingest(seeded.fb_channel, "1", in_reply_to="root")
    run_jobs()
    view = workflow(client, seeded.agent_token, cid)
    assert view["status"] == "resolved"
    assert view["csat"][0]["rating"] == "happy"
    assert view["csat"][0]["agent_user_id"] == seeded.agent.id
    assert view["csat"][0]["team_id"] == seeded.service_team.id
    assert all(clock["state"] != "running" for clock in view["sla"]["clocks"])
    report = json_of(client.get("/api/v1/csat", headers=auth(seeded.admin_token)))
    assert report["answered"] == 1
    assert report["happy_share"] == 1.0


def test_a_message_that_is_no_rating_reopens_the_conversation_and_starts_a_clock(
    client: TestClient,
    seeded: Seeded,
    database: Database,
    ingest: IngestFn,
    run_jobs: RunJobs,
    pipeline: FakePipeline,
) -> None:
    cid = _answered_and_resolved(client, seeded, database, ingest, run_jobs, "message")
    ingest(seeded.fb_channel, "Nej, kortet virker stadig ikke", in_reply_to="root")
    run_jobs()
    view = workflow(client, seeded.agent_token, cid)
    assert view["status"] == "open"
    assert view["csat"][0]["rating"] is None
    assert any(clock["state"] == "running" for clock in view["sla"]["clocks"])
    assert any("Reopened by the customer's message" in entry["summary"] for entry in view["timeline"])


def test_a_survey_link_opens_a_public_page_with_three_faces(
    client: TestClient,
    seeded: Seeded,
    database: Database,
    ingest: IngestFn,
    run_jobs: RunJobs,
    pipeline: FakePipeline,
) -> None:
    cid = _answered_and_resolved(client, seeded, database, ingest, run_jobs, "link")
    with database.reader() as session:
        text = session.scalars(
            select(Message.text).where(Message.conversation_id == cid, Message.is_automatic.is_(True))
        ).one()
    path = re.search(r"/csat/[0-9]+\.[0-9a-f]+", text)
    assert path is not None
    page = client.get(path.group(0))
    assert page.status_code == 200
    assert page.text.count('name="rating"') == 3
    answer = client.post(path.group(0), data={"rating": "sad", "comment": "<script>x</script> for langsomt"})
    assert answer.status_code == 200
    assert "<script>x</script>" not in answer.text
    view = workflow(client, seeded.agent_token, cid)
    assert view["csat"][0]["rating"] == "sad"
    assert view["csat"][0]["comment"] == "<script>x</script> for langsomt"
    forged = path.group(0).rsplit(".", 1)[0] + ".0000"
    assert client.get(forged).status_code == 404
    assert client.post(path.group(0), data={"rating": "meh"}).status_code == 422


def test_ratings_in_our_languages() -> None:
    assert [parse_rating(t) for t in ("1", "😊", "Godt!", "2", "ok", "3", "☹️", "dårlig", "hvornår?")] == [
        "happy", "happy", "happy", "neutral", "neutral", "sad", "sad", "sad", None,
    ]  # fmt: skip
    assert survey_token(7).startswith("7.")
