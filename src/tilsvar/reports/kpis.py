"""The KPI report: inquiries, answers, response times, unanswered, CSAT, by channel and brand.

Definitions (KPIS.md): an inquiry is a conversation whose first message is inbound, counted in the
period of that first message; it is answered when the brand has sent a (non-automatic) reply in it;
first response time runs from the first inbound message to the first reply after it; next response
time from each customer message that follows a reply to the next reply.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tilsvar.models import Brand, Channel, Conversation, Message, utcnow
from tilsvar.reports.stats import summary
from tilsvar.settings import get_settings


@dataclass(frozen=True, slots=True)
class Period:
    """[start, end) in UTC."""

    start: datetime
    end: datetime

    @classmethod
    def from_dates(cls, first: date, last: date) -> Period:
        """Whole UTC days from ``first`` to ``last``, both included."""
        if last < first:
            raise ValueError("the period ends before it starts")
        return cls(
            start=datetime.combine(first, time(), tzinfo=UTC),
            end=datetime.combine(last + timedelta(days=1), time(), tzinfo=UTC),
        )


@dataclass(frozen=True, slots=True)
class _Inquiry:
    conversation_id: int
    brand_id: int
    channel_id: int
    first_inbound_at: datetime
    first_response_at: datetime | None

    @property
    def frt_minutes(self) -> float | None:
        if self.first_response_at is None:
            return None
        return (self.first_response_at - self.first_inbound_at).total_seconds() / 60


@dataclass(frozen=True, slots=True)
class Report:
    data: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return self.data

    def as_csv(self) -> str:
        """One row for the whole period and one per channel."""
        out = io.StringIO()
        writer = csv.writer(out)
        header = [
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
        ]
        writer.writerow(header)
        rows = [{"scope": "all", "platform": "", "account": "", **self.data}] + [
            {"scope": "channel", **row} for row in self.data["by_channel"]
        ]
        for row in rows:
            frt = row["first_response_minutes"]
            writer.writerow(
                [
                    row["scope"],
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
                ]
            )
        return out.getvalue()


def _block(inquiries: Sequence[_Inquiry], target: float) -> dict[str, Any]:
    answered = [inquiry for inquiry in inquiries if inquiry.first_response_at is not None]
    frts = [inquiry.frt_minutes for inquiry in answered if inquiry.frt_minutes is not None]
    return {
        "inquiries": len(inquiries),
        "answered": len(answered),
        "answer_rate": len(answered) / len(inquiries) if inquiries else 0.0,
        "unanswered": len(inquiries) - len(answered),
        "first_response_minutes": summary(frts, target=target),
    }


def compute_report(
    session: Session,
    *,
    period: Period,
    brand_ids: Sequence[int],
    target_minutes: float | None = None,
    now: datetime | None = None,
) -> Report:
    settings = get_settings()
    target = target_minutes if target_minutes is not None else settings.first_response_target_minutes
    now = now or utcnow()
    rows = session.execute(
        select(
            Conversation.id,
            Conversation.brand_id,
            Conversation.channel_id,
            Conversation.first_inbound_at,
            Conversation.first_response_at,
        ).where(
            Conversation.brand_id.in_(brand_ids),
            Conversation.first_message_inbound.is_(True),
            Conversation.first_inbound_at >= period.start,
            Conversation.first_inbound_at < period.end,
        )
    )
    inquiries = [
        _Inquiry(cid, bid, chid, first, response) for cid, bid, chid, first, response in rows if first
    ]
    data: dict[str, Any] = {"period": {"from": period.start.isoformat(), "to": period.end.isoformat()}}
    data.update(_block(inquiries, target))
    unanswered = [inquiry for inquiry in inquiries if inquiry.first_response_at is None]
    oldest = min((inquiry.first_inbound_at for inquiry in unanswered), default=None)
    as_of = min(now, period.end)
    data["oldest_unanswered"] = {
        "since": oldest.isoformat() if oldest else None,
        "age_minutes": max((as_of - oldest).total_seconds() / 60, 0.0) if oldest else 0.0,
        "as_of": as_of.isoformat(),
    }
    data["next_response_minutes"] = {
        key: value
        for key, value in summary(
            _next_response_minutes(session, [i.conversation_id for i in inquiries])
        ).items()
        if key in {"count", "median", "p90"}
    }
    data["csat"] = {
        "happy": 0,
        "neutral": 0,
        "sad": 0,
        "responses": 0,
        "happy_share": 0.0,
        "target": settings.csat_target,
        "surveys_sent": 0,
        "response_rate": 0.0,
    }

    channels = {
        channel.id: channel
        for channel in session.scalars(
            select(Channel).where(Channel.id.in_({i.channel_id for i in inquiries}))
        )
    }
    by_channel: dict[int, list[_Inquiry]] = defaultdict(list)
    by_brand: dict[int, list[_Inquiry]] = defaultdict(list)
    for inquiry in inquiries:
        by_channel[inquiry.channel_id].append(inquiry)
        by_brand[inquiry.brand_id].append(inquiry)
    data["by_channel"] = sorted(
        (
            {"platform": channels[cid].platform, "account": channels[cid].account, **_block(items, target)}
            for cid, items in by_channel.items()
        ),
        key=lambda row: (-row["inquiries"], row["platform"], row["account"]),
    )
    brand_names = dict(session.execute(select(Brand.id, Brand.name).where(Brand.id.in_(by_brand))).all())
    data["by_brand"] = sorted(
        (
            {"brand_id": bid, "brand": brand_names[bid], **_block(items, target)}
            for bid, items in by_brand.items()
        ),
        key=lambda row: (-row["inquiries"], row["brand"]),
    )
    return Report(data)


def _next_response_minutes(session: Session, conversation_ids: list[int]) -> list[float]:
    """For each customer message that follows a brand reply, minutes until the next reply."""
    values: list[float] = []
    chunk = 5000
    for offset in range(0, len(conversation_ids), chunk):
        ids = conversation_ids[offset : offset + chunk]
        rows = session.execute(
            select(
                Message.conversation_id,
                Message.direction,
                Message.created_at,
                Message.is_automatic,
                Message.delivery_state,
            )
            .where(Message.conversation_id.in_(ids))
            .order_by(Message.conversation_id, Message.created_at, Message.id)
        )
        current: int | None = None
        replied = False
        waiting_since: datetime | None = None
        for conversation_id, direction, created_at, automatic, state in rows:
            if conversation_id != current:
                current, replied, waiting_since = conversation_id, False, None
            if direction == "in":
                if replied and waiting_since is None:
                    waiting_since = created_at
            elif not automatic and state == "sent":
                if waiting_since is not None:
                    values.append((created_at - waiting_since).total_seconds() / 60)
                    waiting_since = None
                replied = True
    return values
