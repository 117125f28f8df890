"""Parse the JSON-lines message format (INTERFACES.md), one object a line. A bad line becomes a
``Parsed`` with a reason; it never stops the file."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from tilsvar.channels import PLATFORMS, Author, InboundMessage
from tilsvar.channels.base import KINDS
from tilsvar.importing.parsed import Parsed

DEFAULT_KIND = {"email": "email", "webchat": "chat", "api": "chat"}


class LineError(ValueError):
    pass


def parse_jsonl(lines: Iterable[str]) -> Iterator[Parsed]:
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped:
            continue
        try:
            record = json.loads(stripped)
            if not isinstance(record, dict):
                raise LineError("a line must be a JSON object")
            yield Parsed(line=number, message=message_from_record(record))
        except json.JSONDecodeError as error:
            yield Parsed(
                line=number, error=f"invalid JSON: {error.msg} at column {error.colno}", raw=stripped
            )
        except LineError as error:
            yield Parsed(line=number, error=str(error), raw=stripped)


def _identifier(record: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = record.get(name)
    if value is None or value == "":
        if required:
            raise LineError(f"{name} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise LineError(f"{name} must be a string or an integer")
    return str(value)


def message_from_record(record: dict[str, Any]) -> InboundMessage:
    """One import record as a normalized message; raises ``LineError`` naming what is wrong."""
    platform = record.get("platform")
    if platform not in PLATFORMS:
        raise LineError(f"platform must be one of {', '.join(PLATFORMS)}")
    account = record.get("account")
    if not isinstance(account, str) or not account.strip():
        raise LineError("account is required")
    external_id = _identifier(record, "external_id", required=True)
    assert external_id is not None
    direction = record.get("direction")
    if direction not in ("in", "out"):
        raise LineError('direction must be "in" or "out"')
    kind = record.get("kind") or DEFAULT_KIND.get(platform, "comment")
    if kind not in KINDS:
        raise LineError(f"kind must be one of {', '.join(KINDS)}")
    text = record.get("text")
    if not isinstance(text, str):
        raise LineError("text must be a string")
    created_raw = record.get("created_at")
    if not isinstance(created_raw, str):
        raise LineError("created_at is required (ISO 8601 with a time zone)")
    try:
        created_at = datetime.fromisoformat(created_raw.replace("Z", "+00:00"))
    except ValueError as error:
        raise LineError(f"created_at is not ISO 8601: {created_raw!r}") from error
    if created_at.tzinfo is None:
        raise LineError("created_at needs a time zone (e.g. +00:00)")
    author = None
    author_raw = record.get("author")
    if author_raw is not None:
        if not isinstance(author_raw, dict):
            raise LineError("author must be an object")
        author_id = _identifier(author_raw, "id", required=direction == "in")
        if author_id:
            author = Author(
                id=author_id,
                handle=str(author_raw.get("handle") or ""),
                name=str(author_raw.get("name") or ""),
            )
    return InboundMessage(
        platform=platform,
        account=account.strip(),
        external_id=external_id,
        direction=direction,
        kind=kind,
        text=text,
        created_at=created_at,
        author=author,
        in_reply_to=_identifier(record, "in_reply_to", required=False),
        thread_id=_identifier(record, "thread_id", required=False),
        is_automatic=bool(record.get("automatic", False)),
        extra={"subject": record["subject"]} if isinstance(record.get("subject"), str) else {},
    )
