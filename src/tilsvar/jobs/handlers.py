"""The built-in job handlers: analyse inbound messages, deliver replies."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tilsvar.actions.analysis import do_store_analysis
from tilsvar.actions.contacts import PRIVATE_REPLY_PLATFORMS, private_reply_target
from tilsvar.actions.mail import reply_context
from tilsvar.actions.moderation import PENDING, do_record_moderation_result
from tilsvar.actions.org import channel_credentials
from tilsvar.actions.replies import do_record_delivery, do_record_delivery_failure
from tilsvar.actions.reply_files import files_allowed, public_link
from tilsvar.actions.webhooks import do_mark_channel_needs_reconnect
from tilsvar.channels import DeliveryError, ModerationRequest, OutboundReply, connector_for, moderator_for
from tilsvar.channels.base import OutboundFile
from tilsvar.db import Database
from tilsvar.jobs.queue import ClaimedJob
from tilsvar.jobs.worker import PermanentFailure, handler
from tilsvar.models import Brand, Channel, Conversation, Identity, Message, MessageAttachment, utcnow
from tilsvar.pipeline import STAGES, TextItem, analyze
from tilsvar.privacy.sealing import open_text
from tilsvar.settings import get_settings


@handler("pipeline.analyze")
def analyze_messages(database: Database, job: ClaimedJob) -> None:
    message_ids = [int(value) for value in job.payload.get("message_ids", [])]
    if not STAGES or not message_ids:
        return
    with database.reader() as session:
        items = pipeline_items(session, message_ids)
    analyze(list(items.values()))
    with database.session() as session:
        do_store_analysis(
            session,
            results={mid: item.analysis for mid, item in items.items()},
            route=bool(job.payload.get("route", True)),
        )


def pipeline_items(session: Session, message_ids: list[int]) -> dict[int, TextItem]:
    """The messages to understand, each with what its brand and history add: the brand's moderation
    policy, competitors, own domains and staff names, the author's earlier flagged or hidden
    messages (repeat trolls) and reach (followers, where the platform reports it), and how long the
    message has waited."""
    rows = session.execute(
        select(
            Message.id,
            Message.text,
            Message.text_sealed,
            Message.kind,
            Channel.platform,
            Conversation.brand_id,
            Message.author_identity_id,
            Message.created_at,
        )
        .join(Channel, Channel.id == Message.channel_id)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.id.in_(message_ids))
    ).all()
    brand_settings = {
        brand_id: dict(settings or {})
        for brand_id, settings in session.execute(
            select(Brand.id, Brand.settings).where(Brand.id.in_({row.brand_id for row in rows}))
        )
    }
    authors = {row.author_identity_id for row in rows if row.author_identity_id is not None}
    offences = dict(
        session.execute(
            select(Message.author_identity_id, func.count())
            .where(
                Message.author_identity_id.in_(authors),
                Message.moderation_action.in_(("flag", "hide")),
                Message.id.not_in(message_ids),
            )
            .group_by(Message.author_identity_id)
        ).all()
    )
    reach = dict(
        session.execute(
            select(Identity.id, Identity.followers).where(
                Identity.id.in_(authors), Identity.followers.is_not(None)
            )
        ).all()
    )
    now = utcnow()
    items = {}
    for message_id, stored_text, sealed, kind, platform, brand_id, author, created_at in rows:
        text = open_text(stored_text, sealed)  # the pipeline reads the original
        settings = brand_settings.get(brand_id, {})
        context: dict[str, Any] = {
            "policy": settings.get("moderation_policy") or {},
            "competitors": settings.get("competitors") or [],
            "own_domains": settings.get("own_domains") or [],
            "staff_names": settings.get("staff_names") or [],
            "author_prior_offences": int(offences.get(author, 0)) if author is not None else 0,
            "waiting_minutes": max((now - created_at).total_seconds() / 60, 0.0),
        }
        followers = reach.get(author) if author is not None else None
        if followers is not None:
            context["author_followers"] = int(followers)
        items[message_id] = TextItem(text=text, platform=platform, kind=kind, context=context)
    return items


def _moderation_failed(database: Database, job: ClaimedJob, error: str, dead: bool) -> None:
    if dead:
        with database.session() as session:
            do_record_moderation_result(
                session,
                message_id=int(job.payload["message_id"]),
                action=job.payload["action"],
                error=error,
            )


@handler("moderation.apply", on_failure=_moderation_failed)
def apply_moderation(database: Database, job: ClaimedJob) -> None:
    """Hide, unhide or delete a public message on its platform."""
    message_id = int(job.payload["message_id"])
    action = job.payload["action"]
    with database.reader() as session:
        message = session.get(Message, message_id)
        if message is None:
            raise PermanentFailure(f"message {message_id} no longer exists")
        if message.moderation_state != PENDING.get(action):
            return  # done by an earlier run of this job, or overtaken by a later request
        channel = session.get_one(Channel, message.channel_id)
        moderator = moderator_for(channel.platform, channel.mode)
        if moderator is None or not message.external_id:
            raise PermanentFailure(f"{channel.platform} does not let Tilsvar {action} messages")
        request = ModerationRequest(
            platform=channel.platform,
            account=channel.account,
            external_id=message.external_id,
            action=action,
            credentials=channel_credentials(channel),
            config=dict(channel.config or {}),
        )
    try:
        moderator.moderate(request)
    except DeliveryError as error:
        if error.needs_reconnect:
            with database.session() as session:
                do_mark_channel_needs_reconnect(session, channel_id=channel.id, reason=error.reason)
        if error.retryable:
            raise
        raise PermanentFailure(error.reason) from error
    with database.session() as session:
        do_record_moderation_result(session, message_id=message_id, action=action)


def _delivery_failed(database: Database, job: ClaimedJob, error: str, dead: bool) -> None:
    with database.session() as session:
        do_record_delivery_failure(
            session, message_id=int(job.payload["message_id"]), reason=error, final=dead
        )


def _reply_files(session: Session, *, message_id: int, platform: str) -> tuple[OutboundFile, ...]:
    """The files attached to a reply (actions.reply_files), read from the data dir."""
    rows = list(
        session.scalars(
            select(MessageAttachment)
            .where(MessageAttachment.message_id == message_id)
            .order_by(MessageAttachment.id)
        )
    )
    if not rows:
        return ()
    if not files_allowed(platform):
        raise PermanentFailure(f"files cannot be sent on {platform}")
    settings = get_settings()
    files = []
    for row in rows:
        path = settings.data_dir / row.storage_path
        if not row.storage_path or not path.is_file():
            raise PermanentFailure(f"the attached file {row.filename} is missing from the data directory")
        files.append(
            OutboundFile(
                filename=row.filename,
                content_type=row.content_type,
                data=path.read_bytes(),
                url=public_link(settings.effective_base_url, row.id, row.sha256),
            )
        )
    return tuple(files)


@handler("outbound.send", on_failure=_delivery_failed)
def send_reply(database: Database, job: ClaimedJob) -> None:
    message_id = int(job.payload["message_id"])
    with database.reader() as session:
        message = session.get(Message, message_id)
        if message is None:
            raise PermanentFailure(f"message {message_id} no longer exists")
        if message.delivery_state == "sent":
            return  # delivered by an earlier run of this job
        conversation = session.get_one(Conversation, message.conversation_id)
        channel = session.get_one(Channel, message.channel_id)
        last_inbound = session.execute(
            select(Message.external_id, Message.created_at, Identity.external_id, Identity.external_id_sealed)
            .outerjoin(Identity, Identity.id == Message.author_identity_id)
            .where(Message.conversation_id == conversation.id, Message.direction == "in")
            .order_by(Message.created_at.desc())
            .limit(1)
        ).first()
        reply = OutboundReply(
            platform=channel.platform,
            account=channel.account,
            kind=message.kind,
            text=message.text,
            thread_key=conversation.thread_key,
            in_reply_to=last_inbound[0] if last_inbound else None,
            recipient_id=(last_inbound[3] or last_inbound[2]) if last_inbound else None,
            last_inbound_at=last_inbound[1] if last_inbound else None,
            idempotency_key=message.idempotency_key or str(message.id),
            credentials=channel_credentials(channel),
            config=dict(channel.config or {}),
            extra=reply_context(
                session,
                channel=channel,
                conversation=conversation,
                message=message,
                in_reply_to=last_inbound[0] if last_inbound else None,
            )
            | _private_reply(
                session, channel=channel, conversation=conversation, answered=bool(last_inbound)
            ),
            files=_reply_files(session, message_id=message.id, platform=channel.platform),
        )
        connector = connector_for(channel.platform, channel.mode)
    try:
        result = connector.send_reply(reply)
    except DeliveryError as error:
        if error.needs_reconnect:
            with database.session() as session:
                do_mark_channel_needs_reconnect(session, channel_id=message.channel_id, reason=error.reason)
        if error.retryable:
            raise
        raise PermanentFailure(error.reason) from error
    with database.session() as session:
        do_record_delivery(
            session, message_id=message_id, external_id=result.external_id, recipient_id=result.recipient_id
        )


def _private_reply(
    session: Session, *, channel: Channel, conversation: Conversation, answered: bool
) -> dict[str, Any]:
    """The comment a first private message answers, in a conversation moved to private (Meta)."""
    if answered or channel.platform not in PRIVATE_REPLY_PLATFORMS:
        return {}
    target = private_reply_target(session, conversation=conversation)
    return {"private_reply": target} if target else {}


from tilsvar.jobs import (  # noqa: E402, F401  (register their kinds)
    channel_jobs,
    email_handlers,
    faq_handlers,
    listening_jobs,
    privacy_handlers,
    trends_handlers,
    webhook_handlers,
    workflow_handlers,
)
