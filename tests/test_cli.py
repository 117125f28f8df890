"""The command line as a user runs it: real `tilsvar` processes on a real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tilsvar.settings import Settings

from conftest import BACKEND
from helpers import shared_path

TILSVAR = [sys.executable, "-m", "tilsvar"]


def run(
    settings: Settings, *args: str, stdin: str = "", check: bool = True
) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("TILSVAR_") or k.startswith("TILSVAR_TEST")
    }
    env["TILSVAR_DATA_DIR"] = str(settings.data_dir)
    env["TILSVAR_DATABASE_URL"] = settings.effective_database_url
    result = subprocess.run(
        [*TILSVAR, *args], input=stdin, capture_output=True, text=True, env=env, timeout=120
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_migrate_users_tokens_and_settings(settings: Settings) -> None:
    assert "schema up to date" in run(settings, "migrate").stderr
    created = run(
        settings,
        "users",
        "create",
        "--email",
        "Eva@Example.org",
        "--role",
        "agent",
        "--password-stdin",
        stdin="a long password\n",
    )
    assert "created agent eva@example.org" in created.stdout
    duplicate = run(settings, "users", "create", "--email", "eva@example.org", "--role", "agent", check=False)
    assert duplicate.returncode == 2
    assert "exists already" in duplicate.stderr
    bad_role = run(settings, "users", "create", "--email", "x@example.org", "--role", "boss", check=False)
    assert "unknown role" in bad_role.stderr
    token = run(settings, "users", "token", "--email", "eva@example.org").stdout.strip()
    assert token.startswith("tsv_")
    assert "eva@example.org" in run(settings, "users", "list").stdout
    assert "TILSVAR_DATABASE_URL" in run(settings, "settings", "--markdown").stdout


def test_import_then_report(settings: Settings, tmp_path: Path) -> None:
    csv_path = shared_path("eval", "support", "twcs", "twcs_threads.csv")
    first = run(settings, "import", str(csv_path), "--format", "twcs", "--output", "json")
    assert json.loads(first.stdout)["imported"] == 1687
    second = run(settings, "import", str(csv_path), "--format", "twcs")
    assert "imported 0, skipped duplicates 1687, rejected 0" in second.stdout
    report = json.loads(
        run(settings, "report", "--from", "2000-01-01", "--to", "2030-12-31", "--format", "json").stdout
    )
    assert report["inquiries"] == 383
    assert report["first_response_minutes"]["target"] == 320
    out = tmp_path / "kpis.csv"
    run(settings, "report", "--from", "2000-01-01", "--to", "2030-12-31", "--format", "csv", "-o", str(out))
    lines = out.read_text().splitlines()
    assert lines[0].startswith("scope,platform,account,inquiries")
    assert lines[1].startswith("all,,,383,")
    bad = run(settings, "report", "--from", "2017-13-01", "--to", "2017-12-31", check=False)
    assert bad.returncode == 2


def test_import_reports_bad_lines_and_keeps_going(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    good = {
        "platform": "api",
        "account": "app",
        "external_id": "1",
        "direction": "in",
        "author": {"id": "u"},
        "created_at": "2026-01-01T10:00:00+00:00",
        "text": "hej",
    }
    path.write_text("\n".join([json.dumps(good), "oops", json.dumps({**good, "external_id": "2"})]) + "\n")
    result = run(settings, "import", str(path))
    assert "imported 2, skipped duplicates 0, rejected 1" in result.stdout
    assert "line 2: invalid JSON" in result.stdout


def test_postgresql_needs_an_explicit_migrate(settings: Settings) -> None:
    if BACKEND != "postgresql":
        return
    result = run(settings, "channels", "list")
    assert result.returncode == 0  # the test database is already migrated
