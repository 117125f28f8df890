"""The LinkedIn Community Management client: reply to a comment or post through
``/rest/socialActions/{target}/comments`` as the organisation, with the ``LinkedIn-Version`` header
from the channel config (``linkedin_version``; versions sunset, so it is not hard-coded) and the
mapping of LinkedIn's answers to ``DeliveryError``. LinkedIn has no API for DMs to Pages.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from tilsvar.channels.base import DeliveryError, OutboundReply, SendResult
from tilsvar.channels.linkedin.inbound import post_of

API_BASE = "https://api.linkedin.com"
DEFAULT_VERSION = "202610"
TIMEOUT = httpx.Timeout(15.0)


def map_error(response: httpx.Response) -> DeliveryError:
    try:
        data = response.json()
    except ValueError:
        data = {}
    message = str((data if isinstance(data, dict) else {}).get("message") or response.text[:200])
    reason = f"LinkedIn answered {response.status_code}: {message}"
    if response.status_code == 401:
        return DeliveryError(
            f"{reason} — the access token is no longer valid; reconnect the channel",
            retryable=False,
            needs_reconnect=True,
        )
    if response.status_code == 429 or response.status_code >= 500:
        return DeliveryError(f"{reason} (will retry)", retryable=True)
    return DeliveryError(reason, retryable=False)


class LinkedInConnector:
    def __init__(self, client: httpx.Client | None = None) -> None:
        self._client = client

    def send_reply(self, reply: OutboundReply) -> SendResult:
        target = reply.in_reply_to
        if not target:
            raise DeliveryError(
                "nothing to reply to: the conversation has no customer comment", retryable=False
            )
        organization = str(reply.config.get("account_id") or "")
        if not organization.startswith("urn:li:organization:"):
            raise DeliveryError("the channel has no organisation URN (config account_id)", retryable=False)
        post = post_of(target)
        body: dict[str, Any] = {
            "actor": organization,
            "object": post or target,
            "message": {"text": reply.text},
        }
        if post is not None:
            body["parentComment"] = target
        token = str(reply.credentials.get("access_token") or "")
        if not token:
            raise DeliveryError(
                "the channel has no access token; reconnect it", retryable=False, needs_reconnect=True
            )
        headers = {
            "Authorization": f"Bearer {token}",
            "LinkedIn-Version": str(reply.config.get("linkedin_version") or DEFAULT_VERSION),
            "X-Restli-Protocol-Version": "2.0.0",
        }
        base = str(reply.config.get("api_base") or API_BASE).rstrip("/")
        url = f"{base}/rest/socialActions/{quote(post or target, safe='')}/comments"
        client = self._client or httpx.Client(timeout=TIMEOUT)
        try:
            response = client.post(url, json=body, headers=headers)
        except httpx.HTTPError as error:
            raise DeliveryError(
                f"LinkedIn unreachable: {type(error).__name__}: {error}", retryable=True
            ) from error
        finally:
            if self._client is None:
                client.close()
        if response.status_code >= 400:
            raise map_error(response)
        comment_id = response.headers.get("x-restli-id") or response.headers.get("x-linkedin-id") or ""
        if not comment_id:
            try:
                data = response.json()
            except ValueError:
                data = {}
            if isinstance(data, dict):
                comment_id = str(data.get("$URN") or data.get("commentUrn") or data.get("id") or "")
        if not comment_id:
            raise DeliveryError("LinkedIn accepted the comment but returned no id", retryable=False)
        if not comment_id.startswith("urn:"):
            comment_id = f"urn:li:comment:({post or target},{comment_id})"
        return SendResult(external_id=comment_id)
