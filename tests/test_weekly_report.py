"""The weekly report: HTML, PDF (rendered by WeasyPrint and read back with pypdf) and CSV; the schedule's
clock (weekday, time, time zone, DST); a due schedule queued once and mailed through a real SMTP server
(aiosmtpd, in this process) with the PDF and CSV attached; `tilsvar report` producing the same files."""

from __future__ import annotations

import csv
import io
import json
import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import select
from typer.testing import CliRunner

from tilsvar.actions.analytics import do_claim_due_reports, do_create_report_schedule
from tilsvar.actions.ingest import do_ingest_messages
from tilsvar.channels import Author, InboundMessage
from tilsvar.cli import app as cli_app
from tilsvar.db import Database
from tilsvar.models import Job, ReportSchedule
from tilsvar.reports.kpis import Period
from tilsvar.reports.rollups import refresh_rollups
from tilsvar.reports.weekly import build_report, next_run, week_before
from tilsvar.settings import get_settings

from conftest import Seeded
from helpers import auth

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
CUSTOMER = "Gunnhild Secret-Name"


def _week_of_traffic(database: Database, seeded: Seeded) -> None:
    """Last week (Feb 23 - Mar 1): 3 inquiries, 2 answered after 30 and 600 minutes; the week before: 1."""
    x, fb = seeded.x_channel, seeded.fb_channel

    def message(
        channel: Any, eid: str, when: datetime, direction: str = "in", parent: str | None = None
    ) -> InboundMessage:
        return InboundMessage(
            platform=channel.platform,
            account=channel.account,
            external_id=eid,
            direction="in" if direction == "in" else "out",
            kind="comment",
            text=f"{CUSTOMER} writes about her refund {eid}",
            created_at=when,
            author=Author(id="c-" + eid, name=CUSTOMER) if direction == "in" else None,
            in_reply_to=parent,
        )

    start = MONDAY - timedelta(days=7)
    messages = [
        message(x, "w1", start + timedelta(hours=9)),
        message(x, "w1r", start + timedelta(hours=9, minutes=30), "out", "w1"),
        message(fb, "w2", start + timedelta(days=2, hours=10)),
        message(fb, "w2r", start + timedelta(days=2, hours=20), "out", "w2"),
        message(fb, "w3", start + timedelta(days=5, hours=12)),
        message(fb, "p1", start - timedelta(days=3)),
    ]
    with database.session() as session:
        do_ingest_messages(session, messages=messages)
    refresh_rollups(database)


def test_report_html_csv_and_pdf(database: Database, seeded: Seeded) -> None:
    _week_of_traffic(database, seeded)
    period = week_before(MONDAY + timedelta(hours=8), "UTC")
    assert (period.start, period.end) == (MONDAY - timedelta(days=7), MONDAY)
    with database.reader() as session:
        report = build_report(session, period=period, brand_ids=[seeded.rail.id], title="Nordic Rail weekly")
    data = report.data
    assert (data["current"]["inquiries"], data["current"]["answered"]) == (3, 2)
    assert data["previous"]["inquiries"] == 1
    assert data["trend"]["inquiries"]["change"] == 2
    assert data["current"]["first_response_minutes"]["median"] == pytest.approx(315.0)

    html = report.html()
    assert "Nordic Rail weekly" in html
    assert CUSTOMER not in html
    assert "refund" not in html

    rows = list(csv.reader(io.StringIO(report.csv())))
    assert rows[0][:4] == ["scope", "platform", "account", "inquiries"]
    assert rows[1][:5] == ["all", "", "", "3", "2"]
    assert rows[2][:4] == ["previous", "", "", "1"]
    assert {row[2] for row in rows if row[0] == "channel"} == {"NordicRailHelp", "NordicRail"}

    pdf = report.pdf()
    assert pdf.startswith(b"%PDF")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Nordic Rail weekly" in text
    assert "Inquiries" in text
    assert "Per channel" in text
    assert "NordicRailHelp" in text
    assert CUSTOMER not in text


