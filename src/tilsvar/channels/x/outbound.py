"""The X API v2 client: reply to a post, send a DM, hide a reply, and map X's answers to
``DeliveryError`` (401 → reconnect; 429 and 5xx → retry after the reset time).

Uses an OAuth 2.0 user-context access token (``access_token`` in the channel's credentials, scopes
``tweet.write dm.write``); the host is ``api.x.com`` unless the config names ``api_base``.
Facts: PROTOCOLS.md §2.6.
"""

from __future__ import annotations

from typing import Any

import httpx

from tilsvar.channels.base import DeliveryError, ModerationRequest, OutboundReply, SendResult

API_BASE = "https://api.x.com"
TIMEOUT = httpx.Timeout(15.0)


def map_error(response: httpx.Response) -> DeliveryError:
    try:
        data = response.json()
    except ValueError:
        data = {}
    data = data if isinstance(data, dict) else {}
    errors = data.get("errors") if isinstance(data.get("errors"), list) else []
    detail = str(
        data.get("detail")
        or data.get("title")
        or (errors[0].get("message") if errors and isinstance(errors[0], dict) else "")
        or response.text[:200]
    )
    reason = f"X answered {response.status_code}: {detail}"
    if response.status_code == 401:
        return DeliveryError(
            f"{reason} — the access token is no longer valid; reconnect the channel",
            retryable=False,
            needs_reconnect=True,
        )
    if response.status_code == 429:
        reset = response.headers.get("x-rate-limit-reset")
        return DeliveryError(f"{reason} (rate limited until {reset or 'later'}; will retry)", retryable=True)
    if response.status_code >= 500:
        return DeliveryError(f"{reason} (temporary; will retry)", retryable=True)
    return DeliveryError(reason, retryable=False)


class XConnector:
    def __init__(self, client: httpx.Client | None = None) -> None:
        self._client = client

    def send_reply(self, reply: OutboundReply) -> SendResult:
        if reply.kind == "dm":
            if not reply.recipient_id:
                raise DeliveryError("no recipient: the conversation has no customer message", retryable=False)
            data = self.request(
                "POST",
                f"/2/dm_conversations/with/{reply.recipient_id}/messages",
                credentials=reply.credentials,
                config=reply.config,
                json={"text": reply.text},
            )
            return SendResult(external_id=_require(dict(data.get("data") or {}), "dm_event_id"))
        if not reply.in_reply_to:
            raise DeliveryError("nothing to reply to: the conversation has no customer post", retryable=False)
        data = self.request(
            "POST",
            "/2/tweets",
            credentials=reply.credentials,
            config=reply.config,
            json={"text": reply.text, "reply": {"in_reply_to_tweet_id": reply.in_reply_to}},
        )
        return SendResult(external_id=_require(dict(data.get("data") or {}), "id"))

    def moderate(self, request: ModerationRequest) -> None:
        """Hide or unhide a reply to the brand's posts; X lets nobody delete another's post."""
        if request.action == "delete":
            raise DeliveryError(
                "X does not let a brand delete someone else's post; hide it instead", retryable=False
            )
        self.hide_reply(
            tweet_id=request.external_id,
            hidden=request.action == "hide",
            credentials=request.credentials,
            config=request.config,
        )

    def hide_reply(
        self, *, tweet_id: str, hidden: bool, credentials: dict[str, Any], config: dict[str, Any]
    ) -> bool:
        data = self.request(
            "PUT",
            f"/2/tweets/{tweet_id}/hidden",
            credentials=credentials,
            config=config,
            json={"hidden": hidden},
        )
        return bool(dict(data.get("data") or {}).get("hidden"))

    def request(
        self, method: str, path: str, *, credentials: dict[str, Any], config: dict[str, Any], **kwargs: Any
    ) -> dict[str, Any]:
        token = str(credentials.get("access_token") or "")
        if not token:
            raise DeliveryError(
                "the channel has no access token; reconnect it", retryable=False, needs_reconnect=True
            )
        base = str(config.get("api_base") or API_BASE).rstrip("/")
        client = self._client or httpx.Client(timeout=TIMEOUT)
        try:
            response = client.request(
                method, base + path, headers={"Authorization": f"Bearer {token}"}, **kwargs
            )
        except httpx.HTTPError as error:
            raise DeliveryError(f"X unreachable: {type(error).__name__}: {error}", retryable=True) from error
        finally:
            if self._client is None:
                client.close()
        if response.status_code >= 400:
            raise map_error(response)
        try:
            data = response.json()
        except ValueError as error:
            raise DeliveryError("X answered with something that is not JSON", retryable=True) from error
        return data if isinstance(data, dict) else {}


def _require(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not value:
        raise DeliveryError(f"X accepted the call but returned no {key}", retryable=False)
    return str(value)
