"""Routing rules: which team, agent, priority, tags and follow-ups an inbound message gets, and why.

Supervisors write rules ("X goes to the press team", "leads go to marketing") in the UI or as YAML.
Rules are validated when saved (`RuleError` says exactly what is wrong), compiled once, and evaluated
in a defined order: by `position`, then by the order given. Every matching rule contributes its
actions; for single-valued decisions (team, agent, priority, escalation, auto-reply) the first rule
that sets one wins and later attempts are listed as ignored; tags and flags accumulate. A matching
rule with `stop: true` ends the evaluation. The decision carries a "why was this routed here"
explanation naming each matched rule, the conditions that held and what it did.

YAML form (a list, or a mapping with a `rules` list):

    - id: x-to-press
      name: X goes to the press team
      position: 10
      when: {platform: x}
      then: [{assign_team: press}]
      stop: true
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError

from tilsvar.workflow.common import PRIORITIES, Priority, Ref
from tilsvar.workflow.conditions import (
    ALWAYS,
    All,
    Condition,
    ConditionError,
    Explain,
    Facts,
    Leaf,
    MessageContext,
    Test,
    compile_condition,
    compile_explanation,
    parse_condition,
)

ActionType = Literal[
    "assign_team", "assign_agent", "set_priority", "add_tag", "hide", "flag", "escalate", "auto_reply",
    "require_approval",
]  # fmt: skip
ACTIONS: tuple[ActionType, ...] = (
    "assign_team", "assign_agent", "set_priority", "add_tag", "hide", "flag", "escalate", "auto_reply",
    "require_approval",
)  # fmt: skip


class RuleError(ValueError):
    """A rule (or a rule file) that cannot be saved, with the reason."""


@dataclass(frozen=True)
class Action:
    type: ActionType
    value: Any = True  # a team/agent/template ref, a priority, a tag, a reason, or True
    reason: str = ""  # escalate: why

    def to_data(self) -> dict[str, Any]:
        if self.type == "escalate" and self.reason:
            return {"escalate": {"team": self.value, "reason": self.reason}}
        if self.type == "require_approval" and self.value is not True:
            return {"require_approval": {"team": self.value}}
        return {self.type: self.value}

    def describe(self) -> str:
        return self._description

    @cached_property
    def _description(self) -> str:
        v = self.value
        return {
            "assign_team": f"assign to team {v!r}",
            "assign_agent": f"assign to agent {v!r}",
            "set_priority": f"set priority {v}",
            "add_tag": f"tag {v!r}",
            "hide": "hide the message",
            "flag": "flag for review" + (f" ({v})" if v is not True else ""),
            "escalate": f"escalate to team {v!r}" + (f" ({self.reason})" if self.reason else ""),
            "auto_reply": f"auto-reply with template {v!r}",
            "require_approval": "require approval of replies" + (f" by team {v!r}" if v is not True else ""),
        }[self.type]


def _ref(where: str, value: object) -> Ref:
    if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
        raise RuleError(f"{where}: expects an id or a name, not {value!r}")
    return value


def parse_action(data: object, where: str) -> list[Action]:
    """One action mapping (`{assign_team: press}`) as Actions; add_tag may take a list."""
    if not isinstance(data, Mapping) or len(data) != 1:
        raise RuleError(f"{where}: an action is a mapping with one key, e.g. {{assign_team: press}}")
    ((name, value),) = data.items()
    if name not in ACTIONS:
        raise RuleError(f"{where}: unknown action {name!r}; actions are {', '.join(ACTIONS)}")
    here = f"{where} ({name})"
    if name in ("assign_team", "assign_agent", "auto_reply"):
        return [Action(name, _ref(here, value))]
    if name == "set_priority":
        if value not in PRIORITIES:
            raise RuleError(f"{here}: priority must be one of {list(PRIORITIES)}, not {value!r}")
        return [Action(name, value)]
    if name == "add_tag":
        tags = value if isinstance(value, list) else [value]
        if not tags or not all(isinstance(t, str) and t.strip() for t in tags):
            raise RuleError(f"{here}: expects a tag or a list of tags, not {value!r}")
        return [Action(name, t.strip()) for t in tags]
    if name == "hide":
        if value is not True:
            raise RuleError(f"{here}: write 'hide: true'")
        return [Action(name, True)]
    if name == "flag":
        if value is True or (isinstance(value, str) and value.strip()):
            return [Action(name, value)]
        raise RuleError(f"{here}: expects true or a reason, not {value!r}")
    if name == "escalate":
        if isinstance(value, Mapping):
            extra = set(value) - {"team", "reason"}
            if extra or "team" not in value:
                raise RuleError(f"{here}: write {{team: press, reason: ...}}")
            reason = value.get("reason", "")
            if not isinstance(reason, str):
                raise RuleError(f"{here}: the reason must be text")
            return [Action(name, _ref(here, value["team"]), reason)]
        return [Action(name, _ref(here, value))]
    # require_approval
    if value is True:
        return [Action(name, True)]
    if isinstance(value, Mapping) and set(value) == {"team"}:
        return [Action(name, _ref(here, value["team"]))]
    raise RuleError(f"{here}: write 'require_approval: true' or {{team: press}}")


class _RuleShape(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=100)
    name: str = ""
    position: StrictInt = 0
    enabled: StrictBool = True
    stop: StrictBool = False
    when: Any = None
    then: list[Any] = Field(min_length=1)


@dataclass(frozen=True)
class Rule:
    id: str
    then: tuple[Action, ...]
    name: str = ""
    position: int = 0
    enabled: bool = True
    stop: bool = False
    when: Condition = ALWAYS
    test: Test = field(default=lambda _facts: True, compare=False, repr=False)

    @classmethod
    def from_data(cls, data: object, index: int = 0) -> Rule:
        label = f"rule #{index + 1}"
        if isinstance(data, Mapping) and isinstance(data.get("id"), str):
            label = f"rule {data['id']!r}"
        if not isinstance(data, Mapping):
            raise RuleError(f"{label}: a rule is a mapping with id, when and then")
        try:
            shape = _RuleShape.model_validate(dict(data))
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "rule"
            raise RuleError(f"{label}: {where}: {first['msg']}") from None
        try:
            when = parse_condition(shape.when)
        except ConditionError as error:
            raise RuleError(f"{label}: {error}") from None
        actions: list[Action] = []
        for i, item in enumerate(shape.then):
            try:
                actions.extend(parse_action(item, f"then[{i}]"))
            except RuleError as error:
                raise RuleError(f"{label}: {error}") from None
        return cls(
            id=shape.id,
            name=shape.name,
            position=shape.position,
            enabled=shape.enabled,
            stop=shape.stop,
            when=when,
            then=tuple(actions),
            test=compile_condition(when),
        )

    @cached_property
    def explain(self) -> Explain:
        """Why the rule's condition holds for a message (``explain_condition``, compiled once)."""
        return compile_explanation(self.when)

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id}
        if self.name:
            data["name"] = self.name
        data["position"] = self.position
        if not self.enabled:
            data["enabled"] = False
        if self.when != ALWAYS:
            data["when"] = self.when.to_data()
        data["then"] = [action.to_data() for action in self.then]
        if self.stop:
            data["stop"] = True
        return data