def test_next_run_follows_weekday_time_and_time_zone() -> None:
    after = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # Monday noon UTC
    # Monday 08:00 in Oslo (UTC+1 in winter) has passed: next Monday 07:00 UTC
    assert next_run(weekday=0, time_of_day="08:00", timezone="Europe/Oslo", after=after) == datetime(
        2026, 3, 9, 7, 0, tzinfo=UTC
    )
    # Friday 16:30 in Oslo this week
    assert next_run(weekday=4, time_of_day="16:30", timezone="Europe/Oslo", after=after) == datetime(
        2026, 3, 6, 15, 30, tzinfo=UTC
    )
    # across the spring DST change (29 March 2026): Monday 30 March 08:00 is 06:00 UTC
    assert next_run(
        weekday=0, time_of_day="08:00", timezone="Europe/Oslo", after=datetime(2026, 3, 23, 12, tzinfo=UTC)
    ) == datetime(2026, 3, 30, 6, 0, tzinfo=UTC)
    oslo_week = week_before(datetime(2026, 3, 30, 6, 0, tzinfo=UTC), "Europe/Oslo")
    assert (oslo_week.start, oslo_week.end) == (
        datetime(2026, 3, 22, 23, 0, tzinfo=UTC),
        datetime(2026, 3, 29, 22, 0, tzinfo=UTC),
    )


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, _Inbox]]:
    from aiosmtpd.controller import Controller

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


