"""Priority stage: exposed personal data and threats are urgent; reach and waiting time raise it."""

from __future__ import annotations

from tilsvar.pipeline.priority import compute


def analysis(intent: str, sentiment: float = 0.0, labels: list[str] | None = None) -> dict[str, object]:
    return {"intent": intent, "sentiment": {"score": sentiment}, "moderation": {"labels": labels or []}}


def test_levels() -> None:
    assert compute(analysis("praise", 0.8)) == "low"
    assert compute(analysis("question")) == "normal"
    assert compute(analysis("complaint", -0.8)) == "high"
    assert compute(analysis("press")) == "high"
    assert compute(analysis("question", labels=["pii_exposed"])) == "urgent"
    assert compute(analysis("complaint", -0.6, ["threat"])) == "urgent"
    assert compute(analysis("spam")) == "low"


def test_reach_and_waiting_raise_priority() -> None:
    assert compute(analysis("question"), {"author_followers": 50_000}) == "high"
    assert compute(analysis("question"), {"waiting_minutes": 400}) == "high"
    assert compute(analysis("question"), {"author_followers": 50_000, "waiting_minutes": 400}) == "urgent"
