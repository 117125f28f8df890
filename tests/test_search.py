"""Search over every message (API, web page, CLI and saved inbox views) on a real database: folding
of diacritics and inflection, phrases and boolean queries, every field filter, facets, access per
brand, personal data never indexed or shown, escaped snippets, and an index that follows every
insert, update and delete (database triggers)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, inspect, text, update
from typer.testing import CliRunner

from tilsvar.cli import app as cli_app
from tilsvar.db import Database
from tilsvar.models import Conversation, Message
from tilsvar.search.folding import fold, stem
from tilsvar.search.query import QueryError, parse, to_fts5, to_tsquery

from conftest import IngestFn, Seeded
from helpers import auth, json_of


def find(client: TestClient, token: str, q: str, **params: Any) -> dict[str, Any]:
    response = client.get("/api/v1/search", params={"q": q, **params}, headers=auth(token))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = json_of(response)
    return result


def texts(result: dict[str, Any]) -> list[str]:
    return [re.sub(r"</?mark>", "", hit["snippet"]) for hit in result["results"]]


def ids(result: dict[str, Any]) -> set[int]:
    return {hit["message_id"] for hit in result["results"]}


def set_columns(database: Database, message_id: int, **values: Any) -> None:
    """What the understanding pipeline writes on a message (actions/analysis.py), set directly."""
    with database.session() as session:
        session.execute(update(Message).where(Message.id == message_id).values(**values))


@pytest.mark.parametrize(
    ("stored", "query"),
    [
        ("Der er stadig forsinkelsen på linje 5", "forsinkelse"),
        ("Der er stadig forsinkelse på linje 5", "forsinkelsen"),
        ("Toget er forsinket igen", "forsinkede"),
        ("Mam żółty bilet", "zolty"),
        ("Mam zolty bilet", "żółty"),
        ("Vi sitter fast i Östersund", "ostersund"),
        ("Jeg står på Nørreport", "norreport"),
        ("Jeg står på Norreport", "Nørreport"),
        ("Tåget är försenat", "forsenat"),
        ("Ærgerligt med aflysningen", "aergerligt"),
        ("Zamówienie nie dotarło, przesyłka zaginęła", "przesylka"),
        ("My refunds never arrived", "refund"),
    ],
)
def test_diacritics_and_inflection_are_folded(
    client: TestClient, seeded: Seeded, ingest: IngestFn, stored: str, query: str
) -> None:
    wanted = ingest(seeded.x_channel, stored)
    ingest(seeded.x_channel, "Et helt andet emne om kaffe")
    result = find(client, seeded.admin_token, query)
    assert ids(result) == {wanted}
    assert "<mark>" in result["results"][0]["snippet"]


def test_folding_and_stemming_rules() -> None:
    assert fold("Żółty Østersund ÆBLE straße") == "zolty ostersund aeble strasse"
    assert stem("forsinkelsen") == "forsinkels"
    assert stem("billet") == "billet"  # too short to strip
    assert stem("12345") == "12345"


def test_phrase_and_boolean_queries(client: TestClient, seeded: Seeded, ingest: IngestFn) -> None:
    ordered = ingest(seeded.x_channel, "Toget er forsinket igen i dag")
    reversed_ = ingest(seeded.x_channel, "Forsinket er toget ikke i dag")
    refund = ingest(seeded.x_channel, "Jeg vil have refusion for min billet")
    both = ingest(seeded.x_channel, "Toget er forsinket og jeg vil have refusion")
    token = seeded.admin_token
    assert ids(find(client, token, '"toget er forsinket"')) == {ordered, both}
    assert ids(find(client, token, "toget forsinket")) == {ordered, reversed_, both}
    assert ids(find(client, token, "toget AND forsinket")) == {ordered, reversed_, both}
    assert ids(find(client, token, "billet OR igen")) == {ordered, refund}
    assert ids(find(client, token, "forsinket -refusion")) == {ordered, reversed_}
    assert ids(find(client, token, "forsinket NOT refusion")) == {ordered, reversed_}
    assert ids(find(client, token, 'forsinket -"toget er"')) == {reversed_}
    assert ids(find(client, token, "(billet OR igen) refusion")) == {refund}
    assert ids(find(client, token, "refusion (igen OR og)")) == {both}


def test_query_errors_are_400s(client: TestClient, seeded: Seeded) -> None:
    for query in ("-refusion", "NOT refusion", "from:yesterday forsinket", "has:kittens"):
        response = client.get("/api/v1/search", params={"q": query}, headers=auth(seeded.admin_token))
        assert response.status_code == 400, query
    response = client.get(
        "/api/v1/search", params={"q": "x", "cursor": "!!"}, headers=auth(seeded.admin_token)
    )
    assert response.status_code == 400


def test_query_compilation() -> None:
    parsed = parse('forsinket "toget er" -refusion lang:da,sv -channel:x kaffe:sort')
    assert parsed.text is not None
    # An unknown field is text; a word with punctuation inside is matched as a phrase of its parts.
    assert to_fts5(parsed.text) == '(("forsink"* AND "toget er" AND "kaffe sort") NOT "refusion"*)'
    assert (
        to_tsquery(parsed.text)
        == "(('forsink':*) & ('toget' <-> 'er') & !('refusion':*) & ('kaffe' <-> 'sort'))"
    )
    assert [(item.name, item.values, item.negated) for item in parsed.filters] == [
        ("lang", ("da", "sv"), False),
        ("channel", ("x",), True),
    ]
    with pytest.raises(QueryError):
        parse("-refusion")
    # Nothing a person types reaches the engines' syntax unfolded: quotes and operators are dropped.
    hostile = parse("\" OR 1=1 -- ' NEAR( * ^col:")
    assert hostile.text is not None
    assert set(to_fts5(hostile.text)) <= set('()"*abcdefghijklmnopqrstuvwxyz0123456789 ANDORT')


def test_every_field_filter(client: TestClient, seeded: Seeded, ingest: IngestFn, database: Database) -> None:
    x = ingest(seeded.x_channel, "Forsinket tog på X", author_id="ola", author_name="Ola Nordmann")
    fb = ingest(seeded.fb_channel, "Forsinket tog på Facebook", author_id="kari", author_name="Kari Hansen")
    market = ingest(seeded.market_channel, "Forsinket levering af varer", author_id="per", author_name="Per")
    old = ingest(
        seeded.fb_channel,
        "Forsinket tog i sidste måned",
        author_id="eva",
        author_name="Eva",
        minutes_ago=60 * 24 * 40,
    )
    set_columns(database, x, language="da", intent="complaint", sentiment="negative")
    set_columns(database, fb, language="nb", intent="question", sentiment="neutral")
    set_columns(database, market, language="da", intent="complaint", sentiment="negative", has_pii=True)
    with database.session() as session:
        conversation_id = session.get(Message, fb).conversation_id  # type: ignore[union-attr]
        session.execute(
            update(Conversation).where(Conversation.id == conversation_id).values(status="resolved")
        )
        old_at = session.get(Message, old).created_at  # type: ignore[union-attr]
    token = seeded.admin_token
    assert ids(find(client, token, "forsinket channel:x")) == {x}
    assert ids(find(client, token, "forsinket channel:facebook")) == {fb, market, old}
    assert ids(find(client, token, "forsinket channel:NordicRail")) == {fb, old}
    assert ids(find(client, token, "forsinket channel:@nordicrailhelp")) == {x}
    assert ids(find(client, token, "forsinket -channel:facebook")) == {x}
    assert ids(find(client, token, "forsinket brand:market")) == {market}
    assert ids(find(client, token, 'forsinket brand:"Nordic Rail"')) == {x, fb, old}
    assert ids(find(client, token, "forsinket lang:da")) == {x, market}
    assert ids(find(client, token, "forsinket lang:nb,sv")) == {fb}
    assert ids(find(client, token, "forsinket intent:question")) == {fb}
    assert ids(find(client, token, "forsinket sentiment:negative")) == {x, market}
    assert ids(find(client, token, "forsinket status:resolved")) == {fb}
    assert ids(find(client, token, "forsinket -status:resolved")) == {x, market, old}
    assert ids(find(client, token, "forsinket has:pii")) == {market}
    assert ids(find(client, token, "forsinket author:@kari")) == {fb}
    assert ids(find(client, token, 'forsinket author:"ola nordmann"')) == {x}
    day = old_at.date().isoformat()
    assert ids(find(client, token, f"forsinket from:{day} to:{day}")) == {old}
    assert ids(find(client, token, f"forsinket to:{day}")) == {old}
    # Filters alone list every matching message, newest first.
    only_filters = find(client, token, "lang:da")
    assert [hit["message_id"] for hit in only_filters["results"]] == [market, x]


def test_facets_count_every_match(
    client: TestClient, seeded: Seeded, ingest: IngestFn, database: Database
) -> None:
    for number in range(3):
        set_columns(database, ingest(seeded.x_channel, f"Refusion nummer {number}"), language="da")
    set_columns(
        database, ingest(seeded.fb_channel, "Refusion på Facebook"), language="nb", sentiment="negative"
    )
    ingest(seeded.market_channel, "Refusion hos Fjord Market")
    ingest(seeded.fb_channel, "Noget helt andet")
    result = find(client, seeded.admin_token, "refusion", limit=2)
    assert result["total"] == 5
    assert len(result["results"]) == 2
    assert result["next_cursor"]
    counts = {
        name: {item["value"]: item["count"] for item in values} for name, values in result["facets"].items()
    }
    assert counts["platform"] == {"x": 3, "facebook": 2}
    assert counts["brand"] == {"rail": 4, "market": 1}
    assert counts["language"] == {"da": 3, "nb": 1, "": 1}
    assert counts["sentiment"] == {"": 4, "negative": 1}
    assert counts["status"] == {"new": 5}
    assert set(result["facets"]) == {"platform", "brand", "language", "intent", "sentiment", "status"}
    # The cursor pages through the rest, newest first, without repeats.
    seen = [hit["message_id"] for hit in result["results"]]
    cursor = result["next_cursor"]
    while cursor:
        page = find(client, seeded.admin_token, "refusion", limit=2, cursor=cursor)
        seen += [hit["message_id"] for hit in page["results"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 5
    relevance = find(client, seeded.admin_token, "refusion", order="relevance", limit=10)
    assert len(relevance["results"]) == 5


def test_other_brands_messages_never_appear(client: TestClient, seeded: Seeded, ingest: IngestFn) -> None:
    mine = ingest(seeded.x_channel, "Hemmelig sag om billetter")
    theirs = ingest(seeded.market_channel, "Hemmelig sag om varer")
    assert ids(find(client, seeded.admin_token, "hemmelig")) == {mine, theirs}
    result = find(client, seeded.agent_token, "hemmelig")
    assert ids(result) == {mine}
    assert result["total"] == 1
    assert {item["value"] for item in result["facets"]["brand"]} == {"rail"}
    assert find(client, seeded.agent_token, "hemmelig brand:market")["total"] == 0
    assert find(client, seeded.agent_token, "hemmelig channel:FjordMarket")["total"] == 0
    assert client.get("/api/v1/search", params={"q": "x"}).status_code == 401


def test_personal_data_is_never_indexed_or_shown(
    client: TestClient, seeded: Seeded, ingest: IngestFn, database: Database
) -> None:
    message = ingest(seeded.x_channel, "Mit CPR er 010190-1234 og toget er forsinket")
    # Personal data is redacted before the message is first stored (encryption at rest,
    # docs/privacy.md): not even the index written before the pipeline runs holds it.
    assert find(client, seeded.admin_token, "010190")["total"] == 0
    assert ids(find(client, seeded.admin_token, "forsinket")) == {message}
    set_columns(database, message, has_pii=True, redacted_text="Mit CPR er [CPR] og toget er forsinket")
    token = seeded.admin_token
    for query in ("010190", "1234", '"010190 1234"', "forsinket 010190"):
        assert find(client, token, query)["total"] == 0, query
    result = find(client, token, "forsinket has:pii")
    assert ids(result) == {message}
    assert "010190" not in json.dumps(result)
    assert "[CPR]" in result["results"][0]["snippet"]


def test_snippets_are_escaped(client: TestClient, seeded: Seeded, ingest: IngestFn) -> None:
    ingest(seeded.x_channel, '<script>alert("x")</script> <b>forsinket</b> & <img src=x onerror=alert(1)>')
    hit = find(client, seeded.admin_token, "forsinket")["results"][0]
    assert "<script>" not in hit["snippet"]
    assert "<img" not in hit["snippet"]
    assert "<b>" not in hit["snippet"]
    assert "&lt;script&gt;" in hit["snippet"]
    assert "&lt;b&gt;<mark>forsinket</mark>&lt;/b&gt; &amp; &lt;img" in hit["snippet"]
    assert {"text": "forsinket", "match": True} in hit["snippet_parts"]


def test_index_follows_insert_update_and_delete(
    client: TestClient, seeded: Seeded, ingest: IngestFn, database: Database
) -> None:
    token = seeded.admin_token
    message = ingest(seeded.x_channel, "Perrongen er glat")
    assert ids(find(client, token, "perrongen")) == {message}
    with database.session() as session:
        session.execute(update(Message).where(Message.id == message).values(text="Sporet er frosset"))
    assert find(client, token, "perrongen")["total"] == 0
    assert ids(find(client, token, "frosset")) == {message}
    with database.session() as session:
        session.execute(delete(Message).where(Message.id == message))
    assert find(client, token, "frosset")["total"] == 0
    # Erasing a whole conversation (the cascade from conversations) removes its messages too.
    other = ingest(seeded.fb_channel, "Glemt paraply i vogn 3")
    with database.session() as session:
        conversation_id = session.get(Message, other).conversation_id  # type: ignore[union-attr]
        session.execute(delete(Conversation).where(Conversation.id == conversation_id))
    assert find(client, token, "paraply")["total"] == 0


def test_triggers_exist_at_head(database: Database) -> None:
    """A later migration that rebuilds ``messages`` on SQLite (batch mode) would drop the triggers."""
    with database.engine.connect() as connection:
        if database.is_sqlite:
            names = set(connection.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")))
        else:
            names = set(
                connection.scalars(
                    text(
                        "SELECT tgname FROM pg_trigger"
                        " WHERE tgrelid = 'messages'::regclass AND NOT tgisinternal"
                    )
                )
            )
            assert "search_messages" in inspect(connection).get_table_names()
    assert {"search_messages_insert", "search_messages_update"} <= names
    if database.is_sqlite:
        assert "search_messages_delete" in names
        # Migration 0011: the facet rows follow label changes and the conversation's status.
        assert {"search_facets_update", "search_facets_conversation"} <= names
    else:
        with database.engine.connect() as connection:
            on_conversations = set(
                connection.scalars(
                    text(
                        "SELECT tgname FROM pg_trigger"
                        " WHERE tgrelid = 'conversations'::regclass AND NOT tgisinternal"
                    )
                )
            )
        assert "search_facets_conversation" in on_conversations


def test_saved_search_becomes_an_inbox_view(client: TestClient, seeded: Seeded, ingest: IngestFn) -> None:
    wanted = ingest(seeded.x_channel, "Min cykel blev ikke taget med", external_id="c1")
    ingest(seeded.x_channel, "Helt andet emne", external_id="c2", author_id="c2")
    ingest(seeded.market_channel, "Cykelhjelm til salg?", external_id="c3", author_id="c3")
    token = seeded.agent_token
    created = client.post(
        "/api/v1/saved-searches", json={"name": "Cykler", "query": "cykel OR cykler"}, headers=auth(token)
    )
    assert created.status_code == 201, created.text
    saved = created.json()
    again = client.post("/api/v1/saved-searches", json={"name": "Cykler", "query": "x"}, headers=auth(token))
    assert again.status_code == 409
    bad = client.post("/api/v1/saved-searches", json={"name": "Bad", "query": "-x"}, headers=auth(token))
    assert bad.status_code == 400
    listed = json_of(client.get("/api/v1/saved-searches", headers=auth(token)))
    assert [item["name"] for item in listed["items"]] == ["Cykler"]
    page = json_of(
        client.get(
            "/api/v1/conversations",
            params={"view": "all", "saved_search_id": saved["id"]},
            headers=auth(token),
        )
    )
    conversation_of_wanted = find(client, token, "cykel")["results"][0]["conversation_id"]
    assert [row["id"] for row in page["items"]] == [conversation_of_wanted]
    assert wanted in ids(find(client, token, "cykel"))
    # q= does the same ad hoc; the admin sees the other brand's conversation too.
    adhoc = json_of(
        client.get(
            "/api/v1/conversations", params={"view": "all", "q": "cykel*"}, headers=auth(seeded.admin_token)
        )
    )
    assert len(adhoc["items"]) == 2
    # Not shared: other users get a 404, and cannot delete it.
    other = client.get(
        "/api/v1/conversations", params={"saved_search_id": saved["id"]}, headers=auth(seeded.analyst_token)
    )
    assert other.status_code == 404
    assert (
        client.delete(f"/api/v1/saved-searches/{saved['id']}", headers=auth(seeded.analyst_token)).status_code
        == 404
    )
    assert client.delete(f"/api/v1/saved-searches/{saved['id']}", headers=auth(token)).status_code == 204
    assert json_of(client.get("/api/v1/saved-searches", headers=auth(token)))["items"] == []


def test_cli_search_uses_the_same_engine(seeded: Seeded, ingest: IngestFn) -> None:
    ingest(seeded.x_channel, "Sneen <stopper> togene", external_id="tw-1")
    ingest(seeded.market_channel, "Sneen ved butikken", external_id="fb-9")
    runner = CliRunner()
    result = runner.invoke(cli_app, ["search", "sne", "--format", "json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["total"] == 2
    first = payload["results"][1]
    assert set(first) == {
        "conversation_id",
        "message_id",
        "external_id",
        "platform",
        "account",
        "created_at",
        "snippet",
    }
    assert (first["external_id"], first["platform"], first["account"]) == ("tw-1", "x", "NordicRailHelp")
    assert first["snippet"] == "<mark>Sneen</mark> &lt;stopper&gt; togene"
    agent = runner.invoke(cli_app, ["search", "sne", "--format", "json", "--user", seeded.agent.email])
    assert json.loads(agent.stdout)["total"] == 1
    plain = runner.invoke(cli_app, ["search", "sneen"])
    assert "2 messages" in plain.stdout
    assert "[Sneen]" in plain.stdout
    assert runner.invoke(cli_app, ["search", "-sne"]).exit_code == 2


def test_search_page_escapes_and_saves_views(client: TestClient, seeded: Seeded, ingest: IngestFn) -> None:
    ingest(seeded.x_channel, "<script>alert(1)</script> vognen er kold")
    ingest(seeded.market_channel, "Kold kaffe i butikken")
    response = client.post(
        "/login", data={"email": seeded.agent.email, "password": seeded.password, "next": "/search"}
    )
    assert response.status_code == 200
    page = client.get("/search", params={"q": "kold"}).text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<mark>kold</mark>" in page
    assert "kaffe" not in page
    assert "1 message" in page
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf
    saved = client.post(
        "/search/saved",
        data={"csrf_token": csrf.group(1), "name": "Kulde <i>", "q": "kold"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    view = client.get(saved.headers["location"]).text
    assert "Kulde &lt;i&gt;" in view
    assert "vognen er kold" in view
    assert client.get("/search", params={"q": "-kold"}).status_code == 400


def test_newest_first_is_by_message_time_not_by_storage_order(
    client: TestClient, seeded: Seeded, ingest: IngestFn, database: Database
) -> None:
    """History imported after live traffic still sorts by when it was written; editing a message's
    time moves it (the index is keyed by time, migration 0011)."""
    live = ingest(seeded.x_channel, "Kuffert glemt i toget", minutes_ago=5)
    imported = ingest(seeded.x_channel, "Kuffert glemt sidste år", minutes_ago=60 * 24 * 300)
    recent = ingest(seeded.fb_channel, "Kuffert fundet", minutes_ago=1)
    token = seeded.admin_token
    assert [hit["message_id"] for hit in find(client, token, "kuffert")["results"]] == [
        recent,
        live,
        imported,
    ]
    pages: list[int] = []
    cursor = None
    while True:
        page = find(client, token, "kuffert", limit=1, **({"cursor": cursor} if cursor else {}))
        pages += [hit["message_id"] for hit in page["results"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert pages == [recent, live, imported]
    with database.session() as session:
        newest_at = session.get(Message, recent).created_at  # type: ignore[union-attr]
        session.execute(
            update(Message).where(Message.id == imported).values(created_at=newest_at + timedelta(minutes=1))
        )
    assert [hit["message_id"] for hit in find(client, token, "kuffert")["results"]] == [
        imported,
        recent,
        live,
    ]
    assert ids(find(client, token, "kuffert channel:x")) == {imported, live}


def test_facets_follow_label_and_status_changes(
    client: TestClient, seeded: Seeded, ingest: IngestFn, database: Database
) -> None:
    """The facet rows are kept by triggers: labels written on the message, the conversation's status."""
    message = ingest(seeded.x_channel, "Vognen er beskidt")
    token = seeded.admin_token

    def counts() -> dict[str, dict[str, int]]:
        facets = find(client, token, "beskidt")["facets"]
        return {name: {item["value"]: item["count"] for item in values} for name, values in facets.items()}

    assert counts()["status"] == {"new": 1}
    set_columns(database, message, language="da", intent="complaint", sentiment="negative", has_pii=True)
    with database.session() as session:
        conversation_id = session.get(Message, message).conversation_id  # type: ignore[union-attr]
        session.execute(
            update(Conversation).where(Conversation.id == conversation_id).values(status="closed")
        )
    after = counts()
    assert (after["language"], after["intent"], after["sentiment"], after["status"]) == (
        {"da": 1},
        {"complaint": 1},
        {"negative": 1},
        {"closed": 1},
    )
    assert ids(find(client, token, "status:closed has:pii")) == {message}


