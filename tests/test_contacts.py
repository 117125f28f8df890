"""One customer across channels: merging contacts with undo and history beside the conversation;
moving a public comment to a private conversation with the same owner, both linked."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select

from tilsvar.db import Database
from tilsvar.models import Conversation
from workflow_support import FakePipeline, RunJobs, conversation_of, pipeline, set_online, workflow

from conftest import IngestFn, Seeded
from helpers import auth, json_of, sign_in

__all__ = ["pipeline"]


def _contact(database: Database, cid: int) -> int:
    with database.reader() as session:
        found = session.scalar(select(Conversation.contact_id).where(Conversation.id == cid))
    assert found is not None
    return int(found)


def test_merge_contacts_shows_the_whole_history_and_can_be_undone(
    client: TestClient,
    seeded: Seeded,
    database: Database,
    ingest: IngestFn,
    run_jobs: RunJobs,
    pipeline: FakePipeline,
) -> None:
    on_x = conversation_of(database, ingest(seeded.x_channel, "@NordicRailHelp hej", author_id="ola-x"))
    on_fb = conversation_of(database, ingest(seeded.fb_channel, "Hej igen", author_id="ola-fb"))
    run_jobs()
    source, target = _contact(database, on_x), _contact(database, on_fb)
    merged = client.post(
        "/api/v1/contacts/merges",
        json={"source_contact_id": source, "target_contact_id": target},
        headers=auth(seeded.agent_token),
    )
    assert merged.status_code == 201, merged.text
    contact = json_of(client.get(f"/api/v1/contacts/{target}", headers=auth(seeded.agent_token)))
    assert sorted(i["platform"] for i in contact["identities"]) == ["facebook", "x"]
    assert {c["id"] for c in contact["conversations"]} == {on_x, on_fb}
    beside = workflow(client, seeded.agent_token, on_fb)["other_conversations"]
    assert [c["id"] for c in beside] == [on_x]
    undone = client.post(
        f"/api/v1/contacts/merges/{merged.json()['id']}/undo", headers=auth(seeded.agent_token)
    )
    assert undone.status_code == 200
    assert _contact(database, on_x) == source
    assert (
        client.post(
            f"/api/v1/contacts/merges/{merged.json()['id']}/undo", headers=auth(seeded.agent_token)
        ).status_code
        == 409
    )
    assert workflow(client, seeded.agent_token, on_fb)["other_conversations"] == []


def test_a_public_comment_moves_to_a_private_conversation_with_the_same_owner(
    client: TestClient,
    seeded: Seeded,
    database: Database,
    ingest: IngestFn,
    run_jobs: RunJobs,
    pipeline: FakePipeline,
) -> None:
    set_online(client, seeded.admin_token, seeded.agent.id)
    public = conversation_of(database, ingest(seeded.fb_channel, "Mit kundenummer er ...", author_id="u7"))
    run_jobs()
    moved = client.post(
        f"/api/v1/conversations/{public}/move-to-private",
        json={"public_reply": "Vi har skrevet til dig privat."},
        headers=auth(seeded.agent_token),
    )
    assert moved.status_code == 201, moved.text
    private = moved.json()["conversation_id"]
    view = workflow(client, seeded.agent_token, private)
    assert view["assignee"]["id"] == seeded.agent.id
    assert view["linked_conversation_id"] == public
    assert workflow(client, seeded.agent_token, public)["linked_conversation_id"] == private
    # The customer's next DM lands in that private conversation and stays with the owner.
    ingest(seeded.fb_channel, "Her er mit nummer", author_id="u7", kind="dm")
    run_jobs()
    view = workflow(client, seeded.agent_token, private)
    assert view["assignee"]["id"] == seeded.agent.id
    assert (
        json_of(client.get(f"/api/v1/conversations/{private}", headers=auth(seeded.agent_token)))[
            "message_count"
        ]
        == 1
    )


def test_the_conversation_panel_merges_a_customer_and_undoes_it_with_csrf_forms(
    client: TestClient,
    seeded: Seeded,
    database: Database,
    ingest: IngestFn,
    run_jobs: RunJobs,
    pipeline: FakePipeline,
) -> None:
    on_x = conversation_of(database, ingest(seeded.x_channel, "@NordicRailHelp hej", author_id="kari-x"))
    on_fb = conversation_of(database, ingest(seeded.fb_channel, "Hej igen", author_id="kari-fb"))
    run_jobs()
    source, target = _contact(database, on_x), _contact(database, on_fb)
    csrf = sign_in(client, seeded.agent.email, seeded.password)
    hx = {"HX-Request": "true"}
    panel = client.get(f"/conversations/{on_fb}/workflow", headers=hx)
    assert f'action="/conversations/{on_fb}/contact-merge"' in panel.text
    forged = client.post(
        f"/conversations/{on_fb}/contact-merge", data={"source_contact_id": str(source), "csrf_token": "x"}
    )
    assert forged.status_code == 403
    unknown = client.post(
        f"/conversations/{on_fb}/contact-merge",
        data={"source_contact_id": "999999", "csrf_token": csrf},
        headers=hx,
    )
    assert unknown.status_code == 422
    assert "no contact 999999" in unknown.text
    merged = client.post(
        f"/conversations/{on_fb}/contact-merge",
        data={"source_contact_id": str(source), "csrf_token": csrf},
        headers=hx,
    )
    assert merged.status_code == 200
    assert "Undo merge" in merged.text
    assert _contact(database, on_x) == target
    merge_id = json_of(client.get(f"/api/v1/contacts/{target}", headers=auth(seeded.agent_token)))["merges"][
        0
    ]["id"]
    undone = client.post(
        f"/conversations/{on_fb}/contact-merge",
        data={"undo_merge_id": str(merge_id), "csrf_token": csrf},
        headers=hx,
    )
    assert undone.status_code == 200
    assert _contact(database, on_x) == source
    again = client.post(
        f"/conversations/{on_fb}/contact-merge",
        data={"undo_merge_id": str(merge_id), "csrf_token": csrf},
        headers=hx,
    )
    assert again.status_code == 422
    assert "already undone" in again.text


def test_the_conversation_panel_moves_a_comment_to_private_and_opens_it(
    client: TestClient,
    seeded: Seeded,
    database: Database,
    ingest: IngestFn,
    run_jobs: RunJobs,
    pipeline: FakePipeline,
) -> None:
    public = conversation_of(database, ingest(seeded.fb_channel, "Min ordre er forsinket", author_id="u9"))
    dm = conversation_of(database, ingest(seeded.fb_channel, "Hej", author_id="u10", kind="dm"))
    run_jobs()
    csrf = sign_in(client, seeded.agent.email, seeded.password)
    hx = {"HX-Request": "true"}
    action = f'action="/conversations/{public}/move-to-private"'
    assert action in client.get(f"/conversations/{public}/workflow", headers=hx).text
    # Only public comments and posts can move; a DM has no such form.
    assert "move-to-private" not in client.get(f"/conversations/{dm}/workflow", headers=hx).text
    forged = client.post(f"/conversations/{public}/move-to-private", data={"csrf_token": "x"})
    assert forged.status_code == 403
    moved = client.post(
        f"/conversations/{public}/move-to-private",
        data={"csrf_token": csrf, "public_reply": "Vi har skrevet til dig privat."},
        headers=hx,
    )
    assert moved.status_code == 204
    private = int(moved.headers["HX-Redirect"].rsplit("/", 1)[1])
    assert workflow(client, seeded.agent_token, private)["linked_conversation_id"] == public
    panel = client.get(f"/conversations/{public}/workflow", headers=hx).text
    assert action not in panel  # moved once; the link leads to it
    assert f'href="/conversations/{private}"' in panel
    # The optional public answer is queued under the comment.
    thread = json_of(client.get(f"/api/v1/conversations/{public}", headers=auth(seeded.agent_token)))
    assert "Vi har skrevet til dig privat." in json.dumps(thread)
    refused = client.post(f"/conversations/{dm}/move-to-private", data={"csrf_token": csrf}, headers=hx)
    assert refused.status_code == 422
    assert "only a public comment" in refused.text
