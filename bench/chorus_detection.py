"""Chorus detection: time from a chorus's first message to its alert, and false alarms per day on a
realistic background stream (tilsvar.trends.streams: a railway's day-and-night traffic in five
languages), both generated deterministically; the detector is replayed in message time exactly as
the trends job feeds it. Prints one JSON object.

    .venv/bin/python bench/chorus_detection.py [--days 14] [--choruses 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tilsvar.demo.traffic import CHORUS
from tilsvar.trends.engine import Params, replay
from tilsvar.trends.streams import background, chorus, observations

START = datetime(2026, 11, 2, tzinfo=UTC)
# Other choruses than the test's (the first, None, is the default app-crash chorus): a price rise
# and a timetable change in three languages each, and a cancellation told many ways in five.
TEMPLATES: list[dict[str, tuple[str, ...]] | None] = [
    None,
    {
        "da": (
            "Billetpriserne er steget igen, det er for dyrt",
            "Hvorfor er prisen på pendlerkort steget så meget?",
        ),
        "sv": ("Priset på biljetter har höjts igen, för dyrt", "Varför har priset på biljetten höjts?"),
        "pl": ("Cena biletu znowu wzrosła, za drogo", "Dlaczego cena biletu jest tak wysoka?"),
    },
    {
        "nb": (
            "Ny rutetabell er en katastrofe, ingen avgang før 7",
            "Den nye rutetabellen fjernet min avgang",
        ),
        "en": (
            "The new timetable removed my morning departure",
            "New timetable is a disaster, no departure before 7",
        ),
        "da": ("Den nye køreplan har fjernet min afgang", "Ny køreplan, ingen afgang før 7, katastrofe"),
    },
    # One incident told many ways in five languages (`tilsvar simulate --scenario chorus`): before
    # clusters merged it split into two or three clusters, each raising its own alert.
    {language: tuple(texts) for language, texts in CHORUS.items()},
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--choruses", type=int, default=20)
    args = parser.parse_args()
    params = Params()
    quiet = background(START, 24 * args.days, seed=101)
    started = time.perf_counter()
    false_alarms = replay(params, observations(quiet))
    elapsed = time.perf_counter() - started
    delays: list[float] = []
    alerts_per_chorus: list[int] = []
    missed = 0
    for number in range(args.choruses):
        day = number % max(args.days - 1, 1) + 1
        begin = START + timedelta(days=day, hours=6 + (number * 5) % 15, minutes=(number * 13) % 60)
        members = chorus(
            begin,
            size=15,
            minutes=30,
            seed=500 + number,
            templates=TEMPLATES[number % len(TEMPLATES)],
            prefix="c",
        )
        chorus_ids = set(range(1_000_000, 1_000_000 + len(members)))
        alerts = replay(params, observations(quiet) + observations(members, 1_000_000))
        hits = [
            alert
            for alert in alerts
            if alert.message_id in chorus_ids
            or chorus_ids & {member.message_id for member in alert.cluster.members}
        ]
        if not hits:
            missed += 1
            continue
        alerts_per_chorus.append(len(hits))
        first = min(members, key=lambda m: m.at).at
        delays.append((min(alert.at for alert in hits) - first).total_seconds() / 60)
    result: dict[str, Any] = {
        "background_days": args.days,
        "background_messages": len(quiet),
        "false_alarms": len(false_alarms),
        "false_alarms_per_day": round(len(false_alarms) / args.days, 3),
        "choruses": args.choruses,
        "chorus_size": 15,
        "chorus_minutes": 30,
        "detected": args.choruses - missed,
        "minutes_to_alert": {
            "median": round(statistics.median(delays), 1) if delays else None,
            "max": round(max(delays), 1) if delays else None,
        },
        # one incident should raise one alert (a shitstorm may follow a chorus of the same cluster)
        "alerts_per_chorus": {
            "mean": round(statistics.mean(alerts_per_chorus), 2) if alerts_per_chorus else None,
            "max": max(alerts_per_chorus, default=None),
        },
        "replay_messages_per_second": round(len(quiet) / elapsed, 1),
        "params": {
            "window_minutes": params.window.total_seconds() / 60,
            "similarity": params.similarity,
            "min_size": params.min_size,
            "sensitivity": params.sensitivity,
        },
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
