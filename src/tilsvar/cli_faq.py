"""``tilsvar faq import|suggest|propose`` and ``tilsvar trends`` (INTERFACES.md), kept out of
``cli.py``, which registers them with ``register(app)``. Commands parse arguments and call actions or
read models; they hold no logic of their own."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

faq_app = typer.Typer(
    help="The knowledge base: import articles, suggest them, propose new ones.", no_args_is_help=True
)


class SuggestMode(StrEnum):
    settled = "settled"
    keystroke = "keystroke"


def _fail(message: str) -> typer.Exit:
    print(f"error: {message}", file=sys.stderr)
    return typer.Exit(2)


def _organization(session: Any, slug: str | None) -> Any:
    from sqlalchemy import select

    from tilsvar.models import Organization

    organizations = list(session.scalars(select(Organization).order_by(Organization.id)))
    if slug:
        organizations = [o for o in organizations if o.slug == slug]
        if not organizations:
            raise _fail(f"no organization {slug!r}")
    if not organizations:
        raise _fail("no organization yet: create one with `tilsvar users create` or `tilsvar demo`")
    if len(organizations) > 1:
        raise _fail("several organizations exist: choose one with --org")
    return organizations[0]


def _database() -> Any:
    from tilsvar.cli import ready_database

    return ready_database()


@faq_app.command("import")
def faq_import(
    path: Annotated[
        Path, typer.Argument(help='JSON lines {"id","brand"?,"language"?,"title","body","questions"}.')
    ],
    org: Annotated[str | None, typer.Option(help="Organization slug (when there are several).")] = None,
) -> None:
    """Create or update knowledge-base articles (the same id updates the article)."""
    from tilsvar.actions.faq import do_import_articles

    if not path.is_file():
        raise _fail(f"no file {path}")
    records: list[tuple[int, dict[str, Any]]] = []
    bad: list[str] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ValueError("not a JSON object")
            except ValueError as error:
                bad.append(f"line {number}: {error}")
                continue
            records.append((number, record))
    database = _database()
    with database.session() as session:
        organization = _organization(session, org)
        result = do_import_articles(session, organization=organization, records=records)
    output = result.as_json()
    output["errors"] = bad + output["errors"]
    typer.echo(json.dumps(output, ensure_ascii=False))
    if output["errors"]:
        for problem in output["errors"]:
            print(problem, file=sys.stderr)


@faq_app.command("suggest")
def faq_suggest(
    k: Annotated[int, typer.Option(min=1, max=50, help="Suggestions per line.")] = 3,
    brand: Annotated[
        str | None, typer.Option(help="Only this brand's articles (and those for all brands).")
    ] = None,
    org: Annotated[str | None, typer.Option(help="Organization slug (when there are several).")] = None,
    mode: Annotated[
        SuggestMode,
        typer.Option(help="settled: also rank with the articles' sentence vectors; keystroke: lexical."),
    ] = SuggestMode.settled,
) -> None:
    """JSON lines {"id","text","language"?} on stdin → {"id","suggestions":[{"article_id","score"}],
    "mode"} (``article_id`` is the article's id from the import; ``mode`` lexical or settled: settled
    needs the articles' vectors, see ``tilsvar faq embed``)."""
    from sqlalchemy import select

    from tilsvar.faq.service import suggest
    from tilsvar.models import Brand
    from tilsvar.settings import get_settings

    database = _database()
    minimum = get_settings().faq_min_score
    with database.reader() as session:
        organization = _organization(session, org)
        brand_id = None
        if brand:
            brand_id = session.scalar(
                select(Brand.id).where(Brand.organization_id == organization.id, Brand.slug == brand)
            )
            if brand_id is None:
                raise _fail(f"no brand {brand!r}")
        out = sys.stdout
        for number, line in enumerate(sys.stdin, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                text = record["text"]
                if not isinstance(text, str):
                    raise TypeError("text is not a string")
            except (ValueError, KeyError, TypeError) as error:
                raise _fail(f"line {number}: {error!r}") from error
            found = suggest(
                session,
                organization_id=organization.id,
                text=text,
                brand_id=brand_id,
                language=record.get("language"),
                k=k,
                min_score=minimum,
                settled=mode is SuggestMode.settled,
            )
            result = {
                "id": record.get("id"),
                "suggestions": [{"article_id": s.key, "score": s.score} for s in found],
                "mode": found.mode,
            }
            out.write(json.dumps(result, ensure_ascii=False) + "\n")
        out.flush()


@faq_app.command("embed")
def faq_embed(
    org: Annotated[str | None, typer.Option(help="Organization slug (when there are several).")] = None,
) -> None:
    """Compute the articles' missing sentence vectors now (the worker's ``faq.embed`` job does this after
    every import or edit) and drop stale ones: {"stored","deleted","remaining"}."""
    from tilsvar.jobs.faq_handlers import embed_organization

    database = _database()
    with database.reader() as session:
        organization_id = _organization(session, org).id
    typer.echo(json.dumps(embed_organization(database, organization_id, limit=None)))


@faq_app.command("propose")
def faq_propose(
    org: Annotated[str | None, typer.Option(help="Organization slug (when there are several).")] = None,
    min_size: Annotated[int, typer.Option(min=2, help="Similar resolved conversations needed.")] = 3,
) -> None:
    """Propose new articles from groups of resolved conversations with similar customer questions,
    and new alternative questions of articles from the customers' questions agents answered with
    them (shown under FAQ → Proposals for an editor to accept)."""
    from tilsvar.actions.faq import do_look_for_proposals

    database = _database()
    with database.session() as session:
        organization = _organization(session, org)
        articles, phrasings = do_look_for_proposals(
            session, organization_id=organization.id, min_size=min_size, actor="cli"
        )
        proposals = articles + phrasings
        output = [
            {
                "id": p.id,
                "kind": p.kind,
                "title": p.title,
                "size": p.size,
                "brand_id": p.brand_id,
                "article_id": p.article_id,
            }
            for p in proposals
        ]
    typer.echo(json.dumps(output, ensure_ascii=False))


class TrendsFormat(StrEnum):
    json = "json"
    csv = "csv"
    text = "text"


class TopicsBy(StrEnum):
    intent = "intent"
    cluster = "cluster"


def _time(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise _fail(f"--{name}: not an ISO 8601 time or date: {value!r}") from error
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def trends(
    start: Annotated[
        str | None, typer.Option("--from", help="Alerts at or after this time (ISO 8601).")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="Alerts before this time (ISO 8601).")] = None,
    fmt: Annotated[TrendsFormat, typer.Option("--format", help="json, text, or csv (with --topics).")] = (
        TrendsFormat.text
    ),
    brand: Annotated[str | None, typer.Option(help="Only this brand (slug).")] = None,
    org: Annotated[str | None, typer.Option(help="Organization slug (when there are several).")] = None,
    topics: Annotated[
        bool, typer.Option("--topics", help="Instead of alerts: topics over time by channel and sentiment.")
    ] = False,
    by: Annotated[TopicsBy, typer.Option(help="With --topics: intent or cluster labels.")] = TopicsBy.intent,
) -> None:
    """Detected choruses and shitstorms (message times), or with --topics the topic counts over time."""
    from sqlalchemy import select

    from tilsvar.models import Brand
    from tilsvar.reports.kpis import Period
    from tilsvar.trends.insights import rows_csv, topic_rows
    from tilsvar.trends.queries import trends_json

    since, until = _time(start, "from"), _time(end, "to")
    database = _database()
    with database.reader() as session:
        organization = _organization(session, org)
        query = select(Brand.id).where(Brand.organization_id == organization.id)
        if brand:
            query = query.where(Brand.slug == brand)
        brand_ids = list(session.scalars(query))
        if brand and not brand_ids:
            raise _fail(f"no brand {brand!r}")
        if topics:
            period = Period(
                start=since or datetime(1970, 1, 1, tzinfo=UTC), end=until or datetime(9999, 1, 1, tzinfo=UTC)
            )
            rows = topic_rows(session, period=period, brand_ids=brand_ids, by=by.value)
            if fmt is TrendsFormat.csv:
                typer.echo(rows_csv(rows), nl=False)
            elif fmt is TrendsFormat.json:
                typer.echo(json.dumps(rows, ensure_ascii=False))
            else:
                for row in rows:
                    typer.echo(
                        f"{row['bucket']}  {row['topic']:<30} {row['platform']:<10} {row['sentiment']:<9}"
                        f" {row['messages']}"
                    )
            return
        alerts = trends_json(session, brand_ids=brand_ids, start=since, end=until)
    if fmt is TrendsFormat.csv:
        raise _fail("--format csv is for --topics; alerts are json or text")
    if fmt is TrendsFormat.json:
        typer.echo(json.dumps(alerts, ensure_ascii=False))
        return
    if not alerts:
        typer.echo("no alerts")
    for alert in alerts:
        typer.echo(
            f"#{alert['id']} {alert['kind']:<9} {alert['alerted_at']}  {alert['label']}  "
            f"({alert['size']} messages on {', '.join(alert['platforms'])}, first {alert['first_seen']})"
        )


def register(app: typer.Typer) -> None:
    app.add_typer(faq_app, name="faq")
    app.command("trends")(trends)
