"""Generate a deterministic, realistic import file (INTERFACES.md JSON lines) for the benchmarks.

Default: 100,000 messages in 20,000 conversations on 5 platforms over 30 days, reply chains via
``in_reply_to``, about 55 % customer messages, texts of realistic length in five languages.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

PLATFORMS = {
    "facebook": (["NordicRail", "NordicRailUng"], "comment"),
    "instagram": (["nordicrail"], "comment"),
    "x": (["NordicRailHelp"], "comment"),
    "email": (["kundeservice@nordicrail.example"], "email"),
    "webchat": (["nordicrail-web"], "chat"),
}
WORDS = {
    "da": "toget er forsinket igen og jeg vil gerne have refusion for min billet tak hej hvorfor",
    "sv": "tåget är försenat igen och jag vill ha ersättning för min biljett tack hej varför",
    "nb": "toget er forsinket igjen og jeg vil ha refusjon for billetten min takk hei hvorfor",
    "pl": "pociąg znowu jest opóźniony i chcę zwrot pieniędzy za bilet dziękuję dzień dobry",
    "en": "the train is delayed again and I would like a refund for my ticket thanks hello why",
}


def sentence(rng: random.Random) -> str:
    words = WORDS[rng.choice(list(WORDS))].split()
    return " ".join(rng.choice(words) for _ in range(rng.randint(6, 30))).capitalize() + rng.choice(
        [".", "?", "!"]
    )


def generate(path: Path, *, messages: int, conversations: int, seed: int = 7) -> int:
    rng = random.Random(seed)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    per_conversation = [1] * conversations
    for _ in range(messages - conversations):
        per_conversation[rng.randrange(conversations)] += 1
    customers = [f"cust{n}" for n in range(conversations // 2)]
    written = 0
    with path.open("w", encoding="utf-8") as out:
        for number, count in enumerate(per_conversation):
            platform = rng.choice(list(PLATFORMS))
            accounts, kind = PLATFORMS[platform]
            account = rng.choice(accounts)
            customer = rng.choice(customers)
            at = start + timedelta(minutes=rng.uniform(0, 30 * 24 * 60))
            parent = None
            for position in range(count):
                inbound = position == 0 or rng.random() < 0.55
                external_id = f"{platform}-{number}-{position}"
                record: dict[str, object] = {
                    "platform": platform,
                    "account": account,
                    "external_id": external_id,
                    "in_reply_to": parent,
                    "direction": "in" if inbound else "out",
                    "kind": kind,
                    "created_at": at.isoformat(),
                    "text": sentence(rng),
                }
                if inbound:
                    record["author"] = {"id": customer, "handle": f"@{customer}", "name": customer.title()}
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
                written += 1
                parent = external_id
                at += timedelta(minutes=rng.expovariate(1 / 90))
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", type=Path)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--conversations", type=int, default=20_000)
    args = parser.parse_args()
    count = generate(args.path, messages=args.messages, conversations=args.conversations)
    json.dump({"path": str(args.path), "messages": count, "conversations": args.conversations}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
