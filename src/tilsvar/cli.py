"""The ``tilsvar`` command line (INTERFACES.md): serve, worker, migrate, demo, import, report, users,
channels and jobs. Commands parse their arguments and call actions, queries or the server; they hold
no logic of their own."""

from __future__ import annotations

import sys

if sys.argv[1:2] in (["analyze"], ["eval"]):  # these need no database: start them before it is imported
    from tilsvar.cli_analysis import fast_path

    fast_path()

import json
import logging
import signal
import subprocess
import threading
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import inspect, select

from tilsvar.cli_analysis import register as register_analysis_commands
from tilsvar.cli_channels import register as register_channel_commands
from tilsvar.cli_faq import register as register_faq_commands
from tilsvar.cli_i18n import register as register_i18n_commands
from tilsvar.cli_privacy import register as register_privacy_commands
from tilsvar.cli_search import register as register_search_commands
from tilsvar.cli_security import register as register_security_commands
from tilsvar.db import Database, get_database
from tilsvar.settings import documented_settings, get_settings

app = typer.Typer(help="Tilsvar: one inbox for every customer channel.", no_args_is_help=True)
users_app = typer.Typer(help="Manage users and their API tokens.", no_args_is_help=True)
channels_app = typer.Typer(help="Connect, list, change and remove channels.", no_args_is_help=True)
jobs_app = typer.Typer(help="Inspect and re-run background jobs.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(channels_app, name="channels")
app.add_typer(jobs_app, name="jobs")
register_analysis_commands(app)
register_search_commands(app)
register_channel_commands(app, channels_app)
register_faq_commands(app)
register_security_commands(app, users_app)
register_privacy_commands(app)
register_i18n_commands(app)
console = Console(stderr=True)


def _setup_logging() -> None:
    logging.basicConfig(
        level=get_settings().log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(2)


def ready_database() -> Database:
    """The configured database with an up-to-date schema (SQLite is migrated on the spot; PostgreSQL
    must be migrated explicitly with ``tilsvar migrate``, once per deployment)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from tilsvar.migrate import alembic_config, upgrade

    database = get_database()
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with database.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current != head:
        if database.is_sqlite:
            upgrade(database.engine)
        else:
            raise _fail(f"the database schema is at {current}, not {head}: run `tilsvar migrate` first")
    return database


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    from tilsvar.migrate import upgrade

    database = get_database()
    upgrade(database.engine)
    tables = inspect(database.engine).get_table_names()
    console.print(f"schema up to date ({len(tables)} tables) at {database.engine.url.render_as_string()}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
) -> None:
    """Run the web UI and API (on SQLite with a `tilsvar worker` child process; see
    TILSVAR_WORKER_IN_PROCESS)."""
    import uvicorn

    from tilsvar.app import create_app

    _setup_logging()
    settings = get_settings()
    database = ready_database()
    child = _start_worker_process() if settings.serve_worker == "process" else None
    application = create_app(settings, database)
    application.state.worker_process = child is not None
    try:
        uvicorn.run(
            application,
            host=host or settings.host,
            port=port or settings.port,
            log_level=settings.log_level.lower(),
            proxy_headers=True,
        )
    finally:
        if child is not None:
            child.terminate()
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the worker gets SIGTERM if the server dies without stopping it."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _start_worker_process() -> subprocess.Popen[bytes]:
    """`tilsvar worker` beside the server, with the same environment and working directory. Its own
    interpreter, so the CPU-bound pipeline never holds the lock the server answers requests with."""
    return subprocess.Popen(
        [sys.executable, "-m", "tilsvar", "worker"],
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,  # noqa: PLW1509
    )


@app.command()
def worker(
    queue: Annotated[list[str] | None, typer.Option(help="Only these queues (repeatable).")] = None,
) -> None:
    """Run background jobs (pipeline, outbound delivery, maintenance) until stopped."""
    from tilsvar.jobs.worker import Worker

    _setup_logging()
    database = ready_database()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    Worker(database, queues=queue or None).run_forever(stop)


@app.command()
def demo(
    port: Annotated[int | None, typer.Option(help="Port for the demo server.")] = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    via_webhooks: Annotated[
        bool, typer.Option(help="Send the simulated traffic as signed webhooks over HTTP (tilsvar simulate).")
    ] = False,
) -> None:
    """A fresh demo database with fictional brands and users and a live stream of simulated traffic."""
    from tilsvar.demo.runner import run_demo

    _setup_logging()
    settings = get_settings()
    run_demo(settings, host=host or settings.host, port=port or settings.port, via_webhooks=via_webhooks)


class ImportFormat(StrEnum):
    jsonl = "jsonl"
    twcs = "twcs"


@app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="File to import.")],
    fmt: Annotated[ImportFormat, typer.Option("--format", help="jsonl (INTERFACES.md) or twcs (CSV).")] = (
        ImportFormat.jsonl
    ),
    org: Annotated[str | None, typer.Option(help="Organization slug (when there are several).")] = None,
    brand: Annotated[str | None, typer.Option(help="Brand slug for channels the file introduces.")] = None,
    analyze: Annotated[
        bool, typer.Option(help="Queue the understanding pipeline for inbound messages.")
    ] = True,
    route: Annotated[
        bool,
        typer.Option(help="Route the conversations like live traffic (assign agents, start SLA clocks)."),
    ] = False,
    batch_size: Annotated[int | None, typer.Option(help="Messages per transaction.")] = None,
    output: Annotated[str, typer.Option("--output", help="Summary as text or json.")] = "text",
) -> None:
    """Import messages; running it again imports nothing twice. Imported history is not routed
    unless --route."""
    from tilsvar.importing.run import count_records, run_import

    database = ready_database()
    settings = get_settings()
    total = count_records(path, fmt.value)
    with Progress(
        TextColumn("importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not sys.stderr.isatty(),
    ) as progress:
        task = progress.add_task("import", total=total)
        try:
            report = run_import(
                database,
                path,
                fmt=fmt.value,
                organization=org,
                brand=brand,
                batch_size=batch_size or settings.import_batch_size,
                analyze=analyze and settings.pipeline_enabled,
                route=route,
                progress=lambda n: progress.advance(task, n),
            )
        except ValueError as error:
            raise _fail(str(error)) from error
    if output == "json":
        typer.echo(json.dumps(report.as_json(), indent=2))
        return
    typer.echo(
        f"imported {report.imported}, skipped duplicates {report.duplicates}, "
        f"rejected {report.rejected_count} "
        f"({report.conversations_created} new conversations)"
    )
    for line, reason in report.rejected[:50]:
        typer.echo(f"  line {line}: {reason}")
    if report.rejected_count > 50:
        typer.echo(f"  ... and {report.rejected_count - 50} more (kept in raw_events for inspection)")


class ReportFormat(StrEnum):
    json = "json"
    csv = "csv"
    html = "html"
    pdf = "pdf"


@app.command()
def report(
    date_from: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD, UTC), included.")],
    date_to: Annotated[str, typer.Option("--to", help="Last day (YYYY-MM-DD, UTC), included.")],
    brand: Annotated[str | None, typer.Option(help="Only this brand (slug).")] = None,
    fmt: Annotated[
        ReportFormat, typer.Option("--format", help="json, csv, html or pdf.")
    ] = ReportFormat.json,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write to this file.")] = None,
    target: Annotated[float | None, typer.Option(help="First-response target in minutes.")] = None,
    rebuild: Annotated[
        bool, typer.Option(help="Recompute the KPI facts and rollups from scratch first.")
    ] = False,
) -> None:
    """KPIs for a period (definitions in KPIS.md and docs/kpis.md), from the KPI engine's rollups
    (brought up to date first); html and pdf are the weekly report's layout (docs/analytics.md)."""
    from tilsvar.cli_reports import run_report

    try:
        first, last = date.fromisoformat(date_from), date.fromisoformat(date_to)
        content = run_report(
            ready_database(),
            first=first,
            last=last,
            brand=brand,
            fmt=fmt.value,
            target=target,
            rebuild=rebuild,
        )
    except ValueError as error:
        raise _fail(str(error)) from error
    if output:
        output.write_bytes(content)
    elif fmt == ReportFormat.pdf:
        raise _fail("a PDF needs -o FILE")
    else:
        typer.echo(content.decode(), nl=False)


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="Sign-in e-mail.")],
    role: Annotated[str, typer.Option(help="admin, supervisor, agent, press, marketing, analyst, readonly.")],
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    password_stdin: Annotated[bool, typer.Option(help="Read the password from standard input.")] = False,
    org: Annotated[str | None, typer.Option(help="Organization slug (created when none exists).")] = None,
    brand: Annotated[list[str] | None, typer.Option(help="Limit to these brand slugs (repeatable).")] = None,
) -> None:
    """Create a user (without --password-stdin the user can only use API tokens)."""
    from tilsvar.actions.common import ActionError
    from tilsvar.actions.org import do_create_organization, do_create_user
    from tilsvar.models import Brand, Organization

    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    database = ready_database()
    with database.session() as session:
        organizations = list(session.scalars(select(Organization)))
        if org:
            organizations = [o for o in organizations if o.slug == org]
            if not organizations:
                raise _fail(f"no organization {org!r}")
        if len(organizations) > 1:
            raise _fail("several organizations exist: choose one with --org")
        organization = (
            organizations[0]
            if organizations
            else do_create_organization(session, name="Tilsvar", slug="default")
        )
        brands = None
        if brand:
            brands = list(
                session.scalars(
                    select(Brand).where(Brand.organization_id == organization.id, Brand.slug.in_(brand))
                )
            )
            if len(brands) != len(set(brand)):
                raise _fail("unknown brand slug")
        try:
            user = do_create_user(
                session,
                organization=organization,
                email=email,
                role=role,
                name=name,
                password=password,
                brands=brands,
            )
        except ActionError as error:
            raise _fail(error.reason) from error
        typer.echo(f"created {user.role} {user.email} (id {user.id})")


