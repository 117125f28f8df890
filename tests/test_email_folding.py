"""The conversation view folds an e-mail's quoted history (issue 9): the new words first, the quote in
a closed <details>; messages on other platforms and inline answers stay whole."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tilsvar.actions.org import do_create_channel
from tilsvar.db import Database
from tilsvar.models import Brand
from tilsvar.web.folding import fold_quote

from conftest import IngestFn, Seeded


@pytest.mark.parametrize(
    ("text", "body", "quote_starts"),
    [
        ("Tak!\n\nDen 3. dec. 2026 kl. 10.00 skrev Nordic Rail <a@b.dk>:\n> Hej\n> vi", "Tak!", "Den 3."),
        ("Thanks\nOn Mon, 1 Dec 2026 at 10:00, Rail <r@x> wrote:\n> hi", "Thanks", "On Mon"),
        ("Dziękuję\n\nW dniu 1.12.2026 Rail napisał:\n> cześć", "Dziękuję", "W dniu"),
        ("Okay\n-----Original Message-----\nFrom: Rail\nhello", "Okay", "-----Original"),
        ("Svar\n\n> gammelt\n> mere gammelt", "Svar", "> gammelt"),
    ],
)
def test_trailing_quotes_are_folded(text: str, body: str, quote_starts: str) -> None:
    folded_body, quote = fold_quote(text)
    assert folded_body == body
    assert quote.startswith(quote_starts)


@pytest.mark.parametrize("text", ["> only a quote", "No quote here", "Hej\n> spørgsmål\nMit svar her"])
def test_nothing_to_fold(text: str) -> None:
    assert fold_quote(text) == (text, "")


def test_the_conversation_page_folds_email_quotes_and_escapes_them(
    client: TestClient, seeded: Seeded, ingest: IngestFn, database: Database
) -> None:
    with database.session() as session:
        channel = do_create_channel(
            session,
            brand=session.get_one(Brand, seeded.rail.id),
            platform="email",
            account="kundeservice",
            mode="simulated",
        )
        session.expunge(channel)
    ingest(channel, "Tak for svaret <b>!</b>\n\nOn Mon, Rail wrote:\n> Hej <script>x</script>", kind="email")
    client.post("/login", data={"email": seeded.admin.email, "password": seeded.password, "next": "/inbox"})
    match = re.search(r"/conversations/(\d+)", client.get("/inbox").text)
    assert match
    page = client.get(f"/conversations/{match.group(1)}").text
    assert '<details class="quoted"><summary>Quoted earlier messages</summary>' in page
    assert "Tak for svaret &lt;b&gt;!&lt;/b&gt;</div>" in page
    assert "&gt; Hej &lt;script&gt;x&lt;/script&gt;" in page
