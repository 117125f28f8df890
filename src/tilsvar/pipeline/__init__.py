"""Message understanding as pure stages over text (no database): language, personal data, moderation,
sentiment, intent. Each stage takes a batch of ``TextItem`` and fills in its part of the analysis.

Stages register in ``STAGES`` (built-ins and plug-ins alike); ``analyze`` runs them in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(slots=True)
class TextItem:
    text: str
    platform: str = ""
    kind: str = ""
    analysis: dict[str, Any] = field(default_factory=dict)


class Stage(Protocol):
    name: str

    def run(self, items: Sequence[TextItem]) -> None:
        """Add this stage's results to each item's ``analysis``."""


STAGES: list[Stage] = []


def register_stage(stage: Stage) -> None:
    STAGES[:] = [existing for existing in STAGES if existing.name != stage.name] + [stage]


def analyze(items: Sequence[TextItem]) -> Sequence[TextItem]:
    for stage in STAGES:
        stage.run(items)
    return items
