"""``tilsvar privacy``: data-subject requests (export, erase) and retention (preview, run) from the
shell (INTERFACES.md, docs/privacy.md). Registered on the main Typer app by ``cli.py``."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

privacy_app = typer.Typer(help="Data-subject requests and retention.", no_args_is_help=True)
retention_app = typer.Typer(help="Retention policies: preview and run.", no_args_is_help=True)
privacy_app.add_typer(retention_app, name="retention")


class ExportFormat(StrEnum):
    json = "json"
    html = "html"


PlatformOption = Annotated[
    str, typer.Option("--platform", help="facebook, instagram, x, email, webchat, api ...")
]
AuthorOption = Annotated[str, typer.Option("--author-id", help="The person's id on that platform.")]


@privacy_app.command("export")
def export_command(
    platform: PlatformOption,
    author_id: AuthorOption,
    fmt: Annotated[ExportFormat, typer.Option("--format", help="json or html.")] = ExportFormat.json,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write to this file.")] = None,
) -> None:
    """Everything held about one person across channels (audited)."""
    from tilsvar.actions.privacy import do_export_subject
    from tilsvar.cli import ready_database
    from tilsvar.privacy.export import render_html

    database = ready_database()
    with database.session() as session:
        document = do_export_subject(session, platform=platform, author_id=author_id, actor="cli")
    body = (
        json.dumps(document, ensure_ascii=False, indent=2)
        if fmt == ExportFormat.json
        else render_html(document)
    )
    if output is None:
        sys.stdout.write(body + "\n")
    else:
        output.write_text(body + "\n", encoding="utf-8")


@privacy_app.command("erase")
def erase_command(
    platform: PlatformOption,
    author_id: AuthorOption,
    delete_on_platform: Annotated[
        bool,
        typer.Option("--delete-on-platform", help="Also ask the platform to delete their public comments."),
    ] = False,
    vacuum: Annotated[
        bool, typer.Option("--vacuum/--no-vacuum", help="VACUUM afterwards (SQLite: the whole file).")
    ] = True,
) -> None:
    """Erase that person everywhere: database, search index, attachments (audited, recorded)."""
    from tilsvar.actions.common import ActionError
    from tilsvar.actions.privacy import erase_subject
    from tilsvar.cli import _fail, ready_database

    database = ready_database()
    try:
        result = erase_subject(
            database,
            platform=platform,
            author_id=author_id,
            actor="cli",
            delete_on_platform=delete_on_platform,
            vacuum=vacuum,
        )
    except ActionError as error:
        raise _fail(error.reason) from error
    sys.stdout.write(json.dumps({"erased": result.counts}) + "\n")


PolicyOption = Annotated[
    int | None, typer.Option("--policy", help="Only this policy (default: every enabled one).")
]


def _policies(session: object, policy_id: int | None) -> list[object]:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from tilsvar.models.privacy import RetentionPolicy

    assert isinstance(session, Session)
    query = select(RetentionPolicy).order_by(RetentionPolicy.id)
    query = (
        query.where(RetentionPolicy.id == policy_id)
        if policy_id
        else query.where(RetentionPolicy.enabled.is_(True))
    )
    return list(session.scalars(query))


@retention_app.command("preview")
def retention_preview(policy: PolicyOption = None) -> None:
    """What each policy would delete or anonymise now: count and sample ids (JSON lines)."""
    from tilsvar.actions.retention import preview
    from tilsvar.cli import ready_database
    from tilsvar.models.privacy import RetentionPolicy

    database = ready_database()
    with database.reader() as session:
        for row in _policies(session, policy):
            assert isinstance(row, RetentionPolicy)
            result = preview(session, row)
            line = {"policy_id": row.id, "name": row.name, "target": row.target, "action": row.action}
            sys.stdout.write(
                json.dumps({**line, "count": result.count, "sample_ids": result.sample_ids}) + "\n"
            )


@retention_app.command("run")
def retention_run(policy: PolicyOption = None) -> None:
    """Apply the policies now (recorded and audited); prints what each did (JSON lines)."""
    from tilsvar.actions.retention import do_run_policy
    from tilsvar.cli import ready_database
    from tilsvar.models.privacy import RetentionPolicy

    database = ready_database()
    with database.reader() as session:
        ids = [row.id for row in _policies(session, policy) if isinstance(row, RetentionPolicy)]
    for policy_id in ids:
        with database.session() as session:
            row = session.get_one(RetentionPolicy, policy_id)
            record = do_run_policy(session, policy=row)
            sys.stdout.write(
                json.dumps({"policy_id": policy_id, "record_id": record.id, "counts": record.counts}) + "\n"
            )


@privacy_app.command("raw-event")
def raw_event_command(
    raw_event_id: Annotated[int, typer.Argument(help="The raw event's id (`raw_events.id`).")],
) -> None:
    """Print a stored inbound payload (webhook body, API post, rejected import line), decrypted:
    they are kept encrypted at rest for inspection (audited)."""
    from tilsvar.actions.common import audit
    from tilsvar.cli import ready_database
    from tilsvar.models import RawEvent
    from tilsvar.privacy.sealing import open_raw

    database = ready_database()
    with database.session() as session:
        raw = session.get(RawEvent, raw_event_id)
        if raw is None:
            typer.echo(f"no raw event {raw_event_id}", err=True)
            raise typer.Exit(1)
        audit(
            session, action="privacy.raw_event_read", actor="cli", target_type="raw_event", target_id=raw.id
        )
        typer.echo(
            f"# {raw.source} · {raw.status} · {raw.received_at.isoformat()} {raw.error}".rstrip(), err=True
        )
        body = open_raw(raw.body)
    sys.stdout.write(body.decode("utf-8", errors="replace") + "\n")


keys_app = typer.Typer(help="Encryption keys: status, rotation, re-encryption.", no_args_is_help=True)


@keys_app.command("status")
def keys_status_command() -> None:
    """The key ring (primary last) and how many stored ciphertexts each key made."""
    from tilsvar.cli import ready_database
    from tilsvar.crypto import key_id, keyring
    from tilsvar.privacy.keys import status

    ring = keyring()
    for key in ring.keys:
        marker = " (primary)" if key_id(key) == ring.primary_id else ""
        typer.echo(f"key {key_id(key).hex()}{marker}")
    for name, counts in status(ready_database()).items():
        shown = ", ".join(f"{key}: {count}" for key, count in sorted(counts.items())) or "none"
        typer.echo(f"{name}: {shown}")


def _reencrypt(vacuum: bool) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from tilsvar.actions.privacy import compact_after_erasure
    from tilsvar.cli import ready_database
    from tilsvar.privacy.keys import reencrypt, total_rows

    database = ready_database()
    with Progress(
        TextColumn("re-encrypting"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not sys.stderr.isatty(),
    ) as progress:
        task = progress.add_task("reencrypt", total=total_rows(database))
        counts = reencrypt(database, progress=lambda n: progress.advance(task, n))
    for name, count in counts.items():
        typer.echo(f"{name}: {count} rewritten")
    if any(counts.values()):
        # Drop the old pages of what was rewritten (clear copies from older versions above all) and
        # the FTS5 segments that indexed them.
        compact_after_erasure(database, vacuum=vacuum)


NoVacuum = Annotated[
    bool,
    typer.Option("--no-vacuum", help="Skip VACUUM after sealing texts stored in clear by older versions."),
]


@keys_app.command("rotate")
def keys_rotate_command(
    reencrypt_now: Annotated[
        bool, typer.Option("--reencrypt/--no-reencrypt", help="Re-encrypt everything under the new key now.")
    ] = True,
    no_vacuum: NoVacuum = False,
) -> None:
    """Add a new primary key to the key file (old keys keep decrypting), then re-encrypt (resumable:
    run `tilsvar keys reencrypt` to finish an interrupted pass)."""
    from tilsvar.actions.common import audit
    from tilsvar.cli import ready_database
    from tilsvar.crypto import append_key, key_id
    from tilsvar.settings import get_settings

    settings = get_settings()
    if settings.secret_key:
        typer.echo(
            "the keys come from TILSVAR_SECRET_KEY: add a new key at its end "
            "(e.g. `openssl rand -base64 32`), "
            "restart, then run `tilsvar keys reencrypt`",
            err=True,
        )
        raise typer.Exit(2)
    database = ready_database()
    key = append_key(settings.effective_secret_key_file)
    with database.session() as session:
        audit(session, action="keys.rotate", actor="cli", details={"primary": key_id(key).hex()})
    typer.echo(f"new primary key {key_id(key).hex()} in {settings.effective_secret_key_file}")
    if reencrypt_now:
        _reencrypt(not no_vacuum)


@keys_app.command("reencrypt")
def keys_reencrypt_command(no_vacuum: NoVacuum = False) -> None:
    """Rewrite every ciphertext not made with the primary key, and encrypt what older versions stored
    in clear (raw payloads, texts with personal data). Safe to interrupt and run again."""
    _reencrypt(not no_vacuum)


@keys_app.command("retire")
def keys_retire_command(
    key: Annotated[str, typer.Argument(help="The key id (from `tilsvar keys status`).")],
) -> None:
    """Remove an old key from the key file once no ciphertext uses it."""
    from tilsvar.cli import ready_database
    from tilsvar.crypto import remove_key
    from tilsvar.privacy.keys import status
    from tilsvar.settings import get_settings

    used = sum(counts.get(key, 0) for counts in status(ready_database()).values())
    if used:
        typer.echo(f"{used} ciphertexts still use key {key}: run `tilsvar keys reencrypt` first", err=True)
        raise typer.Exit(1)
    try:
        remove_key(get_settings().effective_secret_key_file, key)
    except ValueError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from error
    typer.echo(f"key {key} removed")


def register(app: typer.Typer) -> None:
    app.add_typer(privacy_app, name="privacy")
    app.add_typer(keys_app, name="keys")
