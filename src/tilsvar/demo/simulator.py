"""The demo's live stream: simulated customers keep writing, through the same ingest path as real traffic."""

from __future__ import annotations

import logging
import random
import threading
from datetime import timedelta

from sqlalchemy import select

from tilsvar.actions.ingest import do_ingest_messages
from tilsvar.db import Database
from tilsvar.demo.people import Customer, customer_message, customers, follow_up_text
from tilsvar.models import Channel, Conversation, Message, utcnow

log = logging.getLogger(__name__)
FOLLOW_UP_SHARE = 0.25


class TrafficSimulator:
    def __init__(
        self, database: Database, *, messages_per_minute: float, rng: random.Random | None = None
    ) -> None:
        self.database = database
        self.rate = max(messages_per_minute, 0.01)
        self.rng = rng or random.Random()
        self.people = customers(self.rng, 80)

    def step(self) -> int:
        """Ingest one simulated customer message now; returns how many were stored."""
        now = utcnow()
        with self.database.reader() as session:
            channels = list(session.scalars(select(Channel).where(Channel.mode == "simulated")))
            recent = None
            if self.rng.random() < FOLLOW_UP_SHARE:
                recent = session.execute(
                    select(Channel, Message.external_id, Message.kind)
                    .join(Message, Message.channel_id == Channel.id)
                    .join(Conversation, Conversation.id == Message.conversation_id)
                    .where(
                        Conversation.last_message_at > now - timedelta(hours=6),
                        Message.external_id.is_not(None),
                        Channel.mode == "simulated",
                    )
                    .order_by(Message.id.desc())
                    .limit(20)
                ).all()
        if not channels:
            return 0
        customer: Customer = self.rng.choice(self.people)
        if recent:
            channel, parent_id, kind = self.rng.choice(recent)
            message = customer_message(
                self.rng,
                platform=channel.platform,
                account=channel.account,
                customer=customer,
                created_at=now,
                in_reply_to=parent_id,
                kind=kind,
                text=follow_up_text(self.rng, customer.language),
            )
        else:
            channel = self.rng.choice(channels)
            message = customer_message(
                self.rng,
                platform=channel.platform,
                account=channel.account,
                customer=customer,
                created_at=now,
            )
        with self.database.session() as session:
            result = do_ingest_messages(session, messages=[message], actor="demo-traffic")
        return len(result.stored)

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.step()
            except Exception:
                log.exception("simulated traffic failed; continuing")
            stop.wait(self.rng.expovariate(self.rate / 60.0))
