"""Parse the public "Customer Support on Twitter" CSV (INTERFACES.md, ``--format twcs``).

Columns: tweet_id, author_id, inbound, created_at, text, response_tweet_id, in_response_to_tweet_id.
Inbound tweets are customer messages; the others are brand replies. The brand account of a thread (a
reply chain) is the author of its outbound tweets; a thread without a brand reply belongs to the first
@handle the customer addressed that is a known brand account (case-insensitively, as on X).
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from tilsvar.channels import Author, InboundMessage
from tilsvar.importing.parsed import Parsed

COLUMNS = (
    "tweet_id",
    "author_id",
    "inbound",
    "created_at",
    "text",
    "response_tweet_id",
    "in_response_to_tweet_id",
)
TIME_FORMAT = "%a %b %d %H:%M:%S %z %Y"
HANDLE = re.compile(r"@(\w{1,50})")


@dataclass(frozen=True, slots=True)
class _Tweet:
    line: int
    tweet_id: str
    author_id: str
    inbound: bool
    created_at: datetime
    text: str
    parent: str | None


def _tweet_id(value: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    try:
        return str(int(float(value))) if "." in value or "e" in value.lower() else str(int(value))
    except ValueError as error:
        raise ValueError(f"not a tweet id: {value!r}") from error


def parse_twcs(lines: Iterable[str], *, known_accounts: Iterable[str] = ()) -> Iterator[Parsed]:
    """Every tweet as a message (thread order is restored by threading, not by file order)."""
    reader = csv.DictReader(lines)
    missing = [column for column in COLUMNS if column not in (reader.fieldnames or [])]
    if missing:
        yield Parsed(line=1, error=f"not a twcs file: missing columns {', '.join(missing)}")
        return
    tweets: list[_Tweet] = []
    line = 1
    for row in reader:
        first_line, line = line + 1, reader.line_num
        try:
            tweet_id = _tweet_id(row["tweet_id"] or "")
            if tweet_id is None:
                raise ValueError("tweet_id is empty")
            inbound_raw = (row["inbound"] or "").strip().lower()
            if inbound_raw not in {"true", "false"}:
                raise ValueError(f"inbound must be True or False, not {row['inbound']!r}")
            author_id = (row["author_id"] or "").strip()
            if not author_id:
                raise ValueError("author_id is empty")
            tweets.append(
                _Tweet(
                    line=first_line,
                    tweet_id=tweet_id,
                    author_id=author_id,
                    inbound=inbound_raw == "true",
                    created_at=datetime.strptime((row["created_at"] or "").strip(), TIME_FORMAT),
                    text=row["text"] or "",
                    parent=_tweet_id(row["in_response_to_tweet_id"] or ""),
                )
            )
        except (ValueError, TypeError) as error:
            yield Parsed(line=first_line, error=str(error), raw=str(row))
    yield from _with_brands(tweets, known_accounts=known_accounts)


def _with_brands(tweets: list[_Tweet], *, known_accounts: Iterable[str]) -> Iterator[Parsed]:
    # Threads are the connected components of the reply links (union-find over tweet ids).
    parent_of: dict[str, str] = {}

    def find(node: str) -> str:
        root = node
        while parent_of.get(root, root) != root:
            root = parent_of[root]
        while parent_of.get(node, node) != root:
            parent_of[node], node = root, parent_of[node]
        return root

    for tweet in tweets:
        parent_of.setdefault(tweet.tweet_id, tweet.tweet_id)
        if tweet.parent:
            parent_of.setdefault(tweet.parent, tweet.parent)
            a, b = find(tweet.tweet_id), find(tweet.parent)
            if a != b:
                parent_of[a] = b
    brand_votes: dict[str, Counter[str]] = {}
    for tweet in tweets:
        if not tweet.inbound:
            brand_votes.setdefault(find(tweet.tweet_id), Counter())[tweet.author_id] += 1
    known = {account.casefold(): account for account in known_accounts}
    for votes in brand_votes.values():
        for account in votes:
            known.setdefault(account.casefold(), account)
    thread_brand: dict[str, str] = {root: votes.most_common(1)[0][0] for root, votes in brand_votes.items()}
    for tweet in sorted(tweets, key=lambda tweet: tweet.created_at):
        root = find(tweet.tweet_id)
        if root not in thread_brand and tweet.inbound:
            for handle in HANDLE.findall(tweet.text):
                if handle.casefold() in known:
                    thread_brand[root] = known[handle.casefold()]
                    break
    for tweet in tweets:
        brand = thread_brand.get(find(tweet.tweet_id))
        if brand is None:
            yield Parsed(
                line=tweet.line, error="no brand account for this thread (no reply, no known @handle)"
            )
            continue
        yield Parsed(
            line=tweet.line,
            message=InboundMessage(
                platform="x",
                account=brand,
                external_id=tweet.tweet_id,
                direction="in" if tweet.inbound else "out",
                kind="comment",
                text=tweet.text,
                created_at=tweet.created_at,
                author=Author(id=tweet.author_id, handle=tweet.author_id) if tweet.inbound else None,
                in_reply_to=tweet.parent,
            ),
        )
