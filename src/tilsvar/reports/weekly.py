"""The weekly report: what a team lead, the press office or the customer-centre director reads on
Monday morning — KPIs with their trend against the week before, per channel and team, what customers
talked about and notable incidents — as an HTML e-mail, a PDF and a CSV, for one brand or the whole
organisation. ``tilsvar report --format html|pdf|csv`` renders the same files for any period.

Also the schedules' clock: when a schedule is next due, and which period a run reports on.
Everything is read from the KPI engine (``reports.engine``); no customer text is included, only
counts, labels and links to conversations.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session

from tilsvar.reports.engine import (
    Scope,
    breakdown,
    comparison,
    drill_conversations,
    kpi_report,
    previous_period,
    summary_block,
    whole_hours,
)
from tilsvar.reports.kpis import Period
from tilsvar.settings import get_settings

TEMPLATES = Path(__file__).resolve().parent.parent / "web" / "templates"
FORMATS = ("html", "pdf", "csv")
_environment = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), auto_reload=False
)


@dataclass(frozen=True, slots=True)
class WeeklyReport:
    data: dict[str, Any]

    @property
    def title(self) -> str:
        return str(self.data["title"])

    def html(self) -> str:
        return _environment.get_template("report_weekly.html").render(r=self.data, pdf=False)

    def pdf(self) -> bytes:
        """The report as PDF (WeasyPrint renders the same template, laid out for A4)."""
        from weasyprint import HTML  # type: ignore[import-untyped]

        html = _environment.get_template("report_weekly.html").render(r=self.data, pdf=True)
        result = HTML(string=html, base_url=str(TEMPLATES)).write_pdf()
        assert result is not None
        return bytes(result)

    def csv(self) -> str:
        """One row per scope: the whole period, the previous one, each brand, channel, team and topic.
        The first columns are those of ``kpis.Report.as_csv``."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            [
                "scope",
                "platform",
                "account",
                "inquiries",
                "answered",
                "answer_rate",
                "unanswered",
                "frt_median_minutes",
                "frt_mean_minutes",
                "frt_p90_minutes",
                "frt_within_target",
                "name",
                "period_from",
                "period_to",
            ]
        )
        data = self.data
        current, previous = data["current"], data["previous"]
        for scope, block in (("all", current), ("previous", previous)):
            frt = block["first_response_minutes"]
            writer.writerow(
                [
                    scope,
                    "",
                    "",
                    block["inquiries"],
                    block["answered"],
                    block["answer_rate"],
                    block["unanswered"],
                    frt["median"],
                    frt["mean"],
                    frt["p90"],
                    frt["within_target"],
                    "",
                    block["period"]["from"],
                    block["period"]["to"],
                ]
            )
        for row in data["by_channel"]:
            frt = row["first_response_minutes"]
            writer.writerow(
                [
                    "channel",
                    row["platform"],
                    row["account"],
                    row["inquiries"],
                    row["answered"],
                    row["answer_rate"],
                    row["unanswered"],
                    frt["median"],
                    frt["mean"],
                    frt["p90"],
                    frt["within_target"],
                    "",
                    "",
                    "",
                ]
            )
        for scope, rows in (
            ("brand", data["by_brand"]),
            ("team", data["by_team"]),
            ("topic", data["topics"]),
        ):
            for row in rows:
                writer.writerow(
                    [
                        scope,
                        "",
                        "",
                        row["inquiries"],
                        row["answered"],
                        row["answer_rate"],
                        row["inquiries"] - row["answered"],
                        "",
                        row["frt_mean_minutes"],
                        "",
                        "",
                        row["label"],
                        "",
                        "",
                    ]
                )
        return out.getvalue()


