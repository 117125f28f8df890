"""Is the platform still sending us webhooks? Ask it: Meta keeps a Page's (or Instagram account's)
app installations at ``GET /{page-id}/subscribed_apps`` (it unsubscribes an app whose endpoint kept
failing for an hour); X lists the app's webhooks with ``GET /2/webhooks`` (``valid`` false after a
failed CRC) and a webhook's subscribed users with ``GET /2/account_activity/webhooks/{id}/
subscriptions/all/list``. Pure: credentials and config in, a state out; the health job stores it.

States: ``subscribed``, ``not_subscribed`` (the platform says so: re-subscribe) and ``unknown``
(the question could not be asked: no token, network, an endpoint our access level lacks).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import httpx

from tilsvar.channels.base import DeliveryError
from tilsvar.channels.meta.outbound import MetaConnector
from tilsvar.channels.x.outbound import API_BASE as X_API_BASE

TIMEOUT = httpx.Timeout(15.0)
State = Literal["subscribed", "not_subscribed", "unknown"]


@dataclass(frozen=True, slots=True)
class SubscriptionState:
    state: State
    detail: str = ""


def check(
    platform: str,
    *,
    account_id: str,
    credentials: dict[str, Any],
    config: dict[str, Any],
    client: httpx.Client | None = None,
) -> SubscriptionState:
    """The webhook subscription state of one channel (``unknown`` for platforms without a check)."""
    try:
        if platform in {"facebook", "instagram"}:
            return _meta(platform, account_id, credentials, config, client)
        if platform == "x":
            return _x(account_id, credentials, config, client)
    except DeliveryError as error:
        return SubscriptionState("unknown", error.reason[:300])
    return SubscriptionState("unknown", f"{platform} has no subscription check")


def _meta(
    platform: str,
    account_id: str,
    credentials: dict[str, Any],
    config: dict[str, Any],
    client: httpx.Client | None,
) -> SubscriptionState:
    if platform == "instagram" and config.get("instagram_login"):
        path = "/me/subscribed_apps"
    elif platform == "instagram":
        page_id = str(config.get("page_id") or "")
        if not page_id:
            return SubscriptionState(
                "unknown", "set page_id (the Facebook Page linked to the account) to check"
            )
        path = f"/{page_id}/subscribed_apps"
    else:
        path = f"/{account_id}/subscribed_apps"
    data = MetaConnector(platform, client=client).request("GET", path, credentials=credentials, config=config)
    apps = [app for app in data.get("data") or [] if isinstance(app, dict)]
    application_id = str(config.get("application_id") or "")
    ours = [app for app in apps if not application_id or str(app.get("id")) == application_id]
    if not ours:
        return SubscriptionState("not_subscribed", "the app is not subscribed to this account's webhooks")
    fields = sorted({str(field) for app in ours for field in app.get("subscribed_fields") or []})
    return SubscriptionState("subscribed", "fields: " + ", ".join(fields) if fields else "")


def _x(
    account_id: str, credentials: dict[str, Any], config: dict[str, Any], client: httpx.Client | None
) -> SubscriptionState:
    token = str(credentials.get("bearer_token") or "")
    if not token:
        return SubscriptionState("unknown", "add the app's bearer_token to check the webhook")
    base = str(config.get("api_base") or X_API_BASE).rstrip("/")
    http = client or httpx.Client(timeout=TIMEOUT)
    try:
        webhooks = _get(http, f"{base}/2/webhooks", token).get("data") or []
        wanted_url = str(config.get("webhook_url") or "")
        hooks = [
            hook
            for hook in webhooks
            if isinstance(hook, dict) and (not wanted_url or str(hook.get("url")) == wanted_url)
        ]
        if not hooks:
            return SubscriptionState("not_subscribed", "no webhook is registered for the app")
        valid = [hook for hook in hooks if hook.get("valid")]
        if not valid:
            return SubscriptionState(
                "not_subscribed", "the webhook is marked invalid (failed CRC): re-validate it"
            )
        hook_id = str(valid[0].get("id") or "")
        try:
            listing = _get(
                http, f"{base}/2/account_activity/webhooks/{hook_id}/subscriptions/all/list", token
            )
        except DeliveryError as error:
            return SubscriptionState(
                "unknown", f"webhook valid; subscriptions not readable: {error.reason[:200]}"
            )
        subscriptions = dict(listing.get("data") or {}).get("subscriptions") or []
        users = {str(item.get("user_id")) for item in subscriptions if isinstance(item, dict)}
        if account_id in users:
            return SubscriptionState("subscribed", f"webhook {hook_id} valid, account subscribed")
        return SubscriptionState(
            "not_subscribed", f"webhook {hook_id} valid, but this account is not subscribed"
        )
    finally:
        if client is None:
            http.close()


def _get(http: httpx.Client, url: str, token: str) -> dict[str, Any]:
    try:
        response = http.get(url, headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as error:
        raise DeliveryError(f"X unreachable: {type(error).__name__}", retryable=True) from error
    if response.status_code >= 400:
        raise DeliveryError(f"X answered {response.status_code}: {response.text[:200]}", retryable=True)
    try:
        data = response.json()
    except ValueError as error:
        raise DeliveryError("X answered with something that is not JSON", retryable=True) from error
    return data if isinstance(data, dict) else {}
