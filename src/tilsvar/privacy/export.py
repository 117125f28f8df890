"""Everything held about one person, as a JSON-ready dict and a readable HTML page (a data-subject
access request). The export shows their own data unmasked: it is for them. Their conversations come
whole (with the brand's replies); in shared conversations only their messages and the brand's
replies to them are included."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, select_autoescape
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tilsvar.models import (
    Brand,
    Channel,
    Contact,
    ContactTag,
    Conversation,
    EmailMessage,
    Identity,
    Message,
    MessageAttachment,
    Tag,
    utcnow,
)
from tilsvar.models.workflow import CsatSurvey
from tilsvar.privacy.sealing import open_text
from tilsvar.privacy.subject import Subject


def contact_tags(session: Session, contact_id: int) -> list[str]:
    return sorted(
        session.scalars(
            select(Tag.name)
            .join(ContactTag, ContactTag.tag_id == Tag.id)
            .where(ContactTag.contact_id == contact_id)
        )
    )


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def build_export(
    session: Session, subjects: list[Subject], *, platform: str, author_id: str
) -> dict[str, Any]:
    """The export document for the person (one subject per organisation holding data about them)."""
    document: dict[str, Any] = {
        "subject": {"platform": platform, "author_id": author_id},
        "generated_at": utcnow().isoformat(),
        "contacts": [],
        "identities": [],
        "conversations": [],
    }
    for subject in subjects:
        for contact in session.scalars(select(Contact).where(Contact.id.in_(subject.contact_ids))):
            document["contacts"].append(
                {
                    "id": contact.id,
                    "display_name": contact.display_name,
                    "created_at": _iso(contact.created_at),
                    "tags": contact_tags(session, contact.id),  # customer tags (vip ...) are about them too
                }
            )
        for identity in session.scalars(select(Identity).where(Identity.id.in_(subject.identity_ids))):
            document["identities"].append(
                {
                    "platform": identity.platform,
                    "author_id": identity.platform_id,
                    "handle": identity.handle,
                    "name": identity.name,
                    "first_seen": _iso(identity.created_at),
                }
            )
        document["conversations"] += _conversations(session, subject)
    return document


def _conversations(session: Session, subject: Subject) -> list[dict[str, Any]]:
    own = set(subject.own_conversation_ids)
    theirs = set(subject.message_ids)
    their_external = set(
        session.scalars(
            select(Message.external_id).where(Message.id.in_(theirs), Message.external_id.is_not(None))
        )
    )
    result = []
    for conversation, brand, channel in session.execute(
        select(Conversation, Brand, Channel)
        .join(Brand, Brand.id == Conversation.brand_id)
        .join(Channel, Channel.id == Conversation.channel_id)
        .where(Conversation.id.in_(subject.conversation_ids))
        .order_by(Conversation.first_message_at, Conversation.id)
    ):
        query = select(Message).where(Message.conversation_id == conversation.id)
        if conversation.id not in own:
            query = query.where(or_(Message.id.in_(theirs), Message.in_reply_to.in_(their_external)))
        messages = list(session.scalars(query.order_by(Message.created_at, Message.id)))
        ids = [message.id for message in messages]
        attachments: dict[int, list[dict[str, Any]]] = {}
        for attachment in session.scalars(
            select(MessageAttachment).where(MessageAttachment.message_id.in_(ids))
        ):
            attachments.setdefault(attachment.message_id, []).append(
                {
                    "filename": attachment.filename,
                    "content_type": attachment.content_type,
                    "size": attachment.size,
                    "sha256": attachment.sha256,
                }
            )
        mail = {
            row.message_id: row
            for row in session.scalars(select(EmailMessage).where(EmailMessage.message_id.in_(ids)))
        }
        entry: dict[str, Any] = {
            "id": conversation.id,
            "brand": brand.name,
            "platform": channel.platform,
            "account": channel.account,
            "kind": conversation.kind,
            "status": conversation.status,
            "subject": conversation.subject,
            "started_at": _iso(conversation.first_message_at),
            "resolved_at": _iso(conversation.resolved_at),
            "whole_conversation": conversation.id in own,
            "messages": [],
            "satisfaction_surveys": [],
        }
        for message in messages:
            item: dict[str, Any] = {
                "id": message.id,
                "platform_id": message.external_id,
                "written_by": "you"
                if message.id in theirs
                else ("brand" if message.direction == "out" else "customer"),
                "author_name": message.author_name if message.id in theirs else "",
                "kind": message.kind,
                "created_at": _iso(message.created_at),
                "text": open_text(message.text, message.text_sealed),
                "language": message.language,
                "personal_data_detected": message.has_pii,
                "moderation": {
                    "decision": message.moderation_action,
                    "state": message.moderation_state,
                    "reason": message.moderation_reason,
                },
                "attachments": attachments.get(message.id, []),
            }
            if message.id in mail:
                header = mail[message.id]
                item["email"] = {
                    "subject": header.subject,
                    "from": header.from_address,
                    "to": header.to_addresses,
                }
            entry["messages"].append(item)
        if conversation.id in own:
            for survey in session.scalars(
                select(CsatSurvey).where(CsatSurvey.conversation_id == conversation.id)
            ):
                entry["satisfaction_surveys"].append(
                    {
                        "sent_at": _iso(survey.sent_at),
                        "rating": survey.rating,
                        "comment": survey.comment,
                        "answered_at": _iso(survey.answered_at),
                    }
                )
        result.append(entry)
    return result


_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Personal data export</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
.msg{border-left:3px solid #ccc;padding:.25rem .75rem;margin:.5rem 0;white-space:pre-wrap}
.you{border-color:#2a6}.brand{border-color:#26a}small{color:#555}table{border-collapse:collapse}
td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left}</style></head><body>
<h1>Personal data export</h1>
<p>Everything held about <strong>{{ doc.subject.platform }} {{ doc.subject.author_id }}</strong>,
generated {{ doc.generated_at }}.</p>
<h2>Identities</h2>
<table><tr><th>Platform</th><th>Id</th><th>Handle</th><th>Name</th><th>First seen</th></tr>
{% for i in doc.identities %}<tr><td>{{ i.platform }}</td><td>{{ i.author_id }}</td><td>{{ i.handle }}</td>
<td>{{ i.name }}</td><td>{{ i.first_seen }}</td></tr>{% endfor %}</table>
<h2>Conversations ({{ doc.conversations|length }})</h2>
{% for c in doc.conversations %}<section><h3>{{ c.brand }} · {{ c.platform }} {{ c.account }} · {{ c.kind }}
{% if c.subject %}· {{ c.subject }}{% endif %}</h3><small>started {{ c.started_at }}, {{ c.status }}</small>
{% for m in c.messages %}<div class="msg {{ m.written_by }}"><small>{{ m.written_by }}
{% if m.author_name %}({{ m.author_name }}){% endif %} · {{ m.created_at }}
{% if m.moderation.decision %}· moderation: {{ m.moderation.decision }}
{{ m.moderation.state }}{% endif %}</small>
<div>{{ m.text }}</div>{% for a in m.attachments %}<small>attachment: {{ a.filename }} ({{ a.content_type }},
{{ a.size }} bytes)</small>{% endfor %}</div>{% endfor %}
{% for s in c.satisfaction_surveys %}<p><small>satisfaction survey {{ s.sent_at }}:
{{ s.rating or "no answer" }}
{{ s.comment }}</small></p>{% endfor %}</section>{% endfor %}
</body></html>
"""
_environment = Environment(autoescape=select_autoescape(default=True, default_for_string=True))


def render_html(document: dict[str, Any]) -> str:
    """The export as one self-contained, escaped HTML page."""
    return _environment.from_string(_HTML).render(doc=document)
