"""Seed the demo organisation: two brands, their channels, teams, users, and two days of history."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources

from sqlalchemy import select

from tilsvar.actions.faq import do_import_articles
from tilsvar.actions.ingest import do_ingest_messages
from tilsvar.actions.org import (
    do_add_team_member,
    do_create_api_token,
    do_create_brand,
    do_create_channel,
    do_create_organization,
    do_create_team,
    do_create_user,
)
from tilsvar.channels import InboundMessage
from tilsvar.db import Database
from tilsvar.demo.people import brand_reply, customer_message, customers, follow_up_text
from tilsvar.demo.workflow_setup import setup_demo_workflow
from tilsvar.models import Channel, User, utcnow

DEMO_PASSWORD = "tilsvar-demo"  # noqa: S105  (printed by `tilsvar demo`; demo data only)

# brand slug, platform, account, display name, team slug
CHANNELS = [
    ("rail", "facebook", "NordicRail", "Nordic Rail (Facebook)", "customer-service"),
    ("rail", "facebook", "NordicRailUng", "Nordic Rail Ung (Facebook)", "customer-service"),
    ("rail", "instagram", "nordicrail", "Nordic Rail (Instagram)", "customer-service"),
    ("rail", "x", "NordicRailHelp", "@NordicRailHelp (X)", "press"),
    ("rail", "email", "kundeservice@nordicrail.example", "Kundeservice (e-mail)", "customer-service"),
    ("rail", "webchat", "nordicrail-web", "Web chat", "customer-service"),
    ("market", "facebook", "FjordMarket", "Fjord Market (Facebook)", "customer-service"),
    ("market", "x", "FjordMarketHelp", "@FjordMarketHelp (X)", "press"),
    ("market", "email", "help@fjordmarket.example", "Fjord Market help (e-mail)", "customer-service"),
    ("market", "api", "fjordmarket-app", "Fjord Market app", "customer-service"),
]

# e-mail, name, role, brand slugs (None: every brand), team slugs
USERS = [
    ("admin@nordicrail.example", "Astrid Admin", "admin", None, ["customer-service"]),
    ("supervisor@nordicrail.example", "Sune Supervisor", "supervisor", None, ["customer-service"]),
    ("agent@nordicrail.example", "Anders Agent", "agent", ["rail"], ["customer-service"]),
    ("press@nordicrail.example", "Petra Press", "press", None, ["press"]),
    ("marketing@nordicrail.example", "Mikkel Marketing", "marketing", None, ["marketing"]),
]


@dataclass(frozen=True, slots=True)
class DemoLogins:
    users: list[tuple[str, str, str]]  # e-mail, password, role
    api_token: str


def seed_demo(
    database: Database,
    *,
    password: str = DEMO_PASSWORD,
    now: datetime | None = None,
    conversations: int = 150,
    seed: int = 2026,
) -> DemoLogins:
    """Create the demo organisation in an empty database and return its logins."""
    now = now or utcnow()
    rng = random.Random(seed)
    with database.session() as session:
        org = do_create_organization(session, name="Nordic Rail Group", slug="nordic")
        brands = {
            "rail": do_create_brand(session, organization=org, name="Nordic Rail", slug="rail"),
            "market": do_create_brand(session, organization=org, name="Fjord Market", slug="market"),
        }
        teams = {
            team.slug: team
            for team in (
                do_create_team(session, organization=org, name=name)
                for name in ("Customer service", "Press", "Marketing")
            )
        }
        for brand_slug, platform, account, name, team_slug in CHANNELS:
            do_create_channel(
                session,
                brand=brands[brand_slug],
                platform=platform,
                account=account,
                name=name,
                mode="simulated",
                team=teams[team_slug],
            )
        token = ""
        admin: User | None = None
        for email, name, role, brand_slugs, team_slugs in USERS:
            user = do_create_user(
                session,
                organization=org,
                email=email,
                name=name,
                role=role,
                password=password,
                brands=[brands[slug] for slug in brand_slugs] if brand_slugs else None,
            )
            for slug in team_slugs:
                do_add_team_member(session, team=teams[slug], user=user)
            if role == "admin":
                token = do_create_api_token(session, user=user, name="demo")
                admin = user
        assert admin is not None
        # a small knowledge base, so the reply box and the web chat widget have FAQ answers to offer
        # (its sentence vectors are computed by the worker's faq.embed job after commit)
        articles = json.loads(
            resources.files("tilsvar.demo").joinpath("faq_articles.json").read_text("utf-8")
        )
        do_import_articles(session, organization=org, records=enumerate(articles, start=1), actor="demo")
        channels = list(session.scalars(select(Channel).order_by(Channel.id)))
        # routing rules, calendar, SLA policies and canned responses before the history is routed
        setup_demo_workflow(
            session,
            admin=admin,
            brand=brands["rail"],
            channels=[c for c in channels if c.brand_id == brands["rail"].id],
        )
        do_ingest_messages(
            session,
            messages=history(rng, channels, now=now, conversations=conversations),
            enqueue_pipeline=True,  # the demo shows what the understanding pipeline finds
            actor="demo",
        )
    return DemoLogins(users=[(email, password, role) for email, _, role, _, _ in USERS], api_token=token)


def history(
    rng: random.Random, channels: list[Channel], *, now: datetime, conversations: int
) -> list[InboundMessage]:
    """About ``conversations`` threads over the last 48 hours; ~70 % answered, some with follow-ups."""
    people = customers(rng)
    messages: list[InboundMessage] = []
    for _ in range(conversations):
        channel = rng.choice(channels)
        customer = rng.choice(people)
        start = now - timedelta(minutes=rng.uniform(5, 48 * 60))
        first = customer_message(
            rng, platform=channel.platform, account=channel.account, customer=customer, created_at=start
        )
        messages.append(first)
        reply_at = start + timedelta(minutes=rng.uniform(5, 600))
        if rng.random() < 0.7 and reply_at < now:
            reply = brand_reply(
                rng,
                platform=channel.platform,
                account=channel.account,
                language=customer.language,
                created_at=reply_at,
                parent=first,
            )
            messages.append(reply)
            follow_at = reply_at + timedelta(minutes=rng.uniform(2, 120))
            if rng.random() < 0.3 and follow_at < now:
                messages.append(
                    customer_message(
                        rng,
                        platform=channel.platform,
                        account=channel.account,
                        customer=customer,
                        created_at=follow_at,
                        in_reply_to=reply.external_id,
                        kind=first.kind,
                        text=follow_up_text(rng, customer.language),
                    )
                )
    return messages
