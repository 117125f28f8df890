"""Message understanding as pure stages over text (no database): language, personal data, moderation,
sentiment, intent, priority. Each stage takes a batch of ``TextItem`` and fills in its part of the
analysis (the keys of the "Analysis format" in INTERFACES.md, plus free-form ``details``).

Stages register in ``STAGES`` (built-ins and plug-ins alike, through the pluggy hook in
``tilsvar.pipeline.plugins``); ``analyze`` runs them in order. Models load lazily, once per process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(slots=True)
class TextItem:
    """One message to understand. ``context`` carries what the caller knows beyond the text: the
    brand's ``competitors`` and moderation ``policy``, the author's ``author_followers``, the
    ``waiting_minutes`` since it arrived, known ``staff_names``."""

    text: str
    platform: str = ""
    kind: str = ""
    analysis: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)


class Stage(Protocol):
    name: str

    def run(self, items: Sequence[TextItem]) -> None:
        """Add this stage's results to each item's ``analysis``."""


STAGES: list[Stage] = []


def register_stage(stage: Stage) -> None:
    """Add a stage, replacing any stage of the same name (keeping that stage's place in the order)."""
    for index, existing in enumerate(STAGES):
        if existing.name == stage.name:
            STAGES[index] = stage
            return
    STAGES.append(stage)


def analyze(items: Sequence[TextItem]) -> Sequence[TextItem]:
    for stage in STAGES:
        stage.run(items)
    return items


# One short message per language we serve: analysing them loads every stage's models.
_WARM_UP_TEXTS = (
    "Toget er forsinket igen, hvornår kommer det?",
    "Tåget är försenat igen, när kommer det?",
    "Toget er forsinket igjen, når kommer det?",
    "Pociąg znowu jest opóźniony, kiedy przyjedzie?",
    "The train is late again, when will it come?",
)


def warm_up() -> None:
    """Load the stages' models now (a few seconds of one core) rather than in the first job, where
    the loading would hold up everything else the process does at that moment (storing deliveries)."""
    analyze([TextItem(text=text) for text in _WARM_UP_TEXTS])


def _load_default_stages() -> None:
    from tilsvar.pipeline.plugins import load_stages

    for stage in load_stages():
        register_stage(stage)


_load_default_stages()
