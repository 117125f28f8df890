"""The Graph API client for Facebook Pages, Messenger and Instagram: replies, private replies,
Messenger/Instagram Direct sends inside the messaging window, hiding/unhiding and deleting comments,
and the mapping of Graph errors to ``DeliveryError`` (retry or not, reconnect or not).

Credentials (``access_token``, optional ``app_secret`` for ``appsecret_proof``) come from the channel's
encrypted credentials; ``account_id`` (page id / Instagram account id), ``graph_api_version`` and
``instagram_login`` from its config. Facts: PROTOCOLS.md §1.8-1.9.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tilsvar.channels.base import DeliveryError, ModerationRequest, OutboundReply, SendResult
from tilsvar.channels.meta.inbound import OUR_METADATA_PREFIX

DEFAULT_GRAPH_VERSION = "v25.0"
MESSAGING_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
# A Page may answer a comment privately once, within this long of the comment.
PRIVATE_REPLY_WINDOW = timedelta(days=7)
THROTTLING_CODES = frozenset({4, 17, 32, 613, 80001, 80002, 80006})
TRANSIENT_CODES = frozenset({1, 2})
TOKEN_CODES = frozenset({190, 102})
WINDOW_SUBCODE = 2018278
TIMEOUT = httpx.Timeout(15.0)


def graph_base(platform: str, config: dict[str, Any]) -> str:
    """The Graph API root with its version; ``graph_base`` in the config names another host (the
    fake platform server of the demo, a proxy)."""
    version = str(config.get("graph_api_version") or DEFAULT_GRAPH_VERSION)
    if config.get("graph_base"):
        return f"{str(config['graph_base']).rstrip('/')}/{version}"
    host = (
        "graph.instagram.com"
        if platform == "instagram" and config.get("instagram_login")
        else "graph.facebook.com"
    )
    return f"https://{host}/{version}"


def map_error(response: httpx.Response) -> DeliveryError:
    """A Graph error answer as a ``DeliveryError`` an agent can read (and the queue can act on)."""
    try:
        error = response.json().get("error") or {}
    except ValueError:
        error = {}
    if not isinstance(error, dict):
        error = {}
    code = error.get("code")
    subcode = error.get("error_subcode")
    text = str(error.get("message") or response.text[:200] or response.reason_phrase)
    reason = f"Meta error {code}" + (f"/{subcode}" if subcode else "") + f": {text}"
    if code in TOKEN_CODES or response.status_code == 401:
        return DeliveryError(
            f"{reason} — the page's access token is no longer valid; reconnect the channel",
            retryable=False,
            needs_reconnect=True,
        )
    if code == 10 and subcode == WINDOW_SUBCODE:
        return DeliveryError(
            "outside the 24-hour messaging window: the customer must write again first", retryable=False
        )
    if code in THROTTLING_CODES or response.status_code == 429:
        return DeliveryError(f"{reason} (rate limited; will retry)", retryable=True)
    if error.get("is_transient") or code in TRANSIENT_CODES or response.status_code >= 500:
        return DeliveryError(f"{reason} (temporary; will retry)", retryable=True)
    return DeliveryError(reason, retryable=False)


class MetaConnector:
    """Sends for ``facebook`` and ``instagram`` channels (one instance per platform)."""

    def __init__(self, platform: str, client: httpx.Client | None = None) -> None:
        self.platform = platform
        self._client = client

    # --- the Connector protocol ---------------------------------------------------------------

    def send_reply(self, reply: OutboundReply) -> SendResult:
        if reply.kind == "dm":
            return self.send_message(reply)
        if not reply.in_reply_to:
            raise DeliveryError(
                "nothing to reply to: the conversation has no customer comment", retryable=False
            )
        if self.platform == "instagram":
            data = self._call(reply, "POST", f"/{reply.in_reply_to}/replies", data={"message": reply.text})
        else:
            data = self._call(reply, "POST", f"/{reply.in_reply_to}/comments", data={"message": reply.text})
        return SendResult(external_id=_require_id(data, "id"))

    # --- messaging ----------------------------------------------------------------------------

    def send_message(self, reply: OutboundReply) -> SendResult:
        """A Messenger / Instagram Direct message inside the messaging window (RESPONSE), or with the
        HUMAN_AGENT tag up to 7 days when the channel has that permission (config ``human_agent``).

        A private conversation moved from a public comment, where the customer has not written
        privately yet, starts with a private reply to that comment (``extra["private_reply"]``)."""
        target = reply.extra.get("private_reply")
        if not reply.recipient_id and target:
            return self._private_reply_to(reply, dict(target))
        if not reply.recipient_id:
            raise DeliveryError("no recipient: the conversation has no customer message", retryable=False)
        body: dict[str, Any] = {
            "recipient": {"id": reply.recipient_id},
            "messaging_type": "RESPONSE",
            "message": {"text": reply.text},
        }
        if self.platform == "facebook":
            body["message"]["metadata"] = OUR_METADATA_PREFIX + reply.idempotency_key
        if reply.last_inbound_at is not None:
            age = datetime.now(UTC) - reply.last_inbound_at
            if age > MESSAGING_WINDOW:
                if reply.config.get("human_agent") and age <= HUMAN_AGENT_WINDOW:
                    body["messaging_type"] = "MESSAGE_TAG"
                    body["tag"] = "HUMAN_AGENT"
                else:
                    hours = int(age.total_seconds() // 3600)
                    raise DeliveryError(
                        f"outside the 24-hour messaging window (the customer last wrote {hours} hours ago): "
                        "Meta only lets the customer restart the conversation",
                        retryable=False,
                    )
        data = self._call(reply, "POST", f"/{self._messages_node(reply.config)}/messages", json=body)
        return SendResult(external_id=_require_id(data, "message_id"))

    def _private_reply_to(self, reply: OutboundReply, target: dict[str, Any]) -> SendResult:
        """The first message of a conversation moved to private: Meta allows one private reply per
        comment (or visitor post), within 7 days of it; it answers with the customer's PSID."""
        written = target.get("created_at")
        if isinstance(written, datetime) and datetime.now(UTC) - written > PRIVATE_REPLY_WINDOW:
            raise DeliveryError(
                "Meta allows a private reply to a comment only within 7 days of it, and this comment is "
                "older: answer it publicly, or wait for the customer to write privately",
                retryable=False,
            )
        kind = "post_id" if target.get("post_id") else "comment_id"
        message: dict[str, Any] = {"text": reply.text}
        if self.platform == "facebook":
            message["metadata"] = OUR_METADATA_PREFIX + reply.idempotency_key
        data = self._call(
            reply,
            "POST",
            f"/{self._messages_node(reply.config)}/messages",
            json={"recipient": {kind: str(target[kind])}, "message": message},
        )
        recipient = data.get("recipient_id")
        return SendResult(
            external_id=_require_id(data, "message_id"), recipient_id=str(recipient) if recipient else None
        )

    def private_reply(
        self,
        *,
        text: str,
        credentials: dict[str, Any],
        config: dict[str, Any],
        comment_id: str | None = None,
        post_id: str | None = None,
    ) -> str:
        """Answer a public comment (or a visitor post) in private: once per comment, within 7 days
        of it. Returns the message id."""
        if bool(comment_id) == bool(post_id):
            raise ValueError("give either comment_id or post_id")
        target = {"comment_id": comment_id} if comment_id else {"post_id": post_id}
        body = {"recipient": target, "message": {"text": text}}
        data = self.request(
            "POST",
            f"/{self._messages_node(config)}/messages",
            credentials=credentials,
            config=config,
            json=body,
        )
        return _require_id(data, "message_id")

    # --- moderation ---------------------------------------------------------------------------

    def moderate(self, request: ModerationRequest) -> None:
        """Hide (the default way to moderate: reversible), unhide or delete a comment."""
        if request.action == "delete":
            self.delete_comment(
                comment_id=request.external_id, credentials=request.credentials, config=request.config
            )
            return
        self.hide_comment(
            comment_id=request.external_id,
            hidden=request.action == "hide",
            credentials=request.credentials,
            config=request.config,
        )

    def hide_comment(
        self, *, comment_id: str, hidden: bool, credentials: dict[str, Any], config: dict[str, Any]
    ) -> None:
        field = "hide" if self.platform == "instagram" else "is_hidden"
        self.request(
            "POST",
            f"/{comment_id}",
            credentials=credentials,
            config=config,
            data={field: "true" if hidden else "false"},
        )

    def delete_comment(self, *, comment_id: str, credentials: dict[str, Any], config: dict[str, Any]) -> None:
        self.request("DELETE", f"/{comment_id}", credentials=credentials, config=config)

    # --- plumbing -----------------------------------------------------------------------------

    def _messages_node(self, config: dict[str, Any]) -> str:
        account_id = str(config.get("account_id") or "")
        if self.platform == "instagram" and (config.get("instagram_login") or not account_id):
            return "me"
        if not account_id:
            raise DeliveryError(
                "the channel has no page id (config account_id); reconnect it", retryable=False
            )
        return account_id

    def _call(self, reply: OutboundReply, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        return self.request(method, path, credentials=reply.credentials, config=reply.config, **kwargs)

    def request(
        self, method: str, path: str, *, credentials: dict[str, Any], config: dict[str, Any], **kwargs: Any
    ) -> dict[str, Any]:
        token = str(credentials.get("access_token") or "")
        if not token:
            raise DeliveryError(
                "the channel has no access token; reconnect it", retryable=False, needs_reconnect=True
            )
        params: dict[str, str] = {"access_token": token}
        app_secret = str(credentials.get("app_secret") or "")
        if app_secret:
            params["appsecret_proof"] = hmac.new(
                app_secret.encode(), token.encode(), hashlib.sha256
            ).hexdigest()
        client = self._client or httpx.Client(timeout=TIMEOUT)
        try:
            response = client.request(
                method, graph_base(self.platform, config) + path, params=params, **kwargs
            )
        except httpx.HTTPError as error:
            raise DeliveryError(
                f"Meta unreachable: {type(error).__name__}: {error}", retryable=True
            ) from error
        finally:
            if self._client is None:
                client.close()
        if response.status_code >= 400:
            raise map_error(response)
        try:
            data = response.json()
        except ValueError as error:
            raise DeliveryError("Meta answered with something that is not JSON", retryable=True) from error
        return data if isinstance(data, dict) else {}


def _require_id(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not value:
        raise DeliveryError(f"Meta accepted the call but returned no {key}", retryable=False)
    return str(value)
