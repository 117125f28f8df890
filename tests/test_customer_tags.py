"""Customer tags: tags on the contact (not the conversation), set and removed through the API and the
conversation panel (CSRF-protected form), shown with the customer, audited, and asked by routing rules
with ``customer_tags`` — a VIP's next conversation is routed by it on any channel."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from tilsvar.db import Database
from tilsvar.models import AuditEntry, Conversation
from workflow_support import FakePipeline, RunJobs, conversation_of, pipeline, put_rules, workflow

from conftest import IngestFn, Seeded
from helpers import auth, json_of, sign_in

__all__ = ["pipeline"]

VIP_RULES = """
rules:
  - id: vip
    name: VIP customers go to press, urgently
    position: 10
    when: {customer_tags: [vip]}
    then: [{assign_team: press}, {set_priority: high}, {add_tag: vip}]
  - id: service
    position: 100
    then: [{assign_team: customer-service}]
"""


def _contact_of(database: Database, conversation_id: int) -> int:
    with database.reader() as session:
        contact_id = session.scalar(select(Conversation.contact_id).where(Conversation.id == conversation_id))
    assert contact_id is not None
    return contact_id


def test_customer_tags_are_set_and_removed_through_the_api_and_route_the_next_conversation(
    client: TestClient,
    seeded: Seeded,
    database: Database,
    ingest: IngestFn,
    run_jobs: RunJobs,
    pipeline: FakePipeline,
) -> None:
    assert put_rules(client, seeded.admin_token, VIP_RULES).status_code == 200
    first = conversation_of(database, ingest(seeded.fb_channel, "Hej, mit tog var forsinket", author_id="c9"))
    run_jobs()
    assert workflow(client, seeded.admin_token, first)["team"]["id"] == seeded.service_team.id
    contact_id = _contact_of(database, first)

    tagged = client.post(
        f"/api/v1/contacts/{contact_id}/tags",
        json={"add": ["VIP", " partner ", ""]},
        headers=auth(seeded.agent_token),
    )
    assert tagged.status_code == 200, tagged.text
    assert json_of(tagged)["tags"] == ["partner", "vip"]
    contact = json_of(client.get(f"/api/v1/contacts/{contact_id}", headers=auth(seeded.agent_token)))
    assert contact["tags"] == ["partner", "vip"]
    # Analysts (no "reply" permission) may not tag; an unknown contact is not found.
    denied = client.post(
        f"/api/v1/contacts/{contact_id}/tags", json={"add": ["x"]}, headers=auth(seeded.analyst_token)
    )
    assert denied.status_code == 403
    missing = client.post(
        "/api/v1/contacts/999999/tags", json={"add": ["x"]}, headers=auth(seeded.agent_token)
    )
    assert missing.status_code == 404
    clash = client.post(
        f"/api/v1/contacts/{contact_id}/tags",
        json={"add": ["vip"], "remove": ["vip"]},
        headers=auth(seeded.agent_token),
    )
    assert clash.status_code == 422

    # The same customer writes on another channel (a DM on X is the same contact only after a merge;
    # here: a new comment thread on Facebook) and the VIP rule routes it.
    second = conversation_of(
        database, ingest(seeded.fb_channel, "Endnu et spørgsmål om min billet", author_id="c9")
    )
    run_jobs()
    view = workflow(client, seeded.admin_token, second)
    assert view["team"]["id"] == seeded.press_team.id
    assert "customer tags" in view["explanation"] or "customer_tags" in view["explanation"]

    removed = client.post(
        f"/api/v1/contacts/{contact_id}/tags", json={"remove": ["vip"]}, headers=auth(seeded.agent_token)
    )
    assert json_of(removed)["tags"] == ["partner"]
    third = conversation_of(database, ingest(seeded.fb_channel, "Og en sidste ting", author_id="c9"))
    run_jobs()
    assert workflow(client, seeded.admin_token, third)["team"]["id"] == seeded.service_team.id
    with database.reader() as session:
        actions = list(
            session.scalars(select(AuditEntry.action).where(AuditEntry.action == "contact.tags_set"))
        )
    assert len(actions) == 2
    # Customer tags are data about the person: the privacy export lists them with the contact.
    exported = client.get(
        "/api/v1/privacy/export",
        params={"platform": "facebook", "author_id": "c9"},
        headers=auth(seeded.admin_token),
    )
    assert exported.status_code == 200, exported.text
    assert [c["tags"] for c in json_of(exported)["contacts"]] == [["partner"]]


def test_the_conversation_panel_tags_the_customer_with_a_csrf_protected_form(
    client: TestClient,
    seeded: Seeded,
    database: Database,
    ingest: IngestFn,
    run_jobs: RunJobs,
    pipeline: FakePipeline,
) -> None:
    cid = conversation_of(database, ingest(seeded.fb_channel, "Hjælp til min rejse", author_id="c7"))
    run_jobs()
    csrf = sign_in(client, seeded.agent.email, seeded.password)
    panel = client.get(f"/conversations/{cid}/workflow", headers={"HX-Request": "true"})
    assert "No customer tags." in panel.text
    assert f'action="/conversations/{cid}/customer-tags"' in panel.text
    forged = client.post(f"/conversations/{cid}/customer-tags", data={"add": "vip", "csrf_token": "forged"})
    assert forged.status_code == 403
    added = client.post(
        f"/conversations/{cid}/customer-tags",
        data={"add": "vip, <b>bold</b>", "csrf_token": csrf},
        headers={"HX-Request": "true"},
    )
    assert added.status_code == 200
    assert '<span class="tag">vip</span>' in added.text
    assert "&lt;b&gt;bold&lt;/b&gt;" in added.text
    assert "<b>bold</b>" not in added.text
    removed = client.post(
        f"/conversations/{cid}/customer-tags",
        data={"remove": "vip", "csrf_token": csrf},
        headers={"HX-Request": "true"},
    )
    assert '<span class="tag">vip</span>' not in removed.text
    contact = json_of(
        client.get(f"/api/v1/contacts/{_contact_of(database, cid)}", headers=auth(seeded.agent_token))
    )
    assert contact["tags"] == ["<b>bold</b>"]
