"""Conditions of routing rules: what a rule may ask about a message, parsed strictly and compiled.

A rule that cannot be evaluated must be refused when it is saved, with a reason a supervisor
understands ("unknown field 'plaform' (did you mean 'platform'?)"), never fail silently at 3 a.m.
This module knows every field a condition may name, the operators each allows and the values they
take; it parses the dict/YAML form, compiles a condition to a closure over a `MessageContext`, and
describes why a condition matched for the "why was this routed here" explanation.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, Literal

from tilsvar.workflow.calendar import WEEKDAYS, BusinessCalendar
from tilsvar.workflow.common import KINDS, PRIORITIES, PRIORITY_RANK, Ref
from tilsvar.workflow.textmatch import FoldedText, KeywordSet

ValueType = Literal["ref", "word", "choice", "priority", "number", "bool", "tags", "text"]
SENTIMENTS = ("negative", "neutral", "positive")

_EQUALITY = ("eq", "ne", "in", "not_in")
_ORDER = ("lt", "le", "gt", "ge")
_CONTAINS = ("contains_any", "contains_all", "contains_none")
OPERATORS = (*_EQUALITY, *_ORDER, *_CONTAINS, "matches")
_MAX_REGEX = 500


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: ValueType
    ops: tuple[str, ...]
    help: str
    choices: tuple[str, ...] = ()


FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        FieldSpec("brand", "ref", _EQUALITY, "the brand (id or slug)"),
        FieldSpec("channel", "ref", _EQUALITY, "the channel (id or account)"),
        FieldSpec(
            "platform", "word", _EQUALITY, "facebook, instagram, x, linkedin, youtube, email, chat, api"
        ),
        FieldSpec("kind", "choice", _EQUALITY, "comment, dm, email, chat or post", KINDS),
        FieldSpec("language", "word", _EQUALITY, "ISO 639-1 code from the language stage, e.g. da"),
        FieldSpec("intent", "word", _EQUALITY, "label from the intent stage, e.g. lead, complaint"),
        FieldSpec("sentiment", "choice", _EQUALITY, "negative, neutral or positive", SENTIMENTS),
        FieldSpec("sentiment_score", "number", ("eq", *_ORDER), "from -1 (angry) to 1 (happy)"),
        FieldSpec("priority", "priority", _EQUALITY + _ORDER, "low < normal < high < urgent", PRIORITIES),
        FieldSpec("text", "text", (*_CONTAINS, "matches"), "keywords (any case, any accents, whole words)"),
        FieldSpec("tags", "tags", _CONTAINS, "labels already on the message or conversation"),
        FieldSpec("contact", "ref", _EQUALITY, "the customer's contact id"),
        FieldSpec("handle", "word", _EQUALITY, "the customer's handle on the platform (without @)"),
        FieldSpec("customer_tags", "tags", _CONTAINS, "tags on the customer, e.g. vip"),
        FieldSpec("staffed", "bool", ("eq", "ne"), "received inside the channel's staffed hours"),
        FieldSpec("weekday", "choice", _EQUALITY, "mon .. sun in the channel's time zone", WEEKDAYS),
        FieldSpec(
            "hour",
            "number",
            ("eq", *_ORDER),
            "time of day in the channel's time zone, 17.5 = 17:30 (UTC without)",
        ),
        FieldSpec(
            "negative_last_hour", "number", ("eq", *_ORDER), "negative messages to the brand in the last hour"
        ),
    )
}
COMBINATORS = ("all", "any", "not")


class ConditionError(ValueError):
    """A condition that cannot be evaluated; `path` says where it is (e.g. 'when.all[1]')."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class MessageContext:
    """What rules may know about an inbound message: labels from the pipeline, who wrote, when."""

    received_at: datetime
    text: str = ""
    brand: Ref | None = None
    brand_slug: str | None = None
    channel: Ref | None = None
    channel_account: str | None = None
    platform: str | None = None
    kind: str | None = None
    language: str | None = None
    intent: str | None = None
    sentiment: str | None = None
    sentiment_score: float | None = None
    priority: str | None = None
    tags: frozenset[str] = frozenset()
    contact: Ref | None = None
    handle: str | None = None
    customer_tags: frozenset[str] = frozenset()
    negative_last_hour: int = 0
    calendar: BusinessCalendar | None = None


