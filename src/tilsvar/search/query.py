"""The search query language: parse what a person types into words, phrases, boolean structure and
field filters, and compile the text part for SQLite FTS5 (``MATCH``) or PostgreSQL (``tsquery``).

Pure: no database. Syntax (docs/search.md)::

    forsinket billet            both words (AND is implied), each stemmed and matched as a prefix
    "toget er forsinket"        the exact words in this order (folded, no stemming)
    refusion OR erstatning      either
    forsinket -refusion         NOT: without the word (also ``NOT refusion``); ( ) group
    channel:x brand:rail lang:da intent:complaint sentiment:negative status:open
    from:2026-10-01 to:2026-10-31 has:pii author:@ola      (``-field:value`` excludes; ``a,b`` = either)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise

from tilsvar.search.folding import stem, words

FIELDS = ("channel", "brand", "lang", "intent", "sentiment", "status", "from", "to", "has", "author")
FIELD_ALIASES = {"language": "lang", "platform": "channel", "since": "from", "until": "to", "before": "to"}
MIN_PREFIX = 3  # words shorter than this are matched exactly (no prefix, no stemming)


class QueryError(ValueError):
    """The query cannot be run; the message is safe to show to the person who typed it."""


@dataclass(frozen=True, slots=True)
class Phrase:
    """Folded words that must appear in this order; ``prefix``: the last one may continue."""

    tokens: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class Not:
    item: Node


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]


Node = Phrase | Not | And | Or


@dataclass(frozen=True, slots=True)
class FieldFilter:
    name: str
    values: tuple[str, ...]
    negated: bool = False


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    text: Node | None
    filters: tuple[FieldFilter, ...] = ()
    # Folded terms to highlight: (token, is_prefix)
    highlights: tuple[tuple[str, bool], ...] = field(default=())

    def filter_values(self, name: str) -> list[FieldFilter]:
        return [item for item in self.filters if item.name == name]


_TOKEN = re.compile(
    r"""
    (?P<field>-?[A-Za-z]+:(?:"[^"]*"?|[^\s()"]+))
  | (?P<phrase>-?"[^"]*"?)
  | (?P<open>\()
  | (?P<close>\))
  | (?P<word>[^\s()"]+)
    """,
    re.VERBOSE,
)


def _word_node(raw: str) -> Phrase | None:
    tokens = words(raw)
    if not tokens:
        return None
    if len(tokens) == 1:
        token = tokens[0]
        if len(token) >= MIN_PREFIX and token.isalpha():
            return Phrase((stem(token),), prefix=True)
        return Phrase((token,))
    return Phrase(tuple(tokens))


def parse(query: str) -> ParsedQuery:
    """Parse ``query``; raises :class:`QueryError` for a query that cannot be run."""
    if len(query) > 1000:
        raise QueryError("the query is too long (at most 1000 characters)")
    tokens: list[tuple[str, object]] = []
    filters: list[FieldFilter] = []
    for match in _TOKEN.finditer(query):
        kind = match.lastgroup
        value = match.group()
        if kind == "field":
            negated = value.startswith("-")
            name, _, raw = value.lstrip("-").partition(":")
            name = FIELD_ALIASES.get(name.lower(), name.lower())
            if name in FIELDS:
                raw = raw.strip('"').strip()
                values = tuple(part.strip() for part in raw.split(",") if part.strip())
                if not values:
                    raise QueryError(f"{name}: needs a value")
                filters.append(FieldFilter(name, values, negated))
                continue
            kind = "word"  # an unknown field is just text
        if kind == "phrase":
            negated = value.startswith("-")
            phrase_tokens = words(value.lstrip("-").strip('"'))
            if phrase_tokens:
                node: Node = Phrase(tuple(phrase_tokens))
                tokens.append(("term", Not(node) if negated else node))
        elif kind == "open":
            tokens.append(("(", None))
        elif kind == "close":
            tokens.append((")", None))
        elif value in ("AND", "OR", "NOT"):
            tokens.append((value, None))
        else:
            negated = value.startswith("-") and len(value) > 1
            word_node = _word_node(value[1:] if negated else value)
            if word_node is not None:
                tokens.append(("term", Not(word_node) if negated else word_node))
    text = _Parser(tokens).parse()
    if text is not None:
        _check_positive(text)
    return ParsedQuery(text=text, filters=tuple(filters), highlights=tuple(_highlights(text)))


class _Parser:
    """Recursive descent: or := and ('OR' and)* ; and := unary ('AND'? unary)* ;
    unary := 'NOT' unary | primary ; primary := '(' or ')' | term. Stray operators are ignored."""

    def __init__(self, tokens: list[tuple[str, object]]) -> None:
        self.tokens = tokens
        self.position = 0

    def peek(self) -> str | None:
        return self.tokens[self.position][0] if self.position < len(self.tokens) else None

    def parse(self) -> Node | None:
        nodes: list[Node] = []
        while self.peek() is not None:
            node = self.parse_or()
            if node is not None:
                nodes.append(node)
            elif self.peek() is not None:
                self.position += 1  # a stray ")" or operator
        return _and(nodes)

    def parse_or(self) -> Node | None:
        items = [self.parse_and()]
        while self.peek() == "OR":
            self.position += 1
            items.append(self.parse_and())
        present = [item for item in items if item is not None]
        if len(present) <= 1:
            return present[0] if present else None
        return Or(tuple(present))

    def parse_and(self) -> Node | None:
        items: list[Node] = []
        while True:
            kind = self.peek()
            if kind == "AND":
                self.position += 1
                continue
            if kind is None or kind in ("OR", ")"):
                break
            node = self.parse_unary()
            if node is not None:
                items.append(node)
        return _and(items)

    def parse_unary(self) -> Node | None:
        kind = self.peek()
        if kind == "NOT":
            self.position += 1
            inner = self.parse_unary()
            return Not(inner) if inner is not None else None
        if kind == "(":
            self.position += 1
            inner = self.parse_or()
            if self.peek() == ")":
                self.position += 1
            return inner
        if kind == "term":
            value = self.tokens[self.position][1]
            self.position += 1
            assert isinstance(value, Phrase | Not)
            return value
        self.position += 1  # AND/OR/")" out of place
        return None


def _and(items: list[Node]) -> Node | None:
    if not items:
        return None
    return items[0] if len(items) == 1 else And(tuple(items))


def _check_positive(node: Node) -> None:
    """Every AND group and every OR branch needs something to look for besides NOT terms."""
    if isinstance(node, Not):
        raise QueryError("a query needs at least one word to look for besides the excluded ones")
    if isinstance(node, And):
        if all(isinstance(item, Not) for item in node.items):
            raise QueryError("a query needs at least one word to look for besides the excluded ones")
        for item in node.items:
            _check_positive(item.item if isinstance(item, Not) else item)
    elif isinstance(node, Or):
        for item in node.items:
            _check_positive(item)


def _highlights(node: Node | None) -> list[tuple[str, bool]]:
    if node is None or isinstance(node, Not):
        return []
    if isinstance(node, Phrase):
        last = len(node.tokens) - 1
        return [(token, node.prefix and index == last) for index, token in enumerate(node.tokens)]
    found: list[tuple[str, bool]] = []
    for item in node.items:
        found += [term for term in _highlights(item) if term not in found]
    return found


def to_fts5(node: Node, expand: Callable[[str], list[str] | None] | None = None) -> str:
    """The FTS5 ``MATCH`` expression of ``node`` (tokens are letters and digits only).

    ``expand``, if given, lists the indexed words a prefix stands for (``None``: too many); a word
    prefix is then written as the OR of those words, which FTS5 reads lazily in rowid order, where
    a prefix makes it merge the postings of every word it covers first."""
    if isinstance(node, Phrase):
        if node.prefix and expand is not None and len(node.tokens) == 1:
            terms = expand(node.tokens[0])
            if terms:
                return (
                    "(" + " OR ".join(f'"{term}"' for term in terms) + ")"
                    if len(terms) > 1
                    else f'"{terms[0]}"'
                )
        return '"' + " ".join(node.tokens) + '"' + ("*" if node.prefix else "")
    if isinstance(node, Or):
        return "(" + " OR ".join(to_fts5(item, expand) for item in node.items) + ")"
    if isinstance(node, And):
        positive = [to_fts5(item, expand) for item in node.items if not isinstance(item, Not)]
        negative = [to_fts5(item.item, expand) for item in node.items if isinstance(item, Not)]
        return "((" + " AND ".join(positive) + ")" + "".join(f" NOT {term}" for term in negative) + ")"
    raise QueryError("a query needs at least one word to look for besides the excluded ones")


def to_tsquery(node: Node, expand: Callable[[str], list[str] | None] | None = None) -> str:
    """The PostgreSQL ``to_tsquery('simple', ...)`` text of ``node``.

    ``expand``, if given, lists the indexed words a prefix stands for (``None``: too many); a word
    prefix is then written as the OR of those words, which GIN reads lazily, where a prefix makes it
    collect every posting of every word it covers first (as :func:`to_fts5` for FTS5)."""
    if isinstance(node, Phrase):
        if node.prefix and expand is not None and len(node.tokens) == 1:
            terms = expand(node.tokens[0])
            if terms:
                return "(" + " | ".join(f"'{term}'" for term in terms) + ")"
        parts = [f"'{token}'" for token in node.tokens]
        if node.prefix:
            parts[-1] += ":*"
        return "(" + " <-> ".join(parts) + ")"
    if isinstance(node, Not):
        return "!" + to_tsquery(node.item, expand)
    joiner = " | " if isinstance(node, Or) else " & "
    return "(" + joiner.join(to_tsquery(item, expand) for item in node.items) + ")"


PAIR_WORD_BYTES = 24  # migration 0024 leaves longer lexemes out of the pairs index
_PAIR_TOKEN = re.compile(rf"[a-z0-9]{{1,{PAIR_WORD_BYTES}}}")


def to_pairs(node: Node) -> str | None:
    """A ``tsquery`` (to cast, not to parse) over the PostgreSQL pairs index (migration 0024) that
    every message matching ``node`` also matches, or ``None`` when ``node`` has no phrase to narrow by.

    A phrase ``a b c`` needs the adjacent pairs ``'a b' & 'b c'``. Only pairs of plain ASCII letters
    and digits are used: for those the query's lexemes are the tokens themselves (PostgreSQL's parser
    neither splits nor changes them), so the pairs are exactly the ones the index took from the
    document's positions and the condition can only ever narrow the candidates, never lose a match.
    Under NOT nothing is narrowed; an OR narrows only when each of its branches does."""
    if isinstance(node, Phrase):
        tokens = node.tokens[:-1] if node.prefix else node.tokens
        pairs = [
            f"'{first} {second}'"
            for first, second in pairwise(tokens)
            if _PAIR_TOKEN.fullmatch(first) and _PAIR_TOKEN.fullmatch(second)
        ]
        unique = list(dict.fromkeys(pairs))
        return " & ".join(unique) if unique else None
    if isinstance(node, Not):
        return None
    parts = [to_pairs(item) for item in node.items if not isinstance(item, Not)]
    if isinstance(node, Or):
        if any(part is None for part in parts):
            return None
        return "(" + " | ".join(part for part in parts if part) + ")"
    present = [part for part in parts if part]
    if not present:
        return None
    return "(" + " & ".join(present) + ")"


def parse_day(value: str, *, end: bool) -> datetime:
    """``from:``/``to:`` values: a UTC day (``to:`` includes the whole day) or an ISO instant."""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            instant = datetime.combine(day, time(), tzinfo=UTC)
            return instant + timedelta(days=1) if end else instant
        parsed = datetime.fromisoformat(value)
    except ValueError as error:
        raise QueryError(f"not a date: {value!r} (use YYYY-MM-DD)") from error
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
