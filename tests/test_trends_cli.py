"""`tilsvar trends` as a user runs it: INTERFACES.md's JSON (platform ids, message times), the
--from/--to window, and --topics exports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime

from tilsvar.actions.ingest import do_ingest_messages
from tilsvar.channels import Author, InboundMessage
from tilsvar.db import Database
from tilsvar.settings import Settings
from tilsvar.trends.streams import chorus

from conftest import Seeded

CHORUS_START = datetime(2026, 11, 2, 9, 7, tzinfo=UTC)


def run(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("TILSVAR_") or k.startswith("TILSVAR_TEST")
    }
    env["TILSVAR_DATA_DIR"] = str(settings.data_dir)
    env["TILSVAR_DATABASE_URL"] = settings.effective_database_url
    result = subprocess.run(
        [sys.executable, "-m", "tilsvar", *args], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result


def test_trends_json_as_in_interfaces(
    settings: Settings, seeded: Seeded, database: Database, run_jobs: Callable[[], int]
) -> None:
    messages = chorus(CHORUS_START)
    with database.session() as session:
        do_ingest_messages(
            session,
            messages=[
                InboundMessage(
                    platform="x" if m.platform == "x" else "facebook",
                    account="NordicRailHelp" if m.platform == "x" else "NordicRail",
                    external_id=m.external_id,
                    direction="in",
                    kind=m.kind,
                    text=m.text,
                    created_at=m.at,
                    author=Author(id=m.author, name="Kim"),
                )
                for m in messages
            ],
        )
    run_jobs()
    alerts = json.loads(run(settings, "trends", "--format", "json").stdout)
    assert len(alerts) == 1
    alert = alerts[0]
    assert {"id", "label", "first_seen", "alerted_at", "message_ids", "platforms", "size"} <= set(alert)
    ordered = sorted(messages, key=lambda m: (m.at, m.external_id))
    assert alert["message_ids"] == [m.external_id for m in ordered]
    assert alert["platforms"] == ["facebook", "x"]
    assert alert["size"] == 15
    assert alert["first_seen"] == ordered[0].at.isoformat().replace("+00:00", "Z")
    assert alert["alerted_at"] == ordered[5].at.isoformat().replace("+00:00", "Z")
    day = CHORUS_START.date().isoformat()
    assert len(json.loads(run(settings, "trends", "--from", day, "--format", "json").stdout)) == 1
    assert json.loads(run(settings, "trends", "--to", day, "--format", "json").stdout) == []
    topics = run(settings, "trends", "--topics", "--by", "cluster", "--format", "csv").stdout.splitlines()
    assert topics[0] == "bucket,topic_kind,topic,platform,sentiment,messages"
    assert sum(int(line.rsplit(",", 1)[1]) for line in topics[1:]) == 15
