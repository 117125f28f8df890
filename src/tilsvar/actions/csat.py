"""Customer satisfaction: after a resolution, ask the customer on the same channel and keep the answer
with the conversation, its agent and its team.

Two ways to answer, chosen per channel (``channel_workflow.csat_mode``):
- ``message``: the survey is a message with three choices; the customer's reply "1", "2", "3" (or 😊 😐 ☹,
  or "good", "ok", "bad" in our languages) is taken as the answer — it does not reopen the conversation
  and never starts an SLA clock;
- ``link``: the message carries a link to a small public page (``/csat/{token}``) with three faces and
  an optional comment. The token is the survey id signed with HMAC-SHA256 under the installation's
  master key, so it cannot be guessed or altered, and needs no sign-in.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from tilsvar.actions.automatic import queue_automatic_message
from tilsvar.actions.common import ActionError, audit
from tilsvar.actions.timeline import add_timeline
from tilsvar.crypto import keyring
from tilsvar.models import Conversation, Message, utcnow
from tilsvar.models.workflow import ChannelWorkflow, ConversationWorkflowState, CsatSurvey
from tilsvar.settings import get_settings

RATINGS = ("happy", "neutral", "sad")
_ANSWERS = {
    "1": "happy", "😊": "happy", "🙂": "happy", "😀": "happy", "good": "happy", "god": "happy",
    "godt": "happy", "bra": "happy", "dobrze": "happy", "great": "happy",
    "2": "neutral", "😐": "neutral", "ok": "neutral", "okay": "neutral", "neutral": "neutral",
    "3": "sad", "☹": "sad", "☹️": "sad", "🙁": "sad", "😞": "sad", "bad": "sad", "dårlig": "sad",
    "dåligt": "sad", "źle": "sad", "zle": "sad",
}  # fmt: skip


def _key() -> bytes:
    master = keyring().keys[0]
    return hmac.new(master, b"tilsvar csat v1", hashlib.sha256).digest()


def survey_token(survey_id: int) -> str:
    signature = hmac.new(_key(), f"csat:{survey_id}".encode(), hashlib.sha256).hexdigest()[:32]
    return f"{survey_id}.{signature}"


def survey_id_from_token(token: str) -> int | None:
    survey, _, signature = token.partition(".")
    if not survey.isdigit() or not signature:
        return None
    expected = survey_token(int(survey)).partition(".")[2]
    return int(survey) if hmac.compare_digest(signature, expected) else None


def survey_url(survey_id: int) -> str:
    return f"{get_settings().effective_base_url}/csat/{survey_token(survey_id)}"


def parse_rating(text: str) -> str | None:
    """A survey answer in a customer's reply, or None when it is something else."""
    cleaned = re.sub(r"[.!\s]+$", "", text.strip().casefold())
    return _ANSWERS.get(cleaned)


def _answered(session: Session, conversation: Conversation) -> bool:
    """An agent has answered: a reply was sent, or one is queued ("send and resolve" resolves in the
    same step as the reply, before the platform has accepted it; the survey is queued after it)."""
    if conversation.first_response_at is not None:
        return True
    queued = session.scalar(
        select(Message.id)
        .where(
            Message.conversation_id == conversation.id,
            Message.direction == "out",
            Message.is_automatic.is_(False),
            Message.delivery_state == "queued",
        )
        .limit(1)
    )
    return queued is not None


def do_send_survey(session: Session, *, conversation: Conversation) -> CsatSurvey | None:
    """Ask for a rating after a resolution, when the channel sends surveys (once per resolution)."""
    settings = session.get(ChannelWorkflow, conversation.channel_id)
    if settings is None or not settings.csat_enabled or not _answered(session, conversation):
        return None
    open_survey = session.scalar(
        select(CsatSurvey).where(
            CsatSurvey.conversation_id == conversation.id, CsatSurvey.answered_at.is_(None)
        )
    )
    if open_survey is not None:
        return None
    survey = CsatSurvey(
        conversation_id=conversation.id,
        agent_user_id=conversation.assignee_id,
        team_id=conversation.team_id,
        sent_at=utcnow(),
        comment="",
    )
    session.add(survey)
    session.flush()
    if settings.csat_mode == "link":
        text = f"How did we do? Tell us with one click: {survey_url(survey.id)}"
    else:
        text = "How did we do? Reply 1 😊 good, 2 😐 okay, or 3 ☹ bad."
    message = queue_automatic_message(session, conversation=conversation, text=text, author="survey")
    survey.message_id = message.id
    add_timeline(session, conversation=conversation, kind="csat_sent", summary="Satisfaction survey sent")
    return survey


def take_survey_answer(
    session: Session, *, conversation: Conversation, state: ConversationWorkflowState, message: Message
) -> bool:
    """If ``message`` answers the open survey, record it and keep the conversation resolved."""
    survey = session.scalar(
        select(CsatSurvey)
        .where(CsatSurvey.conversation_id == conversation.id, CsatSurvey.answered_at.is_(None))
        .order_by(CsatSurvey.id.desc())
        .limit(1)
    )
    if survey is None or message.created_at < survey.sent_at:
        return False
    rating = parse_rating(message.text)
    if rating is None:
        return False
    _record(session, survey=survey, conversation=conversation, rating=rating, comment="")
    survey.answer_message_id = message.id
    if conversation.status == "open" and state.status_seen in ("resolved", "closed"):
        # Ingest reopened it for the customer's message; a survey answer is no reason to.
        conversation.status = state.status_seen
        conversation.resolved_at = conversation.resolved_at or utcnow()
        conversation.waiting_since = None
    return True


def _record(
    session: Session, *, survey: CsatSurvey, conversation: Conversation, rating: str, comment: str
) -> None:
    survey.rating = rating
    survey.comment = comment.strip()[:2000]
    survey.answered_at = utcnow()
    add_timeline(
        session,
        conversation=conversation,
        kind="csat_answer",
        summary=f"Customer rated the service {rating}"
        + (": " + survey.comment[:200] if survey.comment else ""),
        actor="customer",
        details={"rating": rating},
    )
    audit(
        session,
        action="csat.answered",
        actor="customer",
        organization_id=conversation.organization_id,
        target_type="conversation",
        target_id=conversation.id,
        details={"rating": rating},
    )


def do_answer_survey(session: Session, *, token: str, rating: str, comment: str = "") -> CsatSurvey:
    """An answer from the public survey page; answering again changes the answer."""
    survey_id = survey_id_from_token(token)
    survey = session.get(CsatSurvey, survey_id) if survey_id is not None else None
    if survey is None:
        raise ActionError("this survey link is not valid", status=404)
    if rating not in RATINGS:
        raise ActionError("choose happy, neutral or sad", status=422)
    conversation = session.get_one(Conversation, survey.conversation_id)
    _record(session, survey=survey, conversation=conversation, rating=rating, comment=comment)
    return survey


def survey_for_token(session: Session, token: str) -> CsatSurvey | None:
    survey_id = survey_id_from_token(token)
    return session.get(CsatSurvey, survey_id) if survey_id is not None else None