class Facts:
    """A message context with derived values computed at most once per evaluation."""

    def __init__(self, context: MessageContext) -> None:
        self.context = context
        self.text = FoldedText(context.text)
        self._values: dict[str, object] = {}

    @cached_property
    def staffed(self) -> bool:
        calendar = self.context.calendar
        return True if calendar is None else calendar.is_open(self.context.received_at)

    @cached_property
    def weekday(self) -> str:
        calendar = self.context.calendar
        moment = (
            calendar.local(self.context.received_at) if calendar else self.context.received_at.astimezone(UTC)
        )
        return WEEKDAYS[moment.weekday()]

    @cached_property
    def hour(self) -> float:
        calendar = self.context.calendar
        moment = (
            calendar.local(self.context.received_at) if calendar else self.context.received_at.astimezone(UTC)
        )
        return moment.hour + moment.minute / 60 + moment.second / 3600

    @cached_property
    def tags(self) -> frozenset[str]:
        return frozenset(tag.casefold() for tag in self.context.tags)

    @cached_property
    def customer_tags(self) -> frozenset[str]:
        return frozenset(tag.casefold() for tag in self.context.customer_tags)

    def refs(self, name: str) -> tuple[object, ...]:
        """The values a ref field can be named by: an id and, for brand and channel, a name."""
        c = self.context
        if name == "brand":
            return (c.brand, c.brand_slug)
        if name == "channel":
            return (c.channel, c.channel_account)
        return (c.contact,)

    def value(self, name: str) -> object:
        try:
            return self._values[name]
        except KeyError:
            value = self._values[name] = self._value(name)
            return value

    def _value(self, name: str) -> object:
        c = self.context
        if name in ("platform", "language", "intent", "kind", "sentiment"):
            raw = getattr(c, name)
            return raw.lower() if isinstance(raw, str) else None
        if name == "handle":
            return c.handle.lower().lstrip("@") if c.handle else None
        if name in ("staffed", "weekday", "hour", "tags", "customer_tags"):
            return getattr(self, name)
        return getattr(c, name)


Test = Callable[[Facts], bool]


@dataclass(frozen=True)
class Leaf:
    field: str
    op: str
    value: Any  # normalized: str/int/float/bool, a tuple of them, or a tuple of keywords
    test: Test = dc_field(compare=False, repr=False)
    keywords: KeywordSet | None = dc_field(default=None, compare=False, repr=False)

    def to_data(self) -> dict[str, Any]:
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        if self.op == _default_op(self.field, value):
            return {self.field: value}
        return {"field": self.field, "op": self.op, "value": value}

    def describe(self, facts: Facts) -> str:
        spec = FIELDS[self.field]
        if self.keywords is not None:
            if self.op == "contains_none":
                return f"{self.field} mentions none of {_show(self.value)}"
            return f"{self.field} mentions {_show(self.keywords.found(facts.text))}"
        if self.op == "matches":
            return f"{self.field} matches /{self.value}/"
        if spec.type == "tags":
            verb = {
                "contains_any": "include one of",
                "contains_all": "include all of",
                "contains_none": "exclude",
            }
            return f"{self.field} {verb[self.op]} {_show(self.value)}"
        if spec.type == "ref":
            actual: object = next((v for v in facts.refs(self.field) if v is not None), None)
        else:
            actual = facts.value(self.field)
        text = self.requirement()
        return text if self.op == "eq" else f"{text} (it is {_show(actual)})"

    @cached_property
    def _requirement(self) -> str:
        return f"{self.field} {_OP_WORDS[self.op]} {_show(self.value)}"

    def requirement(self) -> str:
        """What the condition asks for, e.g. "kind is 'dm'"."""
        return self._requirement


@dataclass(frozen=True)
class All:
    parts: tuple[Condition, ...]

    def to_data(self) -> dict[str, Any]:
        return {"all": [part.to_data() for part in self.parts]}


@dataclass(frozen=True)
class Any_:
    parts: tuple[Condition, ...]

    def to_data(self) -> dict[str, Any]:
        return {"any": [part.to_data() for part in self.parts]}


@dataclass(frozen=True)
class Not:
    part: Condition

    def to_data(self) -> dict[str, Any]:
        return {"not": self.part.to_data()}


Condition = Leaf | All | Any_ | Not
ALWAYS = All(())