@dataclass(frozen=True)
class Escalation:
    team: Ref
    reason: str
    rule_id: str


@dataclass(frozen=True)
class RuleMatch:
    """One matched rule in the explanation."""

    rule_id: str
    name: str
    position: int
    conditions: tuple[str, ...]
    applied: tuple[str, ...]
    ignored: tuple[str, ...]
    stopped: bool

    def sentence(self) -> str:
        title = f"rule {self.rule_id!r}" + (f" ({self.name})" if self.name else "")
        because = "; ".join(self.conditions) if self.conditions else "it applies to every message"
        text = f"{title} matched because {because}: {', '.join(self.applied) or 'nothing new'}"
        if self.ignored:
            text += f"; ignored {', '.join(self.ignored)}"
        if self.stopped:
            text += "; no further rules were evaluated"
        return text + "."


@dataclass(frozen=True)
class RoutingDecision:
    team: Ref | None = None
    agent: Ref | None = None
    priority: Priority | None = None
    tags: tuple[str, ...] = ()
    hide: bool = False
    flags: tuple[str, ...] = ()
    escalation: Escalation | None = None
    auto_reply: Ref | None = None
    require_approval: bool = False
    approval_team: Ref | None = None
    matches: tuple[RuleMatch, ...] = ()

    @property
    def target_team(self) -> Ref | None:
        """Where the conversation goes: the escalation team wins over an ordinary assignment."""
        return self.escalation.team if self.escalation else self.team

    def explain(self) -> str:
        """ "Why was this routed here", one line per matched rule."""
        if not self.matches:
            return "No routing rule matched."
        return "\n".join(match.sentence() for match in self.matches)


