"""What a parser yields for each input record: a message, or a reason the record was rejected."""

from __future__ import annotations

from dataclasses import dataclass

from tilsvar.channels import InboundMessage


@dataclass(frozen=True, slots=True)
class Parsed:
    line: int
    message: InboundMessage | None = None
    error: str = ""
    raw: str = ""
