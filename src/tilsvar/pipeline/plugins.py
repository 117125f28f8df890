"""How stages become the pipeline, without code changes to replace one.

Every stage, built-in or not, comes from a pluggy plug-in implementing ``tilsvar_stages()``: the
built-ins are the plug-in ``tilsvar.pipeline.builtin``; other packages add theirs through the Python
entry-point group ``tilsvar.stages`` (``[project.entry-points."tilsvar.stages"] mine = "pkg.module"``).
A later stage with the same name replaces an earlier one, so a heavier local model (a transformer from
a local path, say) replaces the default sentiment stage by being installed.

Environment variables, read when ``tilsvar.pipeline`` is first imported:

- ``TILSVAR_PIPELINE_STAGE_<NAME>=package.module:factory`` replaces stage ``<NAME>`` with
  ``factory()`` (any callable returning a ``Stage``), e.g. ``TILSVAR_PIPELINE_STAGE_SENTIMENT``;
- ``TILSVAR_PIPELINE_DISABLE=sentiment,intent`` leaves stages out;
- ``TILSVAR_PIPELINE_PLUGINS=0`` ignores installed entry-point plug-ins (built-ins only).
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

import pluggy

if TYPE_CHECKING:
    from tilsvar.pipeline import Stage

PROJECT = "tilsvar"
ENTRY_POINT_GROUP = "tilsvar.stages"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)
log = logging.getLogger(__name__)


class StageSpecs:
    """The hook a stage plug-in implements."""

    @hookspec
    def tilsvar_stages(self) -> Sequence[Stage]:  # type: ignore[empty-body]
        """The stages this plug-in provides, in pipeline order."""


def plugin_manager(*, entry_points: bool = True) -> pluggy.PluginManager:
    from tilsvar.pipeline import builtin

    manager = pluggy.PluginManager(PROJECT)
    manager.add_hookspecs(StageSpecs)
    manager.register(builtin, name="tilsvar.builtin")
    if entry_points:
        manager.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    return manager


def _resolve(reference: str) -> Callable[[], Any]:
    module_name, _, attribute = reference.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in attribute.split(".") if attribute else []:
        target = getattr(target, part)
    return cast("Callable[[], Any]", target)


def load_stages(environ: dict[str, str] | None = None) -> list[Stage]:
    """The configured stages in order (built-ins first, plug-ins after; same name = replacement)."""
    env = dict(os.environ if environ is None else environ)
    manager = plugin_manager(entry_points=env.get("TILSVAR_PIPELINE_PLUGINS", "1") != "0")
    ordered: dict[str, Stage] = {}
    # pluggy calls the most recently registered plug-in first; built-ins must come first here.
    for stages in reversed(manager.hook.tilsvar_stages()):
        for stage in stages:
            ordered[stage.name] = stage
    prefix = "TILSVAR_PIPELINE_STAGE_"
    for key, reference in env.items():
        if key.startswith(prefix) and reference:
            name = key[len(prefix) :].lower()
            ordered[name] = cast("Stage", _resolve(reference)())
            log.info("pipeline stage %s replaced by %s", name, reference)
    disabled = {name.strip().lower() for name in env.get("TILSVAR_PIPELINE_DISABLE", "").split(",")}
    return [stage for name, stage in ordered.items() if name not in disabled]
