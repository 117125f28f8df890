"""Deterministic synthetic customer traffic for a railway, for the chorus bench, its tests and the
demo: a *background* stream with a day-and-night rhythm and a realistic topic mix in Danish,
Swedish, Norwegian, Polish and English (delays every day, tickets, the app, praise, questions), and
*choruses*: many customers writing about the same new problem within minutes, in several languages
on several platforms. The same seed always gives the same messages.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from tilsvar.trends.engine import Observation

STATIONS = (
    "Odense",
    "Malmö",
    "Aarhus",
    "Lund",
    "Kastrup",
    "Roskilde",
    "Oslo S",
    "Gdańsk",
    "Helsingør",
    "Göteborg",
    "Drammen",
    "Kolding",
    "Høje Taastrup",
    "Hässleholm",
    "Vejle",
)

# topic -> language -> templates; {s} station, {n} train number, {h} hour
BACKGROUND: dict[str, dict[str, tuple[str, ...]]] = {
    "delay": {
        "da": (
            "Toget fra {s} er forsinket igen",
            "Hvorfor er {n} altid forsinket?",
            "Står i {s}, toget er 20 min forsinket",
        ),
        "sv": (
            "Tåget från {s} är försenat igen",
            "Varför är {n} alltid sen?",
            "Står i {s}, tåget är försenat",
        ),
        "nb": ("Toget fra {s} er forsinket igjen", "{n} er forsinket, hva skjer?"),
        "pl": ("Pociąg z {s} znowu jest opóźniony", "Dlaczego {n} zawsze się spóźnia?"),
        "en": ("Train from {s} is late again", "Why is {n} always delayed?"),
    },
    "ticket": {
        "da": ("Kan jeg bruge min billet på et senere tog?", "Hvordan refunderer jeg en billet til {s}?"),
        "sv": (
            "Kan jag använda min biljett på ett senare tåg?",
            "Hur får jag återbetalning för biljetten till {s}?",
        ),
        "nb": ("Kan jeg bruke billetten på et senere tog?",),
        "pl": ("Czy mogę użyć biletu w późniejszym pociągu?",),
        "en": ("Can I use my ticket on a later train?", "How do I get a refund for my ticket to {s}?"),
    },
    "seat": {
        "da": ("Ingen siddepladser i {n} i dag", "Min pladsbillet var dobbeltbooket"),
        "sv": ("Inga sittplatser på {n} idag",),
        "en": ("No seats at all on {n} this morning",),
    },
    "wifi": {
        "da": ("Wifi virker ikke i toget til {s}",),
        "sv": ("Wifi fungerar inte på tåget",),
        "en": ("The wifi on {n} is useless",),
    },
    "praise": {
        "da": ("Tak til den søde konduktør i {n}!", "God service i {s} i dag"),
        "sv": ("Tack till den trevliga konduktören på {n}!",),
        "nb": ("Takk for hyggelig service på {s}",),
        "pl": ("Dziękuję za miłą obsługę w {s}",),
        "en": ("Thanks to the lovely conductor on {n}!",),
    },
    "question": {
        "da": ("Må man tage cykel med i toget?", "Hvornår går sidste tog til {s}?", "Har I hundebillet?"),
        "sv": ("Får man ta med cykel på tåget?", "När går sista tåget till {s}?"),
        "nb": ("Når går siste tog til {s}?",),
        "pl": ("O której odjeżdża ostatni pociąg do {s}?",),
        "en": ("When is the last train to {s}?", "Can I bring my bike?"),
    },
    "crowd": {
        "da": ("Proppet tog igen, kun to vogne", "Fyldt til bristepunktet fra {s}"),
        "sv": ("Fullt tåg igen från {s}",),
        "en": ("Packed train again, only two carriages",),
    },
    "cold": {
        "da": ("Det er iskoldt i vognen, virker varmen ikke?",),
        "sv": ("Iskallt i vagnen, fungerar inte värmen?",),
        "en": ("It is freezing in the carriage",),
    },
    "staff": {
        "da": ("Uhøflig kontrollør i {n} i morges",),
        "sv": ("Otrevlig konduktör på {n}",),
        "en": ("Rude ticket inspector on {n}",),
    },
}
TOPIC_WEIGHTS = {
    "delay": 30,
    "ticket": 15,
    "seat": 8,
    "wifi": 6,
    "praise": 10,
    "question": 18,
    "crowd": 6,
    "cold": 4,
    "staff": 3,
}
LANGUAGE_WEIGHTS = {"da": 40, "sv": 25, "nb": 12, "pl": 10, "en": 13}
PLATFORMS = (
    ("facebook", "comment", 35),
    ("x", "comment", 25),
    ("instagram", "comment", 10),
    ("facebook", "dm", 10),
    ("email", "email", 10),
    ("webchat", "chat", 10),
)
SENTIMENT = {
    "delay": "negative",
    "seat": "negative",
    "wifi": "negative",
    "crowd": "negative",
    "cold": "negative",
    "staff": "negative",
    "praise": "positive",
    "ticket": "neutral",
    "question": "neutral",
}
# Messages per hour over a day (UTC hours 0..23): quiet nights, commuter peaks.
HOURLY_RATE = (2, 1, 1, 1, 2, 6, 18, 30, 28, 18, 14, 12, 12, 12, 14, 20, 28, 30, 20, 14, 10, 8, 5, 3)

APP_CHORUS = {
    "da": (
        "Appen crasher når jeg prøver at købe billet",
        "Kan ikke købe billet i appen, den lukker bare ned",
        "Appen crasher hver gang jeg vil betale for billetten",
        "Hvorfor crasher jeres app ved køb af billet??",
    ),
    "sv": (
        "Appen kraschar när jag försöker köpa biljett",
        "Kan inte köpa biljett i appen, den kraschar",
        "Appen kraschar vid betalning av biljetten",
    ),
    "en": (
        "The app keeps crashing when I try to buy a ticket",
        "Your app crashes every time I pay for a ticket",
        "Can't buy a ticket, the app just crashes",
    ),
}


@dataclass(frozen=True, slots=True)
class StreamMessage:
    """One generated customer message."""

    external_id: str
    at: datetime
    text: str
    author: str
    platform: str
    kind: str
    language: str
    topic: str
    sentiment: str


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _fill(rng: random.Random, template: str) -> str:
    return template.format(s=rng.choice(STATIONS), n=f"IC {rng.randint(100, 999)}", h=rng.randint(5, 23))


def background(start: datetime, hours: float, *, seed: int = 7, scale: float = 1.0) -> list[StreamMessage]:
    """A background stream from ``start`` for ``hours`` (a Poisson process at ``HOURLY_RATE × scale``)."""
    rng = random.Random(seed)
    messages: list[StreamMessage] = []
    at = start
    end = start + timedelta(hours=hours)
    number = 0
    while True:
        rate = HOURLY_RATE[at.hour] * scale
        at += timedelta(hours=rng.expovariate(rate))
        if at >= end:
            return messages
        topic = _pick(rng, TOPIC_WEIGHTS)
        languages = {lang: weight for lang, weight in LANGUAGE_WEIGHTS.items() if lang in BACKGROUND[topic]}
        language = _pick(rng, languages)
        platform, kind, _ = rng.choices(PLATFORMS, weights=[w for _, _, w in PLATFORMS])[0]
        number += 1
        messages.append(
            StreamMessage(
                external_id=f"bg{seed}-{number}",
                at=at.replace(microsecond=0),
                text=_fill(rng, rng.choice(BACKGROUND[topic][language])),
                author=f"bg-author-{rng.randint(1, 5000)}",
                platform=platform,
                kind=kind,
                language=language,
                topic=topic,
                sentiment=SENTIMENT[topic],
            )
        )


def chorus(
    start: datetime,
    *,
    size: int = 15,
    minutes: float = 30,
    seed: int = 11,
    templates: dict[str, tuple[str, ...]] | None = None,
    platforms: tuple[str, ...] = ("x", "facebook"),
    prefix: str = "ch",
) -> list[StreamMessage]:
    """``size`` similar complaints (default: the app crashes when buying a ticket) in the templates'
    languages, spread over ``minutes`` from ``start``, on ``platforms``, each from its own author."""
    rng = random.Random(seed)
    templates = templates or APP_CHORUS
    languages = sorted(templates)
    offsets = sorted(rng.uniform(0, minutes * 60) for _ in range(size))
    offsets[0] = 0.0
    messages = []
    for number, offset in enumerate(offsets, start=1):
        language = languages[(number - 1) % len(languages)]
        messages.append(
            StreamMessage(
                external_id=f"{prefix}{seed}-{number}",
                at=(start + timedelta(seconds=offset)).replace(microsecond=0),
                text=rng.choice(templates[language]),
                author=f"{prefix}-author-{seed}-{number}",
                platform=platforms[(number - 1) % len(platforms)],
                kind="comment",
                language=language,
                topic="chorus",
                sentiment="negative",
            )
        )
    return messages


def observations(messages: list[StreamMessage], offset: int = 0) -> list[Observation]:
    """The messages as the detector sees them, numbered from ``offset`` in the given order."""
    return [
        Observation(
            message_id=offset + number,
            at=m.at,
            text=m.text,
            author=m.author,
            platform=m.platform,
            kind=m.kind,
            sentiment=m.sentiment,
        )
        for number, m in enumerate(messages)
    ]
