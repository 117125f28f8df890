"""Canned responses and macros: saved answers per brand and language with variables, in each brand's
voice, and bulk replies that personalise one text for many customers.

Variables: ``{customer_name}``, ``{agent_name}``, ``{brand}``, and the brand voice's ``{greeting}`` and
``{signoff}`` (brand settings ``voice: {greeting: "Hej", signoff: "/Nordic Rail"}`` — a youth page can
say "Yo" where the main page says "Dear"). Unknown ``{names}`` are left as written, so a typo shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tilsvar import access
from tilsvar.actions.common import ActionError, audit
from tilsvar.actions.replies import do_reply
from tilsvar.models import Brand, Contact, Conversation, User, utcnow
from tilsvar.models.workflow import CannedResponse

VARIABLE = re.compile(r"\{([a-z_]+)\}")


def variables_for(session: Session, *, conversation: Conversation, agent: User | None) -> dict[str, str]:
    brand = session.get_one(Brand, conversation.brand_id)
    voice: dict[str, Any] = dict((brand.settings or {}).get("voice") or {})
    customer = ""
    if conversation.contact_id is not None:
        customer = (
            session.scalar(select(Contact.display_name).where(Contact.id == conversation.contact_id)) or ""
        )
    return {
        "customer_name": customer.split(" ")[0] if customer else "",
        "customer_full_name": customer,
        "agent_name": agent.name.split(" ")[0] if agent else brand.name,
        "brand": brand.name,
        "greeting": str(voice.get("greeting", "Hi")),
        "signoff": str(voice.get("signoff", f"/{brand.name}")),
    }


def fill(text: str, values: dict[str, str]) -> str:
    return VARIABLE.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def render_canned(
    session: Session, *, canned: CannedResponse, conversation: Conversation, agent: User | None
) -> str:
    return fill(canned.text, variables_for(session, conversation=conversation, agent=agent))


def find_canned(session: Session, *, conversation: Conversation, shortcut: str) -> CannedResponse | None:
    """The best match for a conversation: its brand and language first, then brand, language, any."""
    candidates = list(
        session.scalars(
            select(CannedResponse).where(
                CannedResponse.organization_id == conversation.organization_id,
                CannedResponse.shortcut == shortcut,
                or_(CannedResponse.brand_id.is_(None), CannedResponse.brand_id == conversation.brand_id),
            )
        )
    )
    return _best(candidates, conversation)


def _best(candidates: list[CannedResponse], conversation: Conversation) -> CannedResponse | None:
    def score(c: CannedResponse) -> tuple[int, int]:
        return (int(c.brand_id == conversation.brand_id), int(c.language == conversation.language))

    fitting = [c for c in candidates if c.language in (None, conversation.language)]
    return max(fitting, key=score) if fitting else None


@dataclass(frozen=True)
class CannedChoice:
    id: int
    shortcut: str
    title: str
    text: str  # with variables filled in for the conversation
    brand_id: int | None
    language: str | None


def canned_for_conversation(
    session: Session, *, conversation: Conversation, agent: User
) -> list[CannedChoice]:
    """Each shortcut's best version for this conversation, filled in."""
    rows = list(
        session.scalars(
            select(CannedResponse)
            .where(
                CannedResponse.organization_id == conversation.organization_id,
                or_(CannedResponse.brand_id.is_(None), CannedResponse.brand_id == conversation.brand_id),
            )
            .order_by(CannedResponse.shortcut)
        )
    )
    by_shortcut: dict[str, list[CannedResponse]] = {}
    for row in rows:
        by_shortcut.setdefault(row.shortcut, []).append(row)
    values = variables_for(session, conversation=conversation, agent=agent)
    choices = []
    for shortcut, candidates in by_shortcut.items():
        best = _best(candidates, conversation)
        if best is not None:
            choices.append(
                CannedChoice(
                    best.id,
                    shortcut,
                    best.title or shortcut,
                    fill(best.text, values),
                    best.brand_id,
                    best.language,
                )
            )
    return choices


def do_save_canned(
    session: Session,
    *,
    user: User,
    shortcut: str,
    text: str,
    title: str = "",
    brand_id: int | None = None,
    language: str | None = None,
) -> CannedResponse:
    """Create or replace the canned response for (shortcut, brand, language)."""
    shortcut = shortcut.strip()
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", shortcut):
        raise ActionError("a shortcut is 1-100 letters, digits, '-', '_' or '.'", status=422)
    if not text.strip():
        raise ActionError("a canned response needs text", status=422)
    if brand_id is not None and brand_id not in access.brand_ids(session, user):
        raise ActionError(f"no brand {brand_id}", status=422)
    language = language.strip().lower() or None if language else None
    row = session.scalar(
        select(CannedResponse).where(
            CannedResponse.organization_id == user.organization_id,
            CannedResponse.shortcut == shortcut,
            CannedResponse.brand_id.is_(None) if brand_id is None else CannedResponse.brand_id == brand_id,
            CannedResponse.language.is_(None) if language is None else CannedResponse.language == language,
        )
    )
    if row is None:
        row = CannedResponse(
            organization_id=user.organization_id,
            shortcut=shortcut,
            brand_id=brand_id,
            language=language,
            created_at=utcnow(),
        )
        session.add(row)
    row.title = title.strip()[:200]
    row.text = text.strip()
    session.flush()
    audit(session, action="canned.saved", actor_user=user, target_type="canned_response", target_id=row.id)
    return row


def do_delete_canned(session: Session, *, user: User, canned_id: int) -> None:
    row = session.get(CannedResponse, canned_id)
    if row is None or row.organization_id != user.organization_id:
        raise ActionError(f"no canned response {canned_id}", status=404)
    session.delete(row)
    audit(
        session, action="canned.deleted", actor_user=user, target_type="canned_response", target_id=canned_id
    )


@dataclass(frozen=True)
class BulkResult:
    conversation_id: int
    message_id: int | None
    error: str


def do_bulk_reply(
    session: Session, *, user: User, conversation_ids: list[int], text: str
) -> list[BulkResult]:
    """Reply to many conversations with one text, personalised per customer ({customer_name}, ...).
    Each reply is queued on its own conversation's channel; one refused reply does not stop the rest."""
    if len(conversation_ids) > 500:
        raise ActionError("at most 500 conversations at a time", status=422)
    results: list[BulkResult] = []
    for conversation_id in dict.fromkeys(conversation_ids):
        try:
            conversation = access.access_conversation(session, user, conversation_id)
            personal = fill(text, variables_for(session, conversation=conversation, agent=user))
            with session.begin_nested():
                message = do_reply(session, user=user, conversation=conversation, text=personal)
            results.append(BulkResult(conversation_id, message.id, ""))
        except access.NotFound:
            results.append(BulkResult(conversation_id, None, "not found"))
        except ActionError as error:
            results.append(BulkResult(conversation_id, None, error.reason))
    audit(
        session,
        action="reply.bulk",
        actor_user=user,
        details={"conversations": len(results), "queued": sum(1 for r in results if r.message_id)},
    )
    return results
