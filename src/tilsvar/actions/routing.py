"""Route and assign inbound conversations with the pure engines, and store why — a batch at a time.

Called when the understanding pipeline has stored its labels (``actions.analysis``), or at ingest when
no pipeline runs, for the conversations that received customer messages. For a conversation routing
has not seen yet it evaluates the organisation's rules, picks a team and an agent (``plan_routing``),
applies the rules' other actions (priority, tags, flags, hide, escalation, approval, auto-reply) and
stores the explanation. A customer's follow-up in a conversation already routed is *not* routed again:
it stays with its owner if they are still available, and otherwise falls back to the team queue
(sticky owner, ``workflow.assignment``). Either way the SLA clocks are recomputed (``actions.sla``).

Nothing is ever left without a queue: a team that disappeared, a deleted or offline agent, an empty
team — every path ends in some team, at worst the organisation's fallback queue.

Why it is shaped like this (docs/workflow.md, "Measured through the database"): routing runs for every
customer message, so the database work is per *batch*, not per message. The compiled rules, policies
and calendars (``load_config``) and the teams/agents snapshot (``Roster``) are cached per process
under the organisation's configuration and roster versions, which every change to them bumps; a batch
reads what it needs with a few set-based statements (the conversations with their state, flags, sticky
owner and latest message's labels in one; the message history; versions with cursors; agents'
presence and open load — for a small batch only the teams its decisions look at), decides in memory,
and writes with a handful of Core statements (executemany updates, bulk inserts) — no ORM objects and
no flushes per message. On SQLite the per-message statements are ``db.Prepared`` (compiled once, run
on the driver's cursor): a webhook's single message is about 16 small statements, where SQLAlchemy's
per-call work cost more than SQLite's. Rare side effects (a hide request, an auto-reply, a survey
answer) still use the ORM helpers they share with the rest of the application.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Connection,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    exists,
    func,
    insert,
    literal_column,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased
from sqlalchemy.sql.elements import BindParameter

from tilsvar.actions.analysis import PRIORITY_RANK
from tilsvar.actions.common import audit_row
from tilsvar.actions.moderation import MODERATED_KINDS, request_moderation
from tilsvar.actions.sla import MessageRow, SlaOutcome, TimelineRow, events_from_rows, plan_sla
from tilsvar.actions.workflow_config import CompiledConfig, fallback_team, load_config, versions
from tilsvar.db import Prepared, bulk_insert
from tilsvar.events import (
    ConversationUpdated,
    Event,
    NotificationCreated,
    SlaAlert,
    WorkflowChanged,
    record_events,
)
from tilsvar.jobs.queue import wakeup
from tilsvar.models import (
    Brand,
    Channel,
    ContactTag,
    Conversation,
    ConversationTag,
    Identity,
    Job,
    Message,
    Tag,
    Team,
    TeamMember,
    User,
    utcnow,
)
from tilsvar.models.base import table_of
from tilsvar.models.workflow import (
    AgentProfile,
    ConversationWorkflowState,
    CsatSurvey,
    Notification,
    TeamWorkflow,
    TimelineEntry,
    WorkflowConfig,
)
from tilsvar.workflow.assignment import (
    AgentSnapshot,
    AssignmentDecision,
    AssignmentRequest,
    TeamSnapshot,
    assign,
)
from tilsvar.workflow.common import Ref
from tilsvar.workflow.conditions import MessageContext
from tilsvar.workflow.inbound import ConversationState, Workflow, plan_routing
from tilsvar.workflow.rules import RoutingDecision

OPEN_STATUSES = ("new", "open", "pending", "snoozed")
REOPENING = frozenset({"resolved", "closed", "pending", "snoozed"})
CHANNEL_KEYS = {"email": "email", "webchat": "chat"}


def channel_key(platform: str) -> str:
    """The key capacity and skills are counted by: email, chat, or social (every social platform)."""
    return CHANNEL_KEYS.get(platform, "social")


# the cached snapshot of teams and agents --------------------------------------------------------------


@dataclass(frozen=True)
class Roster:
    """Teams and agents of one organisation as the engines see them (without open load), cached per
    process under (configuration version, roster version)."""

    key: tuple[object, ...]
    workflow: Workflow
    team_id_by_ref: dict[Ref, int]
    team_slug: dict[int, str]
    members: dict[int, tuple[int, ...]]
    agents: dict[Ref, AgentSnapshot]  # by id, str(id) and e-mail; load empty
    user_by_ref: dict[Ref, int]
    refs_of: dict[int, tuple[Ref, ...]]  # user id -> the refs ``agents`` knows them by


_rosters: dict[int, Roster] = {}
_lock = threading.Lock()


def _roster(
    session: Session, organization_id: int, version: tuple[int, str], roster_version: int
) -> tuple[CompiledConfig, Roster]:
    """The organisation's compiled configuration and roster at these versions (read by the caller)."""
    config = load_config(session, organization_id, version=version)
    cached = _rosters.get(organization_id)
    if cached is not None and cached.key == (version, roster_version):
        return config, cached
    fallback = fallback_team(session, organization_id)  # may create the queue (and bump the roster)
    version, roster_version = versions(session, organization_id)
    config = load_config(session, organization_id, version=version)
    teams = list(
        session.execute(
            select(Team.id, Team.slug, Team.name)
            .where(Team.organization_id == organization_id)
            .order_by(Team.id)
        )
    )
    team_ids = [row[0] for row in teams]
    settings = {
        row[0]: row
        for row in session.execute(
            select(
                TeamWorkflow.team_id,
                TeamWorkflow.strategy,
                TeamWorkflow.sticky_hours,
                TeamWorkflow.sticky_wait_minutes,
            ).where(TeamWorkflow.team_id.in_(team_ids))
        )
    }
    members: dict[int, list[int]] = defaultdict(list)
    for team_id, user_id in session.execute(
        select(TeamMember.team_id, TeamMember.user_id)
        .where(TeamMember.team_id.in_(team_ids))
        .order_by(TeamMember.team_id, TeamMember.user_id)
    ):
        members[team_id].append(user_id)
    team_snapshots = []
    team_id_by_ref: dict[Ref, int] = {}
    team_of_user: dict[int, set[Ref]] = defaultdict(set)
    for team_id, slug, name in teams:
        row = settings.get(team_id)
        strategy: Any = row[1] if row else "round_robin"
        team_snapshots.append(
            TeamSnapshot(
                id=slug,
                name=name,
                strategy=strategy,
                members=tuple(members[team_id]),
                sticky_hours=row[2] if row else 72.0,
                sticky_wait_minutes=row[3] if row else 0.0,
            )
        )
        for ref in (slug, team_id, str(team_id)):
            team_id_by_ref[ref] = team_id
        for user_id in members[team_id]:
            team_of_user[user_id].add(slug)
    profiles = {
        row[0]: row
        for row in session.execute(
            select(
                AgentProfile.user_id,
                AgentProfile.online,
                AgentProfile.languages,
                AgentProfile.channels,
                AgentProfile.topics,
                AgentProfile.capacity,
            )
            .join(User, User.id == AgentProfile.user_id)
            .where(User.organization_id == organization_id)
        )
    }
    agents: dict[Ref, AgentSnapshot] = {}
    user_by_ref: dict[Ref, int] = {}
    refs_of: dict[int, tuple[Ref, ...]] = {}
    for user_id, name, email, is_active in session.execute(
        select(User.id, User.name, User.email, User.is_active).where(User.organization_id == organization_id)
    ):
        profile = profiles.get(user_id)
        snapshot = AgentSnapshot(
            id=user_id,
            name=name,
            online=bool(profile and profile[1]),
            active=is_active,
            teams=frozenset(team_of_user[user_id]),
            languages=frozenset(profile[2] or () if profile else ()),
            channels=frozenset(profile[3] or () if profile else ()),
            topics=frozenset(profile[4] or () if profile else ()),
            capacity=dict(profile[5] or {}) if profile else {},
            load={},
        )
        refs_of[user_id] = (user_id, str(user_id), email.lower(), email)
        for ref in refs_of[user_id]:
            agents[ref] = snapshot
            user_by_ref[ref] = user_id
    workflow = Workflow.build(
        rules=config.rules, teams=team_snapshots, fallback_team=fallback.slug, policies=config.policies
    )
    team_id_by_ref.setdefault(fallback.slug, fallback.id)
    team_slug = {team_id: slug for team_id, slug, _ in teams}
    team_slug.setdefault(fallback.id, fallback.slug)
    roster = Roster(
        key=(version, roster_version),
        workflow=workflow,
        team_id_by_ref=team_id_by_ref,
        team_slug=team_slug,
        members={team_id: tuple(ids) for team_id, ids in members.items()},
        agents=agents,
        user_by_ref=user_by_ref,
        refs_of=refs_of,
    )
    with _lock:
        _rosters[organization_id] = roster
    return config, roster


