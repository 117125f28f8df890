"""The demo's live stream: simulated customers keep writing, through the same ingest path as real traffic,
and now and then many of them complain about the same thing within a few minutes — a chorus for the
Trends page and the supervisors' notifications to show."""

from __future__ import annotations

import logging
import random
import threading
import time
from datetime import timedelta

from sqlalchemy import select

from tilsvar.actions.ingest import do_ingest_messages
from tilsvar.db import Database
from tilsvar.demo.people import KINDS_BY_PLATFORM, Customer, customer_message, customers, follow_up_text
from tilsvar.models import Channel, Conversation, Message, utcnow
from tilsvar.trends.streams import APP_CHORUS

log = logging.getLogger(__name__)
FOLLOW_UP_SHARE = 0.25
# A chorus: this many customers within CHORUS_SECONDS on the railway's X and Facebook accounts, each
# writing one of the complaints the detector's benchmark plays (the app crashes when buying a ticket,
# in Danish, Swedish and English; docs/trends.md); the detector alerts from 6 messages by 5 authors.
CHORUS_SIZE = 15
CHORUS_SECONDS = 180.0
PUBLIC = ("x", "facebook")  # where a chorus is written


class TrafficSimulator:
    def __init__(
        self,
        database: Database,
        *,
        messages_per_minute: float,
        chorus_every_minutes: float = 0.0,
        rng: random.Random | None = None,
    ) -> None:
        self.database = database
        self.rate = max(messages_per_minute, 0.01)
        self.chorus_every = chorus_every_minutes
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
            text = follow_up_text(self.rng, customer.language)
            return self._write(channel, customer, in_reply_to=parent_id, kind=kind, text=text)
        return self._write(self.rng.choice(channels), customer)

    def _write(
        self,
        channel: Channel,
        customer: Customer,
        *,
        in_reply_to: str | None = None,
        kind: str | None = None,
        text: str | None = None,
    ) -> int:
        """Ingest one message of ``customer`` on ``channel`` now; returns how many were stored."""
        message = customer_message(
            self.rng,
            platform=channel.platform,
            account=channel.account,
            customer=customer,
            created_at=utcnow(),
            in_reply_to=in_reply_to,
            kind=kind,
            text=text,
        )
        with self.database.session() as session:
            return len(do_ingest_messages(session, messages=[message], actor="demo-traffic").stored)

    def chorus(self, stop: threading.Event, *, seconds: float = CHORUS_SECONDS) -> int:
        """One chorus: ``CHORUS_SIZE`` different customers write that the app crashes when they buy a
        ticket, on the railway's X and Facebook accounts, spread over ``seconds``; returns how many
        were stored."""
        with self.database.reader() as session:
            public = select(Channel).where(Channel.mode == "simulated", Channel.platform.in_(PUBLIC))
            channels = list(session.scalars(public.order_by(Channel.id)))
        people = [person for person in self.people if person.language in APP_CHORUS]
        if not channels or not people:
            return 0
        # one brand's channels (the first brand's: the railway's), as a chorus is about one brand
        channels = [channel for channel in channels if channel.brand_id == channels[0].brand_id]
        stored = 0
        for customer in self.rng.sample(people, min(CHORUS_SIZE, len(people))):
            if stop.is_set():
                break
            channel = self.rng.choice(channels)
            text = self.rng.choice(APP_CHORUS[customer.language])
            # public: a comment, not a DM
            stored += self._write(channel, customer, kind=KINDS_BY_PLATFORM[channel.platform][0], text=text)
            stop.wait(seconds / CHORUS_SIZE * self.rng.uniform(0.5, 1.5))
        return stored

    def run(self, stop: threading.Event) -> None:
        """Messages at the configured rate until ``stop``; a chorus first after a quarter of
        ``chorus_every`` minutes (so a visitor sees one soon), then every ``chorus_every`` minutes."""
        next_chorus = time.monotonic() + 60 * self.chorus_every / 4 if self.chorus_every > 0 else None
        while not stop.is_set():
            try:
                if next_chorus is not None and time.monotonic() >= next_chorus:
                    next_chorus = time.monotonic() + 60 * self.chorus_every
                    self.chorus(stop)
                else:
                    self.step()
            except Exception:
                log.exception("simulated traffic failed; continuing")
            stop.wait(self.rng.expovariate(self.rate / 60.0))
