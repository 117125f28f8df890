"""Internal notes with @mentions and notifications, hand-over with a note, manual assignment,
presence (who else is viewing or typing)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tilsvar.actions.org import do_create_api_token, do_create_user
from tilsvar.db import Database
from tilsvar.models import Brand, Organization
from tilsvar.presence import board
from workflow_support import FakePipeline, RunJobs, conversation_of, pipeline, workflow

from conftest import IngestFn, Seeded
from helpers import auth, json_of

__all__ = ["pipeline"]


def test_a_note_mentions_colleagues_who_are_notified_and_never_reaches_the_customer(
    client: TestClient,
    seeded: Seeded,
    database: Database,
    ingest: IngestFn,
    run_jobs: RunJobs,
    pipeline: FakePipeline,
) -> None:
    with database.session() as session:
        org = session.get_one(Organization, seeded.org.id)
        outsider = do_create_user(
            session,
            organization=org,
            email="fie@nordicrail.example",
            role="agent",
            name="Fie Fjord",
            brands=[session.get_one(Brand, seeded.market.id)],
        )
        outsider_token = do_create_api_token(session, user=outsider, name="t")
    cid = conversation_of(database, ingest(seeded.fb_channel, "Jeg vil klage"))
    run_jobs()
    response = client.post(
        f"/api/v1/conversations/{cid}/notes",
        json={"text": "@anders kan du tage denne? @sune fyi. @fie <b>ikke dig</b>"},
        headers=auth(seeded.admin_token),
    )
    assert response.status_code == 201, response.text
    assert sorted(response.json()["mentions"]) == sorted([seeded.agent.id, seeded.supervisor.id])
    mine = json_of(client.get("/api/v1/notifications?unread=true", headers=auth(seeded.agent_token)))
    assert mine["unread"] == 1
    assert mine["items"][0]["kind"] == "mention"
    assert mine["items"][0]["conversation_id"] == cid
    assert json_of(client.get("/api/v1/notifications", headers=auth(outsider_token)))["unread"] == 0
    marked = client.post("/api/v1/notifications/read", json={}, headers=auth(seeded.agent_token))
    assert marked.json() == {"marked": 1}
    view = workflow(client, seeded.agent_token, cid)
    assert view["notes"][0]["text"].startswith("@anders kan du")
    detail = json_of(client.get(f"/api/v1/conversations/{cid}", headers=auth(seeded.agent_token)))
    assert all(message["direction"] == "in" for message in detail["messages"])
    assert (
        client.post(
            f"/api/v1/conversations/{cid}/notes", json={"text": "   "}, headers=auth(seeded.agent_token)
        ).status_code
        == 422
    )


def test_hand_over_with_a_note_and_manual_assignment(
    client: TestClient,
    seeded: Seeded,
    database: Database,
    ingest: IngestFn,
    run_jobs: RunJobs,
    pipeline: FakePipeline,
) -> None:
    cid = conversation_of(database, ingest(seeded.fb_channel, "Min refusion?"))
    run_jobs()
    assigned = client.post(
        f"/api/v1/conversations/{cid}/assign",
        json={"team_id": seeded.press_team.id},
        headers=auth(seeded.agent_token),
    )
    assert assigned.json()["team"]["id"] == seeded.press_team.id
    handed = client.post(
        f"/api/v1/conversations/{cid}/handover",
        json={"assignee_id": seeded.supervisor.id, "note": "Kunden venter på refusion, sag 1234"},
        headers=auth(seeded.agent_token),
    )
    assert handed.status_code == 200, handed.text
    view = handed.json()
    assert view["assignee"]["id"] == seeded.supervisor.id
    assert view["notes"][-1]["text"] == "Kunden venter på refusion, sag 1234"
    assert any(entry["kind"] == "handover" for entry in view["timeline"])
    supervisor_token = None
    with database.session() as session:
        from tilsvar.models import User

        supervisor_token = do_create_api_token(
            session, user=session.get_one(User, seeded.supervisor.id), name="s"
        )
    items = json_of(client.get("/api/v1/notifications", headers=auth(supervisor_token)))["items"]
    assert items[0]["kind"] == "handover"
    assert "sag 1234" in items[0]["text"]
    no_note = client.post(
        f"/api/v1/conversations/{cid}/handover",
        json={"assignee_id": seeded.agent.id, "note": " "},
        headers=auth(seeded.agent_token),
    )
    assert no_note.status_code == 422
    analyst = client.post(
        f"/api/v1/conversations/{cid}/assign",
        json={"assignee_id": seeded.analyst.id},
        headers=auth(seeded.admin_token),
    )
    assert analyst.status_code == 422  # an analyst may not reply, so cannot own a conversation


def test_presence_shows_who_else_is_viewing_or_typing(
    client: TestClient,
    seeded: Seeded,
    database: Database,
    ingest: IngestFn,
    run_jobs: RunJobs,
    pipeline: FakePipeline,
) -> None:
    board.clear()
    cid = conversation_of(database, ingest(seeded.fb_channel, "Hej"))
    run_jobs()
    first = client.post(
        f"/api/v1/conversations/{cid}/presence", json={"state": "typing"}, headers=auth(seeded.admin_token)
    )
    assert first.json() == {"others": []}
    second = client.post(
        f"/api/v1/conversations/{cid}/presence", json={"state": "viewing"}, headers=auth(seeded.agent_token)
    )
    assert second.json()["others"] == [
        {"user_id": seeded.admin.id, "name": "Astrid Admin", "state": "typing"}
    ]
    client.post(
        f"/api/v1/conversations/{cid}/presence", json={"state": "left"}, headers=auth(seeded.admin_token)
    )
    third = client.post(
        f"/api/v1/conversations/{cid}/presence", json={"state": "viewing"}, headers=auth(seeded.agent_token)
    )
    assert third.json() == {"others": []}
