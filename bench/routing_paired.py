"""Paired comparison of two versions of the routing code in ONE process, for changes too small to see in
``routing_per_message.py`` on a shared, loaded machine (its single-message median swings by ±20% from run
to run at load 3, while a routing change is worth a few per cent).

The older version's ``tilsvar`` package (a ``git archive`` of it, extracted; give its ``src`` folder) is
imported beside the working tree's. ``routing_per_message.run`` then builds the usual database (200 rules,
100 agents, 600 messages); for every second lone message after the first 60 it runs the older and the
newer ``do_route_conversations`` ``--repeats`` times each, alternating, each inside a SAVEPOINT that is
rolled back, and keeps each version's smallest CPU time. The figure is the median over messages of each
version's time and of the ratio new/old. The transaction's BEGIN and COMMIT are not in it (the same for
both), nor is anything outside ``actions.routing`` that both versions share at run time: both run on this
process's engine and database code, i.e. the working tree's.

    git archive <commit> | tar -x -C /tmp/old
    .venv/bin/python bench/routing_paired.py --base-src /tmp/old/src [--repeats 4]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def load_base(base_src: str) -> Any:
    """The older version's ``tilsvar.actions.routing``, imported under its own module objects."""
    sys.path.insert(0, base_src)
    import tilsvar.actions.routing as base_routing

    for name in [name for name in sys.modules if name == "tilsvar" or name.startswith("tilsvar.")]:
        del sys.modules[name]
    sys.path.remove(base_src)
    return base_routing


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base-src", required=True, help="the src folder of the older version")
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--messages", type=int, default=600)
    args = parser.parse_args()
    base = load_base(os.path.abspath(args.base_src))
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "src"))
    from bench import routing_per_message
    from bench.common import temporary_database
    from tilsvar.actions import routing

    assert routing.__file__ != base.__file__
    newer = routing.do_route_conversations
    older = base.do_route_conversations
    times: dict[str, list[float]] = {"base": [], "new": []}
    calls = 0

    def one(route: Any, session: Any, ids: list[int], now: Any) -> float:
        savepoint = session.begin_nested()
        started = time.process_time()
        route(session, conversation_ids=ids, now=now)
        spent = time.process_time() - started
        savepoint.rollback()
        return spent

    def paired(session: Any, *, conversation_ids: Any, now: Any = None) -> int:
        nonlocal calls
        ids = list(conversation_ids)
        if ids:
            calls += 1
            if calls > 60 and calls % 2 == 0:
                session.flush()
                best = {"base": float("inf"), "new": float("inf")}
                for repeat in range(args.repeats):
                    order = (
                        (("base", older), ("new", newer))
                        if (repeat + calls // 2) % 2 == 0  # who goes first alternates
                        else (("new", newer), ("base", older))
                    )
                    for label, route in order:
                        best[label] = min(best[label], one(route, session, ids, now))
                for label, spent in best.items():
                    times[label].append(spent * 1000)
        return int(newer(session, conversation_ids=ids, now=now))

    routing.do_route_conversations = paired
    load_before = os.getloadavg()[0]
    with temporary_database("sqlite"):
        routing_per_message.run(args.messages, 200, 100, random.Random(6), 100, 0)
    ratios = [new / old for old, new in zip(times["base"], times["new"], strict=True)]
    print(
        json.dumps(
            {
                "messages_compared": len(ratios),
                "base_cpu_ms_median": round(statistics.median(times["base"]), 3),
                "new_cpu_ms_median": round(statistics.median(times["new"]), 3),
                "new_over_base_median_ratio": round(statistics.median(ratios), 3),
                "load_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
