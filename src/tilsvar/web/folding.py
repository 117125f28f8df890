"""Fold the quoted history at the end of an e-mail, so an agent reads the new words first.

E-mail clients quote the whole earlier exchange under a reply ("On … wrote:", "> " lines, Outlook's
"-----Original Message-----" / "From:" block, Danish/Swedish/Norwegian/Polish variants). The thread
already shows those earlier messages, so the conversation view puts the quote in a closed <details>.
Pure text in, text out: the template escapes both parts as usual."""

from __future__ import annotations

import re

QUOTE_START = re.compile(
    r"^(?:"
    r">.*"  # quoted lines
    r"|-{2,}\s*(?:Original Message|Oprindelig meddelelse|Ursprungligt meddelande|Opprinnelig melding"
    r"|Wiadomość oryginalna)\s*-{2,}.*"
    r"|(?:On|Den|På|Dnia|W dniu)\b.{0,200}\b(?:wrote|skrev|napisał|napisała)\b.{0,200}:\s*"
    r"|(?:From|Fra|Från|Od):\s.+"
    r")$",
    re.IGNORECASE | re.MULTILINE,
)


def fold_quote(text: str) -> tuple[str, str]:
    """(new words, quoted history); the history is "" when the message quotes nothing.

    Only a quote that runs to the end of the message is folded (an answer written between quoted
    lines stays whole), and never the whole message."""
    match = QUOTE_START.search(text)
    while match is not None:
        head, tail = text[: match.start()].rstrip(), text[match.start() :]
        if head and _is_trailing_quote(tail):
            return head, tail
        match = QUOTE_START.search(text, match.end())
    return text, ""


def _is_trailing_quote(tail: str) -> bool:
    lines = [line for line in tail.splitlines()[1:] if line.strip()]
    if tail.lstrip().startswith(">"):
        return all(line.lstrip().startswith(">") for line in lines)
    return True  # a header line ("On … wrote:", "From:") starts the history; everything after is old
