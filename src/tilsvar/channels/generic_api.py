"""The generic API channel: customers' messages are posted to our API by another system; replies are
POSTed to that system's callback URL (HMAC-signed), or, without one, left for it to fetch."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx

from tilsvar.channels.base import DeliveryError, OutboundReply, SendResult

SIGNATURE_HEADER = "X-Tilsvar-Signature-256"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class GenericApiConnector:
    def __init__(self, client: httpx.Client | None = None) -> None:
        self._client = client

    def send_reply(self, reply: OutboundReply) -> SendResult:
        callback_url = reply.config.get("callback_url")
        if not callback_url:
            # Nobody to push to: the reply is delivered when the other system reads the conversation.
            return SendResult(external_id=f"api-{reply.idempotency_key}")
        body = json.dumps(
            {
                "account": reply.account,
                "thread_id": reply.thread_key,
                "in_reply_to": reply.in_reply_to,
                "recipient_id": reply.recipient_id,
                "text": reply.text,
                "idempotency_key": reply.idempotency_key,
                "attachments": [
                    {
                        "filename": file.filename,
                        "content_type": file.content_type,
                        "size": len(file.data),
                        "url": file.url,
                    }
                    for file in reply.files
                ],
            }
        ).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": reply.idempotency_key}
        secret = reply.credentials.get("callback_secret")
        if secret:
            headers[SIGNATURE_HEADER] = sign(str(secret), body)
        client = self._client or httpx.Client(timeout=15.0)
        try:
            response = client.post(str(callback_url), content=body, headers=headers)
        except httpx.HTTPError as error:
            raise DeliveryError(f"callback unreachable: {error}", retryable=True) from error
        finally:
            if self._client is None:
                client.close()
        if response.status_code == 429 or response.status_code >= 500:
            raise DeliveryError(f"callback answered {response.status_code}", retryable=True)
        if response.status_code >= 400:
            raise DeliveryError(
                f"callback refused the reply ({response.status_code}): {response.text[:200]}", retryable=False
            )
        try:
            external_id = str(response.json().get("id") or "")
        except ValueError:
            external_id = ""
        return SendResult(external_id=external_id or f"api-{reply.idempotency_key}")
