"""``GET /files/<id>/<token>``: the customer's download of a file an agent attached to a reply on web
chat or the API channel (``actions.reply_files``). No session: the token (an HMAC of the file's id and
content hash) is the permission. Only files of sent replies on those channels are served, always as a
download with the safe headers of ``web_security.attachment_headers``."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response
from sqlalchemy import select

from tilsvar.actions.reply_files import files_allowed, valid_link_token
from tilsvar.api.deps import ReadSession
from tilsvar.models import Channel, Message, MessageAttachment
from tilsvar.settings import get_settings
from tilsvar.web_security import attachment_headers

router = APIRouter(include_in_schema=False)


@router.get("/files/{attachment_id}/{token}")
def customer_file(attachment_id: int, token: str, session: ReadSession) -> Response:
    row = session.execute(
        select(MessageAttachment, Message.direction, Message.delivery_state, Channel.platform)
        .join(Message, Message.id == MessageAttachment.message_id)
        .join(Channel, Channel.id == Message.channel_id)
        .where(MessageAttachment.id == attachment_id)
    ).first()
    if row is None or len(token) > 100:
        raise HTTPException(404, "no such file")
    attachment, direction, state, platform = row
    if (
        direction != "out"
        or state != "sent"
        or not files_allowed(platform)
        or platform == "email"
        or not valid_link_token(attachment.id, attachment.sha256, token)
    ):
        raise HTTPException(404, "no such file")
    path = get_settings().data_dir / attachment.storage_path
    if not attachment.storage_path or not path.is_file():
        raise HTTPException(404, "no such file")
    return Response(
        path.read_bytes(), headers=attachment_headers(attachment.filename, attachment.content_type)
    )
