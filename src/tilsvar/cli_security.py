"""``tilsvar audit verify|export`` and the account-safety ``tilsvar users`` commands (unlock, role,
token revoke, require-2fa), kept in their own module and registered on the main Typer app by
``cli.py``."""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated

import typer

audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify(
    expect_head: Annotated[
        str | None,
        typer.Option(
            help="A head hash recorded earlier (`verify` prints it); fails if it is no longer in the chain."
        ),
    ] = None,
) -> None:
    """Check the hash chain; exit 1 naming the first broken row when a row was edited or deleted."""
    from sqlalchemy import select

    from tilsvar.audit_chain import verify
    from tilsvar.cli import ready_database
    from tilsvar.models import AuditEntry

    database = ready_database()
    with database.reader() as session:
        result = verify(session)
        anchored = True
        if expect_head and result.ok:
            anchored = expect_head in {result.head_hash, GENESIS_HASH} or bool(
                session.scalar(select(AuditEntry.id).where(AuditEntry.row_hash == expect_head).limit(1))
            )
    if not result.ok:
        typer.echo(f"audit chain BROKEN at row {result.broken_id}: {result.problem}", err=True)
        typer.echo(f"rows before it verified: {result.checked}", err=True)
        raise typer.Exit(1)
    if not anchored:
        typer.echo(
            f"audit chain does not contain the expected head {expect_head}: rows were removed", err=True
        )
        raise typer.Exit(1)
    typer.echo(f"audit chain OK: {result.checked} rows; head row {result.head_id} {result.head_hash}")


GENESIS_HASH = "0" * 64


def _day(value: str | None, *, end: bool = False) -> datetime | None:
    if not value:
        return None
    day = datetime.combine(date.fromisoformat(value), time(), tzinfo=UTC)
    return day + timedelta(days=1) if end else day


@audit_app.command("export")
def audit_export(
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File to write (default: standard output).")
    ] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="First UTC day (YYYY-MM-DD).")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Last UTC day, included.")] = None,
    org: Annotated[str | None, typer.Option(help="Only this organisation (slug).")] = None,
) -> None:
    """Write the audit trail as JSON lines, oldest first, with each row's hashes (verifiable offline)."""
    from sqlalchemy import select

    from tilsvar.audit_chain import export_line
    from tilsvar.cli import _fail, ready_database
    from tilsvar.models import AuditEntry, Organization

    database = ready_database()
    since, until = _day(date_from), _day(date_to, end=True)
    handle = output.open("w", encoding="utf-8") if output else sys.stdout
    count = 0
    try:
        with database.reader() as session:
            organization_id = None
            if org:
                organization_id = session.scalar(select(Organization.id).where(Organization.slug == org))
                if organization_id is None:
                    raise _fail(f"no organisation {org!r}")
            last = 0
            while True:
                query = select(AuditEntry).where(AuditEntry.id > last)
                if organization_id is not None:
                    query = query.where(AuditEntry.organization_id == organization_id)
                if since is not None:
                    query = query.where(AuditEntry.at >= since)
                if until is not None:
                    query = query.where(AuditEntry.at < until)
                rows = list(session.scalars(query.order_by(AuditEntry.id).limit(2000)))
                if not rows:
                    break
                for row in rows:
                    handle.write(json.dumps(export_line(row), ensure_ascii=False) + "\n")
                count += len(rows)
                last = rows[-1].id
                session.expunge_all()
    finally:
        if output:
            handle.close()
    if output:
        typer.echo(f"wrote {count} audit rows to {output}", err=True)


def users_unlock(email: Annotated[str, typer.Option(help="The user's e-mail.")]) -> None:
    """Lift a sign-in lockout now."""
    from sqlalchemy import select

    from tilsvar.actions.auth import do_unlock_user
    from tilsvar.cli import _fail, ready_database
    from tilsvar.models import User

    database = ready_database()
    with database.session() as session:
        user = session.scalar(select(User).where(User.email == email.strip().casefold()))
        if user is None:
            raise _fail(f"no user {email}")
        do_unlock_user(session, user=user)
    typer.echo(f"unlocked {email}")


