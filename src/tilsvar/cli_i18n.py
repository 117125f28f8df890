"""``tilsvar i18n extract|update|check``: keep the web UI's translation catalogs in step with its
templates and Python labels (``make messages`` runs ``update``). The catalogs are plain ``.po`` files
compiled in memory at run time (tilsvar.web.i18n), so there is no compile step."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    i18n_app = typer.Typer(
        help="Translation catalogs of the web UI (en, da, sv, nb, pl).", no_args_is_help=True
    )
    app.add_typer(i18n_app, name="i18n")

    @i18n_app.command("extract")
    def extract_command(
        output: Annotated[Path, typer.Option(help="Where to write the template catalog (.pot).")] = Path(
            "messages.pot"
        ),
    ) -> None:
        """Write every word of the web UI to a template catalog (.pot), for translators."""
        from tilsvar.web import i18n

        catalog = i18n.extract()
        i18n.write_catalog(catalog, output)
        typer.echo(f"{len(catalog)} words written to {output}")

    @i18n_app.command("update")
    def update_command() -> None:
        """Add new words to every catalog and drop unused ones (translations are kept)."""
        from tilsvar.web import i18n

        for language, missing in i18n.update().items():
            typer.echo(f"{language}: {missing} words without a translation")

    @i18n_app.command("check")
    def check_command() -> None:
        """Exit 1 when a catalog lacks a word, has an empty or fuzzy translation, or is out of date."""
        from tilsvar.web import i18n

        report = i18n.problems()
        for language, found in report.items():
            typer.echo(f"{language}: {'complete' if not found else f'{len(found)} problems'}")
            for problem in found[:50]:
                typer.echo(f"  {problem}")
        if any(report.values()):
            raise typer.Exit(1)
