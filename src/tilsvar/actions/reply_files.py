"""Files an agent attaches to a reply: checked (size, count, an allow-list of safe types whose content
must match), stored under ``<data dir>/attachments`` by content hash exactly like inbound e-mail
attachments (``actions.mail.store_attachment_file``), and listed as ``message_attachments`` rows of
the reply. Only channels whose connector can deliver a file accept them: e-mail (a MIME attachment),
web chat and the API channel (a download link the customer side can open, ``public_link``).

The customer's link carries no session: it is ``/files/<id>/<token>`` where the token is an HMAC of
the attachment's id and content hash under the key ring, so it cannot be guessed or pointed at
another file, and keeps working across a key rotation while the old key is in the ring.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from tilsvar.actions.common import ActionError
from tilsvar.actions.mail import store_attachment_file
from tilsvar.channels.email import MailAttachment
from tilsvar.crypto import keyring
from tilsvar.models import MessageAttachment

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_FILES = 5
# Content type → the file name endings it may have and how its first bytes must look ("" = text).
ALLOWED_TYPES: dict[str, tuple[tuple[str, ...], tuple[bytes, ...]]] = {
    "image/png": ((".png",), (b"\x89PNG\r\n\x1a\n",)),
    "image/jpeg": ((".jpg", ".jpeg"), (b"\xff\xd8\xff",)),
    "image/gif": ((".gif",), (b"GIF87a", b"GIF89a")),
    "image/webp": ((".webp",), (b"RIFF",)),
    "application/pdf": ((".pdf",), (b"%PDF-",)),
    "text/plain": ((".txt",), ()),
}
ACCEPT = ",".join([*ALLOWED_TYPES, *(ending for endings, _ in ALLOWED_TYPES.values() for ending in endings)])
# Platforms whose connector delivers files, and why the others cannot (shown in the reply box).
FILE_PLATFORMS = frozenset({"email", "webchat", "api"})
NO_FILES_REASON = "Tilsvar cannot send files on this platform yet: reply with text, or share a link."
_DERIVE = b"tilsvar reply file link\x00"
_UNSAFE = re.compile(r"[^\w.\- ()]+")


@dataclass(frozen=True, slots=True)
class ReplyFile:
    """One uploaded file as the web or API layer received it."""

    filename: str
    content_type: str
    data: bytes


def files_allowed(platform: str) -> bool:
    return platform in FILE_PLATFORMS


def safe_filename(name: str) -> str:
    """The base name with path parts, control characters and odd punctuation removed."""
    name = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    name = _UNSAFE.sub("_", name).strip(". ")
    return name[:150] or "file"


def check_reply_files(*, platform: str, files: Sequence[ReplyFile]) -> list[MailAttachment]:
    """The files as they will be stored, or an ``ActionError`` saying which one is refused and why."""
    if not files:
        return []
    if not files_allowed(platform):
        raise ActionError(f"files cannot be sent on {platform}: {NO_FILES_REASON}")
    if len(files) > MAX_FILES:
        raise ActionError(f"at most {MAX_FILES} files per reply")
    checked: list[MailAttachment] = []
    for upload in files:
        name = safe_filename(upload.filename)
        content_type = upload.content_type.split(";", 1)[0].strip().lower()
        if not upload.data:
            raise ActionError(f"{name} is empty")
        if len(upload.data) > MAX_FILE_BYTES:
            raise ActionError(f"{name} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
        allowed = ALLOWED_TYPES.get(content_type)
        if allowed is None:
            raise ActionError(f"{name}: files of type {content_type or 'unknown'} are not allowed")
        endings, magic = allowed
        if not name.lower().endswith(endings):
            raise ActionError(f"{name}: the name must end in {' or '.join(endings)} for {content_type}")
        if magic and not upload.data.startswith(magic):
            raise ActionError(f"{name}: the content is not a {content_type} file")
        if not magic:
            try:
                upload.data.decode("utf-8")
            except UnicodeDecodeError as error:
                raise ActionError(f"{name}: a text file must be UTF-8") from error
        checked.append(MailAttachment(filename=name, content_type=content_type, data=upload.data))
    return checked


def store_reply_files(
    session: Session, *, channel_id: int, message_id: int, files: Sequence[MailAttachment]
) -> list[MessageAttachment]:
    rows = []
    for attachment in files:
        row = MessageAttachment(
            message_id=message_id,
            filename=attachment.filename,
            content_type=attachment.content_type,
            size=len(attachment.data),
            sha256=attachment.sha256,
            storage_path=store_attachment_file(channel_id=channel_id, attachment=attachment),
        )
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


def _token(key: bytes, attachment_id: int, sha256: str) -> str:
    derived = hmac.new(key, _DERIVE, hashlib.sha256).digest()
    return hmac.new(derived, f"{attachment_id}:{sha256}".encode(), hashlib.sha256).hexdigest()[:40]


def link_token(attachment_id: int, sha256: str) -> str:
    return _token(keyring().keys[-1], attachment_id, sha256)


def valid_link_token(attachment_id: int, sha256: str, token: str) -> bool:
    return any(hmac.compare_digest(_token(key, attachment_id, sha256), token) for key in keyring().keys)


def public_link(base_url: str, attachment_id: int, sha256: str) -> str:
    """The customer's download link (web chat transcript, API callback)."""
    return f"{base_url.rstrip('/')}/files/{attachment_id}/{link_token(attachment_id, sha256)}"
