"""Channel commands beyond ``channels add``: ``channels list`` with health, ``channels set``,
``channels remove``; and the traffic tools ``tilsvar simulate`` (signed webhook traffic to a running
server) and ``tilsvar fake-platforms`` (a fake platform API that records Tilsvar's outbound calls)."""

from __future__ import annotations

import asyncio
import json
import random
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

console = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(2)


def _ago(when: datetime | None) -> str:
    if when is None:
        return "never"
    from tilsvar.models import utcnow

    seconds = max((utcnow() - when).total_seconds(), 0)
    if seconds < 120:
        return f"{int(seconds)} s ago"
    if seconds < 7200:
        return f"{int(seconds // 60)} min ago"
    if seconds < 172800:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} d ago"


def channels_list(
    output: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """List connected channels with their health: last event, last send, token and webhook state."""
    from tilsvar.actions.channel_admin import channel_health
    from tilsvar.cli import ready_database

    database = ready_database()
    with database.reader() as session:
        health = channel_health(session)
    if output == "json":
        typer.echo(json.dumps([item.as_dict() for item in health], indent=2))
        return
    table = Table("id", "platform", "account", "brand", "mode", "token", "last event", "last send", "webhook")
    for item in health:
        webhook = item.hears_by
        if item.hears_by == "webhook":
            webhook = (
                f"verified {_ago(item.last_handshake_at)}" if item.last_handshake_at else "not verified yet"
            )
            if item.quiet_since is not None:
                webhook += f"; QUIET since {_ago(item.quiet_since)}"
        elif item.hears_by == "polling":
            webhook = f"polled {_ago(item.last_poll_at)}, {item.quota_used} units today"
        table.add_row(
            str(item.id),
            item.platform,
            item.account,
            item.brand,
            item.mode,
            item.token_state,
            _ago(item.last_event_at),
            _ago(item.last_send_at),
            webhook,
        )
    Console().print(table)


def _channel_or_fail(session: object, channel_id: int) -> object:
    from sqlalchemy.orm import Session

    from tilsvar.models import Channel

    assert isinstance(session, Session)
    channel = session.get(Channel, channel_id)
    if channel is None:
        raise _fail(f"no channel {channel_id}")
    return channel


def channels_set(
    channel_id: Annotated[int, typer.Argument(help="The channel's id (see `tilsvar channels list`).")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    mode: Annotated[str | None, typer.Option(help="live or simulated.")] = None,
    status: Annotated[str | None, typer.Option(help="active, paused, needs_reconnect or removed.")] = None,
    config: Annotated[
        list[str] | None,
        typer.Option(help="KEY=VALUE config setting (repeatable); VALUE is JSON when it parses as JSON."),
    ] = None,
    unset: Annotated[list[str] | None, typer.Option(help="Config key to remove (repeatable).")] = None,
    secret_file: Annotated[
        list[str] | None, typer.Option(help="KEY=PATH: a secret read from a file (repeatable).")
    ] = None,
    secret_stdin: Annotated[str | None, typer.Option(help="KEY: a secret read from standard input.")] = None,
) -> None:
    """Change a channel's settings or secrets. Secrets come from files or stdin, never the command
    line, are stored encrypted and are never shown."""
    from tilsvar.actions.channel_admin import do_update_channel
    from tilsvar.actions.common import ActionError
    from tilsvar.cli import ready_database
    from tilsvar.models import Channel

    changes: dict[str, object] = {}
    for item in config or []:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise _fail(f"--config wants KEY=VALUE, not {item!r}")
        try:
            changes[key] = json.loads(raw)
        except ValueError:
            changes[key] = raw
    for key in unset or []:
        changes[key] = None
    secrets: dict[str, object] = {}
    for item in secret_file or []:
        key, sep, path = item.partition("=")
        if not sep or not key:
            raise _fail(f"--secret-file wants KEY=PATH, not {item!r}")
        secrets[key] = Path(path).read_text().strip()
    if secret_stdin:
        secrets[secret_stdin] = sys.stdin.read().strip()
    database = ready_database()
    with database.session() as session:
        channel = _channel_or_fail(session, channel_id)
        assert isinstance(channel, Channel)
        try:
            do_update_channel(
                session,
                channel=channel,
                name=name,
                mode=mode,
                status=status,
                config=changes or None,
                credentials=secrets or None,
            )
        except ActionError as error:
            raise _fail(error.reason) from error
        typer.echo(f"updated channel {channel.id} ({channel.platform} {channel.account})")


def channels_remove(
    channel_id: Annotated[int, typer.Argument(help="The channel's id.")],
    purge: Annotated[
        bool, typer.Option(help="Also delete all its conversations and messages (cannot be undone).")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm --purge.")] = False,
) -> None:
    """Disconnect a channel: secrets wiped, webhooks no longer reach it, history kept (--purge deletes it)."""
    from tilsvar.actions.channel_admin import do_remove_channel
    from tilsvar.cli import ready_database
    from tilsvar.models import Channel

    if purge and not yes:
        raise _fail("--purge deletes every conversation of the channel; add --yes to confirm")
    database = ready_database()
    with database.session() as session:
        channel = _channel_or_fail(session, channel_id)
        assert isinstance(channel, Channel)
        label = f"{channel.platform} {channel.account}"
        do_remove_channel(session, channel=channel, purge=purge)
    typer.echo(f"{'purged' if purge else 'removed'} channel {channel_id} ({label})")


def simulate_command(
    url: Annotated[str, typer.Option(help="The running Tilsvar, e.g. http://127.0.0.1:8000.")],
    scenario: Annotated[str, typer.Option(help="steady, chorus, abuse or burst.")] = "steady",
    rate: Annotated[float, typer.Option(help="Deliveries per second.")] = 2.0,
    duration: Annotated[float, typer.Option(help="Seconds to send for.")] = 30.0,
    count: Annotated[int | None, typer.Option(help="Send exactly this many (overrides --duration).")] = None,
    redeliver: Annotated[
        float, typer.Option(help="Share of deliveries sent twice, as platforms retry.")
    ] = 0.0,
    platform: Annotated[
        list[str] | None,
        typer.Option(help="Only these platforms (repeatable): facebook, instagram, x, linkedin."),
    ] = None,
    target: Annotated[
        list[str] | None,
        typer.Option(
            help="PLATFORM:ACCOUNT:ACCOUNT_ID:SECRET_FILE, instead of reading channels and secrets from "
            "the database (repeatable)."
        ),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (repeatable runs).")] = None,
) -> None:
    """Send realistic, correctly signed webhook traffic to a running server; prints a JSON summary."""
    from tilsvar.demo.traffic import SCENARIOS, WEBHOOK_PLATFORMS, Target, TrafficGenerator
    from tilsvar.demo.webhook_simulator import simulate, targets_from_database

    if scenario not in SCENARIOS:
        raise _fail(f"scenario is one of {', '.join(SCENARIOS)}")
    targets: list[Target] = []
    for item in target or []:
        parts = item.split(":", 3)
        if len(parts) != 4 or parts[0] not in WEBHOOK_PLATFORMS:
            raise _fail(f"--target wants PLATFORM:ACCOUNT:ACCOUNT_ID:SECRET_FILE, not {item!r}")
        kind, account, account_id, secret_path = parts
        if kind == "linkedin" and account_id.startswith("urn") is False:
            account_id = f"urn:li:organization:{account_id}"
        targets.append(Target(kind, account, account_id, Path(secret_path).read_text().strip()))
    if not targets:
        from tilsvar.cli import ready_database

        with ready_database().reader() as session:
            targets = targets_from_database(session)
    if platform:
        targets = [item for item in targets if item.platform in platform]
    rng = random.Random(seed)
    try:
        generator = TrafficGenerator(targets, scenario=scenario, rng=rng)
    except ValueError as error:
        raise _fail(f"{error} (connect channels with --account-id and secrets, or pass --target)") from error
    report = asyncio.run(
        simulate(
            url, generator, rate=rate, duration=duration, count=count, redeliver_share=redeliver, rng=rng
        )
    )
    typer.echo(json.dumps(report.summary()))
    if any(record.status != 200 for record in report.records):
        raise typer.Exit(1)


def fake_platforms_command(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8900,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
) -> None:
    """A fake Graph/X/LinkedIn/YouTube API that records Tilsvar's outbound calls (list at /)."""
    import uvicorn

    from tilsvar.demo.fake_platforms import create_fake_platforms_app

    console.print(
        f"fake platforms on http://{host}:{port}/ — point channels at it with "
        f"`tilsvar channels set ID --config graph_base=http://{host}:{port}/graph` "
        f"(X: api_base=…/x, LinkedIn: api_base=…/linkedin, YouTube: api_base=…/google)"
    )
    uvicorn.run(create_fake_platforms_app(), host=host, port=port, log_level="warning")


def register(app: typer.Typer, channels_app: typer.Typer) -> None:
    channels_app.command("list")(channels_list)
    channels_app.command("set")(channels_set)
    channels_app.command("remove")(channels_remove)
    app.command("simulate")(simulate_command)
    app.command("fake-platforms")(fake_platforms_command)
