"""Workflow configuration: routing rules, SLA policies, calendars, per-channel and per-team settings,
agent skills and presence — saving it (validated by the engines, refused with the reason) and loading
it compiled.

Compiling 200 rules or a calendar's years takes milliseconds, far too long per message, so each
process caches the compiled configuration per organisation under ``workflow_config.version``; every
save here bumps the version, so all processes (API nodes, workers) see a change on their next message.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from tilsvar.actions.common import ActionError, audit
from tilsvar.models import Brand, Channel, Organization, Team, User, utcnow
from tilsvar.models.workflow import (
    AgentProfile,
    BusinessCalendarRow,
    ChannelWorkflow,
    RoutingRule,
    SlaPolicyRow,
    TeamWorkflow,
    WorkflowConfig,
)
from tilsvar.workflow.calendar import BusinessCalendar, CalendarSpec
from tilsvar.workflow.conditions import condition_fields
from tilsvar.workflow.rules import RuleError, RuleSet
from tilsvar.workflow.sla import SlaPolicy

STRATEGIES = ("round_robin", "least_loaded", "manual")


@dataclass(frozen=True)
class CompiledConfig:
    """One organisation's rules, policies and calendars, compiled (shared between threads)."""

    version: tuple[int, str]
    rules: RuleSet
    policies: tuple[SlaPolicy, ...]
    policy_by_key: dict[str, SlaPolicy]
    calendars: dict[int, BusinessCalendar]  # by calendar id
    channel_calendar: dict[int, int]  # channel id -> calendar id
    needs_negative_count: bool
    # channel id -> (out-of-hours auto-reply on, its text); only do_set_channel_workflow writes these
    auto_reply: dict[int, tuple[bool, str]] = field(default_factory=dict)


_cache: dict[int, CompiledConfig] = {}
_lock = threading.Lock()


def config_version(session: Session, organization_id: int) -> tuple[int, str]:
    """The version and the time it was set: together they tell a changed configuration apart even
    from another database that happens to be at the same version number (a restore, a test)."""
    row = session.execute(
        select(WorkflowConfig.version, WorkflowConfig.updated_at).where(
            WorkflowConfig.organization_id == organization_id
        )
    ).first()
    return (int(row[0]), row[1].isoformat()) if row else (0, "")


Q_VERSIONS = select(WorkflowConfig.version, WorkflowConfig.updated_at, WorkflowConfig.roster_version).where(
    WorkflowConfig.organization_id == bindparam("org")
)


def versions(session: Session, organization_id: int) -> tuple[tuple[int, str], int]:
    """The configuration version (see ``config_version``) and the roster version, in one statement
    (pre-built, on the session's connection: it runs for every routed batch)."""
    row = session.connection().execute(Q_VERSIONS, {"org": organization_id}).first()
    return ((int(row[0]), row[1].isoformat()), int(row[2])) if row else ((0, ""), 0)


def bump_roster(session: Session, organization_id: int) -> None:
    """Teams, members, agents' profiles or presence changed: routing's cached snapshot is stale."""
    row = session.get(WorkflowConfig, organization_id)
    if row is None:
        session.add(
            WorkflowConfig(organization_id=organization_id, version=1, updated_at=utcnow(), roster_version=1)
        )
    else:
        row.roster_version = (row.roster_version or 0) + 1
    session.flush()


def bump_version(session: Session, organization_id: int) -> None:
    row = session.get(WorkflowConfig, organization_id)
    if row is None:
        session.add(WorkflowConfig(organization_id=organization_id, version=1, updated_at=utcnow()))
    else:
        row.version += 1
        row.updated_at = utcnow()
    session.flush()


