"""Manage connected channels after ``do_create_channel``: change their settings and secrets, remove
them, read their health (last event received, last successful send, token state, webhook handshake),
raise the "webhook went quiet" alert once, record webhook handshakes, and keep YouTube's poll
position and daily quota ledger.

Secrets are merged into the channel's encrypted credentials and never returned or written to the
audit trail (only the names of the keys that changed are).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from tilsvar.actions.common import ActionError, audit
from tilsvar.actions.org import channel_credentials, secret_box
from tilsvar.actions.timeline import notify
from tilsvar.events import ChannelStatusChanged, record_events
from tilsvar.models import Brand, Channel, Job, Message, RawEvent, User, utcnow
from tilsvar.models.channel_state import ChannelState

WEBHOOK_PLATFORMS = ("facebook", "instagram", "x", "linkedin")
SUBSCRIPTION_KEY = "subscription"  # in channel_state.poll_state: the last subscription check
HOW_IT_HEARS = {
    "facebook": "webhook",
    "instagram": "webhook",
    "x": "webhook",
    "linkedin": "webhook",
    "youtube": "polling",
    "email": "IMAP",
    "webchat": "widget",
    "api": "API",
}
# The quiet alert: a channel needs this many recent deliveries for a baseline, and is "quiet" when
# nothing came for QUIET_FACTOR × its usual (90th-percentile) gap, and at least QUIET_MINIMUM.
BASELINE_EVENTS = 10
RECENT_EVENTS = 50
QUIET_FACTOR = 4.0
QUIET_MINIMUM = timedelta(minutes=30)
QUIET_KIND = "channel.quiet"
STATUSES = ("active", "needs_reconnect", "paused", "removed")


def channel_state(session: Session, channel_id: int) -> ChannelState:
    """The channel's state row, created on first use (in the caller's transaction)."""
    state = session.get(ChannelState, channel_id)
    if state is None:
        state = ChannelState(channel_id=channel_id, poll_state={}, quota_day="", quota_used=0, last_error="")
        session.add(state)
        session.flush()
    return state


def _organization_id(session: Session, channel: Channel) -> int | None:
    return session.scalar(select(Brand.organization_id).where(Brand.id == channel.brand_id))


def do_update_channel(
    session: Session,
    *,
    channel: Channel,
    name: str | None = None,
    mode: str | None = None,
    status: str | None = None,
    config: dict[str, Any] | None = None,
    credentials: dict[str, Any] | None = None,
    actor_user: User | None = None,
) -> Channel:
    """Change a channel's name, mode, status, config keys (``None`` as a value removes the key) and
    secrets (merged into the encrypted credentials; an empty value removes one). Reconnecting with
    new secrets makes a channel that needed it active again."""
    changed: dict[str, Any] = {}
    if name is not None and name.strip() and name.strip() != channel.name:
        channel.name = name.strip()[:200]
        changed["name"] = channel.name
    if mode is not None and mode != channel.mode:
        if mode not in {"live", "simulated"}:
            raise ActionError("mode is live or simulated")
        channel.mode = mode
        changed["mode"] = mode
    if config:
        merged = dict(channel.config or {})
        for key, value in config.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        if merged != channel.config:
            channel.config = merged
            changed["config"] = sorted(config)
    if credentials:
        secrets = channel_credentials(channel)
        for key, value in credentials.items():
            if value in (None, ""):
                secrets.pop(key, None)
            else:
                secrets[key] = value
        channel.credentials_encrypted = (
            secret_box().encrypt_json(secrets, context=f"channel:{channel.id}".encode()) if secrets else None
        )
        changed["secrets"] = sorted(credentials)  # names only, never values
        if channel.status == "needs_reconnect" and status is None:
            status = "active"
    if status is not None and status != channel.status:
        if status not in STATUSES:
            raise ActionError(f"status is one of {', '.join(STATUSES)}")
        channel.status = status
        channel.status_reason = "" if status == "active" else channel.status_reason
        changed["status"] = status
        record_events(
            session,
            [
                ChannelStatusChanged(
                    organization_id=_organization_id(session, channel),
                    brand_id=channel.brand_id,
                    channel_id=channel.id,
                    status=status,
                    reason="changed by an administrator",
                )
            ],
        )
    if changed:
        audit(
            session,
            action="channel.updated",
            actor_user=actor_user,
            actor="" if actor_user else "cli",
            organization_id=_organization_id(session, channel),
            target_type="channel",
            target_id=channel.id,
            details=changed,
        )
    return channel


def do_remove_channel(
    session: Session, *, channel: Channel, purge: bool = False, actor_user: User | None = None
) -> None:
    """Disconnect a channel: its secrets are wiped, webhooks no longer reach it (its account id is
    dropped from the config), queued polls and syncs are cancelled, status ``removed``; its
    conversations stay. With ``purge`` the channel and all its conversations and messages are
    deleted."""
    organization_id = _organization_id(session, channel)
    details = {"platform": channel.platform, "account": channel.account, "purge": purge}
    for job in session.scalars(select(Job).where(Job.status == "queued")):
        if int((job.payload or {}).get("channel_id", -1)) == channel.id:
            job.status = "done"
            job.finished_at = utcnow()
            job.last_error = "channel removed"
    if purge:
        session.execute(delete(ChannelState).where(ChannelState.channel_id == channel.id))
        session.delete(channel)
    else:
        channel.credentials_encrypted = None
        config = dict(channel.config or {})
        if config.pop("account_id", None) is not None:
            config["removed_account_id"] = channel.config.get("account_id")
        channel.config = config
        channel.status = "removed"
        channel.status_reason = "removed by an administrator"
        _status_event(session, channel, organization_id, "removed", "removed by an administrator")
    audit(
        session,
        action="channel.purged" if purge else "channel.removed",
        actor_user=actor_user,
        actor="" if actor_user else "cli",
        organization_id=organization_id,
        target_type="channel",
        target_id=channel.id,
        details=details,
    )


def do_record_handshake(session: Session, *, channel_ids: list[int]) -> None:
    """The platform verified the webhook (Meta hub.challenge, X CRC, LinkedIn challenge)."""
    now = utcnow()
    for channel_id in channel_ids:
        state = channel_state(session, channel_id)
        state.last_handshake_at = now
        state.updated_at = now


@dataclass(frozen=True, slots=True)
class ChannelHealth:
    id: int
    platform: str
    account: str
    name: str
    brand: str
    mode: str
    status: str
    status_reason: str
    hears_by: str
    last_event_at: datetime | None
    last_send_at: datetime | None
    last_handshake_at: datetime | None
    usual_gap_seconds: float | None
    quiet_since: datetime | None
    last_poll_at: datetime | None
    quota_used: int
    last_error: str
    # What the platform said when last asked whether the app is still subscribed (webhooks).
    subscription_state: str = "unknown"
    subscription_detail: str = ""
    subscription_checked_at: datetime | None = None

    @property
    def token_state(self) -> str:
        if self.status == "needs_reconnect":
            return f"needs reconnect: {self.status_reason}" if self.status_reason else "needs reconnect"
        if self.status == "removed":
            return "removed"
        return "ok"

    def as_dict(self) -> dict[str, Any]:
        values = {name: getattr(self, name) for name in self.__slots__}
        values["token_state"] = self.token_state
        return {
            key: value.isoformat() if isinstance(value, datetime) else value for key, value in values.items()
        }


def channel_health(session: Session, *, brand_ids: list[int] | None = None) -> list[ChannelHealth]:
    """Each channel's health, oldest channel first."""
    query = select(Channel, Brand.name).join(Brand, Brand.id == Channel.brand_id).order_by(Channel.id)
    if brand_ids is not None:
        query = query.where(Channel.brand_id.in_(brand_ids))
    rows = session.execute(query).all()
    ids = [channel.id for channel, _ in rows]
    states = {
        state.channel_id: state
        for state in session.scalars(select(ChannelState).where(ChannelState.channel_id.in_(ids)))
    }
    last_raw = {
        channel_id: when
        for channel_id in ids
        for when in [
            session.scalar(select(func.max(RawEvent.received_at)).where(RawEvent.channel_id == channel_id))
        ]
    }
    last_in = dict(
        session.execute(
            select(Message.channel_id, func.max(Message.created_at))
            .where(Message.channel_id.in_(ids), Message.direction == "in")
            .group_by(Message.channel_id)
        ).all()
    )
    last_sent = dict(
        session.execute(
            select(Message.channel_id, func.max(Message.created_at))
            .where(Message.channel_id.in_(ids), Message.direction == "out", Message.delivery_state == "sent")
            .group_by(Message.channel_id)
        ).all()
    )
    found = []
    for channel, brand_name in rows:
        state = states.get(channel.id)
        candidates = [
            when for when in (last_raw.get(channel.id), last_in.get(channel.id)) if when is not None
        ]
        found.append(
            ChannelHealth(
                id=channel.id,
                platform=channel.platform,
                account=channel.account,
                name=channel.name,
                brand=brand_name,
                mode=channel.mode,
                status=channel.status,
                status_reason=channel.status_reason,
                hears_by=HOW_IT_HEARS.get(channel.platform, channel.platform),
                last_event_at=max(candidates) if candidates else None,
                last_send_at=last_sent.get(channel.id),
                last_handshake_at=state.last_handshake_at if state else None,
                usual_gap_seconds=state.usual_gap_seconds if state else None,
                quiet_since=state.quiet_alerted_at if state else None,
                last_poll_at=state.last_poll_at if state else None,
                quota_used=state.quota_used if state else 0,
                last_error=state.last_error if state else "",
                **_subscription(state),
            )
        )
    return found


