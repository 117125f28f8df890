"""``tilsvar search``: the same search as the web page and ``GET /api/v1/search``, from the shell.

Kept in its own module and registered on the main Typer app by ``cli.py``. Output (``--format
json``) is INTERFACES.md's ``{"total": N, "results": [{"conversation_id", "message_id",
"external_id", "platform", "account", "created_at", "snippet"}]}``; ``snippet`` is HTML-escaped with
matches in ``<mark>``, exactly as the API returns it.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer

CLI_KEYS = ("conversation_id", "message_id", "external_id", "platform", "account", "created_at", "snippet")


class SearchFormat(StrEnum):
    text = "text"
    json = "json"


class SearchOrder(StrEnum):
    newest = "newest"
    relevance = "relevance"


def search_command(
    query: Annotated[str, typer.Argument(help="Search syntax of docs/search.md (quote it in the shell).")],
    fmt: Annotated[SearchFormat, typer.Option("--format", help="text or json.")] = SearchFormat.text,
    limit: Annotated[int, typer.Option(min=1, max=200, help="Results to show.")] = 20,
    order: Annotated[SearchOrder, typer.Option(help="newest or relevance.")] = SearchOrder.newest,
    user: Annotated[
        str | None, typer.Option("--user", help="Search as this user (e-mail): only the brands they may see.")
    ] = None,
) -> None:
    """Search every message on every channel (all brands, or those of --user)."""
    from sqlalchemy import select

    from tilsvar import access
    from tilsvar.cli import _fail, ready_database
    from tilsvar.models import Brand, User
    from tilsvar.search import QueryError, search

    database = ready_database()
    with database.reader() as session:
        if user:
            found = session.scalar(select(User).where(User.email == user.strip().casefold()))
            if found is None:
                raise _fail(f"no user {user!r}")
            brand_ids = access.brand_ids(session, found)
        else:
            brand_ids = list(session.scalars(select(Brand.id)))
        try:
            result = search(session, brand_ids=brand_ids, query=query, limit=limit, order=order.value)
        except QueryError as error:
            raise _fail(str(error)) from error
    if fmt == SearchFormat.json:
        payload = {
            "total": result.total,
            "results": [{key: hit.as_json()[key] for key in CLI_KEYS} for hit in result.hits],
        }
        typer.echo(json.dumps(payload, ensure_ascii=False))
        return
    about = "about " if result.total_is_estimate else ""
    typer.echo(f"{about}{result.total} messages")
    for hit in result.hits:
        text = "".join(f"[{part}]" if is_match else part for part, is_match in hit.parts)
        typer.echo(
            f"{hit.created_at:%Y-%m-%d %H:%M} {hit.platform}/{hit.account} "
            f"conversation {hit.conversation_id}: {' '.join(text.split())}"
        )


def register(app: typer.Typer) -> None:
    app.command("search")(search_command)
