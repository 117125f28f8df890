"""Moderation stage: lexicons with obfuscation, named-person attacks, threats, spam/advertising,
the trained offensive classifier, and brand policies turning labels into allow/flag/hide."""

from __future__ import annotations

from tilsvar.pipeline import TextItem
from tilsvar.pipeline.moderation import ModerationStage, decide, lexicon_labels


def labels(text: str, language: str = "da", **context: object) -> list[str]:
    return lexicon_labels(text, language, context).labels


def test_profanity_through_leetspeak_spacing_and_repeats() -> None:
    assert labels("sh1t service", "en") == ["profanity"]
    assert labels("f u c k det her", "da") == ["profanity"]
    assert labels("kurwaaa znowu spóźniony", "pl") == ["profanity"]
    assert labels("Sikke et møgfirma", "da") == ["profanity"]


def test_ordinary_words_that_look_rude_are_clean() -> None:
    assert labels("Jeg er stor fan af jer", "da") == []
    assert labels("Det var en hård vinter", "sv") == []
    assert labels("Toget var forsinket i dag", "da") == []


def test_attacks_on_a_named_person_and_on_the_reader() -> None:
    finding = lexicon_labels("Mette fra kundeservice er en idiot", "da", {})
    assert finding.labels == ["personal_attack"]
    assert finding.named_target == "Mette"
    assert lexicon_labels("du er en idiot", "da", {}).named_target is None
    assert "personal_attack" in labels("you are such a moron", "en")


def test_threat_hate_spam_and_advertising() -> None:
    assert "threat" in labels("Jeg ved hvor du bor", "da")
    assert "threat" in labels("I will kill you", "en")
    assert "spam" in labels("Earn $500 a day, check my profile!", "en")
    assert labels("Køb hellere hos DSB", "da", competitors=["DSB"]) == ["advertising"]
    assert labels("Brug rabatkode SOMMER20", "da") == ["advertising"]


def test_policy_default_and_brand_policy() -> None:
    assert decide(["profanity"], True) == "hide"
    assert decide(["personal_attack"], True) == "flag"
    assert decide(["personal_attack"], True, named_target=True) == "hide"
    assert decide([], False) == "allow"
    assert decide(["profanity"], True, {"profanity": "flag"}) == "flag"
    assert decide(["personal_attack"], True, prior_offences=5) == "hide"


def test_stage_output_and_classifier() -> None:
    items = [
        TextItem("Tak for en god rejse", analysis={"language": "da"}),
        TextItem("Du er en fucking idiot", analysis={"language": "da"}),
        TextItem("Mit CPR er 211062-5629", analysis={"language": "da", "details": {"pii_exposed": True}}),
    ]
    ModerationStage().run(items)
    clean, rude, exposed = (item.analysis["moderation"] for item in items)
    assert clean == {"action": "allow", "offensive": False, "score": clean["score"], "labels": []}
    assert 0 <= clean["score"] < 0.5
    assert rude["offensive"] is True
    assert rude["action"] == "hide"
    assert set(rude["labels"]) == {"profanity", "personal_attack"}
    assert exposed["labels"] == ["pii_exposed"]
    assert exposed["action"] == "flag"


def test_english_insults_without_swear_words_are_offensive() -> None:
    from tilsvar.pipeline.moderation import offensive_scores
    from tilsvar.pipeline.wordmodel import shipped

    model = shipped("offensive_en")
    assert model.meta["source"].startswith("alt-profanity-check")
    insult, calm, empty = offensive_scores(
        ["you are a pathetic moron and a liar", "thanks, the parcel arrived today", ""], ["en", "en", "en"]
    )
    assert insult >= 0.5 > calm
    assert 0.0 <= empty < 0.5
