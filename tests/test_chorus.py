"""Chorus and shitstorm detection: a realistic background stream plus a chorus of 15 similar complaints
in three languages on X and Facebook within 30 minutes raises exactly one alert, at the chorus's 6th
message, whether the messages arrive live one by one or are imported as history; the background
alone raises none. From the alert: one incident, a personalised bulk reply, escalation to press."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tilsvar.actions.ingest import do_ingest_messages
from tilsvar.actions.org import do_create_user
from tilsvar.channels import Author, InboundMessage
from tilsvar.db import Database
from tilsvar.demo.traffic import CHORUS
from tilsvar.models import Channel, Message
from tilsvar.models.knowledge import IncidentConversation, TrendAlert, TrendCluster, TrendMember
from tilsvar.models.workflow import Notification
from tilsvar.trends.engine import Params, replay
from tilsvar.trends.streams import StreamMessage, background, chorus, observations

from conftest import Seeded
from helpers import auth, json_of

START = datetime(2026, 11, 2, 4, 0, tzinfo=UTC)
CHORUS_START = START + timedelta(hours=5, minutes=7)
# One incident (trains from Odense cancelled) told nine ways in five languages: `tilsvar simulate
# --scenario chorus`. Its first messages start several clusters before any of them is typical.
CANCELLATIONS = {language: tuple(texts) for language, texts in CHORUS.items()}


def _stream(with_chorus: bool) -> list[StreamMessage]:
    messages = [m for m in background(START, 6, seed=7) if m.platform in ("x", "facebook")]
    if with_chorus:
        messages += chorus(CHORUS_START)
    return sorted(messages, key=lambda m: (m.at, m.external_id))


def _inbound(message: StreamMessage, seeded: Seeded) -> InboundMessage:
    channel: Channel = seeded.x_channel if message.platform == "x" else seeded.fb_channel
    return InboundMessage(
        platform=channel.platform,
        account=channel.account,
        external_id=message.external_id,
        direction="in",
        kind=message.kind,
        text=message.text,
        created_at=message.at,
        author=Author(id=message.author, handle=f"@{message.author}", name=f"Kim {message.author[-4:]}"),
    )


def _alerts(database: Database) -> list[TrendAlert]:
    with database.reader() as session:
        alerts = list(session.scalars(select(TrendAlert).order_by(TrendAlert.id)))
        session.expunge_all()
    return alerts


def _external_id(database: Database, message_id: int | None) -> str | None:
    with database.reader() as session:
        return session.scalar(select(Message.external_id).where(Message.id == message_id))


def test_engine_alone_finds_the_chorus_at_its_sixth_message() -> None:
    quiet = background(START - timedelta(days=2), 24 * 7, seed=7)
    assert replay(Params(), observations(quiet)) == []
    stream = sorted(quiet + chorus(CHORUS_START), key=lambda m: (m.at, m.external_id))
    alerts = replay(Params(), observations(stream))
    assert len(alerts) == 1
    alert = alerts[0]
    expected = sorted(chorus(CHORUS_START), key=lambda m: (m.at, m.external_id))[5]
    assert stream[alert.message_id].external_id == expected.external_id
    # 15 negative public comments: a shitstorm, labelled in words of every language's concepts.
    assert alert.kind == "shitstorm"
    assert {"app", "crash"} <= set(alert.cluster.keywords())
    assert alert.cluster.platforms.keys() == {"x", "facebook"}


def test_one_incident_told_many_ways_raises_one_alert_not_one_per_phrasing() -> None:
    quiet = background(START - timedelta(days=2), 24 * 7, seed=7)
    for seed in range(11, 21):  # ten waves; before clusters merged: two missed, one alerted twice
        wave = chorus(CHORUS_START, templates=CANCELLATIONS, seed=seed, prefix="cancel")
        stream = sorted(quiet + wave, key=lambda m: (m.at, m.external_id))
        alerts = replay(Params(), observations(stream))
        assert len(alerts) == 1, seed
        assert "cancel" in alerts[0].cluster.keywords()
    stream = sorted(quiet + chorus(CHORUS_START, templates=CANCELLATIONS, seed=11), key=lambda m: m.at)
    (alert,) = replay(Params(), observations(stream))
    wave_ids = {number for number, m in enumerate(stream) if m.topic == "chorus"}
    assert wave_ids <= {member.message_id for member in alert.cluster.members}  # all 15 in one cluster


def test_a_merged_cluster_keeps_its_members_and_its_incident_takes_them_all(
    seeded: Seeded, database: Database, run_jobs: Callable[[], int], client: TestClient
) -> None:
    wave = chorus(CHORUS_START, templates=CANCELLATIONS, seed=11, prefix="cancel")
    stream = sorted(_stream(with_chorus=False) + wave, key=lambda m: (m.at, m.external_id))
    incident_opened = False
    for message in stream:  # live, the worker keeping up: clusters are stored, then merged
        with database.session() as session:
            do_ingest_messages(session, messages=[_inbound(message, seeded)])
        run_jobs()
        alerts = _alerts(database)
        if alerts and not incident_opened:  # the supervisor opens an incident at once
            opened = client.post(
                f"/api/v1/trends/{alerts[0].id}/incident",
                json={"title": "Odense"},
                headers=auth(seeded.agent_token),
            )
            assert opened.status_code == 200, opened.text
            incident_opened = True
    alerts = _alerts(database)
    assert len(alerts) == 1
    with database.reader() as session:
        wave_messages = dict(
            session.execute(
                select(Message.id, Message.conversation_id).where(
                    Message.external_id.in_([m.external_id for m in wave])
                )
            ).all()
        )
        members = dict(session.execute(select(TrendMember.message_id, TrendMember.cluster_id)).all())
        assert len(members) == session.scalar(select(func.count()).select_from(Message))  # none lost
        assert {members[message_id] for message_id in wave_messages} == {alerts[0].cluster_id}
        assert session.get_one(TrendCluster, alerts[0].cluster_id).size >= 15
        linked = set(session.scalars(select(IncidentConversation.conversation_id)))
    # conversations that reached the alert's cluster by a merge, after the incident was opened, too
    assert linked == set(wave_messages.values())


def test_live_traffic_and_imported_history_raise_the_same_single_alert(
    seeded: Seeded, database: Database, run_jobs: Callable[[], int]
) -> None:
    # Live: one message at a time, the worker keeping up.
    for message in _stream(with_chorus=True):
        with database.session() as session:
            do_ingest_messages(session, messages=[_inbound(message, seeded)])
        run_jobs()
    live = _alerts(database)
    assert len(live) == 1
    sixth = sorted(chorus(CHORUS_START), key=lambda m: (m.at, m.external_id))[5]
    assert _external_id(database, live[0].message_id) == sixth.external_id
    assert live[0].alerted_at == sixth.at


def test_history_import_gives_the_alert_live_traffic_gave(
    seeded: Seeded, database: Database, run_jobs: Callable[[], int]
) -> None:
    messages = [_inbound(m, seeded) for m in _stream(with_chorus=True)]
    for start in range(0, len(messages), 50):  # batches, as `tilsvar import` stores them
        with database.session() as session:
            do_ingest_messages(session, messages=messages[start : start + 50])
    run_jobs()
    alerts = _alerts(database)
    assert len(alerts) == 1
    sixth = sorted(chorus(CHORUS_START), key=lambda m: (m.at, m.external_id))[5]
    assert _external_id(database, alerts[0].message_id) == sixth.external_id
    assert alerts[0].alerted_at == sixth.at
    # Running the detector again over the same messages changes nothing.
    from tilsvar.actions.trends import do_observe_messages

    with database.session() as session:
        ids = list(session.scalars(select(Message.id)))
        assert do_observe_messages(session, message_ids=ids) == []
    assert len(_alerts(database)) == 1


def test_background_alone_raises_nothing(
    seeded: Seeded, database: Database, run_jobs: Callable[[], int]
) -> None:
    with database.session() as session:
        do_ingest_messages(session, messages=[_inbound(m, seeded) for m in _stream(with_chorus=False)])
    run_jobs()
    assert _alerts(database) == []


def test_from_the_alert_incident_bulk_reply_and_escalation(
    seeded: Seeded, database: Database, run_jobs: Callable[[], int], client: TestClient
) -> None:
    with database.session() as session:
        press = do_create_user(
            session, organization=seeded.org, email="pia@nordicrail.example", role="press", name="Pia Press"
        )
        press_id = press.id
        do_ingest_messages(session, messages=[_inbound(m, seeded) for m in chorus(CHORUS_START)])
    run_jobs()
    listing = json_of(client.get("/api/v1/trends", headers=auth(seeded.agent_token)))
    assert len(listing["items"]) == 1
    alert = listing["items"][0]
    assert alert["size"] == 15
    assert alert["platforms"] == ["facebook", "x"]
    assert len(alert["message_ids"]) == 15
    detail = json_of(client.get(f"/api/v1/trends/{alert['id']}", headers=auth(seeded.agent_token)))
    assert detail["label"]
    assert detail["samples"]
    assert sum(point["count"] for point in detail["timeline"]) == 15
    assert set(detail["languages"]) >= {"da", "sv", "en"} or len(detail["languages"]) >= 2
    assert client.get("/api/v1/trends/999999", headers=auth(seeded.agent_token)).status_code == 404

    incident = client.post(
        f"/api/v1/trends/{alert['id']}/incident",
        json={"title": "App crash"},
        headers=auth(seeded.agent_token),
    )
    assert incident.status_code == 200, incident.text
    reply = client.post(
        f"/api/v1/trends/{alert['id']}/reply",
        json={"text": "Hi {customer_name}, we are fixing the app right now. Sorry!"},
        headers=auth(seeded.agent_token),
    )
    assert reply.status_code == 202, reply.text
    result = reply.json()
    assert result["queued"] == 15
    assert result["skipped"] == []
    with database.reader() as session:
        texts = list(
            session.scalars(select(Message.text).where(Message.direction == "out").order_by(Message.id))
        )
    assert len(texts) == 15
    assert all(text.startswith("Hi Kim, we are fixing") for text in texts)
    # Replying again skips nothing new: the same idempotency keys.
    again = client.post(
        f"/api/v1/trends/{alert['id']}/reply",
        json={"text": "Hi {customer_name}"},
        headers=auth(seeded.agent_token),
    ).json()
    assert again["queued"] + len(again["skipped"]) == 15

    escalated = client.post(
        f"/api/v1/trends/{alert['id']}/escalate",
        json={"note": "Press asking"},
        headers=auth(seeded.agent_token),
    )
    assert escalated.json() == {"notified": 1}
    with database.reader() as session:
        kinds = list(session.scalars(select(Notification.kind).where(Notification.user_id == press_id)))
    assert "trends.escalated" in kinds
    detail = json_of(client.get(f"/api/v1/trends/{alert['id']}", headers=auth(seeded.agent_token)))
    assert detail["incident"]["conversations"] == 15
    assert detail["escalated_at"] is not None
    assert detail["state"] == "over"  # message time is long past: the chorus has cooled down


def test_a_shitstorm_alarms_the_press_role(seeded: Seeded, database: Database) -> None:
    from tilsvar.actions.trends import do_observe_messages

    with database.session() as session:
        press = do_create_user(
            session, organization=seeded.org, email="pia@nordicrail.example", role="press", name="Pia Press"
        )
        press_id = press.id
        do_ingest_messages(session, messages=[_inbound(m, seeded) for m in chorus(CHORUS_START)])
    with database.session() as session:
        ids = list(session.scalars(select(Message.id).order_by(Message.id)))
        # The pipeline's sentiment, as the analysis job stores it: these are angry public comments.
        for message in session.scalars(select(Message)):
            message.sentiment = "negative"
        session.flush()
        alert_ids = do_observe_messages(session, message_ids=ids)
    assert len(alert_ids) == 1
    with database.reader() as session:
        alert = session.get_one(TrendAlert, alert_ids[0])
        assert alert.kind == "shitstorm"
        kinds = list(session.scalars(select(Notification.kind).where(Notification.user_id == press_id)))
    assert kinds == ["trends.shitstorm"]


def test_trends_page_shows_the_alert_and_acts_on_it(
    client: TestClient, seeded: Seeded, database: Database, run_jobs: Callable[[], int]
) -> None:
    with database.session() as session:
        do_ingest_messages(session, messages=[_inbound(m, seeded) for m in chorus(CHORUS_START)])
    run_jobs()
    response = client.post(
        "/login",
        data={"email": seeded.supervisor.email, "password": seeded.password, "next": "/trends"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    listing = client.get("/trends").text
    alert_id = _alerts(database)[0].id
    assert f'href="/trends/{alert_id}"' in listing
    page = client.get(f"/trends/{alert_id}").text
    assert "Timeline" in page
    assert "Can&#39;t buy a ticket" in page or "Appen" in page
    csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    done = client.post(
        f"/trends/{alert_id}/action",
        data={"csrf_token": csrf, "action": "reply", "text": "Hi {customer_name}, fixed now."},
        follow_redirects=False,
    )
    assert done.headers["location"] == f"/trends/{alert_id}?done=replied-15"
