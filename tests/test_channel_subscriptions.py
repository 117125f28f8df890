"""Webhook subscription checks for the health panel: Meta ``GET /{page-id}/subscribed_apps`` and X
``GET /2/webhooks`` + the webhook's subscription list (respx, answers shaped like the platforms'),
stored per channel, an alert once when the app is no longer subscribed, cleared when it is again,
and shown on /admin/channels."""

from __future__ import annotations

from datetime import timedelta

import httpx
import respx
from fastapi.testclient import TestClient
from sqlalchemy import select

from tilsvar.actions.channel_admin import channel_health
from tilsvar.channels import subscriptions
from tilsvar.db import Database
from tilsvar.jobs.channel_jobs import check_subscriptions
from tilsvar.models import AuditEntry, DomainEvent, utcnow
from webhook_support import connect

from conftest import Seeded

PAGE_ID = "448242228374517"
APP_ID = "1234567890"
GRAPH = f"https://graph.facebook.com/v25.0/{PAGE_ID}/subscribed_apps"
X_USER = "2975699229"
X_HOOKS = "https://api.x.com/2/webhooks"
X_SUBS = "https://api.x.com/2/account_activity/webhooks/1146654567674912769/subscriptions/all/list"


def health(database: Database, channel_id: int) -> dict[str, object]:
    with database.reader() as session:
        return next(item.as_dict() for item in channel_health(session) if item.id == channel_id)


def test_meta_subscription_is_checked_alerted_once_and_cleared(database: Database, seeded: Seeded) -> None:
    page = connect(
        database,
        seeded.rail,
        platform="facebook",
        account="NordicRailPage",
        account_id=PAGE_ID,
        credentials={"app_secret": "s", "access_token": "page-token"},
        config={"application_id": APP_ID},
    )
    subscribed = {
        "data": [
            {
                "category": "Business",
                "link": "https://x.example",
                "name": "Tilsvar",
                "id": APP_ID,
                "subscribed_fields": ["feed", "messages"],
            }
        ]
    }
    with respx.mock() as mock:
        route = mock.get(GRAPH).mock(return_value=httpx.Response(200, json=subscribed))
        assert check_subscriptions(database) == 1
        assert route.calls[0].request.url.params["access_token"] == "page-token"
        assert "appsecret_proof" in route.calls[0].request.url.params
    state = health(database, page)
    assert state["subscription_state"] == "subscribed"
    assert state["subscription_detail"] == "fields: feed, messages"
    assert check_subscriptions(database) == 0  # not again within the hour

    later = utcnow() + timedelta(hours=2)
    with respx.mock() as mock:
        mock.get(GRAPH).mock(return_value=httpx.Response(200, json={"data": []}))
        check_subscriptions(database, now=later)
        check_subscriptions(database, now=later + timedelta(hours=2))  # still unsubscribed: no second alert
    assert health(database, page)["subscription_state"] == "not_subscribed"
    with database.reader() as session:
        audits = list(
            session.scalars(select(AuditEntry.action).where(AuditEntry.action == "channel.unsubscribed"))
        )
        statuses = [
            row.payload.get("status")
            for row in session.scalars(
                select(DomainEvent).where(DomainEvent.type == "channel.status_changed")
            )
        ]
    assert audits == ["channel.unsubscribed"]
    assert statuses == ["unsubscribed"]

    with respx.mock() as mock:
        mock.get(GRAPH).mock(return_value=httpx.Response(200, json=subscribed))
        check_subscriptions(database, now=later + timedelta(hours=5))
    assert health(database, page)["subscription_state"] == "subscribed"


def test_x_webhook_validity_and_the_accounts_subscription(database: Database, seeded: Seeded) -> None:
    channel = connect(
        database,
        seeded.rail,
        platform="x",
        account="NordicRail",
        account_id=X_USER,
        credentials={"consumer_secret": "cs", "bearer_token": "app-bearer"},
    )
    hooks = {
        "data": [
            {
                "id": "1146654567674912769",
                "url": "https://tilsvar.example/webhooks/x",
                "valid": True,
                "created_at": "2026-11-20T10:00:00.000Z",
            }
        ]
    }
    listing = {
        "data": {
            "application_id": "13090192",
            "webhook_id": "1146654567674912769",
            "webhook_url": "https://tilsvar.example/webhooks/x",
            "subscriptions": [{"user_id": X_USER}],
        }
    }
    with respx.mock() as mock:
        mock.get(X_HOOKS).mock(return_value=httpx.Response(200, json=hooks))
        subs = mock.get(X_SUBS).mock(return_value=httpx.Response(200, json=listing))
        check_subscriptions(database)
        assert subs.calls[0].request.headers["authorization"] == "Bearer app-bearer"
    assert health(database, channel)["subscription_state"] == "subscribed"

    invalid = {"data": [{**hooks["data"][0], "valid": False}]}
    with respx.mock() as mock:
        mock.get(X_HOOKS).mock(return_value=httpx.Response(200, json=invalid))
        found = subscriptions.check("x", account_id=X_USER, credentials={"bearer_token": "b"}, config={})
    assert found.state == "not_subscribed"
    assert "invalid" in found.detail
    with respx.mock() as mock:
        mock.get(X_HOOKS).mock(return_value=httpx.Response(200, json=hooks))
        mock.get(X_SUBS).mock(return_value=httpx.Response(200, json={"data": {"subscriptions": []}}))
        found = subscriptions.check("x", account_id=X_USER, credentials={"bearer_token": "b"}, config={})
    assert found.state == "not_subscribed"
    # Without a bearer token, or when X cannot be asked, the state is unknown, never "fine".
    assert subscriptions.check("x", account_id=X_USER, credentials={}, config={}).state == "unknown"
    with respx.mock() as mock:
        mock.get(X_HOOKS).mock(return_value=httpx.Response(503))
        assert (
            subscriptions.check("x", account_id=X_USER, credentials={"bearer_token": "b"}, config={}).state
            == "unknown"
        )


def test_the_health_panel_shows_the_subscription_state(
    client: TestClient, database: Database, seeded: Seeded
) -> None:
    page = connect(
        database,
        seeded.rail,
        platform="facebook",
        account="NordicRailPage",
        account_id=PAGE_ID,
        credentials={"app_secret": "s", "access_token": "page-token"},
    )
    with respx.mock() as mock:
        mock.get(GRAPH).mock(return_value=httpx.Response(200, json={"data": []}))
        check_subscriptions(database)
    assert health(database, page)["subscription_state"] == "not_subscribed"
    login = client.post(
        "/login",
        data={"email": seeded.admin.email, "password": seeded.password, "next": "/admin/channels"},
        follow_redirects=False,
    )
    assert login.status_code == 303
    answer = client.get("/admin/channels")
    assert answer.status_code == 200
    assert "Not subscribed" in answer.text