def load_config(
    session: Session, organization_id: int, *, version: tuple[int, str] | None = None
) -> CompiledConfig:
    """The organisation's compiled configuration (cached per process until its version moves)."""
    version = version if version is not None else config_version(session, organization_id)
    cached = _cache.get(organization_id)
    if cached is not None and cached.version == version:
        return cached
    rule_data = [
        data
        for (data,) in session.execute(
            select(RoutingRule.data)
            .where(RoutingRule.organization_id == organization_id)
            .order_by(RoutingRule.position, RoutingRule.id)
        )
    ]
    rules = RuleSet.from_data(rule_data)
    policies = tuple(
        _policy_for_engine(session, organization_id, spec)
        for (spec,) in session.execute(
            select(SlaPolicyRow.spec)
            .where(SlaPolicyRow.organization_id == organization_id)
            .order_by(SlaPolicyRow.position, SlaPolicyRow.id)
        )
    )
    calendars = {
        calendar_id: BusinessCalendar.from_dict(spec)
        for calendar_id, spec in session.execute(
            select(BusinessCalendarRow.id, BusinessCalendarRow.spec).where(
                BusinessCalendarRow.organization_id == organization_id
            )
        )
    }
    channel_calendar: dict[int, int] = {}
    auto_reply: dict[int, tuple[bool, str]] = {}
    for channel_id, calendar_id, reply_enabled, reply_text in session.execute(
        select(
            ChannelWorkflow.channel_id,
            ChannelWorkflow.calendar_id,
            ChannelWorkflow.auto_reply_enabled,
            ChannelWorkflow.auto_reply_text,
        )
        .join(Channel, Channel.id == ChannelWorkflow.channel_id)
        .join(Brand, Brand.id == Channel.brand_id)
        .where(Brand.organization_id == organization_id)
    ):
        if calendar_id is not None:
            channel_calendar[channel_id] = calendar_id
        auto_reply[channel_id] = (bool(reply_enabled), reply_text or "")
    needs_negative = any(
        leaf.field == "negative_last_hour" for rule in rules.rules for leaf in condition_fields(rule.when)
    )
    compiled = CompiledConfig(
        version=version,
        rules=rules,
        policies=policies,
        policy_by_key={policy.id: policy for policy in policies},
        calendars=calendars,
        channel_calendar=channel_calendar,
        needs_negative_count=needs_negative,
        auto_reply=auto_reply,
    )
    with _lock:
        _cache[organization_id] = compiled
    return compiled


def _policy_for_engine(session: Session, organization_id: int, spec: dict[str, Any]) -> SlaPolicy:
    """A stored policy with its brand slug and channel reference turned into ids."""
    policy = SlaPolicy.model_validate(spec)
    update_values: dict[str, Any] = {}
    if isinstance(policy.brand, str):
        brand_id = session.scalar(
            select(Brand.id).where(Brand.organization_id == organization_id, Brand.slug == policy.brand)
        )
        update_values["brand"] = brand_id if brand_id is not None else -1
    if policy.channel is not None:
        update_values["channel"] = _channel_id(session, organization_id, policy.channel) or -1
    return policy.model_copy(update=update_values) if update_values else policy


def _channel_id(session: Session, organization_id: int, ref: int | str) -> int | None:
    """A channel named by id, by "platform:account", or by its account alone."""
    query = (
        select(Channel.id)
        .join(Brand, Brand.id == Channel.brand_id)
        .where(Brand.organization_id == organization_id)
    )
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        return session.scalar(query.where(Channel.id == int(ref)))
    platform, _, account = str(ref).rpartition(":")
    query = query.where(Channel.account == account)
    if platform:
        query = query.where(Channel.platform == platform)
    return session.scalar(query.limit(1))


# routing rules ---------------------------------------------------------------------------------------


def parse_rules(text_or_data: str | dict[str, Any] | list[Any]) -> RuleSet:
    """Rules from YAML text or data, or an ``ActionError`` with the engine's reason."""
    try:
        if isinstance(text_or_data, str):
            return RuleSet.from_yaml(text_or_data)
        return RuleSet.from_data(text_or_data)
    except RuleError as error:
        raise ActionError(str(error), status=422) from None


