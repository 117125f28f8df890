"""Channel tooling: the signed-traffic simulator (against the real app, every platform, no 403s,
messages arrive once), the fake platform API (connectors' replies, hides and deletes reach it),
``channels set|remove|list``, the health panel and admin UI (two-factor enforced), handshake
recording, and the quiet-webhook alert (raised once, cleared when deliveries resume)."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from tilsvar import cli
from tilsvar.actions.channel_admin import (
    channel_health,
    do_check_quiet_webhooks,
    do_remove_channel,
    do_update_channel,
    usual_gap,
)
from tilsvar.actions.org import channel_credentials
from tilsvar.app import create_app
from tilsvar.channels.base import ModerationRequest, OutboundReply
from tilsvar.channels.meta import MetaConnector
from tilsvar.channels.x import XConnector
from tilsvar.db import Database
from tilsvar.demo.fake_platforms import Recorder, create_fake_platforms_app
from tilsvar.demo.traffic import SCENARIOS, Target, TrafficGenerator
from tilsvar.demo.webhook_simulator import SimulationReport, simulate, targets_from_database
from tilsvar.models import AuditEntry, Channel, DomainEvent, Message, RawEvent, utcnow
from tilsvar.models.channel_state import ChannelState
from tilsvar.models.workflow import Notification
from tilsvar.settings import Settings
from webhook_support import connect, messages

from conftest import Seeded

META_SECRET = "meta-app-secret"
TARGETS = [
    ("facebook", "RailPage", "448242228374517", {"app_secret": META_SECRET, "verify_token": "vt"}),
    ("instagram", "railgram", "17841474524784050", {"app_secret": META_SECRET}),
    ("x", "RailCare", "2975699229", {"consumer_secret": "x-secret"}),
    ("linkedin", "rail-li", "urn:li:organization:2414183", {"client_secret": "li-secret"}),
]


@pytest.fixture
def webhook_channels(database: Database, seeded: Seeded) -> dict[str, int]:
    return {
        platform: connect(
            database,
            seeded.rail,
            platform=platform,
            account=account,
            account_id=account_id,
            credentials=secrets,
        )
        for platform, account, account_id, secrets in TARGETS
    }


def _run_simulation(
    settings: Settings, database: Database, generator: TrafficGenerator, **options: Any
) -> SimulationReport:
    app = create_app(settings, database)
    app.state.start_worker = False

    async def run() -> SimulationReport:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await simulate("http://testserver", generator, client=client, **options)

    return asyncio.run(run())


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_simulator_signs_every_platform_correctly_and_every_message_arrives_once(
    settings: Settings,
    database: Database,
    webhook_channels: dict[str, int],
    run_jobs: Callable[[], int],
    scenario: str,
) -> None:
    with database.reader() as session:
        targets = targets_from_database(session)
    assert {target.platform for target in targets} == {"facebook", "instagram", "x", "linkedin"}
    generator = TrafficGenerator(targets, scenario=scenario, rng=random.Random(7))
    report = _run_simulation(
        settings, database, generator, rate=200.0, count=40, redeliver_share=0.15, rng=random.Random(3)
    )
    assert report.statuses == {200: 40}, report.summary()
    assert report.summary()["redeliveries"] > 0
    run_jobs()
    with database.reader() as session:
        stored = {
            (platform, external_id)
            for platform, external_id in session.execute(
                select(Channel.platform, Message.external_id).join(Channel, Channel.id == Message.channel_id)
            )
            if platform in webhook_channels
        }
        raw = list(session.scalars(select(RawEvent)))
    assert stored == report.expected_ids
    assert all(event.status == "processed" for event in raw)
    assert len(raw) == 40 - report.summary()["redeliveries"]  # each redelivery recognised, not stored
    if scenario == "chorus":
        assert {platform for platform, _ in stored} <= {"x", "facebook"}


def test_a_wrong_secret_is_refused_so_the_simulator_really_signs(
    settings: Settings, database: Database, webhook_channels: dict[str, int]
) -> None:
    forged = [Target("x", "RailCare", "2975699229", "not-the-secret")]
    report = _run_simulation(
        settings, database, TrafficGenerator(forged, rng=random.Random(1)), rate=100.0, count=3
    )
    assert report.statuses == {403: 3}


def test_the_simulate_command_reads_targets_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    result = CliRunner().invoke(
        cli.app,
        [
            "simulate",
            "--url",
            "http://127.0.0.1:9",
            "--count",
            "1",
            "--scenario",
            "nope",
            "--target",
            f"x:Rail:1:{secret}",
        ],
    )
    assert result.exit_code == 2
    assert "scenario" in result.output


# --- fake platforms ---------------------------------------------------------------------------


def test_connector_calls_reach_the_fake_platforms_and_are_listed() -> None:
    recorder = Recorder()
    fake = TestClient(create_fake_platforms_app(recorder))
    graph = {"graph_base": "http://testserver/graph", "account_id": "448242228374517"}
    credentials = {"access_token": "page-token", "app_secret": "s"}
    meta = MetaConnector("facebook", client=cast(httpx.Client, fake))
    reply = OutboundReply(
        platform="facebook",
        account="RailPage",
        kind="comment",
        text="Sorry for the delay!",
        thread_key="c1",
        in_reply_to="448242228374517_1_2",
        recipient_id=None,
        last_inbound_at=utcnow(),
        idempotency_key="k1",
        credentials=credentials,
        config=graph,
    )
    sent = meta.send_reply(reply)
    assert sent.external_id.startswith("448242228374517_")
    for action in ("hide", "delete"):
        meta.moderate(
            ModerationRequest(
                platform="facebook",
                account="RailPage",
                external_id="448242228374517_1_2",
                action=action,
                credentials=credentials,
                config=graph,
            )
        )
    x_reply = XConnector(client=cast(httpx.Client, fake)).send_reply(
        OutboundReply(
            platform="x",
            account="RailCare",
            kind="comment",
            text="@someone we are on it",
            thread_key="t",
            in_reply_to="1234",
            recipient_id=None,
            last_inbound_at=utcnow(),
            idempotency_key="k2",
            credentials={"access_token": "x-token"},
            config={"api_base": "http://testserver/x"},
        )
    )
    assert x_reply.external_id.isdigit()
    calls = fake.get("/calls").json()
    assert [call["action"] for call in calls] == [
        "reply to comment 448242228374517_1_2",
        "hide comment 448242228374517_1_2",
        "delete 448242228374517_1_2",
        "reply to post 1234",
    ]
    assert all(call["authorized"] for call in calls)
    assert "page-token" not in json.dumps(calls)  # tokens are never recorded
    page = fake.get("/").text
    assert "Sorry for the delay!" in page
    assert "hide comment" in page
    assert fake.delete("/calls").status_code == 204
    assert fake.get("/calls").json() == []


def test_fake_platforms_escape_what_they_show() -> None:
    fake = TestClient(create_fake_platforms_app())
    fake.post("/x/2/tweets", json={"text": "<script>alert(1)</script>"})
    assert "<script>alert" not in fake.get("/").text


# --- channels set / remove / list -------------------------------------------------------------


def test_channels_set_changes_config_and_secrets_without_showing_them(
    database: Database, webhook_channels: dict[str, int], tmp_path: Path
) -> None:
    channel_id = webhook_channels["x"]
    secret = tmp_path / "token"
    secret.write_text("new-user-token\n")
    result = CliRunner().invoke(
        cli.app,
        [
            "channels",
            "set",
            str(channel_id),
            "--config",
            "api_base=http://127.0.0.1:8900/x",
            "--config",
            "poll_seconds=120",
            "--secret-file",
            f"access_token={secret}",
            "--name",
            "Rail on X",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "new-user-token" not in result.output
    with database.reader() as session:
        channel = session.get_one(Channel, channel_id)
        assert channel.config["api_base"] == "http://127.0.0.1:8900/x"
        assert channel.config["poll_seconds"] == 120
        assert channel.name == "Rail on X"
        assert channel_credentials(channel) == {
            "consumer_secret": "x-secret",
            "access_token": "new-user-token",
        }
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "channel.updated")).one()
        assert "new-user-token" not in json.dumps(entry.details)
    unset = CliRunner().invoke(cli.app, ["channels", "set", str(channel_id), "--unset", "api_base"])
    assert unset.exit_code == 0
    listed = CliRunner().invoke(cli.app, ["channels", "list", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    rows = {row["id"]: row for row in json.loads(listed.output)}
    assert rows[channel_id]["token_state"] == "ok"
    assert rows[channel_id]["hears_by"] == "webhook"
    assert "new-user-token" not in listed.output
    table = CliRunner().invoke(cli.app, ["channels", "list"])
    assert table.exit_code == 0, table.output


def test_channels_remove_disconnects_and_purge_deletes(
    client: TestClient, database: Database, webhook_channels: dict[str, int], ingest: object
) -> None:
    channel_id = webhook_channels["x"]
    result = CliRunner().invoke(cli.app, ["channels", "remove", str(channel_id)])
    assert result.exit_code == 0, result.output
    with database.reader() as session:
        channel = session.get_one(Channel, channel_id)
        assert (channel.status, channel.credentials_encrypted) == ("removed", None)
        assert "account_id" not in channel.config
    body = b'{"for_user_id":"2975699229","tweet_create_events":[]}'
    from tilsvar.channels import x

    refused = client.post("/webhooks/x", content=body, headers={x.SIGNATURE_HEADER: x.sign(body, "x-secret")})
    assert refused.status_code == 403  # no channel verifies with the removed secret any more
    assert CliRunner().invoke(cli.app, ["channels", "remove", str(channel_id), "--purge"]).exit_code == 2
    purged = CliRunner().invoke(cli.app, ["channels", "remove", str(channel_id), "--purge", "--yes"])
    assert purged.exit_code == 0
    with database.reader() as session:
        assert session.get(Channel, channel_id) is None


def test_reconnecting_with_new_secrets_restores_a_channel(
    database: Database, webhook_channels: dict[str, int]
) -> None:
    with database.session() as session:
        channel = session.get_one(Channel, webhook_channels["linkedin"])
        channel.status, channel.status_reason = "needs_reconnect", "LinkedIn answered 401"
    with database.session() as session:
        channel = session.get_one(Channel, webhook_channels["linkedin"])
        do_update_channel(session, channel=channel, credentials={"access_token": "fresh"})
        assert channel.status == "active"


# --- health, handshakes and the quiet alert ---------------------------------------------------


def test_handshakes_are_recorded_for_the_health_panel(
    client: TestClient, database: Database, webhook_channels: dict[str, int]
) -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": "vt", "hub.challenge": "42"}
    assert client.get("/webhooks/meta", params=params).text == "42"
    assert client.get("/webhooks/x", params={"crc_token": "abc"}).status_code == 200
    with database.reader() as session:
        health = {item.platform: item for item in channel_health(session)}
    assert health["facebook"].last_handshake_at is not None
    assert health["x"].last_handshake_at is not None
    assert health["linkedin"].last_handshake_at is None


def _deliveries(
    database: Database, channel_id: int, *, count: int, every: timedelta, last: timedelta
) -> None:
    now = utcnow()
    with database.session() as session:
        for index in range(count):
            session.add(
                RawEvent(
                    source="x",
                    dedupe_key=f"{channel_id}:test:{index}:{now.timestamp()}",
                    channel_id=channel_id,
                    received_at=now - last - every * (count - 1 - index),
                    headers={},
                    body=b"{}",
                    status="processed",
                    error="",
                )
            )


def test_usual_gap_needs_a_baseline() -> None:
    now = utcnow()
    assert usual_gap([now] * 5) is None
    assert usual_gap([now - timedelta(minutes=index) for index in range(20)]) == 60.0


def test_a_webhook_that_goes_quiet_raises_one_alert_and_clears_when_deliveries_resume(
    database: Database, seeded: Seeded, webhook_channels: dict[str, int]
) -> None:
    channel_id = webhook_channels["x"]
    _deliveries(database, channel_id, count=30, every=timedelta(minutes=2), last=timedelta(hours=3))
    with database.session() as session:
        assert do_check_quiet_webhooks(session) == [channel_id]
    with database.session() as session:
        assert do_check_quiet_webhooks(session) == []  # once, not every run
    with database.reader() as session:
        state = session.get_one(ChannelState, channel_id)
        assert state.quiet_alerted_at is not None
        assert state.usual_gap_seconds == 120.0
        notes = list(session.scalars(select(Notification).where(Notification.kind == "channel.quiet")))
        assert [note.user_id for note in notes] == [seeded.admin.id]
        assert "usually one every 2 min" in notes[0].text
        events = [
            event.payload
            for event in session.scalars(
                select(DomainEvent).where(DomainEvent.type == "channel.status_changed")
            )
        ]
        assert [event["status"] for event in events] == ["quiet"]
        health = {item.id: item for item in channel_health(session)}
        assert health[channel_id].quiet_since is not None
    _deliveries(database, channel_id, count=1, every=timedelta(minutes=2), last=timedelta(0))
    with database.session() as session:
        do_check_quiet_webhooks(session)
    with database.reader() as session:
        assert session.get_one(ChannelState, channel_id).quiet_alerted_at is None


def test_a_steady_webhook_raises_no_alert(database: Database, webhook_channels: dict[str, int]) -> None:
    _deliveries(
        database, webhook_channels["x"], count=30, every=timedelta(minutes=2), last=timedelta(minutes=3)
    )
    with database.session() as session:
        assert do_check_quiet_webhooks(session) == []


# --- the admin UI -----------------------------------------------------------------------------


def _sign_in(client: TestClient, email: str, password: str) -> str:
    import re

    answer = client.post("/login", data={"email": email, "password": password}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    page = client.get("/admin/channels")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    return match.group(1) if match else ""


def test_admins_connect_and_manage_channels_in_the_web_ui_and_secrets_are_never_shown(
    client: TestClient, database: Database, seeded: Seeded, webhook_channels: dict[str, int]
) -> None:
    csrf = _sign_in(client, seeded.admin.email, seeded.password)
    page = client.get("/admin/channels")
    assert page.status_code == 200
    assert "RailCare" in page.text
    assert "not verified by the platform yet" in page.text
    connected = client.post(
        "/admin/channels",
        data={
            "csrf_token": csrf,
            "platform": "linkedin",
            "account": "market-li",
            "brand_id": str(seeded.market.id),
            "account_id": "urn:li:organization:99",
            "client_secret": "very-secret-value",
        },
        follow_redirects=False,
    )
    assert connected.status_code == 303, connected.text
    with database.reader() as session:
        channel = session.scalars(select(Channel).where(Channel.account == "market-li")).one()
        assert channel_credentials(channel) == {"client_secret": "very-secret-value"}
    shown = client.get("/admin/channels").text
    assert "very-secret-value" not in shown
    updated = client.post(
        f"/admin/channels/{channel.id}",
        data={"csrf_token": csrf, "name": "Market LinkedIn", "api_base": "http://127.0.0.1:8900/linkedin"},
        follow_redirects=False,
    )
    assert updated.status_code == 303
    with database.reader() as session:
        channel = session.get_one(Channel, channel.id)
        assert channel.name == "Market LinkedIn"
        assert channel.config["api_base"].endswith("/linkedin")
        assert channel_credentials(channel) == {"client_secret": "very-secret-value"}  # empty field kept it
    removed = client.post(
        f"/admin/channels/{channel.id}/remove", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert removed.status_code == 303
    with database.reader() as session:
        assert session.get_one(Channel, channel.id).status == "removed"


def test_agents_may_not_administer_channels(client: TestClient, seeded: Seeded) -> None:
    _sign_in(client, seeded.agent.email, seeded.password)
    assert client.get("/admin/channels").status_code == 403


def test_channel_administration_requires_two_factor_when_the_organisation_does(
    client: TestClient, database: Database, seeded: Seeded
) -> None:
    from tilsvar.actions.auth import do_require_two_factor
    from tilsvar.models import Organization

    with database.session() as session:
        organization = session.get_one(Organization, seeded.admin.organization_id)
        do_require_two_factor(session, organization=organization, required=True, actor_user=None)
    client.post("/login", data={"email": seeded.admin.email, "password": seeded.password})
    answer = client.get("/admin/channels", follow_redirects=False)
    assert answer.status_code in {303, 403}
    assert answer.headers.get("location", "/account/two-factor").startswith("/account/two-factor")


def test_removing_a_channel_keeps_its_history(
    database: Database, seeded: Seeded, webhook_channels: dict[str, int]
) -> None:
    with database.session() as session:
        do_remove_channel(session, channel=session.get_one(Channel, webhook_channels["facebook"]))
    assert messages(database, webhook_channels["facebook"]) == []
    with database.reader() as session:
        assert session.get_one(Channel, webhook_channels["facebook"]).status == "removed"