def build_report(
    session: Session,
    *,
    period: Period,
    brand_ids: Sequence[int],
    title: str,
    target_minutes: float | None = None,
    base_url: str = "",
) -> WeeklyReport:
    """The report's data for ``period`` against the period of the same length before it."""
    settings = get_settings()
    target = target_minutes if target_minutes is not None else settings.first_response_target_minutes
    period = whole_hours(period)
    scope = Scope(tuple(brand_ids))
    before = previous_period(period)
    current = summary_block(session, period, scope, target)
    previous = summary_block(session, before, scope, target)
    kpis = kpi_report(session, period=period, scope=scope, target_minutes=target)
    trend = {
        "inquiries": comparison(current["inquiries"], previous["inquiries"]),
        "answer_rate": comparison(current["answer_rate"], previous["answer_rate"]),
        "frt_median": comparison(
            current["first_response_minutes"]["median"], previous["first_response_minutes"]["median"]
        ),
        "within_target": comparison(
            current["first_response_minutes"]["within_target"],
            previous["first_response_minutes"]["within_target"],
        ),
        "pii": comparison(current["personal_data"]["messages"], previous["personal_data"]["messages"]),
        "hidden": comparison(current["moderation"]["hidden"], previous["moderation"]["hidden"]),
    }
    notable = [
        {
            "conversation_id": row["fact"].conversation_id,
            "at": (row["fact"].first_inbound_at or row["fact"].hour).isoformat(),
            "what": ", ".join(
                part
                for part, present in (
                    ("personal data exposed", row["fact"].pii_messages > 0),
                    ("message hidden", row["fact"].hidden_messages > 0),
                    ("message flagged", row["fact"].flagged_messages > 0),
                    ("SLA breached", bool(row["fact"].sla_breached)),
                )
                if present
            ),
            "url": f"{base_url}/conversations/{row['fact'].conversation_id}",
        }
        for row in drill_conversations(
            session, period=period, scope=scope, inquiries_only=False, pii=True, limit=10
        )
        + drill_conversations(
            session, period=period, scope=scope, inquiries_only=False, moderated=True, limit=10
        )
    ]
    seen: set[int] = set()
    unique_notable = []
    for item in notable:
        if item["conversation_id"] not in seen:
            seen.add(item["conversation_id"])
            unique_notable.append(item)
    data: dict[str, Any] = {
        "title": title,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "period": {"from": period.start.isoformat(), "to": period.end.isoformat()},
        "period_label": _period_label(period),
        "target": target,
        "current": current,
        "previous": previous,
        "trend": trend,
        "by_channel": kpis["by_channel"],
        "by_brand": breakdown(session, period, scope, "brand"),
        "by_team": breakdown(session, period, scope, "team"),
        "topics": [row for row in breakdown(session, period, scope, "intent") if row["key"]][:10],
        "sentiment": breakdown(session, period, scope, "sentiment"),
        "languages": breakdown(session, period, scope, "language")[:8],
        "next_response_minutes": kpis["next_response_minutes"],
        "oldest_unanswered": kpis["oldest_unanswered"],
        "notable": unique_notable[:15],
        "base_url": base_url,
    }
    return WeeklyReport(data)


def _period_label(period: Period) -> str:
    last = period.end - timedelta(seconds=1)
    return f"{period.start:%Y-%m-%d %H:%M} – {last:%Y-%m-%d %H:%M} UTC"


def parse_time_of_day(value: str) -> time:
    hours, _, minutes = value.partition(":")
    return time(int(hours), int(minutes or 0))


def next_run(*, weekday: int, time_of_day: str, timezone: str, after: datetime) -> datetime:
    """The first instant after ``after`` that is ``weekday`` (0 Monday) at ``time_of_day`` in
    ``timezone`` (a time that a DST change skips is taken as the same wall time an hour later)."""
    zone = ZoneInfo(timezone)
    local = after.astimezone(zone)
    at = parse_time_of_day(time_of_day)
    day = local.date() + timedelta(days=(weekday - local.weekday()) % 7)
    for offset in (0, 7, 14):
        candidate = datetime.combine(day + timedelta(days=offset), at, tzinfo=zone)
        # round-trip through UTC normalises a wall time that does not exist on that day
        instant = candidate.astimezone(UTC)
        if instant > after:
            return instant
    raise AssertionError("unreachable")


def week_before(run_at: datetime, timezone: str) -> Period:
    """The whole local week (Monday to Monday) before the one ``run_at`` falls in."""
    zone = ZoneInfo(timezone)
    local = run_at.astimezone(zone)
    monday = local.date() - timedelta(days=local.weekday())
    end = datetime.combine(monday, time(), tzinfo=zone).astimezone(UTC)
    start = datetime.combine(monday - timedelta(days=7), time(), tzinfo=zone).astimezone(UTC)
    return Period(start=start, end=end)