# one batch ------------------------------------------------------------------------------------------


class LiveAgents(Mapping[Ref, AgentSnapshot]):
    """The cached roster's agents as the engines see them in this batch: with live presence, active
    flag and open load, built only for the agents a decision actually looks at.

    Presence, active flags and load are read from the database (never cached: they change all day,
    and a deactivated agent must never be offered a conversation, whoever changed the row). A large
    batch reads them for the whole organisation with one statement up front; a small one (a webhook's
    single message) reads them when a decision first looks at an agent, for that agent and everyone in
    their teams — the people the same decision looks at next — so one statement covers the team the
    message goes to, without counting the whole organisation's open conversations per message."""

    def __init__(
        self, roster: Roster, connection: Connection, organization_id: int, *, everyone: bool
    ) -> None:
        self.roster = roster
        self.live: dict[int, tuple[bool, bool]] = {}  # user id -> (active, online)
        self.load: dict[int, dict[str, int]] = {}  # user id -> channel key -> open conversations
        self._connection = connection
        self._organization_id = organization_id
        self._read: set[int] = set()
        self._everyone = everyone
        self._built: dict[int, AgentSnapshot] = {}
        if everyone:
            self._absorb(connection.execute(Q_AGENTS_ALL, {"org": organization_id}))

    def _absorb(self, rows: Iterable[Any]) -> None:
        keys = list(CHANNEL_KEYS.values())
        for user_id, is_active, online, total, *by_platform in rows:
            if user_id in self._read:  # read already (and maybe counted since): keep what we have
                continue
            self._read.add(user_id)
            self.live[user_id] = (bool(is_active), bool(online))
            if total:
                counts: dict[str, int] = {}
                for key, count in zip(keys, by_platform, strict=True):
                    if count:
                        counts[key] = counts.get(key, 0) + int(count)
                social = total - sum(counts.values())
                if social:
                    counts["social"] = social
                self.load[user_id] = counts

    def read(self, user_ids: Iterable[int]) -> None:
        """Make sure the live state and load of ``user_ids`` are read (one statement for those missing,
        up to ``AGENT_SLOTS[-1]`` of them)."""
        if self._everyone:
            return
        missing = sorted(set(user_ids) - self._read)
        for start in range(0, len(missing), AGENT_SLOTS[-1]):
            chunk = missing[start : start + AGENT_SLOTS[-1]]
            statement, params = agents_by_id(chunk)
            params["org"] = self._organization_id
            self._absorb(statement.execute(self._connection, params))
        self._read.update(missing)  # (no row: not a user of the organisation any more)

    def _read_around(self, user_id: int) -> None:
        """Read the agent and everyone in their teams. The roster's memberships are the database's:
        the roster is current as of this batch (its version was read in this transaction)."""
        self.read(self._around(user_id))

    def _around(self, user_id: int) -> set[int]:
        """The agent and the members of their teams."""
        around = {user_id}
        agent = self.roster.agents.get(user_id)
        for slug in agent.teams if agent is not None else ():
            team_id = self.roster.team_id_by_ref.get(slug)
            if team_id is not None:
                around.update(self.roster.members.get(team_id, ()))
        return around

    def __getitem__(self, ref: Ref) -> AgentSnapshot:
        user_id = self.roster.user_by_ref[ref]
        built = self._built.get(user_id)
        if built is None:
            if user_id not in self._read:
                self._read_around(user_id)
            active, online = self.live.get(user_id, (False, False))
            built = self._built[user_id] = self.roster.agents[user_id].with_live_state(
                online=online, active=active, load=dict(self.load.get(user_id, {}))
            )
        return built

    def __iter__(self) -> Iterator[Ref]:
        return iter(self.roster.agents)

    def __len__(self) -> int:
        return len(self.roster.agents)

    def __contains__(self, ref: object) -> bool:
        return ref in self.roster.user_by_ref

    def active_among(self, user_ids: Iterable[int]) -> list[int]:
        """Those of ``user_ids`` who are active users of the organisation now, in id order."""
        wanted = set(user_ids)
        self.read(wanted)
        return sorted(user_id for user_id in wanted if self.live.get(user_id, (False, False))[0])

    def count(self, user_id: int, key: str) -> None:
        """One more open conversation for ``user_id`` on channel key ``key``."""
        self.read((user_id,))
        counts = self.load.setdefault(user_id, {})
        counts[key] = counts.get(key, 0) + 1
        self._built.pop(user_id, None)


@dataclass
class Conv:
    """The conversation columns routing reads and writes (a plain row, not an ORM object)."""

    id: int
    organization_id: int
    brand_id: int
    channel_id: int
    contact_id: int | None
    team_id: int | None
    assignee_id: int | None
    status: str
    priority: str
    priority_rank: int
    language: str | None
    intent: str | None
    sentiment: str | None
    waiting_since: datetime | None
    flagged: bool
    updated_at: datetime | None
    platform: str
    account: str
    brand_slug: str
    changed: bool = False


@dataclass
class OrgBatch:
    """One organisation's part of a batch: configuration, roster, and what this batch changes in it."""

    config: CompiledConfig
    roster: Roster
    agents: LiveAgents  # the roster's agents with presence and open load
    cursors: dict[Ref, Ref]  # team slug -> agent
    cursor_rows: set[int]  # teams that have a team_workflow row
    cursor_writes: dict[int, int | None] = field(default_factory=dict)
    routed: dict[int, list[str]] = field(default_factory=dict)  # conversation id -> rules matched


