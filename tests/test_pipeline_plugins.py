"""Plug-ins: built-in stages come through the same pluggy hook as external ones; a setting replaces
or disables a stage without code changes."""

from __future__ import annotations

from collections.abc import Sequence

from tilsvar.pipeline import STAGES, TextItem
from tilsvar.pipeline.plugins import load_stages


class ConstantSentiment:
    name = "sentiment"

    def run(self, items: Sequence[TextItem]) -> None:
        for item in items:
            item.analysis["sentiment"] = {"label": "positive", "score": 1.0}


def constant_sentiment() -> ConstantSentiment:
    return ConstantSentiment()


def test_builtin_order() -> None:
    assert [s.name for s in STAGES] == ["language", "pii", "moderation", "sentiment", "intent", "priority"]


def test_environment_replaces_and_disables_stages() -> None:
    stages = load_stages(
        {
            "TILSVAR_PIPELINE_STAGE_SENTIMENT": "test_pipeline_plugins:constant_sentiment",
            "TILSVAR_PIPELINE_DISABLE": "intent",
            "TILSVAR_PIPELINE_PLUGINS": "0",
        }
    )
    assert [s.name for s in stages] == ["language", "pii", "moderation", "sentiment", "priority"]
    assert isinstance(stages[3], ConstantSentiment)