def check_references(session: Session, organization_id: int, rules: RuleSet) -> None:
    """Refuse rules that name teams, agents or canned responses that do not exist."""
    from tilsvar.models.workflow import CannedResponse

    refs = rules.references()
    teams = {
        value
        for row in session.execute(select(Team.id, Team.slug).where(Team.organization_id == organization_id))
        for value in (row[0], str(row[0]), row[1])
    }
    for team in sorted(map(str, refs["team"])):
        if team not in {str(t) for t in teams}:
            raise ActionError(f"rules name team {team!r}, which does not exist", status=422)
    agents = {
        value
        for row in session.execute(select(User.id, User.email).where(User.organization_id == organization_id))
        for value in (str(row[0]), row[1].lower())
    }
    for agent in sorted(map(str, refs["agent"])):
        if agent.lower() not in agents:
            raise ActionError(f"rules name agent {agent!r}, who does not exist", status=422)
    templates = set(
        session.scalars(
            select(CannedResponse.shortcut).where(CannedResponse.organization_id == organization_id)
        )
    )
    for template in sorted(map(str, refs["template"])):
        if template not in templates:
            raise ActionError(
                f"rules auto-reply with canned response {template!r}, which does not exist", status=422
            )


def do_save_routing_rules(
    session: Session, *, user: User, rules: str | dict[str, Any] | list[Any]
) -> RuleSet:
    """Replace the organisation's routing rules (YAML or data); refused whole with the reason."""
    ruleset = parse_rules(rules)
    check_references(session, user.organization_id, ruleset)
    session.execute(delete(RoutingRule).where(RoutingRule.organization_id == user.organization_id))
    now = utcnow()
    for rule in ruleset.rules:
        session.add(
            RoutingRule(
                organization_id=user.organization_id,
                rule_key=rule.id,
                position=rule.position,
                data=rule.to_data(),
                updated_at=now,
            )
        )
    bump_version(session, user.organization_id)
    audit(
        session,
        action="routing_rules.saved",
        actor_user=user,
        target_type="organization",
        target_id=user.organization_id,
        details={"rules": [rule.id for rule in ruleset.rules]},
    )
    return ruleset


def export_rules_yaml(session: Session, organization_id: int) -> str:
    return load_config(session, organization_id).rules.to_yaml()


# SLA policies and calendars ----------------------------------------------------------------------------


