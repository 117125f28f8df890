"""Every route of the app, for every role: allowed or denied, as the table below says.

The routes are enumerated from the application itself, so a route added without an expectation here
fails ``test_every_route_has_an_expectation``. For each route and each of the seven roles the test
makes a real request (an API token for ``/api``, a signed-in session with its CSRF token for pages)
and checks that allowed roles get past authorization (not 401/403, and not 404 on their own brand's
objects) and the others get 403 (or the web's 403/404 page). Routes that take a brand-scoped object
are also asked for the *other* brand's object, which must be a 404 for every role (each test user
works on the *rail* brand only). Anonymous requests are refused on every non-public route.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from fastapi.routing import APIRoute, _IncludedRouter
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute, Mount, Route

from tilsvar.actions.org import do_create_api_token, do_create_user
from tilsvar.actions.search import do_create_saved_search
from tilsvar.app import create_app
from tilsvar.db import Database
from tilsvar.jobs.queue import enqueue
from tilsvar.models import Job, User, WebSession, utcnow
from tilsvar.models.org import ROLES
from tilsvar.passwords import token_hash
from tilsvar.settings import Settings

from conftest import PASSWORD, IngestFn, Seeded

ALL = frozenset(ROLES)
REPLY = frozenset({"admin", "supervisor", "agent", "press", "marketing"})
MODERATE = REPLY
ADMINS = frozenset({"admin"})
LEADS = frozenset({"admin", "supervisor"})  # jobs, audit, workflow configuration, ingest
REPORT = frozenset({"admin", "supervisor", "analyst"})
PUBLIC = "public"


@dataclass(frozen=True)
class Expect:
    """Who may call a route; ``scoped``: its path object belongs to a brand (other brand → 404)."""

    allowed: frozenset[str] | str
    scoped: bool = False
    form: dict[str, str] = field(default_factory=dict)
    json: dict[str, Any] | None = None
    query: dict[str, str] = field(default_factory=dict)
    stream: bool = False


E = Expect
# (method, path) -> expectation. Public routes are listed explicitly.
EXPECTATIONS: dict[tuple[str, str], Expect] = {
    # public
    ("GET", "/healthz"): E(PUBLIC),
    ("GET", "/openapi.json"): E(PUBLIC),
    ("GET", "/docs"): E(PUBLIC),
    ("GET", "/"): E(PUBLIC),
    ("GET", "/login"): E(PUBLIC),
    ("POST", "/login"): E(PUBLIC, form={"email": "nobody@example.org", "password": "wrong-password"}),
    ("GET", "/login/oidc"): E(PUBLIC),  # single sign-on (404 unless configured)
    ("GET", "/login/oidc/callback"): E(PUBLIC),
    ("GET", "/webhooks/meta"): E(PUBLIC),
    ("POST", "/webhooks/meta"): E(PUBLIC),
    ("GET", "/webhooks/x"): E(PUBLIC, query={"crc_token": "abc"}),
    ("POST", "/webhooks/x"): E(PUBLIC),
    ("GET", "/webhooks/linkedin"): E(PUBLIC, query={"challengeCode": "abc"}),
    ("POST", "/webhooks/linkedin"): E(PUBLIC),
    # JSON API: the inbox, replies, moderation, ingest, jobs, reports
    ("GET", "/api/v1/me"): E(ALL),
    ("GET", "/api/v1/conversations"): E(ALL),
    ("GET", "/api/v1/conversations/{conversation_id}"): E(ALL, scoped=True),
    ("POST", "/api/v1/conversations/{conversation_id}/replies"): E(REPLY, scoped=True),
    ("POST", "/api/v1/messages/{message_id}/retry"): E(REPLY, scoped=True),
    ("POST", "/api/v1/messages/{message_id}/moderation"): E(
        MODERATE, scoped=True, json={"action": "hide", "reason": "abuse"}
    ),
    ("POST", "/api/v1/messages/{message_id}/clear-flag"): E(MODERATE, scoped=True),
    ("POST", "/api/v1/inbound"): E(
        LEADS, json={"account": "rail-app", "author": {"id": "c9"}, "text": "hello", "external_id": "x1"}
    ),
    ("GET", "/api/v1/jobs"): E(LEADS),
    ("POST", "/api/v1/jobs/{job_id}/retry"): E(LEADS),
    ("GET", "/api/v1/reports/kpis"): E(REPORT, query={"from": "2026-01-01", "to": "2026-01-31"}),
    # search
    ("GET", "/api/v1/search"): E(ALL, query={"q": "tog"}),
    ("GET", "/api/v1/saved-searches"): E(ALL),
    ("POST", "/api/v1/saved-searches"): E(ALL, json={"name": "delays", "query": "tog"}),
    ("DELETE", "/api/v1/saved-searches/{saved_search_id}"): E(ALL),
    # account security, users, audit
    ("GET", "/api/v1/tokens"): E(ALL),
    ("POST", "/api/v1/tokens"): E(ALL, json={"name": "ci", "scopes": ["read"]}),
    ("DELETE", "/api/v1/tokens/{token_id}"): E(ALL),
    ("GET", "/api/v1/me/sessions"): E(ALL),
    ("DELETE", "/api/v1/me/sessions/{session_id}"): E(ALL),
    ("DELETE", "/api/v1/me/sessions"): E(ALL),
    ("GET", "/api/v1/users"): E(ADMINS),
    ("PATCH", "/api/v1/users/{user_id}"): E(ADMINS, json={"role": "agent"}),
    ("POST", "/api/v1/users/{user_id}/unlock"): E(ADMINS),
    ("DELETE", "/api/v1/users/{user_id}/two-factor"): E(ADMINS),
    ("PUT", "/api/v1/organization/security"): E(ADMINS, json={"require_two_factor": False}),
    ("GET", "/api/v1/audit"): E(LEADS),
    ("GET", "/api/v1/audit/verify"): E(LEADS),
    # workflow (routing rules, SLA, calendars, teams, drafts, canned responses, contacts, CSAT)
    ("GET", "/api/v1/workflow/rules"): E(ALL),
    ("GET", "/api/v1/workflow/rules.yaml"): E(ALL),
    ("PUT", "/api/v1/workflow/rules"): E(LEADS),
    ("GET", "/api/v1/workflow/sla-policies"): E(ALL),
    ("PUT", "/api/v1/workflow/sla-policies"): E(LEADS),
    ("GET", "/api/v1/workflow/calendars"): E(ALL),
    ("POST", "/api/v1/workflow/calendars"): E(LEADS),
    ("PUT", "/api/v1/workflow/calendars/{calendar_id}"): E(LEADS),
    ("GET", "/api/v1/channels/{channel_id}/workflow"): E(ALL, scoped=True),
    ("PUT", "/api/v1/channels/{channel_id}/workflow"): E(LEADS, scoped=True),
    ("GET", "/api/v1/teams"): E(ALL),
    ("PUT", "/api/v1/teams/{team_id}/workflow"): E(LEADS),
    ("PUT", "/api/v1/agents/{user_id}/profile"): E(LEADS),
    ("POST", "/api/v1/teams/{team_id}/members"): E(LEADS, json={"user_id": 1}),
    ("DELETE", "/api/v1/teams/{team_id}/members/{user_id}"): E(LEADS),
    ("GET", "/workflow/teams"): E(LEADS),
    ("POST", "/workflow/teams/{team_id}"): E(LEADS, form={"strategy": "round_robin"}),
    ("POST", "/workflow/teams/{team_id}/members"): E(LEADS, form={"user_id": "1"}),
    ("POST", "/workflow/teams/{team_id}/members/remove"): E(LEADS, form={"user_id": "1"}),
    ("POST", "/workflow/agents/{user_id}"): E(LEADS, form={"languages": "da"}),
    ("POST", "/workflow/channels/{channel_id}"): E(LEADS, scoped=True, form={"csat_mode": "message"}),
    ("GET", "/workflow/canned"): E(ALL),
    ("POST", "/workflow/canned/new"): E(REPLY, form={"shortcut": "hi", "text": "Hej"}),
    ("POST", "/workflow/canned/{canned_id}/delete"): E(REPLY),
    ("POST", "/api/v1/me/presence"): E(REPLY),
    ("GET", "/api/v1/me/profile"): E(ALL),
    ("GET", "/api/v1/conversations/{conversation_id}/workflow"): E(ALL, scoped=True),
    ("POST", "/api/v1/conversations/{conversation_id}/status"): E(REPLY, scoped=True),
    ("POST", "/api/v1/conversations/{conversation_id}/assign"): E(REPLY, scoped=True),
    ("POST", "/api/v1/conversations/{conversation_id}/handover"): E(REPLY, scoped=True),
    ("POST", "/api/v1/conversations/{conversation_id}/notes"): E(REPLY, scoped=True),
    ("POST", "/api/v1/conversations/{conversation_id}/drafts"): E(REPLY, scoped=True),
    ("GET", "/api/v1/drafts"): E(ALL),
    ("POST", "/api/v1/drafts/{draft_id}/approve"): E(REPLY),
    ("POST", "/api/v1/drafts/{draft_id}/reject"): E(REPLY),
    ("POST", "/api/v1/conversations/{conversation_id}/presence"): E(ALL, scoped=True),
    ("POST", "/api/v1/conversations/{conversation_id}/move-to-private"): E(REPLY, scoped=True),
    ("GET", "/api/v1/canned-responses"): E(ALL),
    ("POST", "/api/v1/canned-responses"): E(REPLY),
    ("DELETE", "/api/v1/canned-responses/{canned_id}"): E(REPLY),
    ("GET", "/api/v1/conversations/{conversation_id}/canned-responses"): E(ALL, scoped=True),
    ("POST", "/api/v1/replies/bulk"): E(REPLY),
    ("GET", "/api/v1/contacts/{contact_id}"): E(ALL),
    ("POST", "/api/v1/contacts/{contact_id}/tags"): E(REPLY, json={"add": ["vip"]}),
    ("POST", "/api/v1/contacts/merges"): E(REPLY),
    ("POST", "/api/v1/contacts/merges/{merge_id}/undo"): E(REPLY),
    ("GET", "/api/v1/notifications"): E(ALL),
    ("POST", "/api/v1/notifications/read"): E(ALL),
    ("GET", "/api/v1/csat"): E(REPORT),
    # web chat widget and the customer-facing CSAT survey and wall-screen kiosk: public, by key/token
    ("GET", "/widget/{public_key}.js"): E(PUBLIC),
    ("GET", "/files/{attachment_id}/{token}"): E(PUBLIC),  # the token is the permission (reply files)
    ("OPTIONS", "/api/widget/{public_key}/messages"): E(PUBLIC),
    ("GET", "/api/widget/{public_key}/messages"): E(PUBLIC),
    ("POST", "/api/widget/{public_key}/messages"): E(PUBLIC),
    ("OPTIONS", "/api/widget/{public_key}/faq"): E(PUBLIC),
    ("GET", "/api/widget/{public_key}/faq"): E(PUBLIC),
    ("OPTIONS", "/api/widget/{public_key}/faq/{article_id}/open"): E(PUBLIC),
    ("POST", "/api/widget/{public_key}/faq/{article_id}/open"): E(PUBLIC),
    ("GET", "/csat/{token}"): E(PUBLIC),
    ("POST", "/csat/{token}"): E(PUBLIC),
    ("GET", "/wall/{token}"): E(PUBLIC),
    ("GET", "/wall/{token}/data"): E(PUBLIC),
    ("GET", "/wall/{token}/events"): E(PUBLIC),
    # reports and analytics
    ("GET", "/api/v1/dashboard"): E(REPORT),
    ("GET", "/api/v1/reports/weekly"): E(REPORT, query={"from": "2026-01-01", "to": "2026-01-07"}),
    ("GET", "/api/v1/exports/conversations"): E(REPORT, query={"from": "2026-01-01", "to": "2026-01-07"}),
    # privacy: data-subject requests (docs/privacy.md)
    ("GET", "/api/v1/privacy/export"): E(LEADS, query={"platform": "x", "author_id": "nobody"}),
    ("POST", "/api/v1/privacy/erase"): E(
        LEADS, json={"platform": "x", "author_id": "nobody", "confirm": "nobody"}
    ),
    ("GET", "/api/v1/privacy/deletions"): E(LEADS),
    ("POST", "/api/v1/privacy/conversations/{conversation_id}/reveal"): E(
        frozenset({"admin", "supervisor", "agent", "press"}), scoped=True, json={"reason": "call back"}
    ),
    ("GET", "/api/v1/privacy/conversations/{conversation_id}/reveal"): E(
        frozenset({"admin", "supervisor", "agent", "press"}), scoped=True
    ),
    ("GET", "/api/v1/privacy/reveal-requests"): E(LEADS),
    ("POST", "/api/v1/privacy/reveal-requests/{request_id}/{decision}"): E(LEADS),
    ("GET", "/api/v1/privacy/retention/policies"): E(LEADS),
    ("POST", "/api/v1/privacy/retention/policies"): E(LEADS, json={"target": "conversations", "days": 3650}),
    ("DELETE", "/api/v1/privacy/retention/policies/{policy_id}"): E(LEADS),
    ("GET", "/api/v1/privacy/retention/policies/{policy_id}/preview"): E(LEADS),
    ("POST", "/api/v1/privacy/retention/policies/{policy_id}/run"): E(LEADS),
    ("GET", "/api/v1/privacy/legal-holds"): E(LEADS),
    ("POST", "/api/v1/privacy/legal-holds"): E(LEADS, json={"reason": "none given"}),
    ("DELETE", "/api/v1/privacy/legal-holds/{hold_id}"): E(LEADS),
    ("GET", "/api/v1/wall-screens"): E(LEADS),
    ("POST", "/api/v1/wall-screens"): E(LEADS),
    ("DELETE", "/api/v1/wall-screens/{wall_id}"): E(LEADS),
    ("GET", "/api/v1/report-schedules"): E(LEADS),
    ("POST", "/api/v1/report-schedules"): E(LEADS),
    ("POST", "/api/v1/report-schedules/{schedule_id}/send"): E(LEADS),
    ("DELETE", "/api/v1/report-schedules/{schedule_id}"): E(LEADS),
    ("GET", "/dashboard"): E(REPORT),
    ("GET", "/dashboard/conversations"): E(REPORT),
    ("GET", "/admin/analytics"): E(LEADS),
    ("POST", "/admin/analytics/wall-screens"): E(LEADS, form={"name": "Lobby", "brand_id": "{brand_id}"}),
    ("POST", "/admin/analytics/wall-screens/{wall_id}/revoke"): E(LEADS),
    # workflow pages
    ("GET", "/conversations/{conversation_id}/workflow"): E(ALL, scoped=True),
    ("POST", "/conversations/{conversation_id}/status"): E(REPLY, scoped=True, form={"status": "open"}),
    ("POST", "/conversations/{conversation_id}/assign"): E(REPLY, scoped=True),
    ("POST", "/conversations/{conversation_id}/notes"): E(REPLY, scoped=True, form={"text": "note"}),
    ("POST", "/conversations/{conversation_id}/customer-tags"): E(REPLY, scoped=True, form={"add": "vip"}),
    ("POST", "/conversations/{conversation_id}/contact-merge"): E(
        REPLY, scoped=True, form={"source_contact_id": "999999"}
    ),
    ("POST", "/conversations/{conversation_id}/move-to-private"): E(REPLY, scoped=True),
    ("POST", "/conversations/{conversation_id}/typing"): E(ALL, scoped=True),
    ("GET", "/conversations/{conversation_id}/reply-box"): E(ALL, scoped=True),
    ("GET", "/conversations/{conversation_id}/faq"): E(ALL, scoped=True),
    ("POST", "/conversations/{conversation_id}/faq/inserted"): E(REPLY, scoped=True),
    ("POST", "/conversations/{conversation_id}/draft"): E(REPLY, scoped=True, form={"text": "draft"}),
    ("GET", "/workflow"): E(ALL),
    ("POST", "/workflow/{what}"): E(LEADS),
    ("GET", "/approvals"): E(ALL),
    ("POST", "/approvals/{draft_id}"): E(REPLY, form={"decision": "approve"}),
    ("GET", "/notifications"): E(ALL),
    ("POST", "/notifications/read"): E(ALL),
    # web pages
    ("POST", "/logout"): E(ALL),
    ("GET", "/inbox"): E(ALL),
    ("GET", "/inbox/rows"): E(ALL),
    ("GET", "/inbox/counts"): E(ALL),
    ("POST", "/inbox/bulk"): E(REPLY, form={"action": "resolve"}),
    ("GET", "/conversations/{conversation_id}"): E(ALL, scoped=True),
    ("GET", "/conversations/{conversation_id}/thread"): E(ALL, scoped=True),
    ("POST", "/conversations/{conversation_id}/reply"): E(REPLY, scoped=True, form={"text": "Hej!"}),
    ("POST", "/messages/{message_id}/retry"): E(REPLY, scoped=True),
    ("GET", "/attachments/{attachment_id}"): E(ALL),  # brand isolation: tests/test_reply_attachments.py
    ("POST", "/messages/{message_id}/moderation"): E(
        MODERATE, scoped=True, form={"action": "hide", "reason": "abuse"}
    ),
    ("POST", "/messages/{message_id}/clear-flag"): E(MODERATE, scoped=True),
    ("GET", "/admin/jobs"): E(LEADS),
    ("POST", "/admin/jobs/{job_id}/retry"): E(LEADS),
    ("GET", "/admin/audit"): E(LEADS),
    ("POST", "/conversations/{conversation_id}/reveal"): E(
        frozenset({"admin", "supervisor", "agent", "press"}), scoped=True, form={"reason": "call back"}
    ),
    ("GET", "/admin/privacy"): E(LEADS),
    ("GET", "/admin/privacy/export"): E(LEADS, query={"platform": "x", "author_id": "nobody"}),
    ("POST", "/admin/privacy/erase"): E(
        LEADS, form={"platform": "x", "author_id": "nobody", "confirm": "nobody"}
    ),
    ("POST", "/admin/privacy/reveal-requests/{request_id}/{decision}"): E(LEADS),
    ("POST", "/admin/privacy/policies"): E(LEADS, form={"target": "conversations", "days": "3650"}),
    ("POST", "/admin/privacy/policies/{policy_id}/run"): E(LEADS),
    ("POST", "/admin/privacy/holds"): E(LEADS, form={"conversation_id": "999999", "reason": "court"}),
    ("POST", "/admin/privacy/holds/{hold_id}/release"): E(LEADS),
    ("GET", "/events"): E(ALL, stream=True),
    ("GET", "/search"): E(ALL, query={"q": "tog"}),
    ("POST", "/search/saved"): E(ALL, form={"name": "delays", "q": "tog"}),
    ("GET", "/views/{saved_search_id}"): E(ALL),
    ("GET", "/views/{saved_search_id}/rows"): E(ALL),
    ("POST", "/views/{saved_search_id}/delete"): E(ALL),
    ("GET", "/login/two-factor"): E(ALL),
    ("POST", "/login/two-factor"): E(ALL, form={"code": "000000"}),
    ("GET", "/account"): E(ALL),
    ("POST", "/account/sessions/{session_id}/revoke"): E(ALL),
    ("POST", "/account/sessions/revoke-others"): E(ALL),
    ("POST", "/account/language"): E(ALL, form={"language": "da"}),
    ("POST", "/account/tokens"): E(ALL, form={"name": "ci", "scopes": "read"}),
    ("POST", "/account/tokens/{token_id}/revoke"): E(ALL),
    ("GET", "/account/two-factor"): E(ALL),
    ("POST", "/account/two-factor/start"): E(ALL),
    ("POST", "/account/two-factor/confirm"): E(ALL, form={"code": "000000"}),
    ("POST", "/account/two-factor/disable"): E(ALL, form={"password": PASSWORD}),
    # knowledge base (FAQ): agents read and suggest; leads edit; the widget's endpoints are public
    ("GET", "/api/v1/faq/articles"): E(ALL),
    ("POST", "/api/v1/faq/articles"): E(LEADS),
    ("GET", "/api/v1/faq/articles/{article_id}"): E(ALL),
    ("PUT", "/api/v1/faq/articles/{article_id}"): E(LEADS),
    ("DELETE", "/api/v1/faq/articles/{article_id}"): E(LEADS),
    ("GET", "/api/v1/faq/suggest"): E(ALL, query={"q": "refusion"}),
    ("POST", "/api/v1/faq/events"): E(ALL),
    ("GET", "/api/v1/faq/proposals"): E(ALL),
    ("POST", "/api/v1/faq/proposals/run"): E(LEADS),
    ("POST", "/api/v1/faq/proposals/{proposal_id}/{decision}"): E(LEADS),
    ("GET", "/api/v1/faq/stats"): E(REPORT),
    ("GET", "/api/v1/public/faq/suggest"): E(PUBLIC, query={"org": "nordic", "brand": "rail", "q": "tog"}),
    ("GET", "/api/v1/public/faq/articles/{article_id}"): E(PUBLIC, query={"org": "nordic", "brand": "rail"}),
    ("POST", "/api/v1/public/faq/opened"): E(PUBLIC),
    ("GET", "/faq"): E(ALL),
    ("GET", "/faq/new"): E(LEADS),
    ("GET", "/faq/{article_id}/edit"): E(LEADS),
    ("POST", "/faq/save"): E(LEADS),
    ("POST", "/faq/proposals/{proposal_id}/{decision}"): E(LEADS),
    # chorus and shitstorm alerts, insights
    ("GET", "/api/v1/trends"): E(ALL),
    ("GET", "/api/v1/trends/{alert_id}"): E(ALL),
    ("POST", "/api/v1/trends/{alert_id}/incident"): E(REPLY),
    ("POST", "/api/v1/trends/{alert_id}/reply"): E(REPLY),
    ("POST", "/api/v1/trends/{alert_id}/escalate"): E(REPLY),
    ("GET", "/api/v1/insights/topics"): E(REPORT, query={"from": "2026-01-01", "to": "2026-01-07"}),
    # social listening (monitors and their mention stream)
    ("GET", "/api/v1/listening/monitors"): E(ALL),
    ("POST", "/api/v1/listening/monitors"): E(LEADS, json={"channel_id": 1, "name": "m", "query": "tog"}),
    ("PATCH", "/api/v1/listening/monitors/{monitor_id}"): E(LEADS, json={"active": False}),
    ("GET", "/api/v1/listening/mentions"): E(ALL),
    ("POST", "/api/v1/listening/mentions/{mention_id}/convert"): E(REPLY),
    ("POST", "/api/v1/listening/mentions/{mention_id}/dismiss"): E(REPLY),
    ("GET", "/listening"): E(ALL),
    ("POST", "/listening/monitors"): E(
        LEADS, form={"channel_id": "{channel_id}", "name": "m", "query": "tog"}
    ),
    ("POST", "/listening/monitors/{monitor_id}/toggle"): E(LEADS),
    ("POST", "/listening/mentions/{mention_id}/convert"): E(REPLY),
    ("POST", "/listening/mentions/{mention_id}/dismiss"): E(REPLY),
    ("GET", "/trends"): E(ALL),
    ("GET", "/trends/{alert_id}"): E(ALL),
    ("POST", "/trends/{alert_id}/action"): E(REPLY),
    # channel administration (admins; two-factor where the organisation requires it)
    ("GET", "/admin/channels"): E(ADMINS),
    ("POST", "/admin/channels"): E(
        ADMINS, form={"platform": "api", "account": "matrix-app", "brand_id": "{brand_id}"}
    ),
    ("POST", "/admin/channels/{channel_id}"): E(ADMINS),
    ("POST", "/admin/channels/{channel_id}/remove"): E(ADMINS),
}


def app_routes(routes: list[BaseRoute] | None = None) -> list[tuple[str, str]]:
    """(method, path) of every route the application serves (HEAD aside), static files excepted."""
    found: list[tuple[str, str]] = []
    if routes is None:
        app = create_app(Settings(database_url="sqlite:///:memory:"))
        routes = list(app.routes)
    for route in routes:
        if isinstance(route, _IncludedRouter):
            for context in route.effective_route_contexts():
                found += [
                    (method, context.path) for method in sorted(context.methods or []) if method != "HEAD"
                ]
        elif isinstance(route, APIRoute | Route):
            found += [(method, route.path) for method in sorted(route.methods or []) if method != "HEAD"]
        elif isinstance(route, Mount) and route.path != "/static":
            raise AssertionError(f"unexpected mount {route.path}")
    return found


ROUTES = app_routes()


def test_every_route_has_an_expectation() -> None:
    missing = [route for route in ROUTES if route not in EXPECTATIONS]
    assert missing == [], f"add these routes to EXPECTATIONS in {__file__}: {missing}"


# ---------------------------------------------------------------------------------------------------


@dataclass
class Caller:
    role: str
    user: User
    token: str
    cookie: str
    csrf: str
    session_id: int
    spare_token_id: int
    saved_search_id: int


@dataclass
class World:
    callers: dict[str, Caller]
    own: dict[str, int]
    other: dict[str, int]


def _web_session(database: Database, user: User) -> tuple[str, str, int]:
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with database.session() as session:
        row = WebSession(
            user_id=user.id,
            token_hash=token_hash(cookie),
            csrf_token=csrf,
            expires_at=utcnow() + timedelta(hours=1),
            last_seen_at=utcnow(),
        )
        session.add(row)
        session.flush()
        return cookie, csrf, row.id


def build_world(database: Database, seeded: Seeded, ingest: IngestFn) -> World:
    rail_message = ingest(seeded.fb_channel, "Toget er forsinket", external_id="own1")
    market_message = ingest(seeded.market_channel, "Har I åbent?", external_id="other1", author_id="c2")
    callers: dict[str, Caller] = {}
    with database.session() as session:
        victim = do_create_user(
            session,
            organization=seeded.org,
            email="victim@nordicrail.example",
            role="agent",
            password=PASSWORD,
        )
        victim_id = victim.id
        from tilsvar.models import Brand, Message

        rail = session.get(Brand, seeded.rail.id)
        assert rail is not None
        rail_msg = session.get(Message, rail_message)
        market_msg = session.get(Message, market_message)
        assert rail_msg is not None
        assert market_msg is not None
        job = enqueue(session, queue="outbound", kind="noop", payload={})
        session.flush()
        job_id = job.id if isinstance(job, Job) else 1
        users: dict[str, tuple[User, str, int, int]] = {}
        for role in ROLES:
            user = do_create_user(
                session,
                organization=seeded.org,
                email=f"matrix-{role}@nordicrail.example",
                role=role,
                password=PASSWORD,
                brands=[rail],
            )
            token = do_create_api_token(session, user=user, name="matrix")
            do_create_api_token(session, user=user, name="spare")
            session.flush()
            from sqlalchemy import select

            from tilsvar.models import ApiToken

            spare = session.scalar(
                select(ApiToken.id).where(ApiToken.user_id == user.id, ApiToken.name == "spare")
            )
            saved = do_create_saved_search(session, user=user, name="mine", query="tog")
            session.flush()
            assert spare is not None
            users[role] = (user, token, spare, saved.id)
        own = {
            "conversation_id": rail_msg.conversation_id,
            "message_id": rail_message,
            "channel_id": seeded.fb_channel.id,
            "team_id": seeded.service_team.id,
            "user_id": victim_id,
            "job_id": job_id,
            "brand_id": seeded.rail.id,
        }
        other = {
            "conversation_id": market_msg.conversation_id,
            "message_id": market_message,
            "channel_id": seeded.market_channel.id,
        }
    for role, (user, token, spare, saved_id) in users.items():
        cookie, csrf, session_id = _web_session(database, user)
        callers[role] = Caller(role, user, token, cookie, csrf, session_id, spare, saved_id)
    return World(callers=callers, own=own, other=other)


def _path(path: str, world: World, caller: Caller | None, *, other: bool = False) -> str:
    values: dict[str, int] = {**world.own}
    if caller is not None:
        values.update(
            token_id=caller.spare_token_id,
            session_id=caller.session_id,
            saved_search_id=caller.saved_search_id,
        )
    if other:
        values.update(world.other)
    for name in ("calendar_id", "draft_id", "canned_id", "contact_id", "merge_id", "wall_id", "schedule_id"):
        values.setdefault(name, 999_999)  # objects this test does not make: authorization comes first
    words = {"public_key": "no-such-key", "token": "no-such-token", "what": "rules", "decision": "approve"}
    return path.format(**{name: values.get(name, words.get(name, 1)) for name in _params(path)})


def _params(path: str) -> list[str]:
    return re.findall(r"\{([a-z_]+)\}", path)


def _minimal(schema: dict[str, Any], spec: dict[str, Any]) -> Any:
    """A small valid value for a JSON schema (required fields only)."""
    if "$ref" in schema:
        name = schema["$ref"].split("/")[-1]
        return _minimal(spec["components"]["schemas"][name], spec)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [option for option in schema[key] if option.get("type") != "null"]
            return _minimal(options[0], spec)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    kind = schema.get("type")
    if kind == "object":
        return {name: _minimal(schema["properties"][name], spec) for name in schema.get("required", [])}
    if kind == "array":
        return [_minimal(schema.get("items", {}), spec) for _ in range(schema.get("minItems", 0))]
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return False
    if schema.get("format") == "date-time":
        return "2026-01-01T12:00:00+00:00"
    return "x" * max(1, schema.get("minLength", 1))


def _json_body(client: TestClient, method: str, path: str, expect: Expect) -> dict[str, Any] | None:
    if expect.json is not None:
        return expect.json
    spec = client.app.openapi()  # type: ignore[attr-defined]
    operation = spec["paths"].get(path, {}).get(method.lower(), {})
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return None
    body = _minimal(content["schema"], spec)
    return body if isinstance(body, dict) else None


def call(
    client: TestClient, method: str, path: str, world: World, caller: Caller | None, *, other: bool = False
) -> int:
    expect = EXPECTATIONS[(method, path)]
    url = _path(path, world, caller, other=other)
    client.cookies.clear()
    headers: dict[str, str] = {}
    if path.startswith("/api/"):
        if caller is not None:
            headers["Authorization"] = f"Bearer {caller.token}"
        body = _json_body(client, method, path, expect)
        response = client.request(method, url, headers=headers, params=expect.query, json=body)
        return response.status_code
    if caller is not None:
        client.cookies.set("tilsvar_session", caller.cookie)
        headers["X-CSRF-Token"] = caller.csrf
    if expect.stream:
        with client.stream(method, url, headers=headers, params=expect.query) as response:
            return response.status_code
    data = {name: value.format(**world.own) for name, value in expect.form.items()} or None
    response = client.request(
        method, url, headers=headers, params=expect.query, data=data, follow_redirects=False
    )
    return response.status_code


Check = Callable[[int], bool]


@pytest.fixture
def world(database: Database, seeded: Seeded, ingest: IngestFn) -> World:
    return build_world(database, seeded, ingest)


@pytest.fixture
def matrix_client(settings: Settings, database: Database) -> TestClient:
    app = create_app(settings, database)
    app.state.start_worker = False
    return TestClient(app)


@pytest.mark.parametrize(("method", "path"), [route for route in ROUTES if route in EXPECTATIONS])
def test_route_for_every_role(
    method: str, path: str, world: World, matrix_client: TestClient, settings: Settings
) -> None:
    expect = EXPECTATIONS[(method, path)]
    problems: list[str] = []
    with matrix_client as client:
        if expect.allowed == PUBLIC:
            status = call(client, method, path, world, None)
            if status >= 500 or (status == 401 and path != "/login"):
                problems.append(f"anonymous got {status} on a public route")
        elif expect.stream:
            problems += _check_stream(client, path, world)
        else:
            status = call(client, method, path, world, None)
            if not (status == 401 or (status == 303 and not path.startswith("/api/"))):
                problems.append(f"anonymous got {status}")
            for role in ROLES:
                caller = world.callers[role]
                status = call(client, method, path, world, caller)
                if status >= 500:
                    problems.append(f"{role}: server error {status}")
                elif role in expect.allowed:
                    if status in (401, 403) or (status == 404 and expect.scoped):
                        problems.append(f"{role} should be allowed, got {status}")
                elif status not in (403, 404):
                    problems.append(f"{role} should be refused, got {status}")
                if expect.scoped and role in expect.allowed:
                    status = call(client, method, path, world, caller, other=True)
                    if status != 404:
                        problems.append(f"{role}: another brand's object should be 404, got {status}")
    assert problems == [], f"{method} {path}: {problems}"


def _check_stream(client: TestClient, path: str, world: World) -> list[str]:
    """The live stream never ends on its own: only who gets a stream is checked, not its content."""
    problems: list[str] = []
    response = client.get(path, headers={"HX-Request": "true"})
    if response.status_code != 401:
        problems.append(f"anonymous got {response.status_code}")
    return problems


def test_matrix_size() -> None:
    """The figure for the issue's closing note: routes × roles checked."""
    checked = [route for route in ROUTES if route in EXPECTATIONS]
    print(f"authorization matrix: {len(checked)} routes x {len(ROLES)} roles = {len(checked) * len(ROLES)}")
    assert len(checked) >= 60
