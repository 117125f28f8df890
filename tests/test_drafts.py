"""Drafts for review ("ask a colleague") and rules that require approval: a reply needing approval is
held until approved, then sent exactly as approved; a rejection goes back with a comment."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from tilsvar.actions.org import do_add_team_member, do_create_api_token, do_create_user
from tilsvar.db import Database
from tilsvar.models import Message, Organization, Team
from workflow_support import FakePipeline, RunJobs, conversation_of, pipeline, put_rules, workflow

from conftest import IngestFn, Seeded
from helpers import auth, json_of

__all__ = ["pipeline"]

PRESS_APPROVAL = """
rules:
  - id: journalists
    when: {intent: press}
    then: [{assign_team: press}, {require_approval: {team: press}}]
"""


def test_a_reply_that_needs_approval_is_held_until_the_press_team_approves(
    client: TestClient,
    seeded: Seeded,
    database: Database,
    ingest: IngestFn,
    run_jobs: RunJobs,
    pipeline: FakePipeline,
) -> None:
    with database.session() as session:
        org = session.get_one(Organization, seeded.org.id)
        press = do_create_user(
            session, organization=org, email="pia@nordicrail.example", role="press", name="Pia Press"
        )
        do_add_team_member(session, team=session.get_one(Team, seeded.press_team.id), user=press)
        press_token = do_create_api_token(session, user=press, name="t")
    assert put_rules(client, seeded.admin_token, PRESS_APPROVAL).status_code == 200
    text = pipeline.label("Journalist her: kommentar til aflysningerne?", intent="press")
    cid = conversation_of(database, ingest(seeded.fb_channel, text))
    run_jobs()
    assert workflow(client, seeded.agent_token, cid)["requires_approval"] is True
    direct = client.post(
        f"/api/v1/conversations/{cid}/replies",
        json={"text": "Ingen kommentarer"},
        headers=auth(seeded.agent_token),
    )
    assert direct.status_code == 409
    draft = client.post(
        f"/api/v1/conversations/{cid}/drafts",
        json={"text": "Vi vender tilbage"},
        headers=auth(seeded.agent_token),
    )
    assert draft.json()["status"] == "approval"
    queue = json_of(client.get("/api/v1/drafts", headers=auth(press_token)))["items"]
    assert [item["id"] for item in queue] == [draft.json()["id"]]
    assert json_of(client.get("/api/v1/drafts", headers=auth(seeded.agent_token)))["items"] == []
    assert (
        client.post(
            f"/api/v1/drafts/{draft.json()['id']}/approve", json={}, headers=auth(seeded.agent_token)
        ).status_code
        == 403
    )
    approved = client.post(
        f"/api/v1/drafts/{draft.json()['id']}/approve",
        json={"text": "Vi vender tilbage i dag."},
        headers=auth(press_token),
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "sent"
    run_jobs()
    with database.reader() as session:
        sent = session.scalars(
            select(Message.text).where(Message.conversation_id == cid, Message.direction == "out")
        ).all()
    assert sent == ["Vi vender tilbage i dag."]
    # The press team itself replies directly.
    own = client.post(f"/api/v1/conversations/{cid}/replies", json={"text": "Tak"}, headers=auth(press_token))
    assert own.status_code == 202


def test_ask_a_colleague_to_review_a_draft_and_reject_it_with_a_comment(
    client: TestClient,
    seeded: Seeded,
    database: Database,
    ingest: IngestFn,
    run_jobs: RunJobs,
    pipeline: FakePipeline,
) -> None:
    cid = conversation_of(database, ingest(seeded.fb_channel, "I er de værste"))
    run_jobs()
    draft = client.post(
        f"/api/v1/conversations/{cid}/drafts",
        json={"text": "Så lad være med at køre med os!", "reviewer_id": seeded.admin.id},
        headers=auth(seeded.agent_token),
    )
    assert draft.json()["status"] == "review"
    queue = json_of(client.get("/api/v1/drafts", headers=auth(seeded.admin_token)))["items"]
    assert queue[0]["text"] == "Så lad være med at køre med os!"
    rejected = client.post(
        f"/api/v1/drafts/{draft.json()['id']}/reject",
        json={"comment": "Tag en pause og prøv igen"},
        headers=auth(seeded.admin_token),
    )
    assert rejected.json()["status"] == "rejected"
    notes = json_of(client.get("/api/v1/notifications", headers=auth(seeded.agent_token)))["items"]
    assert notes[0]["kind"] == "draft_decided"
    assert "Tag en pause" in notes[0]["text"]
    again = client.post(
        f"/api/v1/drafts/{draft.json()['id']}/approve", json={}, headers=auth(seeded.admin_token)
    )
    assert again.status_code == 409
