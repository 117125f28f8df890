"""Erasing a person (data-subject erasure): after ``POST /api/v1/privacy/erase`` their text and
personal data are nowhere — not in search, not in any table, and (SQLite) not in the bytes of the
database file, its WAL or shared-memory file; other customers are untouched; the erasure is audited
and recorded without the data."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import inspect, select, text
from typer.testing import CliRunner

from tilsvar.cli import app as cli_app
from tilsvar.db import Database
from tilsvar.models import AuditEntry, Identity, Message
from tilsvar.settings import Settings

from conftest import IngestFn, Seeded
from helpers import auth, json_of

MARKER = "zebrafinkqxv"
PHONE = "+45 20 11 22 33"
EMAIL = "ola.erase@example.org"
OTHER = "kolibrirrw"


def search_total(client: TestClient, token: str, query: str) -> int:
    response = client.get("/api/v1/search", params={"q": query}, headers=auth(token))
    assert response.status_code == 200, response.text
    return int(json_of(response)["total"])


def seed_person(client: TestClient, seeded: Seeded, ingest: IngestFn, run_jobs: Callable[[], int]) -> None:
    ingest(seeded.x_channel, f"Toget er forsinket {MARKER} ring {PHONE}", external_id="x1", author_id="u42")
    ingest(seeded.x_channel, "Vi kigger på det", external_id="x2", direction="out", in_reply_to="x1")
    ingest(
        seeded.x_channel,
        f"Stadig {MARKER} skriv til {EMAIL}",
        external_id="x3",
        author_id="u42",
        in_reply_to="x2",
    )
    # A public thread shared with another customer: only u42's message and the reply to it go.
    ingest(
        seeded.fb_channel,
        f"Billetten virker ikke {OTHER}",
        external_id="f1",
        author_id="p7",
        author_name="Kari",
    )
    ingest(
        seeded.fb_channel, f"Samme her {MARKER} {PHONE}", external_id="f2", author_id="u42", in_reply_to="f1"
    )
    ingest(
        seeded.fb_channel,
        f"Beklager {MARKER}, vi ringer",
        external_id="f3",
        direction="out",
        in_reply_to="f2",
    )
    ingest(seeded.fb_channel, f"Tak {OTHER}", external_id="f4", direction="out", in_reply_to="f1")
    # The generic API channel keeps the raw payload (raw_events) too.
    response = client.post(
        "/api/v1/inbound",
        json={
            "account": "rail-app",
            "external_id": "a1",
            "author": {"id": "u42", "name": "Ola Nordmann"},
            "text": f"App-fejl {MARKER} {PHONE}",
        },
        headers=auth(seeded.admin_token),
    )
    assert response.status_code == 201, response.text
    run_jobs()


def test_erasure_leaves_no_copy(
    client: TestClient,
    seeded: Seeded,
    ingest: IngestFn,
    run_jobs: Callable[[], int],
    database: Database,
    settings: Settings,
) -> None:
    seed_person(client, seeded, ingest, run_jobs)
    assert search_total(client, seeded.admin_token, MARKER) >= 3
    assert search_total(client, seeded.admin_token, OTHER) == 2

    refused = client.post(
        "/api/v1/privacy/erase",
        json={"platform": "x", "author_id": "u42", "confirm": "u42"},
        headers=auth(seeded.agent_token),
    )
    assert refused.status_code == 403
    unconfirmed = client.post(
        "/api/v1/privacy/erase",
        json={"platform": "x", "author_id": "u42", "confirm": "nope"},
        headers=auth(seeded.admin_token),
    )
    assert unconfirmed.status_code == 400
    for platform in ("x", "facebook", "api"):
        response = client.post(
            "/api/v1/privacy/erase",
            json={"platform": platform, "author_id": "u42", "confirm": "u42"},
            headers=auth(seeded.admin_token),
        )
        assert response.status_code == 200, response.text
        assert json_of(response)["erased"]["messages"] >= 1
    missing = client.post(
        "/api/v1/privacy/erase",
        json={"platform": "x", "author_id": "u42", "confirm": "u42"},
        headers=auth(seeded.admin_token),
    )
    assert missing.status_code == 404

    assert search_total(client, seeded.admin_token, MARKER) == 0
    assert search_total(client, seeded.admin_token, OTHER) == 2  # the other customer is intact

    with database.reader() as session:
        assert session.scalar(select(Identity).where(Identity.external_id == "u42")) is None
        kept = {row[0]: row[1] for row in session.execute(select(Message.external_id, Message.text))}
        assert set(kept) == {"f1", "f3", "f4"}
        assert OTHER in kept["f1"]
        assert MARKER not in kept["f3"]  # the brand's reply to them is blanked
        details = [
            entry.details
            for entry in session.scalars(select(AuditEntry).where(AuditEntry.action == "privacy.erase"))
        ]
        assert len(details) == 3
        assert MARKER not in json.dumps(details)

    deletions = json_of(client.get("/api/v1/privacy/deletions", headers=auth(seeded.admin_token)))
    assert [row["kind"] for row in deletions] == ["erasure"] * 3

    needles = [MARKER, PHONE, "20 11 22 33", EMAIL, "Ola Nordmann"]
    if database.is_sqlite:
        database.dispose()  # let go of every pooled connection before reading the files
        data = b"".join(
            path.read_bytes() for path in Path(database.engine.url.database or "").parent.glob("tilsvar.db*")
        )
        assert data, "no database files found"
        for needle in needles:
            assert needle.encode() not in data, needle
        assert OTHER.encode() in data or b"kolibri" in data
    else:
        assert_no_text_in_tables(database, needles)
    assert_no_text_in_files(settings.data_dir, needles)


def assert_no_text_in_tables(database: Database, needles: list[str]) -> None:
    with database.engine.connect() as connection:
        tables = inspect(connection).get_table_names()
        for table in tables:
            found = connection.execute(
                text(
                    f'SELECT count(*) FROM "{table}" t WHERE '
                    + " OR ".join(f"position(:n{i} in CAST(t AS text)) > 0" for i in range(len(needles)))
                ),
                {f"n{i}": needle for i, needle in enumerate(needles)},
            ).scalar_one()
            assert found == 0, table


def assert_no_text_in_files(data_dir: Path, needles: list[str]) -> None:
    if not data_dir.exists():
        return
    for path in data_dir.rglob("*"):
        if path.is_file() and not path.name.startswith("tilsvar.db"):
            content = path.read_bytes()
            for needle in needles:
                assert needle.encode() not in content, (path, needle)


def test_cli_erase_and_unknown_person(
    client: TestClient, seeded: Seeded, ingest: IngestFn, run_jobs: Callable[[], int]
) -> None:
    seed_person(client, seeded, ingest, run_jobs)
    runner = CliRunner()
    result = runner.invoke(
        cli_app, ["privacy", "erase", "--platform", "x", "--author-id", "u42", "--no-vacuum"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["erased"]["identities"] >= 1
    again = runner.invoke(cli_app, ["privacy", "erase", "--platform", "x", "--author-id", "u42"])
    assert again.exit_code == 2
