"""Send a scenario's signed webhook deliveries to a running Tilsvar at a fixed rate (``tilsvar
simulate``, the load benchmark, ``tilsvar demo --via-webhooks``).

The sender is an ``httpx.AsyncClient`` driven by a fixed-rate scheduler: delivery *i* is due at
``start + i / rate`` whatever happened to earlier ones, so a slow server shows up as latency instead of
silently lowering the rate (no coordinated omission). Latency is measured from the moment a request
was due. The run is bounded by a count and by time. Targets (the channels and their secrets) come from
the database or from the caller.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy.orm import Session

from tilsvar.demo.traffic import WEBHOOK_PLATFORMS, Delivery, Target, TrafficGenerator, redelivery


@dataclass(slots=True)
class SendRecord:
    """One request: when it was due, when it was answered (``time.monotonic`` seconds), how."""

    delivery: Delivery
    due: float
    sent_at_wall: float
    answered: float = 0.0
    status: int = 0  # 0: no answer (transport error or time-out)
    error: str = ""

    @property
    def latency(self) -> float:
        return self.answered - self.due


@dataclass(slots=True)
class SimulationReport:
    records: list[SendRecord] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def statuses(self) -> Counter[int]:
        return Counter(record.status for record in self.records)

    @property
    def expected_ids(self) -> set[tuple[str, str]]:
        """(platform, external id) of every message the accepted deliveries should have produced."""
        return {
            (record.delivery.platform, external_id)
            for record in self.records
            if record.status == 200
            for external_id in record.delivery.external_ids
        }

    def summary(self) -> dict[str, Any]:
        latencies = sorted(record.latency * 1000 for record in self.records if record.status)
        return {
            "requests": len(self.records),
            "redeliveries": sum(record.delivery.redelivery for record in self.records),
            "statuses": {str(status): count for status, count in sorted(self.statuses.items())},
            "seconds": round(self.seconds, 2),
            "achieved_rate": round(len(self.records) / self.seconds, 1) if self.seconds else 0.0,
            "ack_ms": _percentiles(latencies),
            "errors": sorted({record.error for record in self.records if record.error})[:5],
        }


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def at(share: float) -> float:
        return round(ordered[min(int(share * len(ordered)), len(ordered) - 1)], 2)

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": round(ordered[-1], 2)}


def targets_from_database(session: Session, *, platforms: Sequence[str] = WEBHOOK_PLATFORMS) -> list[Target]:
    """Every connected channel that webhooks can reach (an account id and a signing secret)."""
    from tilsvar.actions.webhooks import webhook_channels
    from tilsvar.channels.webhooks import FAMILIES

    signed_with = {
        platform: family.signed_with for family in FAMILIES.values() for platform in family.platforms
    }
    targets = []
    for channel in webhook_channels(session, platforms=list(platforms)):
        secret = str(channel.credentials.get(signed_with.get(channel.platform, "")) or "")
        if secret:
            targets.append(
                Target(
                    platform=channel.platform,
                    account=channel.account,
                    account_id=channel.account_id,
                    secret=secret,
                    signature_mode=str(channel.config.get("signature_mode") or "either"),
                )
            )
    return targets


async def simulate(
    url: str,
    generator: TrafficGenerator,
    *,
    rate: float,
    duration: float | None = None,
    count: int | None = None,
    redeliver_share: float = 0.0,
    client: httpx.AsyncClient | None = None,
    timeout: float = 10.0,
    connections: int = 32,
    on_answer: Callable[[SendRecord], None] | None = None,
    rng: random.Random | None = None,
) -> SimulationReport:
    """Send ``count`` deliveries (or ``rate × duration``) at ``rate`` per second to ``url``.

    ``redeliver_share`` of the requests repeat an earlier delivery byte for byte, as platforms do when
    they retry; those must be recognised, not stored twice. ``connections`` bounds the client's
    connection pool: httpx spends time per pooled connection on every request, so a small pool of
    kept-alive connections sends faster than hundreds of fresh ones."""
    if rate <= 0:
        raise ValueError("rate must be positive")
    total = count if count is not None else int(rate * (duration if duration is not None else 10.0))
    rng = rng or random.Random()
    own_client = client is None
    http = client or httpx.AsyncClient(
        base_url=url.rstrip("/"),
        timeout=timeout,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
    )
    report = SimulationReport()
    sent: list[Delivery] = []
    tasks: set[asyncio.Task[None]] = set()

    # Only as many requests inside httpx as it has connections: its pool slows down badly with
    # hundreds of waiting requests, and the wait here still counts as latency (from ``due``).
    in_flight = asyncio.Semaphore(connections)

    async def send(delivery: Delivery, due: float) -> None:
        record = SendRecord(delivery=delivery, due=due, sent_at_wall=time.time())
        report.records.append(record)
        try:
            async with in_flight:
                answer = await http.post(delivery.path, content=delivery.body, headers=delivery.headers)
            record.status = answer.status_code
            if answer.status_code != 200:
                record.error = f"{answer.status_code}: {answer.text[:200]}"
        except httpx.HTTPError as error:
            record.error = f"{type(error).__name__}: {error}"
        record.answered = time.monotonic()
        if on_answer is not None:
            on_answer(record)

    started = time.monotonic()
    try:
        for index in range(total):
            due = started + index / rate
            pause = due - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            if sent and rng.random() < redeliver_share:
                delivery = redelivery(rng.choice(sent[-200:]))
            else:
                delivery = generator.next()
                sent.append(delivery)
            task = asyncio.create_task(send(delivery, due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.wait(set(tasks), timeout=timeout + 5)
    finally:
        for task in list(tasks):
            task.cancel()
        if own_client:
            await http.aclose()
    report.seconds = time.monotonic() - started
    return report
