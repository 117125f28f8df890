"""Routing rules: conditions, actions, order and stop, explanations, YAML, and refusing bad rules."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tilsvar.workflow.calendar import calendar_from_hours
from tilsvar.workflow.conditions import Facts, MessageContext, explain_condition
from tilsvar.workflow.rules import RuleError, RuleSet, load_rules
from tilsvar.workflow.textmatch import KeywordSet, fold

TUESDAY_10 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # 10:00 in Copenhagen

USER_RULES = """
# Examples from our users (docs/workflow.md)
rules:
  - id: shitstorm
    name: A wave of criticism goes to press
    position: 10
    when:
      all:
        - sentiment: negative
        - {field: negative_last_hour, op: ge, value: 25}
    then:
      - escalate: {team: press, reason: wave of criticism}
      - set_priority: urgent
      - require_approval: {team: press}
  - id: x-to-press
    name: X goes to the press team
    position: 20
    when: {platform: x}
    then:
      - assign_team: press
    stop: true
  - id: leads
    name: Leads go to marketing
    position: 30
    when:
      any:
        - intent: lead
        - text: [tilbud, "pris*", "firmaaftale", "oferta"]
    then:
      - assign_team: marketing
      - add_tag: lead
  - id: vip
    position: 40
    when: {customer_tags: [vip]}
    then:
      - set_priority: high
      - add_tag: vip
  - id: abuse
    position: 50
    when: {intent: abuse}
    then:
      - hide: true
      - flag: abusive language
  - id: night
    position: 60
    when:
      all:
        - {staffed: false}
        - not: {kind: post}
    then:
      - auto_reply: closed-hours
  - id: service
    name: Service questions to customer service
    position: 100
    then:
      - assign_team: customer-service
