"""Moderation stage: lexicons with obfuscation, named-person attacks, threats, spam/advertising,
the trained offensive classifier, and brand policies turning labels into allow/flag/hide."""

from __future__ import annotations

import pytest

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
    # an ordinary adjective between the article and the insult is still an attack on the reader
    assert "personal_attack" in labels("You are a disgusting idiot, shut up", "en")
    assert "personal_attack" in labels("Du er en doven idiot", "da")
    assert "personal_attack" not in labels("Thank you, you are a great help", "en")
    # plural and definite forms of the insults, in each language
    assert "personal_attack" in labels("I er nogle klovne allesammen", "da")
    assert "personal_attack" in labels("Dere er noen tullinger", "nb")
    assert "personal_attack" in labels("Ni är pucko allihop", "sv")
    assert "personal_attack" in labels("Jesteś głupek", "pl")
    assert "personal_attack" in labels("Stop it, you clowns", "en")
    assert "personal_attack" not in labels("Vi så klovnene i sirkus i går", "nb")


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


# Our sentences; the expected ids and outputs are what toxic-comment-classifier 0.3.0 itself gives
# (TensorFlow 2.21, Keras 3.15: tokenizer.texts_to_sequences, pad_sequences, model.predict).
KERAS_REFERENCE = [
    ("Your support team is a bunch of clueless idiots!!!", [20, 350, 909, 8, 5, 1657, 3, 6662, 2802], 0.9847),
    (
        "Thanks, the replacement arrived this morning and works fine.",
        [94, 1, 3567, 4596, 13, 2368, 4, 776, 676],
        0.0021,
    ),
    (
        "I'll find you and make you pay for this, you worthless piece of garbage",
        [236, 139, 6, 4, 97, 6, 1833, 12, 13, 6, 3296, 728, 3, 3216],
        0.7615,
    ),
    (
        "Where is my parcel? Tracking number 12345, ordered last Tuesday.",
        [128, 8, 29, 6254, 367, 4037, 259, 7284],
        0.0111,
    ),
]


def test_english_bilstm_reproduces_keras() -> None:
    from tilsvar.pipeline.sequencemodel import shipped

    model = shipped("toxic_lstm_en")
    assert model.meta["source"].startswith("toxic-comment-classifier")
    texts = [text for text, _, _ in KERAS_REFERENCE]
    assert model.sequences(texts) == [ids for _, ids, _ in KERAS_REFERENCE]
    toxic = model.predict(texts)[:, model.labels.index("toxic")]
    for value, (_, _, expected) in zip(toxic, KERAS_REFERENCE, strict=True):
        assert abs(float(value) - expected) < 2e-3  # the embedding is stored in float16


def test_english_bilstm_batches_give_the_same_outputs() -> None:
    import numpy as np

    from tilsvar.pipeline.sequencemodel import shipped

    model = shipped("toxic_lstm_en")
    texts = [text for text, _, _ in KERAS_REFERENCE] + ["", "ok", "word " * 130 + "you idiot"]
    together = model.predict(texts, batch=3)
    alone = np.vstack([model.predict([text]) for text in texts])
    assert together.shape == (len(texts), 6)
    assert np.abs(together - alone).max() < 1e-5
    assert model.predict([]).shape == (0, 6)


def test_english_blend_runs_for_english_messages_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from tilsvar.pipeline import moderation, sequencemodel

    rude, kind = moderation.offensive_scores(
        [
            "Your support team is a bunch of clueless idiots!!!",
            "Thanks, the replacement arrived this morning.",
        ],
        ["en", "en"],
    )
    assert rude >= 0.5 > kind

    def no_english_model(name: str) -> object:
        raise AssertionError(f"{name} loaded for a non-English message")

    monkeypatch.setattr(sequencemodel, "shipped", no_english_model)
    scores = moderation.offensive_scores(
        ["Tak for hjælpen", "Dziękuję bardzo", "Tack så mycket"], ["da", "pl", "sv"]
    )
    assert all(0.0 <= score < 0.5 for score in scores)
