"""The built-in job handlers: analyse inbound messages, deliver replies."""

from __future__ import annotations

from sqlalchemy import select

from tilsvar.actions.analysis import do_store_analysis
from tilsvar.actions.org import channel_credentials
from tilsvar.actions.replies import do_record_delivery, do_record_delivery_failure
from tilsvar.actions.webhooks import do_mark_channel_needs_reconnect
from tilsvar.channels import DeliveryError, OutboundReply, connector_for
from tilsvar.db import Database
from tilsvar.jobs.queue import ClaimedJob
from tilsvar.jobs.worker import PermanentFailure, handler
from tilsvar.models import Channel, Conversation, Identity, Message
from tilsvar.pipeline import STAGES, TextItem, analyze


@handler("pipeline.analyze")
def analyze_messages(database: Database, job: ClaimedJob) -> None:
    message_ids = [int(value) for value in job.payload.get("message_ids", [])]
    if not STAGES or not message_ids:
        return
    with database.reader() as session:
        rows = session.execute(
            select(Message.id, Message.text, Message.kind, Channel.platform)
            .join(Channel, Channel.id == Message.channel_id)
            .where(Message.id.in_(message_ids))
        )
        items = {mid: TextItem(text=text, platform=platform, kind=kind) for mid, text, kind, platform in rows}
    analyze(list(items.values()))
    with database.session() as session:
        do_store_analysis(session, results={mid: item.analysis for mid, item in items.items()})


def _delivery_failed(database: Database, job: ClaimedJob, error: str, dead: bool) -> None:
    with database.session() as session:
        do_record_delivery_failure(
            session, message_id=int(job.payload["message_id"]), reason=error, final=dead
        )


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
            select(Message.external_id, Message.created_at, Identity.external_id)
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
            recipient_id=last_inbound[2] if last_inbound else None,
            last_inbound_at=last_inbound[1] if last_inbound else None,
            idempotency_key=message.idempotency_key or str(message.id),
            credentials=channel_credentials(channel),
            config=dict(channel.config or {}),
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
        do_record_delivery(session, message_id=message_id, external_id=result.external_id)


from tilsvar.jobs import webhook_handlers  # noqa: E402, F401  (registers ``webhook.process``)