_OP_WORDS = {
    "eq": "is", "ne": "is not", "in": "is one of", "not_in": "is not one of",
    "lt": "<", "le": "≤", "gt": ">", "ge": "≥",
    "contains_any": "mentions one of", "contains_all": "mentions all of", "contains_none": "mentions none of",
    "matches": "matches",
}  # fmt: skip


def _show(value: object) -> str:
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return repr(value) if isinstance(value, str) else str(value)


def _default_op(name: str, value: object) -> str:
    if FIELDS[name].type in ("text", "tags"):
        return "contains_any"
    return "in" if isinstance(value, list | tuple) else "eq"


# parsing ---------------------------------------------------------------------------------------------


def parse_condition(data: object, path: str = "when") -> Condition:
    """A condition from its dict form; raises ConditionError with the path of the first problem."""
    if data is None:
        return ALWAYS
    if isinstance(data, list):
        return All(tuple(parse_condition(item, f"{path}[{i}]") for i, item in enumerate(data)))
    if not isinstance(data, Mapping):
        raise ConditionError(path, f"a condition is a mapping, not {type(data).__name__}")
    keys = set(data)
    if keys & set(COMBINATORS):
        if len(keys) != 1:
            raise ConditionError(path, f"{sorted(keys)}: a combinator must stand alone in its mapping")
        (name,) = keys
        inner = data[name]
        if name == "not":
            return Not(parse_condition(inner, f"{path}.not"))
        if not isinstance(inner, list) or not inner:
            raise ConditionError(path, f"'{name}' takes a non-empty list of conditions")
        parts = tuple(parse_condition(item, f"{path}.{name}[{i}]") for i, item in enumerate(inner))
        return All(parts) if name == "all" else Any_(parts)
    if "field" in keys:
        extra = keys - {"field", "op", "value"}
        if extra:
            raise ConditionError(path, f"unknown key(s) {sorted(extra)} (a condition has field, op, value)")
        if "value" not in data:
            raise ConditionError(path, "missing 'value'")
        name = data["field"]
        if not isinstance(name, str):
            raise ConditionError(path, "'field' must be a name")
        value = data["value"]
        return _leaf(path, name, data.get("op", None), value)
    if len(keys) != 1:
        raise ConditionError(
            path, f"{sorted(map(str, keys))}: write one condition per mapping (or use 'all')"
        )
    (name,) = keys
    return _leaf(path, str(name), None, data[name])


