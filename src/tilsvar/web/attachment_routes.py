"""``GET /attachments/<id>``: an agent downloads a file of a message they may read (an inbound e-mail's
attachment or a file attached to a reply), always as a download with safe headers."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tilsvar import access
from tilsvar.api.deps import DatabaseDep
from tilsvar.models import MessageAttachment
from tilsvar.settings import get_settings
from tilsvar.web.routes import not_found
from tilsvar.web.session import WebUser
from tilsvar.web_security import attachment_headers

router = APIRouter(include_in_schema=False)


@router.get("/attachments/{attachment_id}")
def download(request: Request, database: DatabaseDep, context: WebUser, attachment_id: int) -> Response:
    try:
        with database.reader() as session:
            attachment = session.get(MessageAttachment, attachment_id)
            if attachment is None:
                raise access.NotFound(f"attachment {attachment_id}")
            access.access_message(session, context.user, attachment.message_id)
            filename, content_type, stored = (
                attachment.filename,
                attachment.content_type,
                attachment.storage_path,
            )
    except access.NotFound:
        return not_found(request, context)
    path = get_settings().data_dir / stored
    if not stored or not path.is_file():
        return not_found(request, context)
    return Response(path.read_bytes(), headers=attachment_headers(filename, content_type))