@dataclass
class Writes:
    """Everything a batch stores, written at the end with a few set-based statements."""

    timeline: list[dict[str, Any]] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    jobs: list[dict[str, Any]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    tags: dict[int, set[str]] = field(default_factory=dict)  # conversation id -> tag names
    hide: list[int] = field(default_factory=list)  # message ids
    auto_replies: list[tuple[int, str]] = field(default_factory=list)  # conversation id, text


CONVERSATION_COLUMNS = (
    Conversation.id,
    Conversation.organization_id,
    Conversation.brand_id,
    Conversation.channel_id,
    Conversation.contact_id,
    Conversation.team_id,
    Conversation.assignee_id,
    Conversation.status,
    Conversation.priority,
    Conversation.priority_rank,
    Conversation.language,
    Conversation.intent,
    Conversation.sentiment,
    Conversation.waiting_since,
    Conversation.flagged,
    Conversation.updated_at,
    Channel.platform,
    Channel.account,
    Brand.slug,
)


STATE_TABLE = table_of(ConversationWorkflowState)
STATE_NAMES = tuple(column.name for column in STATE_TABLE.c)


# pre-built statements (built and compiled once; a batch only binds its ids) ---------------------------

IDS: BindParameter[list[int]] = bindparam("ids", expanding=True)
ONE: BindParameter[int] = bindparam("id")


def _constants(values: Iterable[str]) -> tuple[Any, ...]:
    """Constant strings written into the SQL: an IN list of them then needs no rendering per call (an
    IN over bound values is an expanding parameter, rendered again for every execution)."""
    assert all(value.isidentifier() for value in values)  # code constants, nothing to quote
    return tuple(literal_column(f"'{value}'") for value in values)


SLA_TIMELINE_KINDS = _constants(("status", "sla_policy"))


ORG: BindParameter[int] = bindparam("org")
_OTHER = aliased(Conversation, name="other")
_LATEST = aliased(Message, name="latest")
_AUTHOR = aliased(Identity, name="author")


_OWNER = aliased(Conversation, name="owner_conversation")
# The customer's other conversation that has an assignee and was answered most recently (the sticky
# owner's; ties: the oldest conversation). Joined once: its assignee and time of the last answer.
_PREVIOUS_OWNER = (
    select(_OTHER.id)
    .where(
        _OTHER.contact_id == Conversation.contact_id,
        _OTHER.id != Conversation.id,
        _OTHER.assignee_id.is_not(None),
        _OTHER.last_outbound_at.is_not(None),
    )
    .order_by(_OTHER.last_outbound_at.desc(), _OTHER.id)
    .limit(1)
    .scalar_subquery()
)


DETAIL_COLUMNS = (
    _LATEST.id,
    _LATEST.text,
    _LATEST.kind,
    _LATEST.language,
    _LATEST.intent,
    _LATEST.sentiment,
    _LATEST.sentiment_score,
    _LATEST.priority,
    _LATEST.moderation_state,
    _AUTHOR.handle,
    # An e-mail sender's handle is its address, kept sealed (privacy/blind.py): rules still match it.
    _AUTHOR.external_id_sealed,
)
# Everything routing reads per conversation, in one statement: the conversation with its channel and
# brand; whether a satisfaction survey is open; whether it or its customer has tags, and whether it has
# status/policy timeline entries (the statements for those run only if so); the sticky owner; for a
# conversation routing has not seen yet, its latest customer message's labels and author handle (what
# rules see); and its workflow state (NULLs when routing has not seen it yet).
_CONVERSATIONS = (
    select(
        *CONVERSATION_COLUMNS,
        exists()
        .where(CsatSurvey.conversation_id == Conversation.id, CsatSurvey.answered_at.is_(None))
        .label("open_survey"),
        or_(
            exists().where(ConversationTag.conversation_id == Conversation.id),
            exists().where(ContactTag.contact_id == Conversation.contact_id),
        ).label("tagged"),
        exists()
        .where(
            TimelineEntry.conversation_id == Conversation.id,
            TimelineEntry.kind.in_(SLA_TIMELINE_KINDS),
        )
        .label("sla_timeline"),
        _OWNER.assignee_id.label("owner"),
        _OWNER.last_outbound_at.label("owner_answered_at"),
        *DETAIL_COLUMNS,
        *STATE_TABLE.c,
    )
    .join(Channel, Channel.id == Conversation.channel_id)
    .join(Brand, Brand.id == Conversation.brand_id)
    .outerjoin(STATE_TABLE, STATE_TABLE.c.conversation_id == Conversation.id)
    .outerjoin(_OWNER, _OWNER.id == _PREVIOUS_OWNER)
    .outerjoin(
        _LATEST,
        and_(
            STATE_TABLE.c.routed_at.is_(None),
            _LATEST.id
            == select(Message.id)
            .where(Message.conversation_id == Conversation.id, Message.direction == "in")
            .order_by(Message.created_at.desc(), Message.id.desc())
            .limit(1)
            .scalar_subquery(),
        ),
    )
    .outerjoin(_AUTHOR, _AUTHOR.id == _LATEST.author_identity_id)
    .order_by(Conversation.id)
)
# Their messages, each with whether it answered one of the conversation's surveys (not an SLA event).
_HISTORY = select(
    Message.conversation_id,
    Message.id,
    Message.direction,
    Message.created_at,
    Message.is_automatic,
    Message.delivery_state,
    exists()
    .where(CsatSurvey.conversation_id == Message.conversation_id, CsatSurvey.answer_message_id == Message.id)
    .label("survey_answer"),
).order_by(Message.created_at, Message.id)


def _agents_statement(*, slots: int = 0) -> Select[*tuple[Any, ...]]:
    """Users' active flag, presence and open conversations — in all, and on each platform with its own
    channel key (``CHANNEL_KEYS``; the rest are "social") — one row per user: of the users bound to
    ``:u0`` .. ``:u<slots - 1>`` (``slots``) or of the whole organisation."""
    query = (
        select(
            User.id,
            User.is_active,
            AgentProfile.online,
            func.count(Channel.id),
            *(func.sum(case((Channel.platform == platform, 1), else_=0)) for platform in CHANNEL_KEYS),
        )
        .outerjoin(AgentProfile, AgentProfile.user_id == User.id)
        .outerjoin(
            Conversation,
            and_(
                Conversation.assignee_id == User.id,
                Conversation.organization_id == ORG,
                Conversation.status.in_(_constants(OPEN_STATUSES)),
            ),
        )
        .outerjoin(Channel, Channel.id == Conversation.channel_id)
        .where(User.organization_id == ORG)
        .group_by(User.id, User.is_active, AgentProfile.online)
    )
    if slots:
        return query.where(User.id.in_([bindparam(f"u{i}", type_=Integer) for i in range(slots)]))
    return query


Q_AGENTS_ALL = _agents_statement()
# Some users by id — the agent a decision looks at and their team mates: a fixed number of id slots
# (the unused ones bound to NULL, which matches no row), so that each size is a ``Prepared`` statement
# compiled once, where an expanding IN list would be rendered again on every call.
AGENT_SLOTS = (4, 8, 16, 32, 64, 128)
_AGENTS_BY_ID = {slots: Prepared(_agents_statement(slots=slots)) for slots in AGENT_SLOTS}


def agents_by_id(user_ids: list[int]) -> tuple[Prepared, dict[str, Any]]:
    """The statement for ``user_ids`` (at most ``AGENT_SLOTS[-1]``) and their parameters (without :org)."""
    slots = next(size for size in AGENT_SLOTS if size >= len(user_ids))
    params: dict[str, Any] = {f"u{i}": None for i in range(len(user_ids), slots)}
    params.update((f"u{i}", user_id) for i, user_id in enumerate(user_ids))
    return _AGENTS_BY_ID[slots], params


# The configuration and roster versions (0, version, roster version, time) and the teams' round-robin
# cursors (1, team id, cursor, NULL), in one statement.
Q_VERSIONS_CURSORS = Prepared(
    union_all(
        select(
            literal_column("0"),
            WorkflowConfig.version,
            WorkflowConfig.roster_version,
            WorkflowConfig.updated_at,
        ).where(WorkflowConfig.organization_id == ORG),
        select(literal_column("1"), TeamWorkflow.team_id, TeamWorkflow.round_robin_cursor, null())
        .join(Team, Team.id == TeamWorkflow.team_id)
        .where(Team.organization_id == ORG),
    )
)
Q_DETAILS = (
    select(
        Message.id,
        Message.text,
        Message.kind,
        Message.language,
        Message.intent,
        Message.sentiment,
        Message.sentiment_score,
        Message.priority,
        Message.moderation_state,
        Identity.handle,
        # An e-mail sender's handle is its address, kept sealed (privacy/blind.py): rules still match it.
        Identity.external_id_sealed,
    )
    .outerjoin(Identity, Identity.id == Message.author_identity_id)
    .where(Message.id.in_(IDS))
)
# Conversation tags (0, conversation id, name) and customer tags (1, contact id, name) in one statement.
Q_TAGS: CompoundSelect[tuple[Any, int, str]] = union_all(
    select(literal_column("0"), ConversationTag.conversation_id, Tag.name)
    .join(Tag, Tag.id == ConversationTag.tag_id)
    .where(ConversationTag.conversation_id.in_(IDS)),
    select(literal_column("1"), ContactTag.contact_id, Tag.name)
    .join(Tag, Tag.id == ContactTag.tag_id)
    .where(ContactTag.contact_id.in_(bindparam("contacts", expanding=True))),
)
_SLA_TIMELINE = (
    select(TimelineEntry.conversation_id, TimelineEntry.at, TimelineEntry.kind, TimelineEntry.details)
    .where(TimelineEntry.kind.in_(SLA_TIMELINE_KINDS))
    .order_by(TimelineEntry.at, TimelineEntry.id)
)


@dataclass(frozen=True)
class ByIds:
    """A pre-built statement over some ids in two shapes: ``IN (:ids)`` for a batch and ``= :id`` for
    a single conversation (a webhook's message), run as a ``Prepared`` statement."""

    many: Select[*tuple[Any, ...]]
    one: Prepared

    @classmethod
    def of(cls, statement: Select[*tuple[Any, ...]], column: InstrumentedAttribute[int]) -> ByIds:
        return cls(many=statement.where(column.in_(IDS)), one=Prepared(statement.where(column == ONE)))

    def execute(self, connection: Connection, ids: list[int]) -> Iterable[Any]:
        if len(ids) == 1:
            return self.one.execute(connection, {"id": ids[0]})
        return connection.execute(self.many, {"ids": ids})


Q_CONVERSATIONS = ByIds.of(_CONVERSATIONS, Conversation.id)
Q_HISTORY = ByIds.of(_HISTORY, Message.conversation_id)
Q_SLA_TIMELINE = ByIds.of(_SLA_TIMELINE, TimelineEntry.conversation_id)
Q_NEGATIVE = (
    select(func.count())
    .select_from(Message)
    .join(Conversation, Conversation.id == Message.conversation_id)
    .where(
        Conversation.brand_id == bindparam("brand"),
        Message.direction == "in",
        Message.sentiment == "negative",
        Message.created_at > bindparam("since"),
        Message.created_at <= bindparam("until"),
    )
)
# The tags a batch adds, by name, with the batch's conversations that already carry them.
Q_TAG_IDS = (
    select(Tag.name, Tag.id, ConversationTag.conversation_id)
    .outerjoin(
        ConversationTag, and_(ConversationTag.tag_id == Tag.id, ConversationTag.conversation_id.in_(IDS))
    )
    .where(Tag.organization_id == ORG, Tag.name.in_(bindparam("names", expanding=True)))
)


def _tag_link(slots: int) -> Prepared:
    """Link a conversation (:cid) to those of the organisation's tags named :n0 .. :n<slots - 1> that
    exist and that it does not carry yet (unused name slots bound to NULL, which names no tag)."""
    return Prepared(
        insert(table_of(ConversationTag)).from_select(
            ["conversation_id", "tag_id"],
            select(bindparam("cid", type_=Integer), Tag.id).where(
                Tag.organization_id == ORG,
                Tag.name.in_([bindparam(f"n{i}", type_=String) for i in range(slots)]),
                ~exists().where(
                    ConversationTag.conversation_id == bindparam("cid", type_=Integer),
                    ConversationTag.tag_id == Tag.id,
                ),
            ),
        )
    )


# One statement per size, each compiled once (an expanding IN list is rendered again on every call).
TAG_SLOTS = (4, 8, 16, 32)
_TAG_LINKS = {slots: _tag_link(slots) for slots in TAG_SLOTS}


@dataclass
class Loaded:
    """What ``Q_CONVERSATIONS`` read for a batch."""

    convs: dict[int, Conv] = field(default_factory=dict)
    states: dict[int, dict[str, Any]] = field(default_factory=dict)  # of those routing has seen
    open_surveys: set[int] = field(default_factory=set)
    tagged: set[int] = field(default_factory=set)  # the conversation or its customer has tags
    sla_timeline: set[int] = field(default_factory=set)  # has status or SLA policy timeline entries
    owners: dict[int, tuple[int, datetime]] = field(default_factory=dict)  # sticky owner, answered at
    details: dict[int, Any] = field(default_factory=dict)  # latest customer message's, if not routed

    def update(self, other: Loaded) -> None:
        self.convs.update(other.convs)
        self.states.update(other.states)
        for name in ("open_surveys", "tagged", "sla_timeline"):
            ids: set[int] = getattr(self, name)
            ids.difference_update(other.convs)
            ids.update(getattr(other, name))
        for name in ("owners", "details"):
            by_id: dict[int, Any] = getattr(self, name)
            for cid in other.convs:
                by_id.pop(cid, None)
            by_id.update(getattr(other, name))


N_CONVERSATION = len(CONVERSATION_COLUMNS)
N_DETAILS = len(DETAIL_COLUMNS)


def _load_conversations(connection: Connection, ids: list[int]) -> Loaded:
    loaded = Loaded()
    n = N_CONVERSATION
    rows: Iterable[Any] = Q_CONVERSATIONS.execute(connection, ids)
    for row in rows:
        cid = row[0]
        loaded.convs[cid] = Conv(*row[:n])
        open_survey, tagged, sla_timeline, owner, answered_at = row[n : n + 5]
        if open_survey:
            loaded.open_surveys.add(cid)
        if tagged:
            loaded.tagged.add(cid)
        if sla_timeline:
            loaded.sla_timeline.add(cid)
        if owner is not None and answered_at is not None:
            loaded.owners[cid] = (owner, answered_at)
        detail = row[n + 5 : n + 5 + N_DETAILS]
        if detail[0] is not None:
            loaded.details[cid] = detail
        state = row[n + 5 + N_DETAILS :]
        if state[0] is not None:
            loaded.states[cid] = dict(zip(STATE_NAMES, state, strict=True))
    return loaded


def _new_state(conv: Conv) -> dict[str, Any]:
    return {
        "conversation_id": conv.id,
        "routed_at": None,
        "routed_message_id": None,
        "explanation": "",
        "routing": {},
        "priority_override": None,
        "requires_approval": False,
        "approval_team_id": None,
        "status_seen": conv.status,
        "snoozed_until": None,
        "reserved_for_id": None,
        "reserved_until": None,
        "auto_replied_at": None,
        "policy_key": "default",
        "sla": {},
        "sla_level": "none",
        "first_response_due_at": None,
        "next_response_due_at": None,
        "resolution_due_at": None,
        "next_due_at": None,
        "next_check_at": None,
        "announced": [],
        "linked_conversation_id": None,
    }


def _load_history(connection: Connection, ids: list[int]) -> tuple[dict[int, list[MessageRow]], set[int]]:
    """The conversations' messages in time order, and the ids of those that answered a survey."""
    history: dict[int, list[MessageRow]] = defaultdict(list)
    answers: set[int] = set()
    for conversation_id, message_id, direction, created_at, automatic, delivery, answer in Q_HISTORY.execute(
        connection, ids
    ):
        history[conversation_id].append((message_id, direction, created_at, automatic, delivery))
        if answer:
            answers.add(message_id)
    return history, answers


def _latest_inbound(rows: list[MessageRow]) -> MessageRow | None:
    inbound = [row for row in rows if row[1] == "in"]
    return max(inbound, key=lambda row: (row[2], row[0])) if inbound else None


# Up to this many conversations a batch reads agents' presence and load only for the teams its
# decisions look at; a larger one reads the whole organisation's with one statement.
FEW_CONVERSATIONS = 4


def do_route_conversations(
    session: Session, *, conversation_ids: Iterable[int], now: datetime | None = None
) -> int:
    """Route (or, for follow-ups, re-check the owner of) each conversation; returns how many were
    routed for the first time."""
    ids = sorted(set(conversation_ids))
    if not ids:
        return 0
    now = now or utcnow()
    session.flush()
    # Pre-built Core statements on the session's connection (same transaction): no ORM in the way.
    connection = session.connection()
    loaded = _load_conversations(connection, ids)
    convs, states = loaded.convs, loaded.states
    ids = list(convs)
    if not ids:
        return 0
    history, answers = _load_history(connection, ids)
    latest = {cid: _latest_inbound(history.get(cid, [])) for cid in ids}
    pending = [
        cid
        for cid in ids
        if latest[cid] is not None
        and (
            cid not in states
            or states[cid]["routed_message_id"] is None
            or latest[cid][0] > states[cid]["routed_message_id"]  # type: ignore[index]
        )
    ]
    answered, touched = _survey_answers(
        session, [cid for cid in pending if cid in loaded.open_surveys], latest
    )
    if touched:  # the ORM read (and may have changed or created) these rows: read them again
        session.flush()
        loaded.update(_load_conversations(connection, sorted(touched)))
        answers |= _load_history(connection, sorted(touched))[1]
    to_route = [cid for cid in pending if cid not in answered]
    new_states = {cid for cid in ids if cid not in states}
    for cid in new_states:
        states[cid] = _new_state(convs[cid])
    writes = Writes()
    orgs: dict[int, OrgBatch] = {}
    for organization_id in sorted({conv.organization_id for conv in convs.values()}):
        orgs[organization_id] = _org_batch(
            session, connection, organization_id, everyone=len(ids) > FEW_CONVERSATIONS
        )
    routed = 0
    if to_route:
        routed = _route(
            session, connection, [convs[cid] for cid in to_route], loaded, latest, orgs, writes, now
        )
    _sla(connection, loaded, history, answers, orgs, writes, now)
    _write(session, connection, convs, states, new_states, orgs, writes)
    return routed


def _survey_answers(
    session: Session, open_surveys: list[int], latest: dict[int, MessageRow | None]
) -> tuple[set[int], set[int]]:
    """Customer messages that answer an open satisfaction survey are recorded, not routed (rare: the
    ORM for the few conversations with an open survey and a new message). Returns the conversations
    whose message was an answer, and those the ORM touched."""
    if not open_surveys:
        return set(), set()
    from tilsvar.actions.csat import take_survey_answer
    from tilsvar.actions.sla import workflow_state

    answered: set[int] = set()
    for cid in sorted(open_surveys):
        row = latest.get(cid)
        conversation = session.get(Conversation, cid)
        message = session.get(Message, row[0]) if row is not None else None
        if conversation is None or message is None:
            continue
        state = workflow_state(session, conversation)
        if take_survey_answer(session, conversation=conversation, state=state, message=message):
            state.routed_message_id = message.id
            answered.add(cid)
    return answered, set(open_surveys)


def _org_batch(session: Session, connection: Connection, organization_id: int, *, everyone: bool) -> OrgBatch:
    """The cached configuration and roster plus what moves all the time: presence, open load (read
    as decisions need them, ``LiveAgents``) and team cursors."""
    version, roster_version = (0, ""), 0
    cursor_of: dict[int, int | None] = {}
    for kind, first, second, updated_at in Q_VERSIONS_CURSORS.execute(connection, {"org": organization_id}):
        if int(kind) == 0:
            version, roster_version = (
                (int(first), updated_at.isoformat() if updated_at else ""),
                int(second or 0),
            )
        else:
            cursor_of[first] = second
    config, roster = _roster(session, organization_id, version, roster_version)
    agents = LiveAgents(roster, connection, organization_id, everyone=everyone)
    cursors: dict[Ref, Ref] = {}
    cursor_rows: set[int] = set()
    for team_id, cursor in cursor_of.items():
        if team_id in roster.team_slug:
            cursor_rows.add(team_id)
            if cursor is not None:
                cursors[roster.team_slug[team_id]] = cursor
    return OrgBatch(config=config, roster=roster, agents=agents, cursors=cursors, cursor_rows=cursor_rows)


def _route(
    session: Session,
    connection: Connection,
    convs: list[Conv],
    loaded: Loaded,
    latest: dict[int, MessageRow | None],
    orgs: dict[int, OrgBatch],
    writes: Writes,
    now: datetime,
) -> int:
    """Decide team, agent and the rules' actions for each conversation with a new customer message."""
    # Labels, tags and customer tags only matter to rules, which see a conversation's first message;
    # follow-ups only re-check the owner.
    states = loaded.states
    first = [conv for conv in convs if states[conv.id]["routed_at"] is None]
    details: dict[int, Any] = {}  # by message id
    missing: list[int] = []
    for conv in first:
        message = latest[conv.id]
        detail = loaded.details.get(conv.id)
        if message is None:
            continue
        if detail is not None and detail[0] == message[0]:
            details[message[0]] = detail
        else:  # (a message arrived between the two statements: read the one the history ends with)
            missing.append(message[0])
    if missing:
        details.update((row[0], row) for row in connection.execute(Q_DETAILS, {"ids": missing}))
    tags: dict[int, set[str]] = defaultdict(set)
    customer_tags: dict[int, set[str]] = defaultdict(set)
    tagged = [conv for conv in first if conv.id in loaded.tagged]
    if tagged:
        tagged_ids = sorted({conv.contact_id for conv in tagged if conv.contact_id is not None})
        for source, key, name in connection.execute(
            Q_TAGS, {"ids": [conv.id for conv in tagged], "contacts": tagged_ids}
        ):
            (customer_tags if int(source) else tags)[key].add(name)
    routed = 0
    for conv in convs:
        message = latest[conv.id]
        assert message is not None
        batch = orgs[conv.organization_id]
        owner, handled_at = loaded.owners.get(conv.id, (None, None))
        routed += _route_one(
            session,
            conv,
            states[conv.id],
            message,
            details.get(message[0]),
            frozenset(tags.get(conv.id, ())),
            frozenset(customer_tags.get(conv.contact_id, ())) if conv.contact_id is not None else frozenset(),
            (owner, handled_at),
            batch.config.auto_reply.get(conv.channel_id),
            batch,
            writes,
            now,
        )
    return routed


def _timeline(
    writes: Writes,
    conv: Conv,
    *,
    kind: str,
    summary: str,
    actor: str = "system",
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    writes.timeline.append(
        {
            "conversation_id": conv.id,
            "at": at or utcnow(),
            "kind": kind,
            "actor_user_id": None,
            "actor": actor,
            "summary": summary[:1000],
            "details": details or {},
        }
    )
    writes.events.append(
        WorkflowChanged(
            organization_id=conv.organization_id,
            brand_id=conv.brand_id,
            conversation_id=conv.id,
            kind=kind,
            summary=summary[:300],
        )
    )


def _notify(
    writes: Writes, batch: OrgBatch, conv: Conv, user_ids: Iterable[int], kind: str, text: str
) -> None:
    created = utcnow()
    for user_id in batch.agents.active_among(user_ids):
        writes.notifications.append(
            {
                "user_id": user_id,
                "kind": kind,
                "conversation_id": conv.id,
                "text": text[:1000],
                "created_at": created,
                "read_at": None,
            }
        )
        writes.events.append(
            NotificationCreated(
                organization_id=conv.organization_id,
                brand_id=conv.brand_id,
                conversation_id=conv.id,
                user_id=user_id,
                kind=kind,
                text=text[:300],
            )
        )


def _route_one(
    session: Session,
    conv: Conv,
    state: dict[str, Any],
    message: MessageRow,
    detail: Any,
    tags: frozenset[str],
    customer_tags: frozenset[str],
    previous: tuple[int | None, datetime | None],
    auto_reply: tuple[bool, str] | None,
    batch: OrgBatch,
    writes: Writes,
    now: datetime,
) -> int:
    roster = batch.roster
    message_id, _, received_at, _, _ = message
    if state["status_seen"] in REOPENING and conv.status == "open":
        _timeline(
            writes,
            conv,
            kind="status",
            summary=f"Reopened by the customer's message (was {state['status_seen']})",
            actor="customer",
            details={"from": state["status_seen"], "to": "open", "by": "customer"},
            at=received_at,
        )
        state["snoozed_until"] = None
    state["status_seen"] = conv.status
    key = channel_key(conv.platform)
    owner, handled_at = previous
    current_team = roster.team_slug.get(conv.team_id) if conv.team_id else None
    first = state["routed_at"] is None
    routing: RoutingDecision | None = None
    if first:
        context = _context(conv, message, detail, tags, customer_tags, batch, session)
        plan = plan_routing(
            roster.workflow,
            context,
            agents=batch.agents,
            channel_key=key,
            state=ConversationState(
                current_team=current_team,
                current_assignee=conv.assignee_id,
                previous_owner=owner,
                previous_handled_at=handled_at,
                round_robin_cursors=batch.cursors,
            ),
        )
        decision = plan.assignment
        routing = plan.routing
        explanation = plan.explain()
    else:
        decision = assign(
            AssignmentRequest(
                channel=key,
                arrived_at=received_at,
                now=now,
                current_team=current_team,
                current_assignee=conv.assignee_id,
                language=conv.language,
                topic=conv.intent,
                previous_owner=owner,
                previous_handled_at=handled_at,
                round_robin_after=batch.cursors.get(current_team) if current_team else None,
            ),
            agents=batch.agents,
            teams=roster.workflow.teams,
            fallback_team=roster.workflow.fallback_team,
        )
        explanation = (
            state["explanation"]
            + f"\nFollow-up {received_at:%Y-%m-%d %H:%M} UTC: not routed again; "
            + decision.explain()
            + "."
        )[-8000:]
    _apply_assignment(conv, state, decision, batch, writes, first=first, key=key)
    override = state["priority_override"]
    if override in PRIORITY_RANK and PRIORITY_RANK[override] > conv.priority_rank:
        conv.priority, conv.priority_rank, conv.changed = override, PRIORITY_RANK[override], True
    if routing is not None:
        _apply_routing(session, conv, state, routing, batch, writes, message_id, detail)
        batch.routed[conv.id] = [match.rule_id for match in routing.matches]
    state["explanation"] = explanation
    if routing is not None:
        state["routing"] = _routing_json(routing, decision)
    state["routed_at"] = state["routed_at"] or now
    state["routed_message_id"] = message_id
    _out_of_hours_reply(conv, state, auto_reply, batch, writes, now)
    writes.events.append(
        ConversationUpdated(
            organization_id=conv.organization_id,
            brand_id=conv.brand_id,
            conversation_id=conv.id,
            fields=["team_id", "assignee_id", "routing"],
        )
    )
    return 1 if first else 0


def _context(
    conv: Conv,
    message: MessageRow,
    detail: Any,
    tags: frozenset[str],
    customer_tags: frozenset[str],
    batch: OrgBatch,
    session: Session,
) -> MessageContext:
    _, _, received_at, _, _ = message
    text, kind, language, intent, sentiment, score, priority, handle = (
        (detail[1], detail[2], detail[3], detail[4], detail[5], detail[6], detail[7], detail[9] or detail[10])
        if detail is not None
        else ("", None, None, None, None, None, None, None)
    )
    negative = 0
    if batch.config.needs_negative_count:
        negative = int(
            session.connection()
            .execute(
                Q_NEGATIVE,
                {"brand": conv.brand_id, "since": received_at - timedelta(hours=1), "until": received_at},
            )
            .scalar()
            or 0
        )
    calendar_id = batch.config.channel_calendar.get(conv.channel_id)
    return MessageContext(
        received_at=received_at,
        text=text or "",
        brand=conv.brand_id,
        brand_slug=conv.brand_slug,
        channel=conv.channel_id,
        channel_account=conv.account,
        platform=conv.platform,
        kind=kind,
        language=language or conv.language,
        intent=intent or conv.intent,
        sentiment=sentiment or conv.sentiment,
        sentiment_score=score,
        priority=priority or conv.priority,
        tags=tags,
        contact=conv.contact_id,
        handle=handle or None,
        customer_tags=customer_tags,
        negative_last_hour=negative,
        calendar=batch.config.calendars.get(calendar_id) if calendar_id is not None else None,
    )


def _apply_assignment(
    conv: Conv,
    state: dict[str, Any],
    decision: AssignmentDecision,
    batch: OrgBatch,
    writes: Writes,
    *,
    first: bool,
    key: str,
) -> None:
    roster = batch.roster
    team_id = roster.team_id_by_ref.get(decision.team)
    if team_id is None:  # the engine always names a team; the fallback exists
        team_id = roster.team_id_by_ref[roster.workflow.fallback_team]
    agent_id = roster.user_by_ref.get(decision.agent) if decision.agent is not None else None
    state["reserved_for_id"] = (
        roster.user_by_ref.get(decision.reserved_for) if decision.reserved_for else None
    )
    state["reserved_until"] = decision.reserved_until
    if decision.round_robin_cursor is not None:
        batch.cursor_writes[team_id] = roster.user_by_ref.get(decision.round_robin_cursor)
        team_slug = roster.team_slug.get(team_id)
        if team_slug is not None:
            batch.cursors[team_slug] = decision.round_robin_cursor
    if team_id == conv.team_id and agent_id == conv.assignee_id:
        return
    before_agent = conv.assignee_id
    conv.team_id, conv.assignee_id, conv.updated_at, conv.changed = team_id, agent_id, utcnow(), True
    if agent_id is not None:
        _count_load(batch, agent_id, key)
    chosen = batch.agents.get(agent_id) if agent_id is not None else None
    who = chosen.name if chosen is not None else None
    team_name = roster.team_slug.get(team_id, str(team_id))
    summary = f"Assigned to {who} in team {team_name}" if who else f"In the queue of team {team_name}"
    _timeline(
        writes,
        conv,
        kind="assigned",
        summary=f"{summary} ({decision.reason})",
        actor="routing",
        details={"team_id": team_id, "assignee_id": agent_id, "reason": decision.reason, "first": first},
    )
    if agent_id is not None and agent_id != before_agent:
        _notify(
            writes,
            batch,
            conv,
            [agent_id],
            "assigned",
            f"A conversation was assigned to you ({decision.reason})",
        )


def _count_load(batch: OrgBatch, agent_id: int, platform_key: str) -> None:
    """Keep the batch's snapshot honest: the agent now has one more open conversation."""
    batch.agents.count(agent_id, platform_key)


def _apply_routing(
    session: Session,
    conv: Conv,
    state: dict[str, Any],
    routing: RoutingDecision,
    batch: OrgBatch,
    writes: Writes,
    message_id: int,
    detail: Any,
) -> None:
    roster = batch.roster
    if routing.priority is not None and PRIORITY_RANK[routing.priority] != conv.priority_rank:
        state["priority_override"] = routing.priority
        conv.priority, conv.priority_rank, conv.changed = (
            routing.priority,
            PRIORITY_RANK[routing.priority],
            True,
        )
    if routing.tags:
        writes.tags.setdefault(conv.id, set()).update(routing.tags)
    if routing.flags and not conv.flagged:
        conv.flagged, conv.changed = True, True
    kind, moderation_state = (detail[2], detail[8]) if detail is not None else (None, "")
    if routing.hide and kind in MODERATED_KINDS and not moderation_state:
        writes.hide.append(message_id)
    if routing.escalation is not None:
        team_id = roster.team_id_by_ref.get(routing.escalation.team)
        text = (
            f"Escalated to team {routing.escalation.team}: {routing.escalation.reason or 'by a routing rule'}"
        )
        _timeline(writes, conv, kind="escalated", summary=text, actor="routing")
        if team_id is not None:
            _notify(writes, batch, conv, roster.members.get(team_id, ()), "escalated", text)
    if routing.require_approval:
        state["requires_approval"] = True
        state["approval_team_id"] = (
            roster.team_id_by_ref.get(routing.approval_team) if routing.approval_team is not None else None
        )
    if routing.auto_reply is not None:
        text = _canned_text(session, conv.id, str(routing.auto_reply))
        if text:
            writes.auto_replies.append((conv.id, text))
            state["auto_replied_at"] = utcnow()
    if routing.matches:
        _timeline(
            writes,
            conv,
            kind="routed",
            summary="; ".join(f"rule {match.rule_id!r}" for match in routing.matches)[:1000],
            actor="routing",
            details={"rules": [match.rule_id for match in routing.matches]},
        )


def _canned_text(session: Session, conversation_id: int, shortcut: str) -> str:
    from tilsvar.actions.canned import find_canned, render_canned

    conversation = session.get_one(Conversation, conversation_id)
    canned = find_canned(session, conversation=conversation, shortcut=shortcut)
    return render_canned(session, canned=canned, conversation=conversation, agent=None) if canned else ""


def _out_of_hours_reply(
    conv: Conv,
    state: dict[str, Any],
    settings: tuple[bool, str] | None,
    batch: OrgBatch,
    writes: Writes,
    now: datetime,
) -> None:
    """Outside staffed hours, tell the customer when the team will answer (once per waiting spell)."""
    if settings is None or not settings[0] or conv.waiting_since is None:
        return
    calendar_id = batch.config.channel_calendar.get(conv.channel_id)
    calendar = batch.config.calendars.get(calendar_id) if calendar_id is not None else None
    if calendar is None or calendar.is_open(now):
        return
    replied = state["auto_replied_at"]
    if replied is not None and replied >= conv.waiting_since:
        return
    opens = calendar.local(calendar.next_opening(now))
    template = settings[1] or (
        "Thank you for your message. Our team is away right now and will answer from {opens_at}."
    )
    writes.auto_replies.append((conv.id, template.replace("{opens_at}", opens.strftime("%A %d %B %H:%M"))))
    state["auto_replied_at"] = now
    _timeline(
        writes,
        conv,
        kind="auto_reply",
        summary=f"Out-of-hours auto-reply sent (team opens {opens:%Y-%m-%d %H:%M} local time)",
        actor="routing",
    )


def _routing_json(routing: RoutingDecision, decision: AssignmentDecision) -> dict[str, Any]:
    return {
        "team": decision.team,
        "agent": decision.agent,
        "reason": decision.reason,
        "priority": routing.priority,
        "tags": list(routing.tags),
        "flags": list(routing.flags),
        "hide": routing.hide,
        "escalation": routing.escalation.team if routing.escalation else None,
        "auto_reply": routing.auto_reply,
        "require_approval": routing.require_approval,
        "rules": [match.rule_id for match in routing.matches],
    }


# SLA clocks of the whole batch ------------------------------------------------------------------------


def _sla(
    connection: Connection,
    loaded: Loaded,
    history: dict[int, list[MessageRow]],
    answers: set[int],
    orgs: dict[int, OrgBatch],
    writes: Writes,
    now: datetime,
) -> None:
    """Recompute every conversation's clocks from its history (``actions.sla.plan_sla``)."""
    convs, states = loaded.convs, loaded.states
    timeline: dict[int, list[TimelineRow]] = defaultdict(list)
    if loaded.sla_timeline:
        for cid, at, kind, details in Q_SLA_TIMELINE.execute(connection, sorted(loaded.sla_timeline)):
            timeline[cid].append((at, kind, details or {}))
    for cid, conv in convs.items():
        batch = orgs[conv.organization_id]
        state = states[cid]
        first_policy, events = events_from_rows(
            history.get(cid, []), answers, timeline.get(cid, []), batch.config
        )
        outcome = plan_sla(
            conversation=conv,
            policy_key=state["policy_key"],
            announced=state["announced"],
            next_check_at=state["next_check_at"],
            config=batch.config,
            first_policy=first_policy,
            events=events,
            now=now,
        )
        state.update(outcome.values)
        _sla_news(conv, outcome, batch, writes, now)


def _sla_news(conv: Conv, outcome: SlaOutcome, batch: OrgBatch, writes: Writes, now: datetime) -> None:
    for kind, summary, details in outcome.timeline:
        _timeline(
            writes,
            conv,
            kind=kind,
            summary=summary,
            details=details,
            at=now if kind == "sla_policy" else None,
        )
    if outcome.alerts:
        people = (
            [conv.assignee_id]
            if conv.assignee_id is not None
            else list(batch.roster.members.get(conv.team_id, ()))
            if conv.team_id is not None
            else []
        )
        for level, metric, due, text in outcome.alerts:
            writes.events.append(
                SlaAlert(
                    organization_id=conv.organization_id,
                    brand_id=conv.brand_id,
                    conversation_id=conv.id,
                    metric=metric,
                    level=level,
                    due_at=due.isoformat() if due else None,
                )
            )
            _notify(writes, batch, conv, people, f"sla_{level}", text)
    if outcome.check_at is not None:
        writes.jobs.append(
            _job("sla.check", {"conversation_id": conv.id}, outcome.check_at + timedelta(seconds=1))
        )


def _job(kind: str, payload: dict[str, Any], run_at: datetime) -> dict[str, Any]:
    from tilsvar.settings import get_settings

    created = utcnow()
    return {
        "queue": "workflow",
        "kind": kind,
        "payload": payload,
        "status": "queued",
        "attempts": 0,
        "max_attempts": get_settings().job_max_attempts,
        "run_at": run_at,
        "locked_by": "",
        "locked_until": None,
        "last_error": "",
        "created_at": created,
        "finished_at": None,
    }


# writing the batch ------------------------------------------------------------------------------------


CONVERSATION_TABLE = table_of(Conversation)
STATE_UPDATE = Prepared(
    update(STATE_TABLE)
    .where(STATE_TABLE.c.conversation_id == bindparam("b_conversation_id"))
    .values(
        {
            column.name: bindparam("b_" + column.name)
            for column in STATE_TABLE.c
            if column.name != "conversation_id"
        }
    )
)
CONVERSATION_UPDATE = Prepared(
    update(CONVERSATION_TABLE)
    .where(CONVERSATION_TABLE.c.id == bindparam("b_id"))
    .values(
        {
            name: bindparam("b_" + name)
            for name in ("team_id", "assignee_id", "priority", "priority_rank", "flagged", "updated_at")
        }
    )
)
CURSOR_UPDATE = Prepared(
    update(table_of(TeamWorkflow))
    .where(table_of(TeamWorkflow).c.team_id == bindparam("b_team_id"))
    .values(round_robin_cursor=bindparam("b_cursor"))
)


def _write(
    session: Session,
    connection: Connection,
    convs: dict[int, Conv],
    states: dict[int, dict[str, Any]],
    new_states: set[int],
    orgs: dict[int, OrgBatch],
    writes: Writes,
) -> None:
    changed = [conv for conv in convs.values() if conv.changed]
    if changed:
        CONVERSATION_UPDATE.execute(
            connection,
            [
                {
                    "b_id": conv.id,
                    "b_team_id": conv.team_id,
                    "b_assignee_id": conv.assignee_id,
                    "b_priority": conv.priority,
                    "b_priority_rank": conv.priority_rank,
                    "b_flagged": conv.flagged,
                    "b_updated_at": conv.updated_at,
                }
                for conv in changed
            ],
        )
    bulk_insert(session, STATE_TABLE, [states[cid] for cid in sorted(new_states)])
    existing = [states[cid] for cid in convs if cid not in new_states]
    if existing:
        STATE_UPDATE.execute(
            connection, [{"b_" + name: value for name, value in row.items()} for row in existing]
        )
    bulk_insert(session, table_of(TimelineEntry), writes.timeline)
    bulk_insert(session, table_of(Notification), writes.notifications)
    if writes.jobs:
        bulk_insert(session, table_of(Job), writes.jobs)
        from tilsvar.db import on_commit

        on_commit(session, wakeup.set)
    _write_tags(session, connection, convs, writes.tags)
    for batch in orgs.values():
        updates = [
            (team_id, cursor)
            for team_id, cursor in batch.cursor_writes.items()
            if team_id in batch.cursor_rows
        ]
        if updates:
            CURSOR_UPDATE.execute(
                connection, [{"b_team_id": team_id, "b_cursor": cursor} for team_id, cursor in updates]
            )
        bulk_insert(
            session,
            table_of(TeamWorkflow),
            [
                {
                    "team_id": team_id,
                    "strategy": "round_robin",
                    "sticky_hours": 72.0,
                    "sticky_wait_minutes": 0.0,
                    "round_robin_cursor": cursor,
                }
                for team_id, cursor in batch.cursor_writes.items()
                if team_id not in batch.cursor_rows
            ],
        )
    record_events(session, writes.events)
    for organization_id, batch in orgs.items():
        if batch.routed:
            audit_row(
                session,
                action="conversation.routed",
                actor="routing",
                organization_id=organization_id,
                target_type="conversation",
                target_id=min(batch.routed) if len(batch.routed) == 1 else "",
                details={"conversations": {str(cid): rules for cid, rules in sorted(batch.routed.items())}},
            )
    # ORM objects of these rows in the caller's session are stale now: reload them on next access.
    touched = set(convs)
    team_ids = {team_id for batch in orgs.values() for team_id in batch.cursor_writes}
    for obj in list(session.identity_map.values()):
        if (
            (isinstance(obj, Conversation) and obj.id in touched)
            or (isinstance(obj, ConversationWorkflowState) and obj.conversation_id in touched)
            or (isinstance(obj, TeamWorkflow) and obj.team_id in team_ids)
        ):
            session.expire(obj)
    for message_id in writes.hide:
        request_moderation(
            session, message_id=message_id, action="hide", reason="routing rule", actor="routing"
        )
    if writes.auto_replies:
        from tilsvar.actions.automatic import queue_automatic_message

        for cid, text in writes.auto_replies:
            conversation = session.get_one(Conversation, cid)
            queue_automatic_message(session, conversation=conversation, text=text, author="auto-reply")


def _write_tags(
    session: Session, connection: Connection, convs: dict[int, Conv], wanted: dict[int, set[str]]
) -> None:
    """Tag conversations, creating the tags an organisation does not have yet (rare)."""
    if not wanted:
        return
    if len(wanted) == 1:
        # One conversation (a webhook's message): link the tags the organisation has that the
        # conversation lacks with one statement. If that linked every name, nothing is left to do;
        # otherwise a name is new to the organisation or already on the conversation: go the full way.
        ((cid, names),) = wanted.items()
        if len(names) <= TAG_SLOTS[-1]:
            slots = next(size for size in TAG_SLOTS if size >= len(names))
            params: dict[str, Any] = {"cid": cid, "org": convs[cid].organization_id}
            ordered = sorted(names)
            params.update((f"n{i}", ordered[i] if i < len(ordered) else None) for i in range(slots))
            if _TAG_LINKS[slots].changed(connection, [params]) == len(names):
                return
    by_org: dict[int, set[str]] = defaultdict(set)
    for cid, names in wanted.items():
        by_org[convs[cid].organization_id].update(names)
    tag_ids: dict[tuple[int, str], int] = {}
    present: set[tuple[int, int]] = set()
    for organization_id, names in by_org.items():
        for name, tag_id, tagged in connection.execute(
            Q_TAG_IDS, {"org": organization_id, "names": sorted(names), "ids": sorted(wanted)}
        ):
            tag_ids[(organization_id, name)] = tag_id
            if tagged is not None:
                present.add((tagged, tag_id))
        for name in sorted(names - {name for (org, name) in tag_ids if org == organization_id}):
            tag = Tag(organization_id=organization_id, name=name)
            session.add(tag)
            session.flush()
            tag_ids[(organization_id, name)] = tag.id
    rows = []
    for cid, names in sorted(wanted.items()):
        for tag_id in sorted({tag_ids[(convs[cid].organization_id, name)] for name in names}):
            if (cid, tag_id) not in present:
                rows.append({"conversation_id": cid, "tag_id": tag_id})
    bulk_insert(session, table_of(ConversationTag), rows)