"""


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules(USER_RULES)


def message(**fields: Any) -> MessageContext:
    fields.setdefault("received_at", TUESDAY_10)
    return MessageContext(**fields)


def test_x_goes_to_press_and_stops(rules: RuleSet) -> None:
    decision = rules.evaluate(message(platform="x", kind="comment", text="Toget er forsinket igen"))
    assert decision.team == "press"
    assert decision.target_team == "press"
    assert [m.rule_id for m in decision.matches] == ["x-to-press"]
    assert decision.matches[0].stopped
    assert (
        "rule 'x-to-press' (X goes to the press team) matched because platform is 'x'" in decision.explain()
    )
    assert "no further rules were evaluated" in decision.explain()


def test_wave_of_criticism_escalates_to_press(rules: RuleSet) -> None:
    context = message(platform="facebook", sentiment="negative", negative_last_hour=40, text="Skandale!")
    decision = rules.evaluate(context)
    assert decision.escalation is not None
    assert decision.escalation.team == "press"
    assert decision.escalation.reason == "wave of criticism"
    assert decision.target_team == "press"  # the escalation wins over customer service
    assert decision.team == "customer-service"
    assert decision.priority == "urgent"
    assert decision.require_approval
    assert decision.approval_team == "press"
    assert "negative_last_hour ≥ 25 (it is 40)" in decision.explain()
    calm = rules.evaluate(message(platform="facebook", sentiment="negative", negative_last_hour=3))
    assert calm.escalation is None
    assert calm.target_team == "customer-service"


def test_leads_go_to_marketing_by_intent_or_keyword(rules: RuleSet) -> None:
    by_intent = rules.evaluate(message(platform="facebook", intent="lead"))
    assert by_intent.team == "marketing"
    assert by_intent.tags == ("lead",)
    by_word = rules.evaluate(message(platform="email", text="Hvad er PRISERNE for en firmaaftale?"))
    assert by_word.team == "marketing"
    lead = by_word.matches[0]
    assert lead.conditions == ("text mentions ['pris*', 'firmaaftale']",)
    # the catch-all still matched, but the team was already decided
    service = by_word.matches[-1]
    assert service.rule_id == "service"
    assert service.ignored == ("assign to team 'customer-service' (already decided by rule 'leads')",)
    assert "ignored assign to team 'customer-service'" in by_word.explain()


def test_service_questions_fall_to_customer_service(rules: RuleSet) -> None:
    decision = rules.evaluate(message(platform="facebook", kind="comment", text="Hvornår kører toget?"))
    assert decision.team == "customer-service"
    assert decision.explain().endswith(
        "because it applies to every message: assign to team 'customer-service'."
    )


def test_vip_abuse_and_closed_hours(rules: RuleSet) -> None:
    calendar = calendar_from_hours("Europe/Copenhagen", {"mon": ["09:00-17:00"], "tue": ["09:00-17:00"]})
    night = datetime(2026, 3, 10, 22, 0, tzinfo=UTC)
    decision = rules.evaluate(
        message(
            received_at=night,
            calendar=calendar,
            kind="dm",
            intent="abuse",
            customer_tags=frozenset({"VIP"}),
            platform="instagram",
        )
    )
    assert decision.priority == "high"
    assert decision.tags == ("vip",)
    assert decision.hide
    assert decision.flags == ("abusive language",)
    assert decision.auto_reply == "closed-hours"
    assert (
        "because staffed is False; not (kind is 'post'): auto-reply with template 'closed-hours'"
        in decision.explain()
    )
    daytime = rules.evaluate(message(calendar=calendar, kind="dm", platform="instagram"))
    assert daytime.auto_reply is None


def test_no_rule_matches() -> None:
    decision = load_rules("rules: [{id: x, when: {platform: x}, then: [{assign_team: press}]}]").evaluate(
        message(platform="facebook")
    )
    assert decision.team is None
    assert decision.target_team is None
    assert decision.explain() == "No routing rule matched."


def test_order_is_position_then_given_order_and_disabled_rules_are_skipped() -> None:
    rules = load_rules(
        [
            {"id": "late", "position": 5, "then": [{"assign_team": "b"}]},
            {"id": "early", "position": 1, "then": [{"assign_team": "a"}]},
            {"id": "same-position", "position": 5, "then": [{"assign_team": "c"}, {"add_tag": "t"}]},
            {"id": "off", "position": 0, "enabled": False, "then": [{"assign_team": "z"}]},
        ]
    )
    assert [r.id for r in rules.rules] == ["off", "early", "late", "same-position"]
    decision = rules.evaluate(message())
    assert decision.team == "a"
    assert [m.rule_id for m in decision.matches] == ["early", "late", "same-position"]
    assert decision.tags == ("t",)


# conditions ---------------------------------------------------------------------------------------


def evaluate_one(condition: Any, **fields: Any) -> bool:
    rules = load_rules([{"id": "r", "when": condition, "then": [{"add_tag": "hit"}]}])
    return rules.evaluate(message(**fields)).tags == ("hit",)


@pytest.mark.parametrize(
    ("condition", "fields", "expected"),
    [
        ({"brand": 1}, {"brand": 1}, True),
        ({"brand": "nordic-rail"}, {"brand": 1, "brand_slug": "nordic-rail"}, True),
        ({"brand": [2, 3]}, {"brand": 1}, False),
        ({"field": "brand", "op": "ne", "value": 2}, {"brand": 1}, True),
        ({"channel": "@nordicrail"}, {"channel": 4, "channel_account": "@nordicrail"}, True),
        ({"platform": "X"}, {"platform": "x"}, True),
        ({"platform": ["facebook", "instagram"]}, {"platform": "Instagram"}, True),
        ({"field": "platform", "op": "not_in", "value": ["x"]}, {"platform": None}, True),
        ({"kind": "dm"}, {"kind": "comment"}, False),
        ({"language": ["da", "nb"]}, {"language": "da"}, True),
        ({"language": "da"}, {}, False),
        ({"sentiment": "negative"}, {"sentiment": "negative"}, True),
        ({"field": "sentiment_score", "op": "lt", "value": -0.5}, {"sentiment_score": -0.8}, True),
        ({"field": "sentiment_score", "op": "lt", "value": -0.5}, {}, False),
        ({"field": "priority", "op": "ge", "value": "high"}, {"priority": "urgent"}, True),
        ({"field": "priority", "op": "ge", "value": "high"}, {"priority": "normal"}, False),
        ({"field": "priority", "op": "lt", "value": "high"}, {"priority": "bogus"}, False),
        ({"tags": ["refund"]}, {"tags": frozenset({"Refund", "x"})}, True),
        ({"field": "tags", "op": "contains_all", "value": ["a", "b"]}, {"tags": frozenset({"a"})}, False),
        ({"field": "tags", "op": "contains_none", "value": ["spam"]}, {"tags": frozenset({"a"})}, True),
        ({"contact": 42}, {"contact": 42}, True),
        ({"handle": "@Anna_K"}, {"handle": "anna_k"}, True),
        ({"weekday": ["mon", "tue"]}, {}, True),
        ({"weekday": "sat"}, {}, False),
        ({"staffed": True}, {}, True),  # without a calendar: always staffed
        ({"field": "text", "op": "matches", "value": r"\bDSB\d+"}, {"text": "Tog dsb123 aflyst"}, True),
        (
            {"field": "text", "op": "contains_all", "value": ["tog", "aflyst"]},
            {"text": "Toget er AFLYST"},
            False,
        ),
        (
            {"field": "text", "op": "contains_all", "value": ["tog*", "aflyst"]},
            {"text": "Toget er AFLYST"},
            True,
        ),
        ({"field": "text", "op": "contains_none", "value": ["tak"]}, {"text": "Mange tak!"}, False),
        ({"any": [{"kind": "dm"}, {"kind": "email"}]}, {"kind": "email"}, True),
        ({"not": {"kind": "post"}}, {"kind": None}, True),
        ([{"platform": "x"}, {"kind": "dm"}], {"platform": "x", "kind": "dm"}, True),
        (None, {}, True),
    ],
)
def test_conditions(condition: Any, fields: dict[str, Any], expected: bool) -> None:
    assert evaluate_one(condition, **fields) is expected


@pytest.mark.parametrize(
    ("condition", "fields"),
    [
        ({"field": "brand", "op": "ne", "value": 2}, {"brand": 1}),
        ({"channel": ["@a", "@nordicrail"]}, {"channel": 4, "channel_account": "@nordicrail"}),
        ({"platform": ["facebook", "instagram"]}, {"platform": "Instagram"}),
        ({"field": "sentiment_score", "op": "lt", "value": -0.5}, {"sentiment_score": -0.8}),
        ({"field": "priority", "op": "ge", "value": "high"}, {"priority": "urgent"}),
        ({"tags": ["refund"]}, {"tags": frozenset({"Refund", "x"})}),
        ({"field": "text", "op": "contains_all", "value": ["tog*", "aflyst"]}, {"text": "Toget er AFLYST"}),
        ({"field": "text", "op": "contains_none", "value": ["tak"]}, {"text": "Hej"}),
        ({"field": "text", "op": "matches", "value": r"\bDSB\d+"}, {"text": "Tog dsb123 aflyst"}),
        (
            {"any": [{"kind": "dm"}, {"language": "da"}, {"kind": "email"}]},
            {"kind": "email", "language": "da"},
        ),
        ({"not": {"any": [{"kind": "post"}, {"language": ["sv", "nb"]}]}}, {"kind": None}),
        ({"not": {"not": {"language": ["da", "nb"]}}}, {"language": "da"}),
        (
            {"all": [{"platform": "x"}, {"not": {"kind": "dm"}}, {"any": [{"hour": 3}, {"staffed": True}]}]},
            {"platform": "x", "kind": "comment"},
        ),
        ({"all": [{"handle": "@Anna_K"}, {"weekday": ["mon", "tue"]}]}, {"handle": "anna_k"}),
        (None, {}),
    ],
)
def test_compiled_explanation_says_what_the_condition_tree_says(
    condition: Any, fields: dict[str, Any]
) -> None:
    rule = load_rules([{"id": "r", "when": condition, "then": [{"add_tag": "t"}]}]).rules[0]
    facts = Facts(MessageContext(received_at=TUESDAY_10, **fields))
    assert rule.test(facts)
    assert tuple(rule.explain(facts)) == tuple(explain_condition(rule.when, facts))
    decision = load_rules([rule.to_data()]).evaluate(MessageContext(received_at=TUESDAY_10, **fields))
    assert decision.matches[0].conditions == tuple(explain_condition(rule.when, facts))


_TAGS = ("VIP", "press", "Refund", "Straße")
_LEAVES = st.one_of(
    st.sampled_from(["x", "email", "facebook"]).map(lambda v: {"platform": v}),
    st.lists(st.sampled_from(["da", "sv", "pl"]), min_size=1, max_size=2, unique=True).map(
        lambda v: {"language": v}
    ),
    st.sampled_from(["dm", "comment"]).map(lambda v: {"kind": v}),
    st.lists(st.sampled_from(_TAGS), min_size=1, max_size=2, unique=True).map(lambda v: {"customer_tags": v}),
    st.tuples(
        st.sampled_from(["contains_any", "contains_all"]), st.lists(st.sampled_from(_TAGS), min_size=1)
    ).map(lambda t: {"field": "tags", "op": t[0], "value": t[1]}),
    st.sampled_from(["refund", "tog*"]).map(lambda v: {"text": [v]}),
)
_CONDITIONS = st.one_of(
    _LEAVES,
    st.lists(_LEAVES, min_size=1, max_size=3).map(lambda parts: {"all": parts}),
    st.lists(_LEAVES, min_size=2, max_size=3).map(lambda parts: {"any": parts}),
    _LEAVES.map(lambda part: {"not": part}),
)


@settings(max_examples=150, deadline=None)
@given(
    conditions=st.lists(st.tuples(_CONDITIONS, st.booleans()), min_size=1, max_size=12),
    platform=st.sampled_from(["x", "email", "instagram"]),
    language=st.sampled_from(["da", "sv", "en"]),
    kind=st.sampled_from(["dm", "comment"]),
    tags=st.frozensets(st.sampled_from([*_TAGS, "vip", "other"])),
    customer_tags=st.frozensets(st.sampled_from([*_TAGS, "vip", "other"])),
    text=st.sampled_from(["", "Refund my ticket", "toget er sent"]),
)
def test_indexed_evaluation_matches_every_rule_in_order(
    conditions: list[tuple[Any, bool]],
    platform: str,
    language: str,
    kind: str,
    tags: frozenset[str],
    customer_tags: frozenset[str],
    text: str,
) -> None:
    """Rules are looked up by the values they require (platform, language, tags ...); the matches are
    exactly those of testing every active rule in order, up to the first matching ``stop``."""
    rules = load_rules(
        [
            {"id": f"r{i}", "when": when, "then": [{"add_tag": f"t{i}"}], "stop": stop}
            for i, (when, stop) in enumerate(conditions)
        ]
    )
    context = message(
        platform=platform, language=language, kind=kind, tags=tags, customer_tags=customer_tags, text=text
    )
    facts = Facts(context)
    expected = []
    for rule in rules.rules:
        if rule.test(facts):
            expected.append(rule.id)
            if rule.stop:
                break
    assert [match.rule_id for match in rules.evaluate(context).matches] == expected


def test_weekday_uses_the_calendar_time_zone() -> None:
    calendar = calendar_from_hours("Pacific/Auckland", {"wed": ["09:00-17:00"]})
    late_tuesday_utc = datetime(2026, 3, 10, 20, 0, tzinfo=UTC)  # Wednesday morning in Auckland
    assert evaluate_one({"weekday": "wed"}, received_at=late_tuesday_utc, calendar=calendar)
    assert evaluate_one({"staffed": True}, received_at=late_tuesday_utc, calendar=calendar)
    assert evaluate_one({"weekday": "tue"}, received_at=late_tuesday_utc)


def test_hour_is_the_time_of_day_in_the_calendar_time_zone() -> None:
    calendar = calendar_from_hours("Europe/Copenhagen", {"mon": ["09:00-17:00"]})
    evening = datetime(2026, 7, 6, 16, 30, tzinfo=UTC)  # 18:30 in Copenhagen (summer time)
    after_six = {"field": "hour", "op": "ge", "value": 18}
    assert evaluate_one(after_six, received_at=evening, calendar=calendar)
    assert not evaluate_one(after_six, received_at=evening)  # 16:30 UTC without a calendar
    assert evaluate_one(
        {
            "all": [
                {"field": "hour", "op": "gt", "value": 18.25},
                {"field": "hour", "op": "lt", "value": 18.75},
            ]
        },
        received_at=evening,
        calendar=calendar,
    )


@pytest.mark.parametrize(
    ("keyword", "text", "expected"),
    [
        ("forsinkelse", "FORSINKELSE på linje 3", True),
        ("forsinkelse", "Forsinkelsé!", True),
        ("opóźnienie", "Kolejne opoznienie pociagu", True),
        ("opoznienie", "Kolejne OPÓŹNIENIE pociągu", True),
        ("københavn", "Kobenhavn H", True),
        ("kobenhavn", "KØBENHAVN H", True),
        ("łódź", "Lodz Fabryczna", True),
        ("strasse", "Hauptstraße", False),  # whole words only
        ("straße", "Hauptstrasse straße", True),
        ("tog", "togbane", False),
        ("tog", "Tog, bus og færge", True),
        ("tog*", "togbanen", True),
        ("bad service", "Really BAD   service today", True),
        ("bad service", "bad customer service", False),
        ("😡", "so angry 😡😡", True),
        ("æble", "AEBLE", True),
    ],
)
def test_keywords_fold_case_and_accents_on_word_boundaries(keyword: str, text: str, expected: bool) -> None:
    assert evaluate_one({"text": [keyword]}, text=text) is expected


@settings(max_examples=200, deadline=None)
@given(word=st.text(alphabet="abcdefghijklmnopqrstuvwxyzæøåąćęłńóśźż", min_size=1, max_size=12))
def test_a_word_always_finds_itself_in_any_case(word: str) -> None:
    from tilsvar.workflow.textmatch import FoldedText

    keywords = KeywordSet([word])
    assert keywords.any_in(FoldedText(f"x {word.upper()} y"))
    assert keywords.any_in(FoldedText(f"({word})"))
    assert fold(word) == fold(fold(word))


# validation --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        (
            {"id": "a", "when": {"plaform": "x"}, "then": [{"add_tag": "t"}]},
            "unknown field 'plaform' (did you mean 'platform'?)",
        ),
        (
            {
                "id": "a",
                "when": {"field": "platform", "op": "like", "value": "x"},
                "then": [{"add_tag": "t"}],
            },
            "operator 'like' not allowed for 'platform' (unknown operator)",
        ),
        (
            {"id": "a", "when": {"field": "kind", "op": "gt", "value": "dm"}, "then": [{"add_tag": "t"}]},
            "operator 'gt' not allowed for 'kind'",
        ),
        ({"id": "a", "when": {"kind": "tweet"}, "then": [{"add_tag": "t"}]}, "'tweet' is not one of"),
        (
            {
                "id": "a",
                "when": {"field": "sentiment_score", "op": "lt", "value": "low"},
                "then": [{"add_tag": "t"}],
            },
            "expects a number",
        ),
        ({"id": "a", "when": {"staffed": "yes"}, "then": [{"add_tag": "t"}]}, "expects true or false"),
        ({"id": "a", "when": {"brand": True}, "then": [{"add_tag": "t"}]}, "expects an id or a name"),
        (
            {
                "id": "a",
                "when": {"field": "sentiment_score", "op": "lt", "value": [1, 2]},
                "then": [{"add_tag": "t"}],
            },
            "takes one value",
        ),
        ({"id": "a", "when": {"platform": []}, "then": [{"add_tag": "t"}]}, "needs at least one value"),
        (
            {
                "id": "a",
                "when": {"field": "text", "op": "matches", "value": "(unclosed"},
                "then": [{"add_tag": "t"}],
            },
            "bad regular expression",
        ),
        ({"id": "a", "when": {"text": ["*"]}, "then": [{"add_tag": "t"}]}, "wildcard keyword"),
        ({"id": "a", "when": {"text": ["  "]}, "then": [{"add_tag": "t"}]}, "expects text"),
        ({"id": "a", "when": {"all": []}, "then": [{"add_tag": "t"}]}, "non-empty list"),
        (
            {"id": "a", "when": {"all": [{"kind": "dm"}], "platform": "x"}, "then": [{"add_tag": "t"}]},
            "must stand alone",
        ),
        (
            {"id": "a", "when": {"kind": "dm", "platform": "x"}, "then": [{"add_tag": "t"}]},
            "one condition per mapping",
        ),
        (
            {"id": "a", "when": {"field": "kind", "value": "dm", "colour": 1}, "then": [{"add_tag": "t"}]},
            "unknown key(s) ['colour']",
        ),
        ({"id": "a", "when": {"field": "kind"}, "then": [{"add_tag": "t"}]}, "missing 'value'"),
        ({"id": "a", "when": "platform is x", "then": [{"add_tag": "t"}]}, "a condition is a mapping"),
        ({"id": "a", "then": [{"assign_tem": "press"}]}, "unknown action 'assign_tem'"),
        ({"id": "a", "then": [{"set_priority": "asap"}]}, "priority must be one of"),
        ({"id": "a", "then": [{"assign_team": ""}]}, "expects an id or a name"),
        ({"id": "a", "then": [{"hide": "please"}]}, "hide: true"),
        ({"id": "a", "then": [{"escalate": {"reason": "x"}}]}, "{team: press, reason: ...}"),
        ({"id": "a", "then": [{"assign_team": "a", "add_tag": "b"}]}, "one key"),
        ({"id": "a", "then": []}, "then: List should have at least 1 item"),
        ({"id": "a", "then": [{"add_tag": "t"}], "colour": "red"}, "colour: Extra inputs are not permitted"),
        ({"id": "a", "then": [{"add_tag": "t"}], "stop": "yes"}, "stop: Input should be a valid boolean"),
        ({"then": [{"add_tag": "t"}]}, "rule #1: id: Field required"),
    ],
)
def test_invalid_rules_are_rejected_with_a_reason(rule: dict[str, Any], reason: str) -> None:
    with pytest.raises(RuleError) as caught:
        load_rules([rule])
    assert reason in str(caught.value)


def test_invalid_files_are_rejected() -> None:
    with pytest.raises(RuleError, match="not valid YAML"):
        load_rules("rules: [unclosed")
    with pytest.raises(RuleError, match="two rules have this id"):
        load_rules([{"id": "a", "then": [{"add_tag": "t"}]}, {"id": "a", "then": [{"add_tag": "u"}]}])
    with pytest.raises(RuleError, match="unknown top-level"):
        load_rules({"rulez": []})
    with pytest.raises(RuleError, match="must be a list"):
        load_rules("rules: 3")
    assert load_rules("").rules == ()


def test_yaml_round_trip_keeps_meaning(rules: RuleSet) -> None:
    exported = rules.to_yaml()
    again = load_rules(exported)
    assert again.to_data() == rules.to_data()
    assert [r.when for r in again.rules] == [r.when for r in rules.rules]
    assert "X goes to the press team" in exported
    contexts = [
        message(platform="x"),
        message(sentiment="negative", negative_last_hour=50),
        message(text="prisen"),
        message(customer_tags=frozenset({"vip"}), intent="abuse"),
    ]
    for context in contexts:
        assert again.evaluate(context) == rules.evaluate(context)


def test_references_list_teams_agents_and_templates(rules: RuleSet) -> None:
    refs = rules.references()
    assert refs["team"] == {"press", "marketing", "customer-service"}
    assert refs["template"] == {"closed-hours"}
    assert load_rules([{"id": "a", "then": [{"assign_agent": 7}]}]).references()["agent"] == {7}


def test_explicit_form_and_shorthand_are_equivalent() -> None:
    short = load_rules([{"id": "a", "when": {"platform": ["x", "facebook"]}, "then": [{"add_tag": "t"}]}])
    explicit = load_rules(
        [
            {
                "id": "a",
                "when": {"field": "platform", "op": "in", "value": ["x", "facebook"]},
                "then": [{"add_tag": "t"}],
            }
        ]
    )
    assert short.rules[0].when == explicit.rules[0].when
    assert explicit.to_data()["rules"][0]["when"] == {"platform": ["x", "facebook"]}


def test_workflow_engines_never_import_the_database() -> None:
    import subprocess
    import sys

    code = (
        "import sys, tilsvar.workflow.inbound, tilsvar.workflow.calendar\n"
        "forbidden = ('tilsvar.models', 'tilsvar.db', 'tilsvar.actions', 'sqlalchemy')\n"
        "bad = [m for m in sys.modules if m.startswith(forbidden)]\n"
        "print(bad)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