def test_counts_beyond_the_sample_are_marked_estimates(
    client: TestClient, seeded: Seeded, ingest: IngestFn, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Facets and totals are counted over the newest SAMPLE matches; beyond that the API says so."""
    from tilsvar.search import engine

    made = [ingest(seeded.x_channel, f"Stationen er lukket {number}") for number in range(6)]
    made += [ingest(seeded.market_channel, f"Butikken er lukket {number}") for number in range(2)]
    for message in made:
        set_columns(database, message, language="da")
    token = seeded.admin_token
    exact = find(client, token, "lukket")
    assert (exact["total"], exact["total_is_estimate"], exact["facets_are_estimates"]) == (8, False, False)
    assert exact["counted"] == 8
    monkeypatch.setattr(engine, "SAMPLE", 4)
    monkeypatch.setattr(engine, "SAMPLE_POSTGRESQL", 4)
    # No filters: the index counts every match exactly; the facets are shares of the newest 4, scaled.
    capped = find(client, token, "lukket")
    assert (capped["total"], capped["total_is_estimate"], capped["facets_are_estimates"]) == (8, False, True)
    assert capped["counted"] == 4
    assert {item["value"]: item["count"] for item in capped["facets"]["language"]} == {"da": 8}
    assert len(capped["results"]) == 8  # the page itself is never sampled
    # With a filter the total is estimated too. SQLite counts the newest 4 (2 pass: about half of 8);
    # PostgreSQL the first 4 in storage order (none pass), but never claims fewer than it shows.
    filtered = find(client, token, "lukket brand:market")
    assert filtered["total_is_estimate"] is True
    assert filtered["total"] == (4 if database.is_sqlite else 2)
    assert ids(filtered) == set(made[6:])
    # Filters only: the newest 4 passing messages, scaled by how many messages they span.
    only_filters = find(client, token, "lang:da")
    assert only_filters["facets_are_estimates"] is True
    assert only_filters["total_is_estimate"] is True
    assert only_filters["total"] >= 4
    # The agent sees one brand: still never another brand's messages or counts.
    agent = find(client, seeded.agent_token, "lukket")
    assert {item["value"] for item in agent["facets"]["brand"]} == {"rail"}
    assert ids(agent) == set(made[:6])


def test_phrases_and_prefixes_match_exactly_whatever_the_index_narrows_by(
    client: TestClient, seeded: Seeded, ingest: IngestFn, database: Database
) -> None:
    """PostgreSQL narrows a phrase by its adjacent word pairs and writes a prefix as the words it
    covers (migration 0024); results stay exactly those of the phrase and the prefix."""
    token = seeded.admin_token
    ordered = ingest(seeded.x_channel, "Toget er forsinket igen")
    punctuated = ingest(seeded.x_channel, "toget, er forsinket!")
    reversed_ = ingest(seeded.x_channel, "Forsinket er toget")
    coffee = ingest(seeded.x_channel, "Kaffen er kold")
    long_word = ingest(seeded.x_channel, "Supercalifragilisticexpialidocious ord her")
    swedish = ingest(seeded.fb_channel, "Tåget till Malmö är sent")
    repeated = ingest(seeded.fb_channel, "nej nej nej")
    assert ids(find(client, token, '"toget er forsinket"')) == {ordered, punctuated}
    assert ids(find(client, token, '"toget er forsinket" OR kaffen')) == {ordered, punctuated, coffee}
    assert ids(find(client, token, 'forsinket -"toget er"')) == {reversed_}
    assert ids(find(client, token, '("er forsinket" OR "er kold") toget')) == {ordered, punctuated}
    assert ids(find(client, token, '"supercalifragilisticexpialidocious ord"')) == {long_word}
    assert ids(find(client, token, '"taget till malmo"')) == {swedish}
    assert ids(find(client, token, '"nej nej"')) == {repeated}
    assert find(client, token, '"er toget er"')["total"] == 0
    # The pairs follow the text.
    set_columns(database, reversed_, text="Nu er toget er forsinket")
    assert ids(find(client, token, '"toget er forsinket"')) == {ordered, punctuated, reversed_}
    # A prefix finds words first indexed after the migration, inserted or written by an update.
    control = ingest(seeded.x_channel, "Billetkontrollen var venlig")
    assert ids(find(client, token, "billetkontrol")) == {control}
    set_columns(database, coffee, text="Perronskiltet er væk")
    assert ids(find(client, token, "perronskilt")) == {coffee}
    assert find(client, token, "kaffen")["total"] == 0
    if not database.is_sqlite:
        # Words no message holds any more leave the list of indexed words (personal data must not
        # linger there), words still held stay.
        with database.session() as session:
            session.execute(delete(Message).where(Message.id == long_word))
        with database.reader() as session:
            listed = set(session.scalars(text("SELECT word FROM search_words")))
        assert {"kaffen", "supercalifragilisticexpialidocious"}.isdisjoint(listed)
        assert {"perronskiltet", "toget", "billetkontrollen"} <= listed
    # A prefix covering many words, or a word of other letters, is still matched as a prefix.
    many = ingest(seeded.x_channel, " ".join(f"zqx{a}{b}" for a in "abcdefgh" for b in "abcdefgh"))
    last = ingest(seeded.x_channel, "zqxzzz")
    assert ids(find(client, token, "zqx")) == {many, last}
    greek = ingest(seeded.x_channel, "Kafeω er god")
    plain = ingest(seeded.x_channel, "Kafe er god")
    assert ids(find(client, token, "kafe")) == {greek, plain}


def test_every_page_is_exact_when_counts_are_sampled(
    client: TestClient, seeded: Seeded, ingest: IngestFn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With small samples every way of reading a page (PostgreSQL: from the sample, by walking the
    newest messages passing the filters, or as planned) pages through exactly the newest matches."""
    from tilsvar.search import engine

    made: list[tuple[int, str, bool]] = []  # (id, channel, says "sporskifte")
    for number in range(120):
        channel = seeded.x_channel if number % 3 else seeded.fb_channel
        word = "sporskifte" if number % 2 else "signalfejl"
        text_ = f"Besked {number}: {word} ved station {number % 7}, " + "fyld " * 12
        made.append(
            (ingest(channel, text_, minutes_ago=120 - number), channel.platform, word == "sporskifte")
        )
    token = seeded.admin_token
    monkeypatch.setattr(engine, "SAMPLE", 4)
    monkeypatch.setattr(engine, "SAMPLE_POSTGRESQL", 4)
    monkeypatch.setattr(engine, "SPAN_COUNTED", 10)
    newest = list(reversed(made))
    expectations = {
        "sporskifte": [m for m, _, word in newest if word],
        "sporskifte channel:x": [m for m, platform, word in newest if word and platform == "x"],
        "channel:facebook": [m for m, platform, _ in newest if platform == "facebook"],
        '"ved station" channel:x': [m for m, platform, _ in newest if platform == "x"],
    }
    for query, wanted in expectations.items():
        pages: list[int] = []
        cursor = None
        while True:
            page = find(client, token, query, limit=7, **({"cursor": cursor} if cursor else {}))
            assert page["total"] >= len(page["results"])
            pages += [hit["message_id"] for hit in page["results"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert [message for message in pages if message in set(wanted)] == wanted, query
        assert set(pages) == set(wanted), query
    only_filters = find(client, token, "channel:facebook")
    assert (only_filters["total_is_estimate"], only_filters["facets_are_estimates"]) == (True, True)
    assert only_filters["counted"] == 4
    # Beyond what is counted the span is the planner's estimate (on PostgreSQL), still a sane total.
    monkeypatch.setattr(engine, "SMALL_TABLE_PAGES", 0)
    estimated = find(client, token, "channel:facebook")
    assert estimated["total"] >= 4
    assert [hit["message_id"] for hit in estimated["results"]] == expectations["channel:facebook"][:20]
