"""Statuses through the API: pending, snooze until a time (and waking up), resolve, a customer's reply
reopening, each change in the timeline; bad input refused."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tilsvar.db import Database
from workflow_support import FakePipeline, RunJobs, conversation_of, pipeline, workflow

from conftest import IngestFn, Seeded
from helpers import auth

__all__ = ["pipeline"]


def _status(client: TestClient, token: str, cid: int, status: str, **more: object) -> object:
    return client.post(
        f"/api/v1/conversations/{cid}/status", json={"status": status, **more}, headers=auth(token)
    )


def test_pending_resolve_and_a_customer_reply_reopens_with_every_change_in_the_timeline(
    client: TestClient,
    seeded: Seeded,
    database: Database,
    ingest: IngestFn,
    run_jobs: RunJobs,
    pipeline: FakePipeline,
) -> None:
    cid = conversation_of(database, ingest(seeded.fb_channel, "Hvor er min pakke?", external_id="root"))
    run_jobs()
    for status in ("pending", "resolved"):
        response = _status(client, seeded.agent_token, cid, status)
        assert response.status_code == 200, response.text  # type: ignore[attr-defined]
        assert response.json()["status"] == status  # type: ignore[attr-defined]
    ingest(seeded.fb_channel, "Den er stadig ikke kommet", in_reply_to="root")
    run_jobs()
    view = workflow(client, seeded.agent_token, cid)
    assert view["status"] == "open"
    summaries = [entry["summary"] for entry in view["timeline"] if entry["kind"] == "status"]
    assert summaries == [
        "Status new → pending",
        "Status pending → resolved",
        "Reopened by the customer's message (was resolved)",
    ]
    # The resolution clock resumed and a next-response clock is running again.
    clocks = {clock["metric"]: clock for clock in view["sla"]["clocks"]}
    assert clocks["first_response"]["state"] == "running"


def test_snooze_until_a_time_then_the_conversation_wakes_up(
    client: TestClient,
    seeded: Seeded,
    database: Database,
    ingest: IngestFn,
    run_jobs: RunJobs,
    pipeline: FakePipeline,
) -> None:
    cid = conversation_of(database, ingest(seeded.fb_channel, "Ring til mig i morgen"))
    run_jobs()
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    assert _status(client, seeded.agent_token, cid, "snoozed", snooze_until=past).status_code == 422  # type: ignore[attr-defined]
    assert _status(client, seeded.agent_token, cid, "snoozed").status_code == 422  # type: ignore[attr-defined]
    # a few seconds ahead: on a loaded machine the request itself may take over a second
    soon = datetime.now(UTC) + timedelta(seconds=4)
    response = _status(client, seeded.agent_token, cid, "snoozed", snooze_until=soon.isoformat())
    assert response.json()["snoozed_until"] is not None  # type: ignore[attr-defined]
    time.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.1)
    run_jobs()
    view = workflow(client, seeded.agent_token, cid)
    assert view["status"] == "open"
    assert view["timeline"][-1]["actor"] == "snooze ended"


def test_roles_and_unknown_statuses_are_refused(
    client: TestClient,
    seeded: Seeded,
    database: Database,
    ingest: IngestFn,
    run_jobs: RunJobs,
    pipeline: FakePipeline,
) -> None:
    cid = conversation_of(database, ingest(seeded.fb_channel, "Hej"))
    run_jobs()
    readonly = client.post(
        f"/api/v1/conversations/{cid}/status",
        json={"status": "resolved"},
        headers=auth(seeded.analyst_token),
    )
    assert readonly.status_code == 403
    assert _status(client, seeded.agent_token, cid, "archived").status_code == 422  # type: ignore[attr-defined]
    other_brand = conversation_of(database, ingest(seeded.market_channel, "Hej fra Fjord"))
    run_jobs()
    assert _status(client, seeded.agent_token, other_brand, "resolved").status_code == 404  # type: ignore[attr-defined]
