"""Canned responses per brand and language with variables and brand voice; bulk replies personalised
per customer."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from tilsvar.db import Database
from tilsvar.models import Brand, Message
from workflow_support import FakePipeline, RunJobs, conversation_of, pipeline

from conftest import IngestFn, Seeded
from helpers import auth, json_of, sign_in

__all__ = ["pipeline"]


def test_canned_responses_pick_brand_and_language_and_fill_variables_in_the_brand_voice(
    client: TestClient,
    seeded: Seeded,
    database: Database,
    ingest: IngestFn,
    run_jobs: RunJobs,
    pipeline: FakePipeline,
) -> None:
    with database.session() as session:
        session.get_one(Brand, seeded.rail.id).settings = {
            "voice": {"greeting": "Hej", "signoff": "/Nordic Rail"}
        }
    for body in (
        {"shortcut": "delay", "text": "Sorry {customer_name}, the train is late. {agent_name}, {brand}"},
        {"shortcut": "delay", "language": "da", "brand_id": seeded.rail.id, "title": "Forsinkelse",
         "text": "{greeting} {customer_name}, toget er forsinket. {agent_name} {signoff}"},
    ):  # fmt: skip
        assert (
            client.post("/api/v1/canned-responses", json=body, headers=auth(seeded.agent_token)).status_code
            == 201
        )
    bad = client.post(
        "/api/v1/canned-responses", json={"shortcut": "a b", "text": "x"}, headers=auth(seeded.agent_token)
    )
    assert bad.status_code == 422
    cid = conversation_of(
        database, ingest(seeded.fb_channel, "Toget er forsinket", author_name="Ola Nordmann")
    )
    english = conversation_of(
        database,
        ingest(
            seeded.fb_channel,
            pipeline.label("Is the train late?", language="en"),
            author_id="c9",
            author_name="Jane Doe",
        ),
    )
    run_jobs()
    danish = json_of(
        client.get(f"/api/v1/conversations/{cid}/canned-responses", headers=auth(seeded.agent_token))
    )
    assert [item["text"] for item in danish["items"]] == ["Hej Ola, toget er forsinket. Anders /Nordic Rail"]
    other = json_of(
        client.get(f"/api/v1/conversations/{english}/canned-responses", headers=auth(seeded.agent_token))
    )
    assert [item["text"] for item in other["items"]] == ["Sorry Jane, the train is late. Anders, Nordic Rail"]


def test_bulk_reply_personalises_each_message_and_reports_each_result(
    client: TestClient,
    seeded: Seeded,
    database: Database,
    ingest: IngestFn,
    run_jobs: RunJobs,
    pipeline: FakePipeline,
) -> None:
    ids = [
        conversation_of(database, ingest(seeded.fb_channel, "Aflyst?", author_id=f"p{n}", author_name=name))
        for n, name in enumerate(["Ola Nordmann", "Kari Hansen"])
    ]
    hidden = conversation_of(database, ingest(seeded.market_channel, "Aflyst?", author_id="m1"))
    run_jobs()
    response = client.post(
        "/api/v1/replies/bulk",
        json={"conversation_ids": [*ids, hidden], "text": "Hej {customer_name}, toget kører igen."},
        headers=auth(seeded.agent_token),
    )
    assert response.status_code == 202
    results = response.json()["results"]
    assert [r["error"] for r in results] == [None, None, "not found"]
    with database.reader() as session:
        texts = sorted(session.scalars(select(Message.text).where(Message.direction == "out")))
    assert texts == ["Hej Kari, toget kører igen.", "Hej Ola, toget kører igen."]


def test_canned_responses_are_managed_on_their_page_with_csrf_forms(
    client: TestClient, seeded: Seeded, database: Database
) -> None:
    csrf = sign_in(client, seeded.agent.email, seeded.password)
    page = client.get("/workflow/canned")
    assert page.status_code == 200
    assert "No canned responses yet." in page.text
    forged = client.post("/workflow/canned/new", data={"shortcut": "hi", "text": "Hej", "csrf_token": "x"})
    assert forged.status_code == 403
    bad = client.post(
        "/workflow/canned/new", data={"shortcut": "hej med dig", "text": "Hej", "csrf_token": csrf}
    )
    assert bad.status_code == 422
    assert "a shortcut is 1-100 letters" in bad.text
    assert "Hej</textarea>" in bad.text  # the text is kept for fixing
    saved = client.post(
        "/workflow/canned/new",
        data={
            "shortcut": "hi",
            "title": "Greeting",
            "text": "{greeting} {customer_name} <b>!</b>",
            "brand_id": str(seeded.rail.id),
            "language": "DA",
            "csrf_token": csrf,
        },
    )
    assert saved.status_code == 200
    assert "hi: saved" in saved.text
    assert "&lt;b&gt;!&lt;/b&gt;" in saved.text
    items = json_of(client.get("/api/v1/canned-responses", headers=auth(seeded.agent_token)))["items"]
    assert [(i["shortcut"], i["brand_id"], i["language"]) for i in items] == [("hi", seeded.rail.id, "da")]
    deleted = client.post(f"/workflow/canned/{items[0]['id']}/delete", data={"csrf_token": csrf})
    assert deleted.status_code == 200
    assert json_of(client.get("/api/v1/canned-responses", headers=auth(seeded.agent_token)))["items"] == []
    client.cookies.clear()
    analyst_csrf = sign_in(client, seeded.analyst.email, seeded.password)
    assert client.get("/workflow/canned").status_code == 200
    refused = client.post(
        "/workflow/canned/new", data={"shortcut": "x", "text": "y", "csrf_token": analyst_csrf}
    )
    assert refused.status_code == 403