@users_app.command("token")
def users_token(
    email: Annotated[str, typer.Option(help="The user's e-mail.")],
    name: Annotated[str, typer.Option(help="What the token is for.")] = "cli",
    scope: Annotated[
        list[str] | None,
        typer.Option(help="read, reply, moderate, ingest, report or admin (repeat it; default: all)."),
    ] = None,
) -> None:
    """Create an API token for a user and print it (it is shown only once). It can never do more than
    the user's role allows; --scope narrows it further."""
    from tilsvar.actions.common import ActionError
    from tilsvar.actions.org import do_create_api_token
    from tilsvar.models import User

    database = ready_database()
    with database.session() as session:
        user = session.scalar(select(User).where(User.email == email.strip().casefold()))
        if user is None:
            raise _fail(f"no user {email}")
        try:
            typer.echo(do_create_api_token(session, user=user, name=name, scopes=scope or None))
        except ActionError as error:
            raise _fail(error.reason) from error


@users_app.command("list")
def users_list() -> None:
    """List users."""
    from tilsvar.models import User

    database = ready_database()
    table = Table("id", "email", "name", "role", "active")
    with database.reader() as session:
        for user in session.scalars(select(User).order_by(User.id)):
            table.add_row(str(user.id), user.email, user.name, user.role, "yes" if user.is_active else "no")
    Console().print(table)


