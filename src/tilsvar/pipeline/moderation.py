"""Moderation: what in a message a brand may want to hide or look at, and the action its policy takes.

Labels (INTERFACES.md): ``profanity`` (LDNOOBW lists + our own, after leetspeak/spacing normalisation),
``personal_attack`` (an insult aimed at the reader or at a *named* person or staff member), ``threat``,
``hate``, ``spam``, ``advertising`` (promo patterns, foreign shop links, competitors named in
``context["competitors"]``) and ``pii_exposed`` (from the PII stage). ``offensive`` follows the
OffensEval definition and combines a trained char n-gram classifier (DKhate for da/nb/sv, PolEval for
pl; see ``training/train_offensive.py``; for en a weighted mean of a word model converted from
alt-profanity-check, ``wordmodel.py``, and the "toxic" output of a BiLSTM converted from
toxic-comment-classifier, ``sequencemodel.py``) with the lexicon labels.

A policy maps labels to ``allow``/``flag``/``hide`` (the strictest wins). ``DEFAULT_POLICY`` hides
profanity, named-person attacks, advertising and spam and flags the rest; a brand passes its own in
``context["policy"]``. Repeat offenders (``context["author_prior_offences"]`` ≥ 3) get flag → hide.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from tilsvar.pipeline import lexicons, sequencemodel, wordmodel
from tilsvar.pipeline.linear import DATA_DIR, featurize_normalized, shipped
from tilsvar.pipeline.text import URL_RE, CueSet, fold, lexicon_form

if TYPE_CHECKING:
    from tilsvar.pipeline import TextItem

ACTIONS = ("allow", "flag", "hide")
DEFAULT_POLICY: dict[str, str] = {
    "profanity": "hide",
    "named_person_attack": "hide",
    "personal_attack": "flag",
    "threat": "flag",
    "hate": "hide",
    "spam": "hide",
    "advertising": "hide",
    "pii_exposed": "flag",
    "offensive": "flag",
}
REPEAT_OFFENDER = 3
#: language → word-list group and offensive model
_GROUP = {"da": "nordic", "sv": "nordic", "nb": "nordic", "nn": "nordic", "pl": "pl", "en": "en"}
_ENGLISH_MODEL = "offensive_en"
_ENGLISH_SEQUENCE_MODEL = "toxic_lstm_en"
#: English score = weight × the word model's calibrated score + (1 − weight) × the BiLSTM's "toxic"
#: probability, offensive from the threshold on; both chosen on one half of OLID (evaluation-only, never
#: trained on) and measured on the other (``tilsvar eval moderation``, docs/pipeline.md)
ENGLISH_BLEND_WEIGHT = 0.4
ENGLISH_BLEND_THRESHOLD = 0.24
_MODEL = {"pl": "offensive_pl", "en": _ENGLISH_MODEL}
_DEFAULT_MODEL = "offensive_da"
_LDNOOBW_GROUP = {"da": "nordic", "no": "nordic", "sv": "nordic", "pl": "pl", "en": "en"}
#: lexicon labels that make a message offensive in the OffensEval sense
OFFENSIVE_LABELS = frozenset({"profanity", "personal_attack", "threat", "hate"})
_LABEL_SCORE = {"profanity": 0.8, "personal_attack": 0.9, "threat": 0.95, "hate": 0.95}


@dataclass(slots=True)
class Lexicon:
    """Exact words/phrases and ``prefix*`` stems, all in lexicon form."""

    exact: set[str] = field(default_factory=set)
    phrases: list[str] = field(default_factory=list)
    prefixes: tuple[str, ...] = ()

    @classmethod
    def build(cls, entries: Iterable[str], exclude: set[str] = frozenset()) -> Lexicon:  # type: ignore[assignment]
        exact: set[str] = set()
        phrases: list[str] = []
        prefixes: list[str] = []
        for raw in entries:
            entry = lexicon_form(raw.strip())
            if not entry or entry in exclude or raw in exclude:
                continue
            if entry.endswith("*"):
                prefixes.append(entry[:-1])
            elif " " in entry:
                phrases.append(entry)
            else:
                exact.add(entry)
                exact.add(fold(entry))
        return cls(exact, phrases, tuple(sorted(set(prefixes))))

    def matches(self, tokens: Sequence[str], joined: str) -> list[str]:
        hits = [t for t in tokens if t in self.exact or fold(t) in self.exact]
        if self.prefixes:
            hits += [t for t in tokens if t.startswith(self.prefixes) and t not in hits]
        hits += [p for p in self.phrases if f" {p} " in joined]
        return hits


@cache
def _profanity(group: str) -> Lexicon:
    entries = list(lexicons.PROFANITY.get(group, []))
    for language, target in _LDNOOBW_GROUP.items():
        if target == group:
            path = DATA_DIR / "ldnoobw" / f"{language}.txt"
            entries += path.read_text(encoding="utf-8").splitlines()
    return Lexicon.build(entries, lexicons.NOT_PROFANE.get(group, set()))


@cache
def _compiled() -> dict[str, Any]:
    insults = "|".join(sorted((re.escape(lexicon_form(w)) for w in lexicons.INSULTS), key=len, reverse=True))
    second = "|".join(lexicons.SECOND_PERSON)
    return {
        "insult": re.compile(r"(?<!\w)(?:" + insults + r")(?!\w)"),
        "insult_at_you": re.compile(
            r"(?<!\w)(?:" + second + r")\s+(?:(?:en|et|ett|an?|så|sådan\s+en|such\s+an?|total|fucking|"
            r"jævla|jävla|kæmpe|stor|big|fandens|kurwa|zwykły|zwykła|kompletn\w+)\s+)*"
            # and one more adjective of any kind ("you are a disgusting idiot", "du er en doven idiot")
            r"(?:[^\W\d_]+\s+)?(?:" + insults + r")(?!\w)"
        ),
        "insult_named": re.compile(
            r"(?<![\w@])([A-ZÆØÅÄÖŁŚŻŹ][\w\-]+(?:\s+[A-ZÆØÅÄÖŁŚŻŹ][\w\-]+)?)"
            r"(?:\s+(?:fra|från|from|i|ved|hos|w|z|at|in)\s+[\w\-]+)*\s+" + lexicons.NAMED_VERBS + r"\s+"
            r"(?:(?:en|et|ett|an?|så|sådan|such|total|fucking|jævla|jävla|kæmpe|stor|big|the|bare|bara|"
            r"zwykłym?|kompletn\w+|biggest|største|största|helt)\s+)*(?:" + insults + r")(?!\w)",
        ),
        "threat": CueSet(lexicons.THREATS),
        "hate_pattern": CueSet(lexicons.HATE_PATTERNS),
        "spam": CueSet(lexicons.SPAM_PATTERNS),
        "advertising": CueSet(lexicons.ADVERTISING_PATTERNS),
    }


@cache
def _hate_words() -> Lexicon:
    return Lexicon.build(lexicons.HATE_WORDS)


_NOT_NAMES = {
    "Du",
    "Det",
    "Den",
    "Der",
    "Han",
    "Hun",
    "Hon",
    "Jeg",
    "Jag",
    "You",
    "He",
    "She",
    "It",
    "This",
    "That",
    "Vi",
    "We",
    "They",
    "De",
    "Dere",
    "Ni",
    "I",
    "Og",
    "Och",
    "And",
    "Men",
    "But",
    "Ty",
    "On",
    "Ona",
    "To",
    "Hvem",
    "Vem",
    "Who",
    "What",
    "Hvad",
    "Vad",
    "Hva",
    "Sikke",
    "Hvilken",
    "Vilken",
    "Kto",
}


@dataclass(slots=True)
class Finding:
    labels: list[str]
    reasons: list[str]
    named_target: str | None = None


def lexicon_labels(text: str, language: str | None, context: Mapping[str, Any] | None = None) -> Finding:
    """The rule-based labels of one message, with the words that triggered them."""
    context = context or {}
    compiled = _compiled()
    form = lexicon_form(text)
    tokens = re.findall(r"[^\W\d_]+(?:[-'][^\W\d_]+)*|\w+", form)
    joined = " " + " ".join(tokens) + " "
    labels: list[str] = []
    reasons: list[str] = []
    named: str | None = None

    groups = [_GROUP.get(language or "", "nordic"), "en"]
    if language == "sv":
        groups.append("sv_fan")
    profane = []
    for group in dict.fromkeys(groups):
        if group == "sv_fan":
            profane += [t for t in tokens if t in {"fan", "fanskap"}] if " fan " in joined else []
            continue
        profane += _profanity(group).matches(tokens, joined)
    if profane:
        labels.append("profanity")
        reasons.append("profanity: " + ", ".join(sorted(set(profane))[:5]))

    staff = [str(name) for name in context.get("staff_names") or ()]
    at_you = compiled["insult_at_you"].search(form)
    named_match = next(
        (m for m in compiled["insult_named"].finditer(text) if m.group(1).split()[0] not in _NOT_NAMES), None
    )
    staff_hit = next(
        (
            n
            for n in staff
            if n and re.search(rf"\b{re.escape(n)}\b", text, re.I) and compiled["insult"].search(form)
        ),
        None,
    )
    if named_match or staff_hit:
        named = staff_hit or (named_match.group(1) if named_match else None)
        labels.append("personal_attack")
        reasons.append(f"attack on a named person: {named}")
    elif at_you:
        labels.append("personal_attack")
        reasons.append(f"insult: {at_you.group(0)}")
    if threat := compiled["threat"].search(form):
        labels.append("threat")
        reasons.append(f"threat: {threat.group(0)}")
    hate = _hate_words().matches(tokens, joined)
    if hate or (pattern := compiled["hate_pattern"].search(form)):
        labels.append("hate")
        reasons.append("hate: " + (", ".join(sorted(set(hate))[:3]) if hate else pattern.group(0)))
    if spam := compiled["spam"].search(form):
        labels.append("spam")
        reasons.append(f"spam: {spam.group(0)}")
    advertising = _advertising(text, form, context)
    if advertising:
        labels.append("advertising")
        reasons.append(f"advertising: {advertising}")
    return Finding(labels, reasons, named)


def _advertising(text: str, form: str, context: Mapping[str, Any]) -> str | None:
    if match := _compiled()["advertising"].search(form):
        return str(match.group(0))
    competitors = [str(c).casefold() for c in context.get("competitors") or () if str(c).strip()]
    for competitor in competitors:
        if re.search(rf"(?<!\w){re.escape(competitor)}(?!\w)", form):
            cue = "|".join(lexicons.COMPETITOR_CUES)
            if re.search(rf"(?:{cue}){re.escape(competitor)}", form) or re.search(
                rf"{re.escape(competitor)}\s*\.\s*(?:com|dk|se|no|pl|fi)", form
            ):
                return f"competitor {competitor}"
    own = [str(d).casefold() for d in context.get("own_domains") or ()]
    for url in URL_RE.findall(text):
        lowered = url.casefold()
        if (
            own
            and not any(domain in lowered for domain in own)
            and not re.search(r"t\.co/|bit\.ly/", lowered)
        ):
            return f"link {url[:60]}"
    return None


def offensive_scores(texts: Sequence[str], languages: Sequence[str | None]) -> list[float]:
    """The trained classifier's probability that each text is offensive (OffensEval definition)."""
    scores = [0.0] * len(texts)
    by_model: dict[str, list[int]] = {}
    for index, language in enumerate(languages):
        by_model.setdefault(_MODEL.get(language or "", _DEFAULT_MODEL), []).append(index)
    english = by_model.pop(_ENGLISH_MODEL, [])
    if english:
        word_scores, toxic = english_parts([texts[index] for index in english])
        for index, word, lstm in zip(english, word_scores, toxic, strict=True):
            blend = ENGLISH_BLEND_WEIGHT * word + (1.0 - ENGLISH_BLEND_WEIGHT) * lstm
            scores[index] = _calibrate(blend, ENGLISH_BLEND_THRESHOLD)
    for name, indexes in by_model.items():
        model = shipped(name)
        threshold = float(model.meta.get("threshold", 0.5))
        # only the model's own messages are featurized (models may use different n-grams, see linear.py)
        spec = model.spec
        features = featurize_normalized([spec.prepare(texts[index]) for index in indexes], spec)
        probabilities = model.proba_of(features)[:, 1]
        for index, probability in zip(indexes, probabilities, strict=True):
            scores[index] = _calibrate(float(probability), threshold)
    return scores


