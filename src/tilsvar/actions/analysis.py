"""Store what the understanding pipeline found in messages, and act on it.

Each message gets its labels as columns (language, intent, sentiment, priority, personal data with the
redacted text people see by default, the moderation decision); its conversation gets the highest
priority of its messages, the latest customer message's labels, and whether personal data was exposed
in public or a message was flagged. A brand policy's ``hide`` on a public message becomes a hide on the
platform (``actions.moderation``); ``flag`` marks it for an agent. Running twice is harmless: labels
are overwritten, and a moderation decision an agent already acted on is never redone.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tilsvar.actions.moderation import MODERATED_KINDS, request_moderation
from tilsvar.actions.trends import enqueue_observation as enqueue_trend_observation
from tilsvar.events import ConversationUpdated, Event, MessageAnalyzed, ModerationChanged, record_events
from tilsvar.models import Conversation, Message

PRIORITY_RANK = {"low": 0, "normal": 1, "high": 2, "urgent": 3}
PRIORITY_OF_RANK = {rank: name for name, rank in PRIORITY_RANK.items()}
PUBLIC_KINDS = frozenset({"comment", "post"})
FLAGGED_STATES = (
    "flagged",
    "hide_pending",
    "hidden",
    "hide_failed",
    "unhide_pending",
    "unhide_failed",
    "delete_failed",
)


def message_columns(analysis: dict[str, Any]) -> dict[str, Any]:
    """The message columns an analysis fills in."""
    sentiment = analysis.get("sentiment") or {}
    pii = analysis.get("pii") or []
    moderation = analysis.get("moderation") or {}
    return {
        "analysis": analysis,
        "language": analysis.get("language"),
        "intent": analysis.get("intent"),
        "sentiment": sentiment.get("label"),
        "sentiment_score": sentiment.get("score"),
        "priority": analysis.get("priority"),
        "has_pii": bool(pii),
        "redacted_text": analysis.get("redacted") if pii else None,
        "moderation_action": str(moderation.get("action") or "allow")[:8],
    }


def moderation_reason(analysis: dict[str, Any]) -> str:
    labels = [str(label) for label in (analysis.get("moderation") or {}).get("labels") or []]
    return ("policy: " + ", ".join(labels))[:300] if labels else "policy"


def do_store_analysis(session: Session, *, results: dict[int, dict[str, Any]], route: bool = True) -> None:
    """Save each message's analysis, update its conversation, and carry out moderation decisions; then
    route the conversations (unless ``route`` is false: imported history is not routed)."""
    if not results:
        return
    from tilsvar.privacy.sealing import analysis_rows

    # The original of a message with personal data stays sealed (tilsvar.privacy.sealing).
    session.execute(update(Message), analysis_rows(session, results, message_columns))
    rows = session.execute(
        select(
            Message.id,
            Message.conversation_id,
            Message.kind,
            Message.direction,
            Message.moderation_state,
            Conversation.brand_id,
            Conversation.organization_id,
        )
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.id.in_(list(results)))
    ).all()
    events: list[Event] = []
    for message_id, conversation_id, kind, direction, state, brand_id, organization_id in rows:
        events.append(
            MessageAnalyzed(
                organization_id=organization_id,
                brand_id=brand_id,
                conversation_id=conversation_id,
                message_id=message_id,
            )
        )
        action = (results[message_id].get("moderation") or {}).get("action")
        if direction != "in" or state or action not in ("flag", "hide"):
            continue  # nothing to do, or an agent or an earlier run already decided
        reason = moderation_reason(results[message_id])
        if action == "hide" and kind in MODERATED_KINDS:
            request_moderation(session, message_id=message_id, action="hide", reason=reason, actor="policy")
        else:
            session.execute(
                update(Message)
                .where(Message.id == message_id)
                .values(moderation_state="flagged", moderation_reason=reason)
            )
        events.append(
            ModerationChanged(
                organization_id=organization_id,
                brand_id=brand_id,
                conversation_id=conversation_id,
                message_id=message_id,
                state="hide_pending" if action == "hide" and kind in MODERATED_KINDS else "flagged",
                reason=reason,
            )
        )
    conversation_ids = {row[1] for row in rows}
    events += refresh_conversation_labels(session, conversation_ids=conversation_ids)
    record_events(session, events)
    # Routing needs the labels: route (or re-check the owner of) conversations with new customer messages.
    from tilsvar.actions.routing import do_route_conversations

    if route:
        do_route_conversations(session, conversation_ids={row[1] for row in rows if row[3] == "in"})
    enqueue_trend_observation(session, message_ids=[row[0] for row in rows if row[3] == "in"])


def refresh_conversation_labels(session: Session, *, conversation_ids: Iterable[int]) -> list[Event]:
    """Recompute each conversation's priority, labels, flags and preview from its messages; return
    the events for those that changed (the caller records them)."""
    ids = sorted(set(conversation_ids))
    return _refresh(session, ids) if ids else []


def _refresh(session: Session, ids: list[int]) -> list[Event]:
    inbound = (
        select(
            Message.conversation_id,
            Message.priority,
            Message.intent,
            Message.sentiment,
            Message.language,
            Message.has_pii,
            Message.kind,
            Message.moderation_state,
            Message.analysis.is_not(None),
        )
        .where(Message.conversation_id.in_(ids), Message.direction == "in")
        .order_by(Message.conversation_id, Message.created_at, Message.id)
    )
    facts: dict[int, dict[str, Any]] = {}
    for (
        conversation_id,
        priority,
        intent,
        sentiment,
        language,
        has_pii,
        kind,
        state,
        analysed,
    ) in session.execute(inbound):
        fact = facts.setdefault(
            conversation_id,
            {"rank": PRIORITY_RANK["normal"], "pii_exposed": False, "flagged": False, "labels": None},
        )
        if priority in PRIORITY_RANK:
            fact["rank"] = max(fact["rank"], PRIORITY_RANK[priority])
        fact["pii_exposed"] = fact["pii_exposed"] or bool(has_pii and kind in PUBLIC_KINDS)
        fact["flagged"] = fact["flagged"] or state in FLAGGED_STATES
        if analysed:
            fact["labels"] = (intent, sentiment, language)
    events: list[Event] = []
    current = session.execute(
        select(
            Conversation.id,
            Conversation.organization_id,
            Conversation.brand_id,
            Conversation.priority_rank,
            Conversation.intent,
            Conversation.sentiment,
            Conversation.language,
            Conversation.pii_exposed,
            Conversation.flagged,
            Conversation.preview,
        ).where(Conversation.id.in_(ids))
    ).all()
    previews = _redacted_previews(session, {row[0]: row[-1] for row in current})
    updates: list[dict[str, Any]] = []
    for (
        conversation_id,
        organization_id,
        brand_id,
        rank,
        intent,
        sentiment,
        language,
        pii,
        flagged,
        preview,
    ) in current:
        found = facts.get(conversation_id)
        if found is None:
            continue
        fact = found
        labels = fact["labels"] or (intent, sentiment, language)
        values: dict[str, Any] = {
            "priority_rank": fact["rank"],
            "priority": PRIORITY_OF_RANK[fact["rank"]],
            "intent": labels[0],
            "sentiment": labels[1],
            "language": labels[2],
            "pii_exposed": fact["pii_exposed"],
            "flagged": fact["flagged"],
        }
        if conversation_id in previews:
            values["preview"] = previews[conversation_id]
        before = {
            "priority_rank": rank,
            "priority": PRIORITY_OF_RANK.get(rank, "normal"),
            "intent": intent,
            "sentiment": sentiment,
            "language": language,
            "pii_exposed": pii,
            "flagged": flagged,
            "preview": preview,
        }
        changed = sorted(name for name, value in values.items() if before.get(name) != value)
        if not changed:
            continue
        updates.append({"id": conversation_id, **values})
        events.append(
            ConversationUpdated(
                organization_id=organization_id,
                brand_id=brand_id,
                conversation_id=conversation_id,
                fields=changed,
            )
        )
    if updates:
        # One executemany per set of columns (ORM bulk update by primary key: rows with the same
        # columns, here told apart by their number, are sent together), not a statement each.
        updates.sort(key=lambda row: (len(row), row["id"]))
        session.execute(update(Conversation), updates)
    return events


def _redacted_previews(session: Session, previews: dict[int, str]) -> dict[int, str]:
    """Conversations whose preview is the text of a message holding personal data: the redacted text
    to show instead."""
    rows = session.execute(
        select(Message.conversation_id, Message.text, Message.redacted_text).where(
            Message.conversation_id.in_(list(previews)),
            Message.has_pii.is_(True),
            Message.redacted_text.is_not(None),
        )
    )
    return {
        conversation_id: str(redacted)[:300]
        for conversation_id, text, redacted in rows
        if previews.get(conversation_id) == text[:300]
    }
