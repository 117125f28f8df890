"""Intent stage: the routing categories from cues in five languages plus sentiment and moderation."""

from __future__ import annotations

import pytest

from tilsvar.pipeline.intent import classify


@pytest.mark.parametrize(
    ("text", "sentiment", "expected"),
    [
        ("Jeg er journalist på Politiken, kan I kommentere sagen?", 0.0, "press"),
        ("Hvad koster en firmaaftale for 40 ansatte?", 0.0, "sales_lead"),
        ("Toget er forsinket igen, jeg vil have pengene tilbage", -0.6, "complaint"),
        ("När går nästa tåg till Göteborg?", 0.0, "question"),
        ("Tusen takk for hjelpen!", 0.8, "praise"),
        ("Det ville være rart med flere stikkontakter i toget", 0.2, "feedback"),
        # a suggestion that names what is wrong stays feedback unless the anger is strong
        ("Et forslag: lav en mørk tilstand i appen, den er svær at læse om aftenen.", -0.35, "feedback"),
        ("ok", 0.0, "other"),
    ],
)
def test_intents(text: str, sentiment: float, expected: str) -> None:
    assert classify(text, sentiment) == expected


def test_spam_comes_from_moderation() -> None:
    assert classify("Check my profile", 0.0, ["spam"]) == "spam"
