"""The built-in stages, offered through the same pluggy hook as any external plug-in, so that an
installed plug-in (or ``TILSVAR_PIPELINE_STAGE_<NAME>``) can replace any of them by name."""

from __future__ import annotations

from collections.abc import Sequence

from tilsvar.pipeline import Stage
from tilsvar.pipeline.plugins import hookimpl


@hookimpl
def tilsvar_stages() -> Sequence[Stage]:
    from tilsvar.pipeline.intent import IntentStage
    from tilsvar.pipeline.language import LanguageStage
    from tilsvar.pipeline.moderation import ModerationStage
    from tilsvar.pipeline.pii import PiiStage
    from tilsvar.pipeline.priority import PriorityStage
    from tilsvar.pipeline.sentiment import SentimentStage

    return [LanguageStage(), PiiStage(), ModerationStage(), SentimentStage(), IntentStage(), PriorityStage()]
