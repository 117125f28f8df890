"""Sentiment stage: label and score in [-1, 1] in the five languages, with negation."""

from __future__ import annotations

import pytest

from tilsvar.pipeline import TextItem
from tilsvar.pipeline.sentiment import SentimentStage, score


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tak for hjælpen, I er fantastiske ❤️", "positive"),
        ("Tack för snabb hjälp!", "positive"),
        ("Elendig service, toget er forsinket igen", "negative"),
        ("Jag är så besviken på er", "negative"),
        ("Dziękuję, świetna obsługa", "positive"),
        ("To jest beznadziejne", "negative"),
        ("The staff were really helpful", "positive"),
        ("Hvornår kører toget?", "neutral"),
        ("Det var ikke godt", "negative"),
    ],
)
def test_labels(text: str, expected: str) -> None:
    item = TextItem(text)
    SentimentStage().run([item])
    assert item.analysis["sentiment"]["label"] == expected
    assert -1.0 <= item.analysis["sentiment"]["score"] <= 1.0


def test_negation_flips() -> None:
    assert score("det er godt") > 0 > score("det er ikke godt")


def test_review_words_and_downtoners() -> None:
    from tilsvar.pipeline.sentiment import label, score

    assert label(score("Dessverre er lyden svak og menyen tungvint")) == "negative"
    assert label(score("Den er behagelig og brukervennlig")) == "positive"
    # "a bit" softens a mild word to neutral; a plain mild word still counts
    assert label(score("Jeres hjemmeside er lidt rodet på mobilen")) == "neutral"
    assert label(score("Jeres hjemmeside er rodet på mobilen")) == "negative"
