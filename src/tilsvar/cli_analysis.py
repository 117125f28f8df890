"""``tilsvar analyze`` and ``tilsvar eval``: the understanding pipeline without a database.

Kept apart from ``cli.py`` so these commands start fast: ``fast_path()`` (called at the top of
``cli.py``) runs them before the database and web stack are imported when the ``tilsvar`` console
script is invoked as ``tilsvar analyze ...`` or ``tilsvar eval ...``; the same functions are also
registered on the main Typer app (help, tests with CliRunner).
"""

from __future__ import annotations

import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

OUTPUT_KEYS = ("language", "pii", "redacted", "moderation", "sentiment", "intent", "priority")


def analyze(
    policy: Annotated[
        Path | None, typer.Option(help="JSON file mapping labels to allow/flag/hide (the brand's policy).")
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Messages analysed together.")] = 512,
) -> None:
    """Analyse JSON lines from stdin ({"id", "text", "platform"?, "kind"?, "context"?}); one result per
    line on stdout, same order (format: INTERFACES.md "Analysis format")."""
    from tilsvar.pipeline import TextItem
    from tilsvar.pipeline import analyze as run_pipeline

    brand_policy = json.loads(policy.read_text(encoding="utf-8")) if policy else None
    out = sys.stdout
    batch: list[tuple[Any, TextItem]] = []

    def flush() -> None:
        run_pipeline([item for _, item in batch])
        lines = []
        for identifier, item in batch:
            result: dict[str, Any] = {"id": identifier}
            result.update({key: item.analysis.get(key) for key in OUTPUT_KEYS})
            lines.append(json.dumps(result, ensure_ascii=False))
        out.write("\n".join(lines) + "\n")
        out.flush()
        batch.clear()

    for number, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            text = record["text"]
            if not isinstance(text, str):
                raise TypeError("text is not a string")
        except (ValueError, KeyError, TypeError) as error:
            print(f"line {number}: {error!r}", file=sys.stderr)
            raise typer.Exit(2) from error
        context = dict(record.get("context") or {})
        if brand_policy and "policy" not in context:
            context["policy"] = brand_policy
        item = TextItem(
            text=text, platform=record.get("platform") or "", kind=record.get("kind") or "", context=context
        )
        batch.append((record.get("id"), item))
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()


class EvalTask(StrEnum):
    language = "language"
    pii = "pii"
    moderation = "moderation"
    sentiment = "sentiment"
    faq = "faq"
    intent = "intent"


def evaluate(
    task: Annotated[EvalTask, typer.Argument(help="language, pii, moderation, sentiment, intent or faq.")],
    data: Annotated[
        Path | None, typer.Option(help="The shared eval folder (default ../shared/eval).")
    ] = None,
) -> None:
    """Measure a stage on the public evaluation sets (dev splits or cross-validation) and print JSON."""
    from importlib import import_module

    from tilsvar.pipeline.datasets import DEFAULT_EVAL_DIR

    folder = data or (Path("../shared/eval") if Path("../shared/eval").is_dir() else DEFAULT_EVAL_DIR)
    if not folder.is_dir():
        print(f"no evaluation data at {folder}", file=sys.stderr)
        raise typer.Exit(2)
    module = "tilsvar.faq.evaluation" if task is EvalTask.faq else "tilsvar.pipeline.evaluation"
    result = getattr(import_module(module), f"evaluate_{task.value}")(folder)
    typer.echo(json.dumps(result, indent=2, ensure_ascii=False))


def register(app: typer.Typer) -> None:
    app.command("analyze")(analyze)
    app.command("eval")(evaluate)


def fast_path() -> None:
    """Run ``tilsvar analyze|eval`` at once (before cli.py imports the database stack) when this process
    is the ``tilsvar`` console script or ``python -m tilsvar``."""
    program = Path(sys.argv[0]) if sys.argv else Path()
    is_tilsvar = program.name == "tilsvar" or (
        program.name == "__main__.py" and program.parent.name == "tilsvar"
    )
    if not is_tilsvar or len(sys.argv) < 2 or sys.argv[1] not in {"analyze", "eval"}:
        return
    if os.environ.get("TILSVAR_CLI_FAST_PATH", "1") == "0":
        return
    app = typer.Typer(add_completion=False)
    register(app)
    app.command("_unused", hidden=True)(lambda: None)
    app(prog_name="tilsvar")
    sys.exit(0)
