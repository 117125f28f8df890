"""Highlighted snippets that are safe to show: built from the plain (redacted) text as a list of
``(text, is_match)`` parts, which templates render with autoescaping and ``<mark>``; the HTML form
escapes every part first and only then adds ``<mark>``, so customer text never reaches a page or an
API client unescaped."""

from __future__ import annotations

import html
from collections.abc import Sequence

from tilsvar.search.folding import WORD, fold, matches_term

Part = tuple[str, bool]
WIDTH = 220  # characters of context around the first match
LEAD = 60  # characters shown before the first match


def snippet_parts(text: str, terms: Sequence[tuple[str, bool]], *, width: int = WIDTH) -> list[Part]:
    """A window of ``text`` around its first match, split into plain and matching parts."""
    spans: list[tuple[int, int]] = []
    if terms:
        for match in WORD.finditer(text):
            token = fold(match.group())
            if any(matches_term(token, term, prefix=prefix) for term, prefix in terms):
                spans.append(match.span())
    start = 0
    if spans and spans[0][0] > LEAD:
        start = spans[0][0] - LEAD
        space = text.find(" ", start, spans[0][0])
        start = space + 1 if space != -1 else start
    end = min(len(text), start + width)
    if end < len(text):
        space = text.rfind(" ", spans[0][1] if spans and spans[0][1] < end else start, end)
        end = space if space > start else end
    parts: list[Part] = [("…", False)] if start > 0 else []
    position = start
    for span_start, span_end in spans:
        if span_start < start:
            continue
        if span_end > end:
            break
        if span_start > position:
            parts.append((text[position:span_start], False))
        parts.append((text[span_start:span_end], True))
        position = span_end
    if position < end:
        parts.append((text[position:end], False))
    if end < len(text):
        parts.append(("…", False))
    return _merge(parts)


def _merge(parts: list[Part]) -> list[Part]:
    merged: list[Part] = []
    for part in parts:
        if merged and merged[-1][1] == part[1] and not part[1]:
            merged[-1] = (merged[-1][0] + part[0], False)
        else:
            merged.append(part)
    return merged


def to_html(parts: Sequence[Part]) -> str:
    """The parts as HTML: every part escaped, matches wrapped in ``<mark>``."""
    return "".join(
        f"<mark>{html.escape(text)}</mark>" if is_match else html.escape(text) for text, is_match in parts
    )
