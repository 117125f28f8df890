"""The workflow in the web UI: the panel beside a conversation (status buttons, SLA countdown, why
routed here, notes), canned responses in the reply box, the rules editor with validation errors and
YAML export, the approval queue and notifications; customer text stays escaped; forms need CSRF."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tilsvar.db import Database
from workflow_support import FakePipeline, RunJobs, conversation_of, pipeline

from conftest import IngestFn, Seeded
from helpers import auth, sign_in

__all__ = ["pipeline"]


def test_the_workflow_panel_changes_status_adds_notes_and_escapes_text(
    client: TestClient,
    seeded: Seeded,
    database: Database,
    ingest: IngestFn,
    run_jobs: RunJobs,
    pipeline: FakePipeline,
) -> None:
    cid = conversation_of(database, ingest(seeded.fb_channel, "<img src=x onerror=alert(1)> hjælp"))
    run_jobs()
    canned = {"shortcut": "hi", "title": "Greeting", "text": "Hej {customer_name}"}
    client.post("/api/v1/canned-responses", json=canned, headers=auth(seeded.admin_token))
    csrf = sign_in(client, seeded.admin.email, seeded.password)
    page = client.get(f"/conversations/{cid}")
    assert f'hx-get="/conversations/{cid}/workflow"' in page.text
    panel = client.get(f"/conversations/{cid}/workflow", headers={"HX-Request": "true"})
    assert panel.status_code == 200
    assert "Why is this conversation here?" in panel.text
    assert "sla sla-ok" in panel.text
    assert "<img src=x" not in panel.text
    refused = client.post(f"/conversations/{cid}/status", data={"status": "pending", "csrf_token": "forged"})
    assert refused.status_code == 403
    changed = client.post(
        f"/conversations/{cid}/status",
        data={"status": "pending", "csrf_token": csrf},
        headers={"HX-Request": "true"},
    )
    assert 'status status-pending">pending' in changed.text
    noted = client.post(
        f"/conversations/{cid}/notes",
        data={"text": "<b>@anders</b> se her", "csrf_token": csrf},
        headers={"HX-Request": "true"},
    )
    assert "&lt;b&gt;@anders&lt;/b&gt; se her" in noted.text
    box = client.get(f"/conversations/{cid}/reply-box", headers={"HX-Request": "true"})
    assert "Greeting" in box.text
    chosen_id = box.text.split("reply-box?canned=")[1].split('"')[0]
    filled = client.get(f"/conversations/{cid}/reply-box?canned={chosen_id}", headers={"HX-Request": "true"})
    assert "Hej Ola</textarea>" in filled.text
    inbox = client.get("/inbox?view=open")
    assert '<th scope="col">SLA</th>' in inbox.text


def test_the_rules_editor_shows_validation_errors_and_saves_valid_rules(
    client: TestClient, seeded: Seeded, pipeline: FakePipeline
) -> None:
    csrf = sign_in(client, seeded.admin.email, seeded.password)
    assert client.get("/workflow").status_code == 200
    bad = client.post(
        "/workflow/rules",
        data={
            "text": "rules:\n  - id: a\n    when: {plaform: x}\n    then: [{assign_team: press}]\n",
            "csrf_token": csrf,
        },
    )
    assert bad.status_code == 422
    assert "did you mean &#39;platform&#39;?" in bad.text
    assert "plaform: x" in bad.text  # the text is kept for fixing
    good = client.post(
        "/workflow/rules",
        data={
            "text": "rules:\n  - id: x\n    when: {platform: x}\n    then: [{assign_team: press}]\n",
            "csrf_token": csrf,
        },
    )
    assert good.status_code == 200
    assert "rules saved" in good.text
    exported = client.get("/api/v1/workflow/rules.yaml", headers=auth(seeded.admin_token))
    assert "assign_team: press" in exported.text
    calendar = client.post(
        "/workflow/calendar", data={"text": "name: X\ntimezone: Mars/Olympus\n", "csrf_token": csrf}
    )
    assert calendar.status_code == 422
    assert "unknown time zone" in calendar.text


def test_approval_queue_and_notification_pages(
    client: TestClient, seeded: Seeded, pipeline: FakePipeline
) -> None:
    sign_in(client, seeded.agent.email, seeded.password)
    assert "Nothing is waiting for you." in client.get("/approvals").text
    assert "No notifications." in client.get("/notifications").text
    assert client.get("/workflow").status_code == 200