def users_role(
    email: Annotated[str, typer.Option(help="The user's e-mail.")],
    role: Annotated[str | None, typer.Option(help="New role.")] = None,
    brand: Annotated[list[str] | None, typer.Option(help="Limit to these brands (slugs).")] = None,
    all_brands: Annotated[
        bool, typer.Option("--all-brands", help="Every brand of the organisation.")
    ] = False,
) -> None:
    """Change a user's role or brand scope (audited)."""
    from sqlalchemy import select

    from tilsvar.actions.auth import do_change_role
    from tilsvar.actions.common import ActionError
    from tilsvar.cli import _fail, ready_database
    from tilsvar.models import Brand, User

    database = ready_database()
    with database.session() as session:
        user = session.scalar(select(User).where(User.email == email.strip().casefold()))
        if user is None:
            raise _fail(f"no user {email}")
        brands = None
        if brand:
            brands = list(
                session.scalars(
                    select(Brand).where(Brand.organization_id == user.organization_id, Brand.slug.in_(brand))
                )
            )
            if len(brands) != len(set(brand)):
                raise _fail("unknown brand slug")
        try:
            do_change_role(
                session, user=user, actor_user=None, role=role, brands=brands, all_brands=all_brands or None
            )
        except ActionError as error:
            raise _fail(error.reason) from error
        scope = "all brands" if user.all_brands else "brands " + ", ".join(brand or [])
        typer.echo(f"{user.email}: {user.role}, {scope}")


def users_revoke_token(
    token_id: Annotated[int, typer.Argument(help="The token's id (`tilsvar users tokens`).")],
) -> None:
    """Revoke an API token."""
    from tilsvar.actions.org import do_revoke_api_token
    from tilsvar.cli import _fail, ready_database
    from tilsvar.models import ApiToken

    database = ready_database()
    with database.session() as session:
        token = session.get(ApiToken, token_id)
        if token is None:
            raise _fail(f"no API token {token_id}")
        do_revoke_api_token(session, token=token, actor_user=None)
    typer.echo(f"revoked token {token_id}")


def users_tokens(email: Annotated[str | None, typer.Option(help="Only this user's tokens.")] = None) -> None:
    """List API tokens (never the tokens themselves): scopes, created, last used, revoked."""
    from rich.console import Console
    from rich.table import Table
    from sqlalchemy import select

    from tilsvar.cli import ready_database
    from tilsvar.models import ApiToken, User

    database = ready_database()
    table = Table("id", "user", "name", "prefix", "scopes", "created", "last used", "revoked")
    with database.reader() as session:
        query = select(ApiToken, User.email).join(User, User.id == ApiToken.user_id).order_by(ApiToken.id)
        if email:
            query = query.where(User.email == email.strip().casefold())
        for token, owner in session.execute(query):
            table.add_row(
                str(token.id),
                owner,
                token.name,
                token.prefix,
                ",".join(token.scopes or []),
                f"{token.created_at:%Y-%m-%d %H:%M}",
                f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never",
                f"{token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "",
            )
    Console().print(table)


def users_require_2fa(
    org: Annotated[str, typer.Option(help="Organisation slug.")],
    off: Annotated[bool, typer.Option("--off", help="Make two-factor optional again.")] = False,
) -> None:
    """Require two-factor sign-in for everyone in an organisation."""
    from sqlalchemy import select

    from tilsvar.actions.auth import do_require_two_factor
    from tilsvar.cli import _fail, ready_database
    from tilsvar.models import Organization

    database = ready_database()
    with database.session() as session:
        organization = session.scalar(select(Organization).where(Organization.slug == org))
        if organization is None:
            raise _fail(f"no organisation {org!r}")
        do_require_two_factor(session, organization=organization, required=not off)
    typer.echo(f"{org}: two-factor sign-in {'optional' if off else 'required'}")


def register(app: typer.Typer, users_app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
    users_app.command("unlock")(users_unlock)
    users_app.command("role")(users_role)
    users_app.command("tokens")(users_tokens)
    users_app.command("revoke-token")(users_revoke_token)
    users_app.command("require-2fa")(users_require_2fa)