class _Builder:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.setters: dict[str, str] = {}
        self.tags: list[str] = []
        self.flags: list[str] = []
        self.hide = False
        self.require_approval = False

    def _single(self, key: str, value: Any, rule: Rule, action: Action) -> tuple[bool, str]:
        if key in self.values:
            if self.values[key] == value:
                return False, ""
            return False, f"{action.describe()} (already decided by rule {self.setters[key]!r})"
        self.values[key] = value
        self.setters[key] = rule.id
        return True, action.describe()

    def apply(self, rule: Rule) -> tuple[list[str], list[str]]:
        applied: list[str] = []
        ignored: list[str] = []
        for action in rule.then:
            done, text = True, action.describe()
            t = action.type
            if t in ("assign_team", "assign_agent", "set_priority", "auto_reply"):
                done, text = self._single(t, action.value, rule, action)
            elif t == "escalate":
                done, text = self._single(t, Escalation(action.value, action.reason, rule.id), rule, action)
            elif t == "add_tag":
                done = action.value not in self.tags
                if done:
                    self.tags.append(action.value)
            elif t == "flag":
                reason = action.value if isinstance(action.value, str) else f"rule {rule.id}"
                self.flags.append(reason)
            elif t == "hide":
                self.hide = True
            elif t == "require_approval":
                self.require_approval = True
                if action.value is not True:
                    done, text = self._single("approval_team", action.value, rule, action)
            if done:
                applied.append(text)
            elif text:
                ignored.append(text)
        return applied, ignored

    def decision(self, matches: list[RuleMatch]) -> RoutingDecision:
        v = self.values
        return RoutingDecision(
            team=v.get("assign_team"),
            agent=v.get("assign_agent"),
            priority=v.get("set_priority"),
            tags=tuple(self.tags),
            hide=self.hide,
            flags=tuple(self.flags),
            escalation=v.get("escalate"),
            auto_reply=v.get("auto_reply"),
            require_approval=self.require_approval,
            approval_team=v.get("approval_team"),
            matches=tuple(matches),
        )