def _subscription(state: ChannelState | None) -> dict[str, Any]:
    stored = dict((state.poll_state or {}).get(SUBSCRIPTION_KEY) or {}) if state else {}
    checked = stored.get("checked_at")
    return {
        "subscription_state": str(stored.get("state") or "unknown"),
        "subscription_detail": str(stored.get("detail") or ""),
        "subscription_checked_at": datetime.fromisoformat(checked) if checked else None,
    }


def subscription_check_due(state: ChannelState | None, *, now: datetime, every: timedelta) -> bool:
    checked = _subscription(state)["subscription_checked_at"]
    return checked is None or now - checked >= every


def do_record_subscription_state(
    session: Session, *, channel_id: int, state: str, detail: str, now: datetime | None = None
) -> None:
    """Keep what the platform said about the webhook subscription; when it says the app is no longer
    subscribed, alert once (event, notification to administrators, audit row); clear it when it is
    subscribed again."""
    now = now or utcnow()
    channel = session.get(Channel, channel_id)
    if channel is None:
        return
    row = channel_state(session, channel_id)
    before = _subscription(row)["subscription_state"]
    row.poll_state = {
        **dict(row.poll_state or {}),
        SUBSCRIPTION_KEY: {"state": state, "detail": detail[:500], "checked_at": now.isoformat()},
    }
    row.updated_at = now
    organization_id = _organization_id(session, channel)
    if state == "not_subscribed" and before != "not_subscribed":
        reason = f"the platform no longer sends this channel's webhooks: {detail}"[:500]
        _alert_admins(
            session,
            channel=channel,
            organization_id=organization_id,
            status="unsubscribed",
            reason=reason,
            details={"detail": detail[:500]},
        )
    elif state == "subscribed" and before == "not_subscribed":
        _status_event(session, channel, organization_id, channel.status, "webhook subscription restored")


