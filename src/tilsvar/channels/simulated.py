"""The demo's stand-in for a platform: accepts replies without leaving the machine, and behaves like
a real one where agents need to see it (a Messenger-style DM window that closes after 24 hours, and
an occasional time-out that the outbound queue retries)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from tilsvar.channels.base import DeliveryError, ModerationRequest, OutboundReply, SendResult

MESSAGING_WINDOW = timedelta(hours=24)
TRANSIENT_FAILURE_RATE = 0.1


class SimulatedConnector:
    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()

    def send_reply(self, reply: OutboundReply) -> SendResult:
        window_closed = (
            reply.platform in {"facebook", "instagram"}
            and reply.kind == "dm"
            and reply.last_inbound_at is not None
            and datetime.now(UTC) - reply.last_inbound_at > MESSAGING_WINDOW
        )
        if window_closed:
            raise DeliveryError(
                "outside the 24-hour messaging window: the customer must write again first", retryable=False
            )
        if self._rng.random() < TRANSIENT_FAILURE_RATE:
            raise DeliveryError("platform timed out (simulated)", retryable=True)
        return SendResult(external_id=f"sim-{reply.idempotency_key}")

    def moderate(self, request: ModerationRequest) -> None:
        """Hiding on a simulated platform always works (nothing leaves the machine)."""
