"""Encryption at rest of message texts with personal data and of raw platform payloads.

A message whose text holds personal data is stored *sealed*: ``messages.text`` (and
``redacted_text``) hold the redacted text — the one the inbox, search index, facets, trends, FAQ and
exports read — and ``messages.text_sealed`` the original, AES-GCM encrypted with the key ring
(``tilsvar.crypto``). The decision is made **before the row is first written** (``seal_inbound``,
called by ingest), with a detection that is the union of the PII stage's readings for every language
it knows, so the original never reaches the table, its WAL or the full-text index in clear. The
pipeline later analyses the original (``open_text``); what it finds is reconciled by
``analysis_rows``. Readers that need the original — reveal, a person's own privacy export, the
web-chat visitor's own transcript, the pipeline — call ``open_text`` / ``original_texts``.

Raw payloads (``raw_events.body``: webhook bodies, API posts, rejected import lines) are always
encrypted (``seal_raw`` / ``open_raw``): they hold texts, names and handles. Bodies stored before this
existed are read as they are, and re-encrypted by ``tilsvar keys reencrypt``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tilsvar.channels.base import InboundMessage
from tilsvar.crypto import SecretBox, keyring
from tilsvar.models import Message
from tilsvar.pipeline import pii

TEXT_CONTEXT = b"tilsvar message text"
RAW_CONTEXT = b"tilsvar raw event"
# Prefix of an encrypted raw body; a stored plain body (from before) never starts with a NUL byte.
RAW_MAGIC = b"\x00tsr"
# Every language the PII stage reads differently (phone regions, national-id hints).
_LANGUAGES: tuple[str | None, ...] = (None, "da", "sv", "nb", "pl", "fi", "en", "de")


def detect(text: str) -> list[pii.Span]:
    """Personal data in ``text`` under any language's reading: the spans of every reading, the
    earliest-then-longest kept where they overlap. A superset of what the pipeline will find."""
    if not text:
        return []
    readings = [pii.find(text, None)]
    # Languages only read digit runs differently (phone regions, national-id hints): read again
    # only when a long digit run is not already covered by what was found.
    uncovered = [
        match
        for match in pii._DIGITS_RE.finditer(text)
        if not any(span.start < match.end() and match.start() < span.end for span in readings[0])
    ]
    if uncovered:
        readings += [pii.find(text, language) for language in _LANGUAGES[1:]]
    spans = sorted(
        {span for reading in readings for span in reading}, key=lambda s: (s.start, s.start - s.end)
    )
    kept: list[pii.Span] = []
    for span in spans:
        if not kept or span.start >= kept[-1].end:
            kept.append(span)
    return kept


def seal_text(text: str, ring: SecretBox | None = None) -> bytes:
    return (ring or keyring()).encrypt(text.encode(), context=TEXT_CONTEXT)


def open_text(text: str, sealed: bytes | None, ring: SecretBox | None = None) -> str:
    """The original text of a message: decrypted when sealed, else ``text`` itself."""
    if not sealed:
        return text
    return (ring or keyring()).decrypt(bytes(sealed), context=TEXT_CONTEXT).decode()


def sealed_columns(text: str, ring: SecretBox | None = None) -> dict[str, Any]:
    """The columns to store for a message with this original text: redacted + sealed when it holds
    personal data; else the text, with ``text_sealed`` cleared."""
    spans = detect(text)
    if not spans:
        return {"text": text, "text_sealed": None, "has_pii": False, "redacted_text": None}
    redacted = pii.redact(text, spans)
    return {
        "text": redacted,
        "text_sealed": seal_text(text, ring),
        "has_pii": True,
        "redacted_text": redacted,
    }


def seal_inbound(
    accepted: Sequence[tuple[int, InboundMessage]],
) -> tuple[list[tuple[int, InboundMessage]], dict[int, bytes]]:
    """The (index, message) pairs ingest will store, with personal data redacted from ``text``, and
    the sealed originals by index. Messages without personal data are passed through unchanged."""
    ring: SecretBox | None = None
    stored: list[tuple[int, InboundMessage]] = []
    sealed: dict[int, bytes] = {}
    for index, message in accepted:
        spans = detect(message.text)
        if not spans:
            stored.append((index, message))
            continue
        ring = ring or keyring()
        sealed[index] = seal_text(message.text, ring)
        stored.append((index, dataclasses.replace(message, text=pii.redact(message.text, spans))))
    return stored, sealed


def original_texts(session: Session, message_ids: Iterable[int]) -> dict[int, str]:
    """Message id → original text (decrypted where sealed)."""
    ids = list(message_ids)
    result: dict[int, str] = {}
    ring: SecretBox | None = None
    for start in range(0, len(ids), 1000):
        rows = session.execute(
            select(Message.id, Message.text, Message.text_sealed).where(
                Message.id.in_(ids[start : start + 1000])
            )
        )
        for message_id, text, sealed in rows:
            if sealed:
                ring = ring or keyring()
            result[message_id] = open_text(text, sealed, ring)
    return result


def analysis_rows(session: Session, results: dict[int, dict[str, Any]], columns: Any) -> list[dict[str, Any]]:
    """The message updates for the pipeline's results (``columns`` maps an analysis to columns),
    keeping the original out of every clear column:

    - sealed, and the pipeline found personal data: its redaction is the redacted text;
    - sealed, and the pipeline found none: the ingest-time redaction stays (``has_pii`` stays true)
      and the analysis keeps that redaction, not the original, as ``redacted``;
    - not sealed, and the pipeline found personal data (a reading the ingest detection missed): it
      is sealed now (the original was in clear until this moment: docs/privacy.md, Limits)."""
    rows_by_id = {
        message_id: (text, sealed)
        for message_id, text, sealed in session.execute(
            select(Message.id, Message.text, Message.text_sealed).where(Message.id.in_(list(results)))
        )
    }
    ring: SecretBox | None = None
    rows: list[dict[str, Any]] = []
    for message_id, analysis in results.items():
        values = {"id": message_id, **columns(analysis)}
        text, sealed = rows_by_id.get(message_id, ("", None))
        if sealed:
            if not values.get("has_pii"):
                analysis["redacted"] = text
                values.update(analysis=analysis, has_pii=True, redacted_text=text)
            values["text"] = text
            values["text_sealed"] = sealed
        elif values.get("has_pii") and values.get("redacted_text") is not None:
            ring = ring or keyring()
            values["text_sealed"] = seal_text(text, ring)
            values["text"] = values["redacted_text"]
        else:
            values["text"] = text
            values["text_sealed"] = None
        rows.append(values)
    return rows


def seal_raw(body: bytes, ring: SecretBox | None = None) -> bytes:
    """An inbound payload as stored: encrypted."""
    return RAW_MAGIC + (ring or keyring()).encrypt(bytes(body), context=RAW_CONTEXT)


def open_raw(body: bytes | None, ring: SecretBox | None = None) -> bytes:
    """A stored payload's bytes (decrypted; a plain one stored before encryption existed as is)."""
    if body is None:
        return b""
    data = bytes(body)
    if not data.startswith(RAW_MAGIC):
        return data
    return (ring or keyring()).decrypt(data[len(RAW_MAGIC) :], context=RAW_CONTEXT)