def _validation_reason(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"])
        parts.append(f"{where}: {item['msg']}" if where else str(item["msg"]))
    return "; ".join(parts)


def do_save_sla_policies(session: Session, *, user: User, policies: list[dict[str, Any]]) -> list[SlaPolicy]:
    """Replace the organisation's SLA policies (the engine's JSON; brand by slug, channel by id or
    "platform:account")."""
    parsed: list[SlaPolicy] = []
    for index, spec in enumerate(policies):
        try:
            policy = SlaPolicy.model_validate(spec)
        except ValidationError as error:
            raise ActionError(f"policy {index}: {_validation_reason(error)}", status=422) from None
        if isinstance(policy.brand, str) and not session.scalar(
            select(Brand.id).where(Brand.organization_id == user.organization_id, Brand.slug == policy.brand)
        ):
            raise ActionError(f"policy {policy.id!r}: no brand {policy.brand!r}", status=422)
        if policy.channel is not None and _channel_id(session, user.organization_id, policy.channel) is None:
            raise ActionError(f"policy {policy.id!r}: no channel {policy.channel!r}", status=422)
        parsed.append(policy)
    keys = [policy.id for policy in parsed]
    if len(set(keys)) != len(keys):
        raise ActionError("two policies have the same id", status=422)
    session.execute(delete(SlaPolicyRow).where(SlaPolicyRow.organization_id == user.organization_id))
    for position, policy in enumerate(parsed):
        session.add(
            SlaPolicyRow(
                organization_id=user.organization_id,
                policy_key=policy.id,
                position=position,
                spec=policy.model_dump(mode="json", exclude_defaults=True) | {"id": policy.id},
                updated_at=utcnow(),
            )
        )
    bump_version(session, user.organization_id)
    audit(
        session,
        action="sla_policies.saved",
        actor_user=user,
        target_type="organization",
        target_id=user.organization_id,
        details={"policies": keys},
    )
    return parsed


def parse_calendar(spec: str | dict[str, Any]) -> CalendarSpec:
    try:
        data = yaml.safe_load(spec) if isinstance(spec, str) else spec
        if not isinstance(data, dict):
            raise ActionError("a calendar is a mapping (name, timezone, hours, holidays, ...)", status=422)
        return CalendarSpec.model_validate(data)
    except yaml.YAMLError as error:
        raise ActionError(f"not valid YAML: {error}", status=422) from None
    except ValidationError as error:
        raise ActionError(_validation_reason(error), status=422) from None


def do_save_calendar(
    session: Session, *, user: User, spec: str | dict[str, Any], calendar_id: int | None = None
) -> BusinessCalendarRow:
    """Create or replace a business-hours calendar (validated: zone, hours, holiday countries)."""
    parsed = parse_calendar(spec)
    name = parsed.name or "Calendar"
    row = session.get(BusinessCalendarRow, calendar_id) if calendar_id else None
    if calendar_id and (row is None or row.organization_id != user.organization_id):
        raise ActionError(f"no calendar {calendar_id}", status=404)
    if row is None:
        row = session.scalar(
            select(BusinessCalendarRow).where(
                BusinessCalendarRow.organization_id == user.organization_id, BusinessCalendarRow.name == name
            )
        )
    if row is None:
        row = BusinessCalendarRow(organization_id=user.organization_id, name=name)
        session.add(row)
    row.name = name
    row.spec = parsed.model_dump(mode="json", exclude_defaults=True)
    row.updated_at = utcnow()
    session.flush()
    bump_version(session, user.organization_id)
    audit(session, action="calendar.saved", actor_user=user, target_type="calendar", target_id=row.id)
    return row


def do_set_channel_workflow(
    session: Session,
    *,
    user: User,
    channel: Channel,
    calendar_id: int | None = None,
    auto_reply_enabled: bool | None = None,
    auto_reply_text: str | None = None,
    csat_enabled: bool | None = None,
    csat_mode: str | None = None,
    team_id: int | None = None,
) -> ChannelWorkflow:
    """A channel's calendar, out-of-hours auto-reply, CSAT surveys and default team."""
    row = session.get(ChannelWorkflow, channel.id)
    if row is None:
        row = ChannelWorkflow(channel_id=channel.id)
        session.add(row)
    if calendar_id is not None:
        calendar = session.get(BusinessCalendarRow, calendar_id)
        if calendar is None or calendar.organization_id != user.organization_id:
            raise ActionError(f"no calendar {calendar_id}", status=422)
        row.calendar_id = calendar_id
    if auto_reply_enabled is not None:
        row.auto_reply_enabled = auto_reply_enabled
    if auto_reply_text is not None:
        row.auto_reply_text = auto_reply_text.strip()[:2000]
    if csat_enabled is not None:
        row.csat_enabled = csat_enabled
    if csat_mode is not None:
        if csat_mode not in ("message", "link"):
            raise ActionError("csat_mode is message or link", status=422)
        row.csat_mode = csat_mode
    if team_id is not None:
        team = session.get(Team, team_id)
        if team is None or team.organization_id != user.organization_id:
            raise ActionError(f"no team {team_id}", status=422)
        channel.team_id = team_id
    session.flush()
    bump_version(session, user.organization_id)
    audit(
        session, action="channel.workflow_set", actor_user=user, target_type="channel", target_id=channel.id
    )
    return row


def do_set_team_workflow(
    session: Session,
    *,
    user: User,
    team: Team,
    strategy: str | None = None,
    sticky_hours: float | None = None,
    sticky_wait_minutes: float | None = None,
    fallback: bool | None = None,
) -> TeamWorkflow:
    """How a team assigns (round robin, least loaded, manual), its sticky-owner window, and whether it
    is the organisation's fallback queue."""
    row = session.get(TeamWorkflow, team.id)
    if row is None:
        row = TeamWorkflow(
            team_id=team.id, strategy="round_robin", sticky_hours=72.0, sticky_wait_minutes=0.0
        )
        session.add(row)
    if strategy is not None:
        if strategy not in STRATEGIES:
            raise ActionError(f"strategy must be one of {', '.join(STRATEGIES)}", status=422)
        row.strategy = strategy
    if sticky_hours is not None:
        row.sticky_hours = max(0.0, sticky_hours)
    if sticky_wait_minutes is not None:
        row.sticky_wait_minutes = max(0.0, sticky_wait_minutes)
    bump_roster(session, team.organization_id)
    if fallback:
        bump_version(session, team.organization_id)
        session.execute(
            update(WorkflowConfig)
            .where(WorkflowConfig.organization_id == team.organization_id)
            .values(fallback_team_id=team.id)
        )
    session.flush()
    audit(session, action="team.workflow_set", actor_user=user, target_type="team", target_id=team.id)
    return row


def fallback_team(session: Session, organization_id: int) -> Team:
    """The queue nothing falls out of: the configured one, else the first team, else a new one."""
    configured = session.scalar(
        select(WorkflowConfig.fallback_team_id).where(WorkflowConfig.organization_id == organization_id)
    )
    if configured is not None:
        team = session.get(Team, configured)
        if team is not None:
            return team
    team = session.scalar(
        select(Team).where(Team.organization_id == organization_id).order_by(Team.id).limit(1)
    )
    if team is None:
        organization = session.get_one(Organization, organization_id)
        team = Team(organization_id=organization.id, name="Unassigned", slug="unassigned")
        session.add(team)
        session.flush()
        bump_roster(session, organization_id)
    return team


# agents ---------------------------------------------------------------------------------------------


def profile_of(session: Session, user_id: int) -> AgentProfile:
    profile = session.get(AgentProfile, user_id)
    if profile is None:
        profile = AgentProfile(
            user_id=user_id, online=False, languages=[], channels=[], topics=[], capacity={}
        )
        session.add(profile)
        session.flush()
    return profile


def do_set_agent_profile(
    session: Session,
    *,
    user: User,
    agent: User,
    online: bool | None = None,
    languages: list[str] | None = None,
    channels: list[str] | None = None,
    topics: list[str] | None = None,
    capacity: dict[str, int] | None = None,
) -> AgentProfile:
    """An agent's presence (available for assignment), skills and capacity per channel key."""
    if agent.organization_id != user.organization_id:
        raise ActionError("no such user", status=404)
    profile = profile_of(session, agent.id)
    if online is not None:
        profile.online = online
        profile.last_seen_at = utcnow()
    if languages is not None:
        profile.languages = sorted({value.strip().lower() for value in languages if value.strip()})
    if channels is not None:
        profile.channels = sorted({value.strip().lower() for value in channels if value.strip()})
    if topics is not None:
        profile.topics = sorted({value.strip().lower() for value in topics if value.strip()})
    if capacity is not None:
        if any(int(value) < 0 for value in capacity.values()):
            raise ActionError("capacity cannot be negative", status=422)
        profile.capacity = {key: int(value) for key, value in capacity.items()}
    bump_roster(session, agent.organization_id)
    audit(
        session,
        action="agent.profile_set",
        actor_user=user,
        target_type="user",
        target_id=agent.id,
        details={"online": profile.online},
    )
    return profile