def _unknown_field(name: str) -> str:
    close = difflib.get_close_matches(name, [*FIELDS, *COMBINATORS], n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown field '{name}'{hint}; fields are {', '.join(FIELDS)}"


def _leaf(path: str, name: str, op: object, value: object) -> Leaf:
    spec = FIELDS.get(name)
    if spec is None:
        raise ConditionError(path, _unknown_field(name))
    if op is None:
        op = _default_op(name, value)
    if not isinstance(op, str) or op not in spec.ops:
        known = "" if op in OPERATORS else " (unknown operator)"
        raise ConditionError(
            path, f"operator {op!r} not allowed for '{name}'{known}; use one of {list(spec.ops)}"
        )
    where = f"{path} ({name})"
    if op in ("in", "not_in") or op in _CONTAINS:
        items = value if isinstance(value, list | tuple) else [value]
        if not items:
            raise ConditionError(where, f"'{op}' needs at least one value")
        normalized: Any = tuple(_scalar(where, spec, op, item) for item in items)
    else:
        if isinstance(value, list | tuple):
            raise ConditionError(where, f"'{op}' takes one value, not a list")
        normalized = _scalar(where, spec, op, value)
    keywords = KeywordSet(list(normalized)) if spec.type == "text" and op in _CONTAINS else None
    return Leaf(name, op, normalized, _compile(spec, op, normalized, keywords), keywords)


def _scalar(where: str, spec: FieldSpec, op: str, value: object) -> object:
    t = spec.type
    if t == "bool":
        if not isinstance(value, bool):
            raise ConditionError(where, f"expects true or false, not {value!r}")
        return value
    if t == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConditionError(where, f"expects a number, not {value!r}")
        return value
    if t == "ref":
        if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
            raise ConditionError(where, f"expects an id or a name, not {value!r}")
        return value
    if not isinstance(value, str) or not value.strip():
        raise ConditionError(where, f"expects text, not {value!r}")
    if op == "matches":
        if len(value) > _MAX_REGEX:
            raise ConditionError(where, f"regular expression longer than {_MAX_REGEX} characters")
        try:
            re.compile(value)
        except re.error as error:
            raise ConditionError(where, f"bad regular expression {value!r}: {error}") from error
        return value
    if t == "text":
        try:
            KeywordSet([value])
        except ValueError as error:
            raise ConditionError(where, str(error)) from error
        return value
    normalized = value.strip().lower()
    if t == "word" and spec.name == "handle":
        normalized = normalized.lstrip("@")
    if spec.choices and normalized not in spec.choices:
        raise ConditionError(where, f"{value!r} is not one of {list(spec.choices)}")
    return normalized


def _compile(spec: FieldSpec, op: str, value: Any, keywords: KeywordSet | None) -> Test:
    name = spec.name
    if keywords is not None:
        if op == "contains_any":
            return lambda f: keywords.any_in(f.text)
        if op == "contains_all":
            return lambda f: keywords.all_in(f.text)
        return lambda f: not keywords.any_in(f.text)
    if op == "matches":
        pattern = re.compile(value, re.IGNORECASE)
        return lambda f: pattern.search(f.context.text) is not None
    if spec.type == "tags":
        wanted = frozenset(v.casefold() for v in value)
        if op == "contains_any":
            return lambda f: not wanted.isdisjoint(f.value(name))  # type: ignore[arg-type]
        if op == "contains_all":
            return lambda f: wanted <= f.value(name)  # type: ignore[operator]
        return lambda f: wanted.isdisjoint(f.value(name))  # type: ignore[arg-type]
    if spec.type == "ref":
        values = frozenset(value) if isinstance(value, tuple) else frozenset((value,))

        def ref_in(f: Facts) -> bool:
            return any(v is not None and v in values for v in f.refs(name))

        return (lambda f: not ref_in(f)) if op in ("ne", "not_in") else ref_in
    if op in _ORDER:
        rank = PRIORITY_RANK if spec.type == "priority" else None
        bound = rank[value] if rank else value

        def ordered(f: Facts) -> bool:
            actual = f.value(name)
            if actual is None:
                return False
            key = rank.get(str(actual)) if rank else actual
            if key is None:
                return False
            return bool(_ORDER_TESTS[op](key, bound))

        return ordered
    values = frozenset(value) if isinstance(value, tuple) else frozenset((value,))
    if op in ("ne", "not_in"):
        return lambda f: f.value(name) not in values
    return lambda f: f.value(name) in values


_ORDER_TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}


# evaluation ------------------------------------------------------------------------------------------


def cost(condition: Condition) -> int:
    """A rough price of evaluating a condition, so that cheap tests run first in `all` and `any`."""
    if isinstance(condition, Leaf):
        if condition.op == "matches":
            return 20
        return 3 if condition.keywords is not None else 1
    if isinstance(condition, Not):
        return cost(condition.part)
    return sum(cost(part) for part in condition.parts)


def compile_condition(condition: Condition) -> Test:
    """One closure for a whole condition tree; `all`/`any` run their cheapest parts first."""
    if isinstance(condition, Leaf):
        return condition.test
    if isinstance(condition, Not):
        inner = compile_condition(condition.part)
        return lambda f: not inner(f)
    parts = sorted(condition.parts, key=cost)
    tests = tuple(compile_condition(part) for part in parts)
    if len(tests) == 1:
        return tests[0]
    if isinstance(condition, All):
        if len(tests) == 2:
            a, b = tests
            return lambda f: a(f) and b(f)
        if len(tests) == 3:
            a, b, c = tests
            return lambda f: a(f) and b(f) and c(f)

        def every(f: Facts) -> bool:
            for test in tests:  # noqa: SIM110 - a plain loop is faster than all() over a generator
                if not test(f):
                    return False
            return True

        return every
    if len(tests) == 2:
        a, b = tests
        return lambda f: a(f) or b(f)

    def some(f: Facts) -> bool:
        for test in tests:  # noqa: SIM110 - a plain loop is faster than any() over a generator
            if test(f):
                return True
        return False

    return some


def holds(condition: Condition, facts: Facts) -> bool:
    """Evaluate a condition tree with its leaves' compiled tests (for explanations)."""
    if isinstance(condition, Leaf):
        return condition.test(facts)
    if isinstance(condition, Not):
        return not holds(condition.part, facts)
    if isinstance(condition, All):
        return all(holds(part, facts) for part in condition.parts)
    return any(holds(part, facts) for part in condition.parts)


