"""Exporting everything held about a person (data-subject access request): their identities, their
conversations with the brand's replies, only their part of shared threads, moderation decisions,
JSON and an escaped HTML page, through the API and ``tilsvar privacy export``; audited; refused
to roles without the privacy permission."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from tilsvar.cli import app as cli_app
from tilsvar.db import Database
from tilsvar.models import AuditEntry

from conftest import IngestFn, Seeded
from helpers import auth, json_of


def seed(seeded: Seeded, ingest: IngestFn) -> None:
    ingest(
        seeded.x_channel, "Mit tog <script>alert(1)</script> er forsinket", external_id="x1", author_id="u9"
    )
    ingest(seeded.x_channel, "Vi undersøger det", external_id="x2", direction="out", in_reply_to="x1")
    ingest(seeded.fb_channel, "Hvor er bussen?", external_id="f1", author_id="p1", author_name="Kari")
    ingest(seeded.fb_channel, "Samme spørgsmål", external_id="f2", author_id="u9", in_reply_to="f1")
    ingest(seeded.fb_channel, "Til Kari: bussen kommer", external_id="f3", direction="out", in_reply_to="f1")


def test_export_json_and_html(
    client: TestClient, seeded: Seeded, ingest: IngestFn, database: Database
) -> None:
    seed(seeded, ingest)
    response = client.get(
        "/api/v1/privacy/export",
        params={"platform": "x", "author_id": "u9"},
        headers=auth(seeded.admin_token),
    )
    assert response.status_code == 200, response.text
    document = json_of(response)
    assert document["identities"][0]["author_id"] == "u9"
    (conversation,) = document["conversations"]
    assert conversation["whole_conversation"] is True
    assert [m["written_by"] for m in conversation["messages"]] == ["you", "brand"]
    assert "<script>" in conversation["messages"][0]["text"]  # their own text, unmasked, as JSON

    facebook = json_of(
        client.get(
            "/api/v1/privacy/export",
            params={"platform": "facebook", "author_id": "u9"},
            headers=auth(seeded.admin_token),
        )
    )
    (shared,) = facebook["conversations"]
    assert shared["whole_conversation"] is False
    assert [m["platform_id"] for m in shared["messages"]] == ["f2"]  # not Kari's message or her answer

    page = client.get(
        "/api/v1/privacy/export",
        params={"platform": "x", "author_id": "u9", "format": "html"},
        headers=auth(seeded.admin_token),
    )
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text

    assert (
        client.get(
            "/api/v1/privacy/export",
            params={"platform": "x", "author_id": "u9"},
            headers=auth(seeded.agent_token),
        ).status_code
        == 403
    )
    unknown = json_of(
        client.get(
            "/api/v1/privacy/export",
            params={"platform": "x", "author_id": "nobody"},
            headers=auth(seeded.admin_token),
        )
    )
    assert unknown["conversations"] == []
    with database.reader() as session:
        exports = list(session.scalars(select(AuditEntry).where(AuditEntry.action == "privacy.export")))
    assert len(exports) == 4  # json, facebook, html and the unknown person
    assert exports[0].actor == seeded.admin.email


def test_cli_export(seeded: Seeded, ingest: IngestFn, tmp_path: Path, run_jobs: Callable[[], int]) -> None:
    seed(seeded, ingest)
    run_jobs()
    runner = CliRunner()
    result = runner.invoke(cli_app, ["privacy", "export", "--platform", "x", "--author-id", "u9"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["conversations"][0]["messages"][1]["written_by"] == "brand"
    target = tmp_path / "export.html"
    result = runner.invoke(
        cli_app,
        ["privacy", "export", "--platform", "x", "--author-id", "u9", "--format", "html", "-o", str(target)],
    )
    assert result.exit_code == 0, result.output
    assert "Personal data export" in target.read_text(encoding="utf-8")


def test_admin_privacy_page(client: TestClient, seeded: Seeded, ingest: IngestFn, database: Database) -> None:
    seed(seeded, ingest)
    response = client.post(
        "/login",
        data={"email": seeded.supervisor.email, "password": seeded.password, "next": "/inbox"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = client.get("/admin/privacy")
    assert page.status_code == 200
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match
    csrf = match.group(1)
    download = client.get("/admin/privacy/export", params={"platform": "x", "author_id": "u9"})
    assert download.headers["content-disposition"].startswith("attachment")
    assert "&lt;script&gt;" in download.text
    policy = client.post(
        "/admin/privacy/policies",
        data={
            "csrf_token": csrf,
            "target": "conversations",
            "action": "delete",
            "days": "30",
            "name": "A month",
        },
        follow_redirects=False,
    )
    assert policy.status_code == 303
    assert "A month" in client.get("/admin/privacy").text
    refused = client.post(
        "/admin/privacy/erase", data={"csrf_token": csrf, "platform": "x", "author_id": "u9", "confirm": "u8"}
    )
    assert refused.status_code == 400
    erased = client.post(
        "/admin/privacy/erase",
        data={"csrf_token": csrf, "platform": "x", "author_id": "u9", "confirm": "u9"},
        follow_redirects=True,
    )
    assert erased.status_code == 200
    assert "Erased: 2 messages" in erased.text