def english_parts(texts: Sequence[str]) -> tuple[list[float], list[float]]:
    """The two English models' scores: the word model's (its threshold mapped to 0.5) and the BiLSTM's
    "toxic" probability, for the whole batch at once."""
    word_model = wordmodel.shipped(_ENGLISH_MODEL)
    threshold = float(word_model.meta.get("threshold", 0.5))
    word_scores = [_calibrate(probability, threshold) for probability in word_model.probabilities(texts)]
    lstm = sequencemodel.shipped(_ENGLISH_SEQUENCE_MODEL)
    toxic = lstm.predict(texts)[:, lstm.labels.index("toxic")]
    return word_scores, [float(value) for value in toxic]


def _calibrate(probability: float, threshold: float) -> float:
    """Map the model's probability so that its tuned threshold lands at 0.5."""
    if probability < threshold:
        return 0.5 * probability / threshold
    return 0.5 + 0.5 * (probability - threshold) / (1.0 - threshold)


def decide(
    labels: Sequence[str],
    offensive: bool,
    policy: Mapping[str, str] | None = None,
    *,
    named_target: bool = False,
    prior_offences: int = 0,
) -> str:
    """allow, flag or hide: the strictest action the policy gives any label."""
    rules = {**DEFAULT_POLICY, **(policy or {})}
    keys = list(labels)
    if named_target and "personal_attack" in keys:
        keys.append("named_person_attack")
    if offensive:
        keys.append("offensive")
    action = "allow"
    for key in keys:
        candidate = rules.get(key, "flag")
        if candidate in ACTIONS and ACTIONS.index(candidate) > ACTIONS.index(action):
            action = candidate
    if action == "flag" and prior_offences >= REPEAT_OFFENDER:
        action = "hide"
    return action


class ModerationStage:
    name = "moderation"

    def run(self, items: Sequence[TextItem]) -> None:
        languages = [item.analysis.get("language") for item in items]
        scores = offensive_scores([item.text for item in items], languages)
        for item, language, model_score in zip(items, languages, scores, strict=True):
            finding = lexicon_labels(item.text, language, item.context)
            labels = list(finding.labels)
            details = item.analysis.setdefault("details", {})
            if details.get("pii_exposed"):
                labels.append("pii_exposed")
                finding.reasons.append("personal data in a public comment: hide it and continue in private")
            lexicon_score = max((_LABEL_SCORE.get(label, 0.0) for label in labels), default=0.0)
            score = round(max(model_score, lexicon_score), 3)
            offensive = score >= 0.5
            action = decide(
                labels,
                offensive,
                item.context.get("policy"),
                named_target=finding.named_target is not None,
                prior_offences=int(item.context.get("author_prior_offences") or 0),
            )
            item.analysis["moderation"] = {
                "action": action,
                "offensive": offensive,
                "score": score,
                "labels": labels,
            }
            details["moderation_reasons"] = finding.reasons
            if finding.named_target:
                details["attack_target"] = finding.named_target