class RuleSet:
    """Validated, compiled rules in evaluation order."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        ordered = sorted(enumerate(rules), key=lambda pair: (pair[1].position, pair[0]))
        self.rules: tuple[Rule, ...] = tuple(rule for _, rule in ordered)
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise RuleError(f"rule {rule.id!r}: two rules have this id")
            seen.add(rule.id)
        self._active = tuple(rule for rule in self.rules if rule.enabled)
        # An index of the active rules by a value they require: a rule whose condition requires, say,
        # `platform: x` (a top-level `all` part or the whole condition) cannot match a message from
        # another platform, so evaluation tests only the rules whose required value the message has
        # (looked up per field) plus those without such a requirement — in the same order.
        self._ungated: tuple[int, ...] = ()
        self._gates: dict[str, dict[object, tuple[int, ...]]] = {}
        ungated: list[int] = []
        gates: dict[str, dict[object, list[int]]] = {}
        for index, rule in enumerate(self._active):
            gate = _gate(rule.when)
            if gate is None:
                ungated.append(index)
                continue
            by_value = gates.setdefault(gate.field, {})
            for value in gate.value if isinstance(gate.value, tuple) else (gate.value,):
                # (tags are compared casefolded: ``conditions._compile``, ``Facts.tags``)
                key = value.casefold() if gate.field in _SET_GATE_FIELDS else value
                if index not in by_value.setdefault(key, []):
                    by_value[key].append(index)
        self._ungated = tuple(ungated)
        self._gates = {
            name: {value: tuple(indexes) for value, indexes in by_value.items()}
            for name, by_value in gates.items()
        }

    # loading and exporting ------------------------------------------------------------------------

    @classmethod
    def from_data(cls, data: object) -> RuleSet:
        """From a list of rule mappings, or a mapping with a `rules` list (the YAML file's shape)."""
        if isinstance(data, Mapping):
            extra = set(data) - {"rules"}
            if extra:
                raise RuleError(f"unknown top-level key(s) {sorted(map(str, extra))}; expected 'rules'")
            data = data.get("rules") or []
        if data is None:
            data = []
        if not isinstance(data, list):
            raise RuleError("rules must be a list")
        return cls(Rule.from_data(item, i) for i, item in enumerate(data))

    @classmethod
    def from_yaml(cls, text: str) -> RuleSet:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise RuleError(f"not valid YAML: {error}") from None
        return cls.from_data(data)

    def to_data(self) -> dict[str, list[dict[str, Any]]]:
        return {"rules": [rule.to_data() for rule in self.rules]}

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_data(), sort_keys=False, allow_unicode=True, width=110)

    # what rules refer to (for the actions layer to check before saving) ---------------------------

    def references(self) -> dict[str, set[Ref]]:
        """Teams, agents and templates the rules name, so the caller can check they exist."""
        refs: dict[str, set[Ref]] = {"team": set(), "agent": set(), "template": set()}
        for rule in self.rules:
            for action in rule.then:
                if action.type in ("assign_team", "escalate") or (
                    action.type == "require_approval" and action.value is not True
                ):
                    refs["team"].add(action.value)
                elif action.type == "assign_agent":
                    refs["agent"].add(action.value)
                elif action.type == "auto_reply":
                    refs["template"].add(action.value)
        return refs

    # evaluation ----------------------------------------------------------------------------------

    def _candidates(self, facts: Facts) -> Iterable[Rule]:
        """The active rules that can match, in evaluation order (see ``_gates``)."""
        if not self._gates:
            return self._active
        indexes = list(self._ungated)
        several = False  # a rule may be found under more than one of the message's tags
        for name, by_value in self._gates.items():
            if name in _SET_GATE_FIELDS:
                tags: frozenset[str] = facts.value(name)  # type: ignore[assignment]
                for tag in tags:
                    indexes.extend(by_value.get(tag, ()))
                several = several or len(tags) > 1
            else:
                indexes.extend(by_value.get(facts.value(name), ()))
        if several:
            indexes = list(set(indexes))
        indexes.sort()
        active = self._active
        return [active[index] for index in indexes]

    def evaluate(self, context: MessageContext) -> RoutingDecision:
        facts = Facts(context)
        builder = _Builder()
        matches: list[RuleMatch] = []
        for rule in self._candidates(facts):
            if not rule.test(facts):
                continue
            applied, ignored = builder.apply(rule)
            matches.append(
                RuleMatch(
                    rule_id=rule.id,
                    name=rule.name,
                    position=rule.position,
                    conditions=tuple(rule.explain(facts)),
                    applied=tuple(applied),
                    ignored=tuple(ignored),
                    stopped=rule.stop,
                )
            )
            if rule.stop:
                break
        return builder.decision(matches)


# Fields whose `eq`/`in` test is "the message's (lower-cased) value is one of these" (conditions._compile).
_GATE_FIELDS = frozenset({"platform", "language", "intent", "kind", "sentiment"})
# Set-valued fields whose `contains_any`/`contains_all` test needs one of the listed tags on the message:
# such a rule is indexed under each of its tags (e.g. the rules for `customer_tags: [vip]` are not even
# looked at for a customer without tags).
_SET_GATE_FIELDS = frozenset({"tags", "customer_tags"})


def _gate(condition: Condition) -> Leaf | None:
    """A leaf the whole condition requires that tests a plain value (the one with the fewest values),
    or None."""
    if isinstance(condition, Leaf):
        if condition.field in _GATE_FIELDS and condition.op in ("eq", "in") and condition.keywords is None:
            return condition
        if condition.field in _SET_GATE_FIELDS and condition.op in ("contains_any", "contains_all"):
            return condition
        return None
    if isinstance(condition, All):
        found = [gate for part in condition.parts if (gate := _gate(part)) is not None]
        return min(
            found, key=lambda leaf: len(leaf.value) if isinstance(leaf.value, tuple) else 1, default=None
        )
    return None


def load_rules(data: str | Sequence[Mapping[str, Any]] | Mapping[str, Any]) -> RuleSet:
    """Rules from YAML text, a list of dicts or a `{rules: [...]}` mapping."""
    if isinstance(data, str):
        return RuleSet.from_yaml(data)
    return RuleSet.from_data(list(data) if not isinstance(data, Mapping) else data)
