"""Personal-data stage: IDs with checksums and context, phones, cards, IBANs, e-mail; spans are Python
string offsets; order numbers and dates are not personal data; public comments are flagged."""

from __future__ import annotations

from pathlib import Path

import pytest

from tilsvar.pipeline import TextItem
from tilsvar.pipeline.pii import PiiStage, find, redact

EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"


@pytest.mark.parametrize(
    ("text", "language", "kind", "value"),
    [
        ("Mit CPR er 211062-5629, hjælp", "da", "national_id.dk", "211062-5629"),
        ("Mitt personnummer är 880320-0016.", "sv", "national_id.se", "880320-0016"),
        ("fødselsnummer 41018036736", "nb", "national_id.no", "41018036736"),
        ("Mój PESEL to 44051401359", "pl", "national_id.pl", "44051401359"),
        ("Henkilötunnus 131052-308T", "fi", "national_id.fi", "131052-308T"),
        ("Ring til mig på 20 30 40 50", "da", "phone", "20 30 40 50"),
        ("Call me on +44 20 7946 0958 please", "en", "phone", "+44 20 7946 0958"),
        # a range phonenumbers does not hold valid (reserved for drama), after "call me on"
        ("Call me on +44 7700 900123 please", "en", "phone", "+44 7700 900123"),
        ("Ring venligst til mig på +45 1234 5678", "da", "phone", "+45 1234 5678"),
        ("Refunder til DK50 0040 0440 1162 43 tak", "da", "iban", "DK50 0040 0440 1162 43"),
        ("kortet 4111 1111 1111 1111 blev trukket", "da", "payment_card", "4111 1111 1111 1111"),
        ("Skriv på jens.hansen@example.dk", "da", "email", "jens.hansen@example.dk"),
    ],
)
def test_finds_type_and_exact_span(text: str, language: str, kind: str, value: str) -> None:
    spans = find(text, language)
    assert [(s.type, text[s.start : s.end]) for s in spans] == [(kind, value)]


@pytest.mark.parametrize(
    "text",
    [
        "Min ordre 2110625629 er stadig ikke kommet",
        "Ordre 12345678 forsinket igen",
        "Mitt ordernummer är 8803200016 och paketet har inte kommit",
        "Jeg rejser d. 24-12-2025 og retur 02.01.2026",
        "Det kostede 1.249,95 kr.",
        "Order #44051401359 hasn't arrived",
        "Call us about order 12345678, it is missing",
        "The 7700 900123 was printed on the ticket",
    ],
)
def test_order_numbers_dates_and_prices_are_not_personal_data(text: str) -> None:
    assert find(text, "da") == []


def test_offsets_are_python_string_offsets_after_emoji() -> None:
    text = "😀😀 CPR 211062-5629"
    [span] = find(text, "da")
    assert text[span.start : span.end] == "211062-5629"


def test_redaction_and_public_exposure() -> None:
    comment = TextItem("Mit CPR er 211062-5629 og mail a@b.dk", kind="comment", analysis={"language": "da"})
    message = TextItem("Mit CPR er 211062-5629", kind="dm", analysis={"language": "da"})
    PiiStage().run([comment, message])
    assert comment.analysis["redacted"] == "Mit CPR er [CPR] og mail [EMAIL]"
    assert comment.analysis["details"]["pii_exposed"] is True
    assert message.analysis["details"]["pii_exposed"] is False
    assert redact("x", []) == "x"


@pytest.mark.skipif(not EVAL.is_dir(), reason="../shared/eval is absent")
def test_generated_corpus_precision_and_recall() -> None:
    from tilsvar.pipeline.evaluation import evaluate_pii

    report = evaluate_pii(EVAL)
    assert report["precision"] >= 0.98
    assert report["recall"] >= 0.98
