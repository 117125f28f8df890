"""Priority (low, normal, high, urgent) from intent, sentiment, exposed personal data, the author's
reach (``context["author_followers"]``) and waiting time (``context["waiting_minutes"]``), so that an
agent opens a publicly posted CPR number or an angry complaint from a large account first."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tilsvar.pipeline import TextItem

LEVELS = ("low", "normal", "high", "urgent")
#: first-response target (KPIS.md): waiting longer than this raises priority by one level
TARGET_MINUTES = 320.0


def compute(analysis: Mapping[str, Any], context: Mapping[str, Any] | None = None) -> str:
    context = context or {}
    intent = analysis.get("intent") or "other"
    sentiment = float((analysis.get("sentiment") or {}).get("score") or 0.0)
    moderation = analysis.get("moderation") or {}
    labels = set(moderation.get("labels") or ())
    level = 1
    if intent in {"spam"} or (intent in {"other", "praise"} and sentiment >= 0):
        level = 0
    if intent in {"press", "sales_lead"} or (intent == "complaint" and sentiment <= -0.5):
        level = 2
    if "threat" in labels:
        level = max(level, 3)
    if "pii_exposed" in labels or (analysis.get("details") or {}).get("pii_exposed"):
        level = max(level, 3)
    followers = int(context.get("author_followers") or 0)
    if followers >= 10_000 and intent not in {"spam"}:
        level += 1
    waiting = float(context.get("waiting_minutes") or 0.0)
    target = float(context.get("target_minutes") or TARGET_MINUTES)
    if waiting > target and intent not in {"spam"}:
        level += 1
    return LEVELS[max(0, min(level, 3))]


class PriorityStage:
    name = "priority"

    def run(self, items: Sequence[TextItem]) -> None:
        for item in items:
            item.analysis["priority"] = compute(item.analysis, item.context)