def explain_condition(condition: Condition, facts: Facts) -> list[str]:
    """Why a condition holds, as short sentences (call only when it holds)."""
    if isinstance(condition, Leaf):
        return [condition.describe(facts)]
    if isinstance(condition, Not):
        return [f"not ({'; '.join(_explain_false(condition.part, facts))})"]
    if isinstance(condition, All):
        return [line for part in condition.parts for line in explain_condition(part, facts)]
    for part in condition.parts:
        if holds(part, facts):
            return explain_condition(part, facts)
    return []  # pragma: no cover - called only for conditions that hold


Explain = Callable[[Facts], Sequence[str]]


def compile_explanation(condition: Condition) -> Explain:
    """``explain_condition`` as one closure per condition tree, built once with the rule (a message
    matches about a dozen rules, each explained): the sentences that do not depend on the message are
    worked out here, and the rest without walking the tree. Call only when the condition holds."""
    if isinstance(condition, Leaf):
        return _leaf_explanation(condition)
    if isinstance(condition, Not):
        part = condition.part
        if _constant_when_false(part):
            fixed = (f"not ({'; '.join(_explain_false(part, _NO_FACTS))})",)
            return lambda _f: fixed
        return lambda f: [f"not ({'; '.join(_explain_false(part, f))})"]
    if isinstance(condition, All):
        parts = tuple(compile_explanation(part) for part in condition.parts)
        if not parts:
            return lambda _f: ()
        if len(parts) == 1:
            return parts[0]

        def every(f: Facts) -> list[str]:
            lines: list[str] = []
            for explain in parts:
                lines.extend(explain(f))
            return lines

        return every
    # any: the first part (in the order written) that holds
    options = tuple((compile_condition(part), compile_explanation(part)) for part in condition.parts)

    def first(f: Facts) -> Sequence[str]:
        for holds_, explain in options:
            if holds_(f):
                return explain(f)
        return ()  # pragma: no cover - called only for conditions that hold

    return first


def _leaf_explanation(leaf: Leaf) -> Explain:
    """``Leaf.describe`` as a closure (the same sentence; constant ones computed once)."""
    spec = FIELDS[leaf.field]
    keywords = leaf.keywords
    if (keywords is not None and leaf.op == "contains_none") or (
        keywords is None and (leaf.op == "matches" or spec.type == "tags")
    ):
        fixed = (leaf.describe(_NO_FACTS),)  # (these sentences never look at the message)
        return lambda _f: fixed
    if keywords is None and leaf.op == "eq":
        requirement = (leaf.requirement(),)
        return lambda _f: requirement
    if keywords is not None:
        name = leaf.field
        return lambda f: (f"{name} mentions {_show(keywords.found(f.text))}",)
    text, name = leaf.requirement(), leaf.field
    if spec.type == "ref":
        return lambda f: (f"{text} (it is {_show(next((v for v in f.refs(name) if v is not None), None))})",)
    return lambda f: (f"{text} (it is {_show(f.value(name))})",)


def _constant_when_false(condition: Condition) -> bool:
    """Whether ``_explain_false`` of the condition is the same for every message (no ``not`` inside)."""
    if isinstance(condition, Leaf):
        return True
    if isinstance(condition, Not):
        return False
    return all(_constant_when_false(part) for part in condition.parts)


class _NoFacts(Facts):
    """Stands in for a message where a sentence does not depend on one (never read)."""

    def __init__(self) -> None:
        pass


_NO_FACTS = _NoFacts()


def _explain_false(condition: Condition, facts: Facts) -> list[str]:
    """What a condition that does not hold asked for (the inside of a `not`)."""
    if isinstance(condition, Leaf):
        return [condition.requirement()]
    if isinstance(condition, Not):
        return explain_condition(condition.part, facts)
    joiner = " and " if isinstance(condition, All) else " or "
    return [joiner.join(line for part in condition.parts for line in _explain_false(part, facts))]


def condition_fields(condition: Condition) -> Sequence[Leaf]:
    if isinstance(condition, Leaf):
        return [condition]
    if isinstance(condition, Not):
        return condition_fields(condition.part)
    return [leaf for part in condition.parts for leaf in condition_fields(part)]