@channels_app.command("add")
def channels_add(
    platform: Annotated[
        str, typer.Option(help="facebook, instagram, x, linkedin, youtube, email, webchat, api.")
    ],
    account: Annotated[str, typer.Option(help="The brand's account on the platform.")],
    brand: Annotated[str, typer.Option(help="Brand slug (created when missing).")],
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    mode: Annotated[str, typer.Option(help="live, or simulated (never leaves the machine).")] = "live",
    callback_url: Annotated[str, typer.Option(help="api channel: where replies are POSTed.")] = "",
    callback_secret_file: Annotated[Path | None, typer.Option(help="api channel: HMAC secret file.")] = None,
    account_id: Annotated[
        str,
        typer.Option(
            help="Platform id webhooks name the account by: Facebook page id, Instagram account id, "
            "X user id, LinkedIn organisation URN (default: --account when it is one)."
        ),
    ] = "",
    verify_token: Annotated[str, typer.Option(help="facebook/instagram: the webhook verify token.")] = "",
    app_secret_file: Annotated[
        Path | None, typer.Option(help="facebook/instagram: Meta app secret file.")
    ] = None,
    access_token_file: Annotated[Path | None, typer.Option(help="Page / user access token file.")] = None,
    consumer_secret_file: Annotated[Path | None, typer.Option(help="x: consumer (API) secret file.")] = None,
    client_secret_file: Annotated[Path | None, typer.Option(help="linkedin: client secret file.")] = None,
    linkedin_version: Annotated[str, typer.Option(help="linkedin: LinkedIn-Version header (YYYYMM).")] = "",
    imap_url: Annotated[str, typer.Option(help="email: imaps://user@host[:port] or imap+starttls://.")] = "",
    smtp_url: Annotated[
        str, typer.Option(help="email: smtp+starttls://user@host:587, smtps://user@host or smtp://.")
    ] = "",
    password_file: Annotated[Path | None, typer.Option(help="email: the mailbox password file.")] = None,
    smtp_password_file: Annotated[
        Path | None, typer.Option(help="email: SMTP password file, when it differs from the IMAP one.")
    ] = None,
    mailbox: Annotated[list[str] | None, typer.Option(help="email: IMAP folders to read.")] = None,
    allowed_origin: Annotated[
        list[str] | None, typer.Option(help="webchat: a site origin that may embed the chat (repeatable).")
    ] = None,
    org: Annotated[str | None, typer.Option(help="Organization slug.")] = None,
) -> None:
    """Connect a channel. Secrets are read from files only, stored encrypted, and never shown again."""
    from tilsvar.actions.common import ActionError
    from tilsvar.actions.org import do_create_brand, do_create_channel, do_create_organization
    from tilsvar.models import Brand, Organization

    database = ready_database()
    credentials = {}
    if callback_secret_file:
        credentials["callback_secret"] = callback_secret_file.read_text().strip()
    secret_files = {
        "app_secret": app_secret_file,
        "access_token": access_token_file,
        "consumer_secret": consumer_secret_file,
        "client_secret": client_secret_file,
    }
    for key, secret_file in secret_files.items():
        if secret_file is not None:
            credentials[key] = secret_file.read_text().strip()
    if verify_token:
        credentials["verify_token"] = verify_token
    config: dict[str, str] = {"callback_url": callback_url} if callback_url else {}
    if not account_id and (account.isdigit() or account.startswith("urn:li:organization:")):
        account_id = account
    if account_id:
        config["account_id"] = account_id
    if linkedin_version:
        config["linkedin_version"] = linkedin_version
    if platform in {"facebook", "instagram", "x", "linkedin"} and mode == "live" and not account_id:
        console.print(
            f"[yellow]warning:[/yellow] without --account-id no {platform} webhook reaches this channel"
        )
    with database.session() as session:
        organizations = list(session.scalars(select(Organization)))
        if org:
            organizations = [o for o in organizations if o.slug == org]
        if len(organizations) > 1:
            raise _fail("several organizations exist: choose one with --org")
        organization = (
            organizations[0]
            if organizations
            else do_create_organization(session, name="Tilsvar", slug="default")
        )
        brand_row = session.scalar(
            select(Brand).where(Brand.organization_id == organization.id, Brand.slug == brand)
        )
        if brand_row is None:
            brand_row = do_create_brand(session, organization=organization, name=brand, slug=brand)
        try:
            if platform == "email":
                from tilsvar.actions.mail import do_connect_email_channel

                channel = do_connect_email_channel(
                    session,
                    brand=brand_row,
                    account=account,
                    imap_url=imap_url,
                    smtp_url=smtp_url,
                    password=password_file.read_text().strip() if password_file else "",
                    smtp_password=smtp_password_file.read_text().strip() if smtp_password_file else None,
                    name=name or None,
                    mode=mode,
                    mailboxes=mailbox or ["INBOX"],
                )
            elif platform == "webchat":
                from tilsvar.actions.webchat import do_connect_webchat_channel

                channel = do_connect_webchat_channel(
                    session,
                    brand=brand_row,
                    account=account,
                    allowed_origins=allowed_origin or [],
                    name=name or None,
                )
                base = get_settings().effective_base_url
                typer.echo(
                    f'embed: <script src="{base}/widget/{channel.config["public_key"]}.js" async></script>'
                )
            else:
                channel = do_create_channel(
                    session,
                    brand=brand_row,
                    platform=platform,
                    account=account,
                    name=name or None,
                    mode=mode,
                    credentials=credentials or None,
                    config=config,
                )
        except ActionError as error:
            raise _fail(error.reason) from error
        typer.echo(
            f"connected {channel.platform} {channel.account} (channel {channel.id}) to {brand_row.name}"
        )


