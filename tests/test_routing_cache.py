"""Routing's per-process caches (compiled rules, SLA policies, calendars and channel auto-replies
under the configuration version; teams, members and agents' profiles under the roster version) are
invalidated across processes: the API server and the worker are separate processes, and a change
saved in one must be what the other routes by on its next message. A real second process (a child
Python reading commands on stdin) routes and changes configuration against the same database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tilsvar.actions.ingest import do_ingest_messages
from tilsvar.actions.org import do_add_team_member, do_create_user
from tilsvar.actions.routing import do_route_conversations
from tilsvar.actions.workflow_config import (
    do_save_calendar,
    do_save_routing_rules,
    do_set_agent_profile,
    do_set_channel_workflow,
)
from tilsvar.channels import Author, InboundMessage
from tilsvar.db import Database
from tilsvar.models import (
    Channel,
    Conversation,
    ConversationTag,
    Message,
    Organization,
    Tag,
    Team,
    User,
    utcnow,
)

from conftest import Seeded

CHILD = r"""
import json, sys
from tilsvar.actions.routing import do_route_conversations
from tilsvar.actions.workflow_config import (
    do_save_routing_rules, do_set_agent_profile, do_set_channel_workflow
)
from tilsvar.db import get_database
from tilsvar.models import Channel, Message, User

database = get_database()
for line in sys.stdin:
    command = json.loads(line)
    with database.session() as session:
        admin = session.get_one(User, command["admin"])
        if command["op"] == "route":
            conversation_id = session.get_one(Message, command["message"]).conversation_id
            do_route_conversations(session, conversation_ids=[conversation_id])
        elif command["op"] == "rules":
            do_save_routing_rules(session, user=admin, rules=command["yaml"])
        elif command["op"] == "online":
            agent = session.get_one(User, command["agent"])
            do_set_agent_profile(session, user=admin, agent=agent, online=command["online"])
        elif command["op"] == "auto_reply":
            channel = session.get_one(Channel, command["channel"])
            do_set_channel_workflow(
                session, user=admin, channel=channel, auto_reply_enabled=True, auto_reply_text=command["text"]
            )
    print(json.dumps({"done": command["op"]}), flush=True)
"""


class Child:
    """Another Tilsvar process on the same database (like the worker beside the API server)."""

    def __init__(self, admin_id: int) -> None:
        self.admin_id = admin_id
        self.process = subprocess.Popen(
            [sys.executable, "-c", CHILD],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )

    def __call__(self, op: str, **args: Any) -> None:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(json.dumps({"op": op, "admin": self.admin_id, **args}) + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        assert json.loads(answer) == {"done": op}, f"the child process failed on {op!r}"

    def close(self) -> None:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.close()
        code = self.process.wait(timeout=60)
        self.process.stdout.close()
        assert code == 0


@pytest.fixture
def child(seeded: Seeded, database: Database) -> Iterator[Child]:
    process = Child(seeded.admin.id)
    yield process
    process.close()


def _ingest(database: Database, channel: Channel, text: str, author: str) -> int:
    """Store a customer message without routing it (the test routes it in the process it chooses)."""
    message = InboundMessage(
        platform=channel.platform,
        account=channel.account,
        external_id=f"m-{author}-{text}",
        direction="in",
        kind="comment",
        text=text,
        created_at=utcnow() - timedelta(seconds=1),
        author=Author(id=author, handle=f"@{author}", name=author),
    )
    with database.session() as session:
        return do_ingest_messages(session, messages=[message], route=False).stored[0]


def _route_here(database: Database, message_id: int) -> None:
    with database.session() as session:
        conversation_id = session.get_one(Message, message_id).conversation_id
        assert conversation_id is not None
        do_route_conversations(session, conversation_ids=[conversation_id])


def _placed(database: Database, message_id: int) -> tuple[int | None, int | None, set[str]]:
    """The routed conversation's team, assignee and tags."""
    with database.reader() as session:
        conversation = session.get_one(Conversation, session.get_one(Message, message_id).conversation_id)
        tags = session.scalars(
            select(Tag.name)
            .join(ConversationTag, ConversationTag.tag_id == Tag.id)
            .where(ConversationTag.conversation_id == conversation.id)
        )
        return conversation.team_id, conversation.assignee_id, set(tags)