def test_due_schedule_is_queued_once_and_mailed_through_smtp(
    database: Database,
    seeded: Seeded,
    run_jobs: Any,
    smtp_server: tuple[int, _Inbox],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port, inbox = smtp_server
    monkeypatch.setenv("TILSVAR_REPORT_SMTP_URL", f"smtp://127.0.0.1:{port}")
    monkeypatch.setenv("TILSVAR_REPORT_MAIL_FROM", "reports@nordicrail.example")
    get_settings.cache_clear()
    _week_of_traffic(database, seeded)
    with database.session() as session:
        schedule = do_create_report_schedule(
            session,
            user=seeded.admin,
            name="Press office weekly",
            brand_id=seeded.rail.id,
            weekday=0,
            time_of_day="08:00",
            timezone="Europe/Oslo",
            recipients=["press@nordicrail.example", "boss@nordicrail.example"],
            now=MONDAY - timedelta(days=1),
        )
        assert schedule.next_run_at == MONDAY + timedelta(hours=7)
        schedule_id = schedule.id
    due_at = MONDAY + timedelta(hours=7, minutes=1)
    with database.session() as session:
        assert do_claim_due_reports(session, now=due_at) == 1
    with database.session() as session:
        assert do_claim_due_reports(session, now=due_at) == 0  # never twice
        assert session.get_one(ReportSchedule, schedule_id).next_run_at == MONDAY + timedelta(days=7, hours=7)
        jobs = list(session.scalars(select(Job).where(Job.kind == "report.send")))
        assert len(jobs) == 1
    run_jobs()
    assert len(inbox.messages) == 1
    sender, recipients, content = inbox.messages[0]
    assert sender == "reports@nordicrail.example"
    assert sorted(recipients) == ["boss@nordicrail.example", "press@nordicrail.example"]
    mail = message_from_bytes(content, policy=policy.default)
    assert isinstance(mail, EmailMessage)
    assert "Press office weekly: Nordic Rail" in str(mail["Subject"])
    html_part = mail.get_body(("html",))
    assert html_part is not None
    assert "Per channel" in html_part.get_content()
    attachments = {part.get_filename(): part.get_content() for part in mail.iter_attachments()}
    assert set(attachments) == {"tilsvar-report-2026-02-22.pdf", "tilsvar-report-2026-02-22.csv"}
    pdf_text = PdfReader(io.BytesIO(attachments["tilsvar-report-2026-02-22.pdf"])).pages[0].extract_text()
    assert "Nordic Rail" in pdf_text
    assert CUSTOMER not in content.decode("utf-8", "replace")
    with database.reader() as session:
        sent = session.get_one(ReportSchedule, schedule_id)
        assert sent.last_sent_at is not None
        assert sent.last_error == ""


def test_unreachable_smtp_is_recorded(
    database: Database, seeded: Seeded, run_jobs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TILSVAR_REPORT_SMTP_URL", "")
    get_settings.cache_clear()
    with database.session() as session:
        schedule = do_create_report_schedule(
            session,
            user=seeded.admin,
            name="Weekly",
            brand_id=None,
            weekday=0,
            time_of_day="08:00",
            timezone="UTC",
            recipients=["boss@nordicrail.example"],
            formats=["html"],
            now=MONDAY - timedelta(days=1),
        )
        schedule_id = schedule.id
    with database.session() as session:
        do_claim_due_reports(session, now=MONDAY + timedelta(hours=9))
    run_jobs()
    with database.reader() as session:
        assert "REPORT_SMTP_URL" in session.get_one(ReportSchedule, schedule_id).last_error
        assert session.scalar(select(Job.status).where(Job.kind == "report.send")) == "dead"


def test_schedules_api(client: TestClient, seeded: Seeded) -> None:
    created = client.post(
        "/api/v1/report-schedules",
        json={
            "name": "Director",
            "weekday": 0,
            "time": "07:30",
            "timezone": "Europe/Copenhagen",
            "recipients": ["director@nordicrail.example"],
            "brand_id": seeded.rail.id,
        },
        headers=auth(seeded.admin_token),
    )
    assert created.status_code == 201, created.text
    assert created.json()["next_run_at"].endswith(("06:30:00+00:00", "05:30:00+00:00"))
    bad = client.post(
        "/api/v1/report-schedules",
        json={"weekday": 0, "time": "25:00", "timezone": "Mars/Base", "recipients": ["x"]},
        headers=auth(seeded.admin_token),
    )
    assert bad.status_code == 400
    assert client.get("/api/v1/report-schedules", headers=auth(seeded.analyst_token)).status_code == 403
    listed = client.get("/api/v1/report-schedules", headers=auth(seeded.admin_token)).json()
    assert [row["name"] for row in listed] == ["Director"]
    sent = client.post(f"/api/v1/report-schedules/{listed[0]['id']}/send", headers=auth(seeded.admin_token))
    assert sent.status_code == 202
    assert (
        client.delete(
            f"/api/v1/report-schedules/{listed[0]['id']}", headers=auth(seeded.admin_token)
        ).status_code
        == 204
    )
    weekly = client.get("/api/v1/reports/weekly?format=csv", headers=auth(seeded.analyst_token))
    assert weekly.text.startswith("scope,platform,account,inquiries")


def test_cli_report_files_and_rebuild(database: Database, seeded: Seeded, tmp_path: Path) -> None:
    _week_of_traffic(database, seeded)
    runner = CliRunner()
    period = ["--from", "2026-02-23", "--to", "2026-03-01", "--brand", "rail"]
    as_json = runner.invoke(cli_app, ["report", *period, "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output)["inquiries"] == 3
    rebuilt = runner.invoke(cli_app, ["report", *period, "--format", "json", "--rebuild"])
    assert json.loads(rebuilt.output) == json.loads(as_json.output)
    for fmt in ("html", "pdf", "csv"):
        out = tmp_path / f"report.{fmt}"
        result = runner.invoke(cli_app, ["report", *period, "--format", fmt, "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert out.stat().st_size > 200
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")
    assert "Nordic Rail" in (tmp_path / "report.html").read_text()
    assert (tmp_path / "report.csv").read_text().splitlines()[1].startswith("all,,,3,2,")
    with database.reader() as session:
        assert Period.from_dates(date(2026, 2, 23), date(2026, 3, 1)).end == MONDAY
        assert session.scalar(select(ReportSchedule.id)) is None