@jobs_app.command("list")
def jobs_list(status: Annotated[str, typer.Option(help="queued, running, done or dead.")] = "dead") -> None:
    """List jobs with a status (dead ones by default)."""
    from tilsvar.models import Job

    database = ready_database()
    table = Table("id", "kind", "attempts", "run at", "last error")
    with database.reader() as session:
        for job in session.scalars(select(Job).where(Job.status == status).order_by(Job.id).limit(500)):
            table.add_row(
                str(job.id),
                job.kind,
                f"{job.attempts}/{job.max_attempts}",
                job.run_at.isoformat(),
                job.last_error.splitlines()[0][:80] if job.last_error else "",
            )
    Console().print(table)


@jobs_app.command("retry")
def jobs_retry(job_id: Annotated[int, typer.Argument(help="A dead job's id.")]) -> None:
    """Run a dead job again."""
    from tilsvar.actions.jobs import do_retry_job

    database = ready_database()
    with database.session() as session:
        if not do_retry_job(session, job_id=job_id, actor_user=None):
            raise _fail(f"no dead job {job_id}")
    typer.echo(f"job {job_id} queued again")


@app.command("settings")
def settings_(markdown: Annotated[bool, typer.Option(help="As a Markdown table.")] = False) -> None:
    """Every setting with its default and meaning."""
    rows = documented_settings()
    if markdown:
        typer.echo("| variable | default | meaning |\n|---|---|---|")
        for name, default, help_text in rows:
            typer.echo(f"| `{name}` | `{default}` | {help_text} |")
        return
    table = Table("variable", "default", "meaning")
    for row in rows:
        table.add_row(*row)
    Console().print(table)