def _status_event(
    session: Session, channel: Channel, organization_id: int | None, status: str, reason: str
) -> None:
    record_events(
        session,
        [
            ChannelStatusChanged(
                organization_id=organization_id,
                brand_id=channel.brand_id,
                channel_id=channel.id,
                status=status,
                reason=reason,
            )
        ],
    )


def _alert_admins(
    session: Session,
    *,
    channel: Channel,
    organization_id: int | None,
    status: str,
    reason: str,
    details: dict[str, Any],
) -> None:
    """A channel health alert: the status event, a notification to the organisation's
    administrators and an audit row (``channel.<status>``)."""
    _status_event(session, channel, organization_id, status, reason)
    admins = session.scalars(
        select(User.id).where(User.organization_id == organization_id, User.role == "admin")
    )
    notify(session, user_ids=list(admins), kind=QUIET_KIND, text=f"{channel.name}: {reason}")
    audit(
        session,
        action=f"channel.{status}",
        actor="worker",
        organization_id=organization_id,
        target_type="channel",
        target_id=channel.id,
        details=details,
    )


def usual_gap(received: list[datetime]) -> float | None:
    """The 90th-percentile gap (seconds) between consecutive deliveries, or None without a baseline."""
    if len(received) < BASELINE_EVENTS:
        return None
    ordered = sorted(received)
    gaps = sorted((later - earlier).total_seconds() for earlier, later in itertools.pairwise(ordered))
    return gaps[min(int(len(gaps) * 0.9), len(gaps) - 1)]