def _auto_replies(database: Database, message_id: int) -> int:
    with database.reader() as session:
        conversation_id = session.get_one(Message, message_id).conversation_id
        return len(
            list(
                session.scalars(
                    select(Message.id).where(
                        Message.conversation_id == conversation_id, Message.is_automatic.is_(True)
                    )
                )
            )
        )


def _rules(team: str, tag: str) -> str:
    return f"rules:\n  - id: all\n    then: [{{assign_team: {team}}}, {{add_tag: {tag}}}]\n"


def test_a_change_saved_in_one_process_is_routed_by_in_the_other(
    seeded: Seeded, database: Database, child: Child
) -> None:
    channel = seeded.fb_channel
    with database.session() as session:
        admin = session.get_one(User, seeded.admin.id)
        org = session.get_one(Organization, seeded.org.id)
        press = session.get_one(Team, seeded.press_team.id)
        service = session.get_one(Team, seeded.service_team.id)
        do_set_agent_profile(session, user=admin, agent=session.get_one(User, seeded.agent.id), online=True)
        bo = do_create_user(session, organization=org, email="bo@nordicrail.example", role="agent", name="Bo")
        do_add_team_member(session, team=press, user=bo)
        do_set_agent_profile(session, user=admin, agent=bo, online=True)
        # Closed today and tomorrow, so a new message arrives out of hours.
        today = datetime.now(ZoneInfo("Europe/Copenhagen")).date()
        calendar = do_save_calendar(
            session,
            user=admin,
            spec={
                "name": "Closed",
                "timezone": "Europe/Copenhagen",
                "hours": {day: ["09:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")},
                "closed_dates": [str(today), str(today + timedelta(days=1))],
            },
        )
        do_set_channel_workflow(
            session, user=admin, channel=session.get_one(Channel, channel.id), calendar_id=calendar.id
        )
        do_save_routing_rules(session, user=admin, rules=_rules(service.slug, "first"))
        bo_id, service_id, press_id = bo.id, service.id, press.id

    # Both processes route once: each has the configuration and the roster cached now.
    first = _ingest(database, channel, "Hvor er mit tog?", "a")
    child("route", message=first)
    assert _placed(database, first) == (service_id, seeded.agent.id, {"first"})
    second = _ingest(database, channel, "Hvor er min cykel?", "b")
    _route_here(database, second)
    assert _placed(database, second) == (service_id, seeded.agent.id, {"first"})
    assert _auto_replies(database, second) == 0

    # Changed here (the server): new rules, a new member of press who is online, Bo offline ...
    with database.session() as session:
        admin = session.get_one(User, seeded.admin.id)
        org = session.get_one(Organization, seeded.org.id)
        press = session.get_one(Team, press_id)
        do_save_routing_rules(session, user=admin, rules=_rules(press.slug, "second"))
        cy = do_create_user(session, organization=org, email="cy@nordicrail.example", role="agent", name="Cy")
        do_add_team_member(session, team=press, user=cy)
        do_set_agent_profile(session, user=admin, agent=cy, online=True)
        do_set_agent_profile(session, user=admin, agent=session.get_one(User, bo_id), online=False)
        cy_id = cy.id
    # ... is what the other process (the worker) routes by on its next message.
    third = _ingest(database, channel, "Mit kort virker ikke", "c")
    child("route", message=third)
    assert _placed(database, third) == (press_id, cy_id, {"second"})

    # Changed there: rules back to service, Cy offline, the channel's out-of-hours auto-reply on ...
    with database.reader() as session:
        service_slug = session.get_one(Team, service_id).slug
    child("rules", yaml=_rules(service_slug, "third"))
    child("online", agent=cy_id, online=False)
    child("auto_reply", channel=channel.id, text="Vi svarer {opens_at}.")
    # ... is what this process routes by.
    fourth = _ingest(database, channel, "Er der nogen?", "d")
    _route_here(database, fourth)
    assert _placed(database, fourth) == (service_id, seeded.agent.id, {"third"})
    assert _auto_replies(database, fourth) == 1
    # and the other way round once more: a message to press finds nobody online there now.
    child("rules", yaml=_rules(seeded.press_team.slug, "fourth"))
    fifth = _ingest(database, channel, "Hallo?", "e")
    _route_here(database, fifth)
    assert _placed(database, fifth) == (press_id, None, {"fourth"})