def quiet_threshold(gap: float) -> timedelta:
    return max(timedelta(seconds=gap * QUIET_FACTOR), QUIET_MINIMUM)


def do_check_quiet_webhooks(session: Session, *, now: datetime | None = None) -> list[int]:
    """For each live webhook channel: learn its usual gap from its recent deliveries, raise the
    quiet alert once (event, notification to the organisation's administrators, audit row) when
    nothing came for much longer than usual, and clear it when deliveries resume. Returns the
    channels newly alerted."""
    now = now or utcnow()
    alerted = []
    channels = list(
        session.scalars(
            select(Channel).where(
                Channel.platform.in_(WEBHOOK_PLATFORMS), Channel.mode == "live", Channel.status != "removed"
            )
        )
    )
    for channel in channels:
        received = list(
            session.scalars(
                select(RawEvent.received_at)
                .where(RawEvent.channel_id == channel.id)
                .order_by(RawEvent.received_at.desc())
                .limit(RECENT_EVENTS)
            )
        )
        gap = usual_gap(received)
        state = channel_state(session, channel.id)
        state.usual_gap_seconds = gap
        state.updated_at = now
        if gap is None:
            continue
        silence = now - max(received)
        organization_id = _organization_id(session, channel)
        if silence > quiet_threshold(gap):
            if state.quiet_alerted_at is not None:
                continue  # raised once; not again until deliveries resume
            state.quiet_alerted_at = now
            minutes = int(silence.total_seconds() // 60)
            reason = (
                f"no webhook delivery for {minutes} min; usually one every {max(int(gap // 60), 1)} min "
                "— check the platform's webhook subscription"
            )
            _alert_admins(
                session,
                channel=channel,
                organization_id=organization_id,
                status="quiet",
                reason=reason,
                details={"reason": reason},
            )
            alerted.append(channel.id)
        elif state.quiet_alerted_at is not None and max(received) > state.quiet_alerted_at:
            state.quiet_alerted_at = None
            _status_event(session, channel, organization_id, channel.status, "webhook deliveries resumed")
    return alerted


def do_record_youtube_poll(
    session: Session,
    *,
    channel_id: int,
    units: int,
    poll_state: dict[str, Any],
    next_poll_at: datetime,
    quota_day: str,
    error: str = "",
) -> ChannelState:
    """Book a poll's quota units on the channel's ledger (a new Pacific day starts at zero), keep the
    poll position and when to poll next."""
    state = channel_state(session, channel_id)
    if state.quota_day != quota_day:
        state.quota_day = quota_day
        state.quota_used = 0
    state.quota_used += units
    state.poll_state = poll_state
    state.last_poll_at = utcnow()
    state.next_poll_at = next_poll_at
    state.last_error = error[:2000]
    state.updated_at = utcnow()
    return state


def do_book_quota(session: Session, *, channel_id: int, units: int, quota_day: str) -> None:
    """Book units spent outside polling (a reply or a moderation call) on the day's ledger."""
    state = channel_state(session, channel_id)
    if state.quota_day != quota_day:
        state.quota_day, state.quota_used = quota_day, 0
    session.execute(
        update(ChannelState)
        .where(ChannelState.channel_id == channel_id)
        .values(quota_used=ChannelState.quota_used + units, updated_at=utcnow())
    )
