"""Phrasings learned from use: when an agent inserts an article's answer into a reply (web reply box
or ``POST /api/v1/faq/events`` with a conversation), the customer's question in that conversation is
proposed as a new alternative question of the article; accepting it adds the question (vectors
computed again, audited), duplicates and questions the article has are never proposed, personal
data is proposed redacted, and erasing the customer removes what was learned from them. API-level,
on the real database, with the named seed users."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event, select

from tilsvar.actions.faq import do_propose_phrasings
from tilsvar.db import Database
from tilsvar.models import AuditEntry, Conversation, Message
from tilsvar.models.knowledge import FaqArticle, FaqEvent, FaqProposal
from workflow_support import conversation_of

from conftest import IngestFn, Seeded
from helpers import auth, json_of, sign_in

BIKE = {
    "title": "Bikes on board",
    "language": "en",
    "body": "Yes, bikes travel free outside rush hour.",
    "questions": ["Can I bring my bicycle on the train?"],
}
PHONE = "+45 20 11 22 33"


def _article(client: TestClient, seeded: Seeded, brand_id: int | None = None, **fields: Any) -> int:
    created = client.post(
        "/api/v1/faq/articles",
        json={**BIKE, **fields, "brand_id": brand_id if brand_id is not None else seeded.rail.id},
        headers=auth(seeded.admin_token),
    )
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def _inserted(client: TestClient, token: str, article_id: int, conversation_id: int) -> Any:
    return client.post(
        "/api/v1/faq/events",
        json={"article_id": article_id, "kind": "inserted", "conversation_id": conversation_id},
        headers=auth(token),
    )


def _run(client: TestClient, seeded: Seeded) -> int:
    made = json_of(client.post("/api/v1/faq/proposals/run", headers=auth(seeded.admin_token)))
    return int(made["phrasings"])


def _phrasings(client: TestClient, token: str, status: str = "open") -> list[dict[str, Any]]:
    response = client.get(
        "/api/v1/faq/proposals", params={"kind": "phrasing", "status": status}, headers=auth(token)
    )
    return list(json_of(response)["items"])


def test_an_insert_in_the_reply_box_proposes_the_customers_question_and_accepting_adds_it(
    client: TestClient, seeded: Seeded, database: Database, ingest: IngestFn
) -> None:
    article_id = _article(client, seeded)
    question = "Am I allowed to take my <b>bike</b> with me?"
    conversation_id = conversation_of(
        database, ingest(seeded.fb_channel, question, external_id="f1", minutes_ago=2)
    )
    csrf = sign_in(client, seeded.agent.email, seeded.password)
    inserted = client.post(
        f"/conversations/{conversation_id}/faq/inserted",
        data={"article_id": str(article_id)},
        headers={"X-CSRF-Token": csrf},
    )
    assert inserted.status_code == 204
    # The customer writes again after the insert: not the question the article answered.
    ingest(seeded.fb_channel, "Thanks a lot, that helps", external_id="f2", in_reply_to="f1")
    with database.reader() as session:
        events = session.execute(select(FaqEvent.kind, FaqEvent.conversation_id)).all()
    assert [tuple(event) for event in events] == [("inserted", conversation_id)]

    assert _run(client, seeded) == 1
    proposals = _phrasings(client, seeded.agent_token)
    assert len(proposals) == 1
    proposal = proposals[0]
    assert proposal["kind"] == "phrasing"
    assert proposal["article_id"] == article_id
    assert proposal["title"] == question
    assert proposal["questions"] == [question]
    assert proposal["conversation_ids"] == [conversation_id]
    # Article proposals and phrasings are told apart.
    assert _phrasings(client, seeded.agent_token) == [
        p
        for p in json_of(client.get("/api/v1/faq/proposals", headers=auth(seeded.agent_token)))["items"]
        if p["kind"] == "phrasing"
    ]
    # Asking again proposes nothing new.
    assert _run(client, seeded) == 0

    # The knowledge-base page shows it, escaped, with the article it would join.
    page = client.get("/faq").text
    assert "Customers also asked: «Am I allowed to take my &lt;b&gt;bike&lt;/b&gt; with me?»" in page
    assert "<b>bike</b>" not in page
    assert f'href="/faq/{article_id}/edit">Bikes on board</a>' in page
    assert f'action="/faq/proposals/{proposal["id"]}/accept"' not in page  # agents may not decide

    # Agents may not decide; an editor accepts and the question joins the article.
    refused = client.post(f"/api/v1/faq/proposals/{proposal['id']}/accept", headers=auth(seeded.agent_token))
    assert refused.status_code == 403
    accepted = json_of(
        client.post(f"/api/v1/faq/proposals/{proposal['id']}/accept", headers=auth(seeded.admin_token))
    )
    assert (accepted["kind"], accepted["article_id"], accepted["status"]) == (
        "phrasing",
        article_id,
        "accepted",
    )
    assert accepted["article"]["questions"] == [*BIKE["questions"], question]
    assert accepted["article"]["status"] == "published"  # the article itself is unchanged otherwise
    article = json_of(client.get(f"/api/v1/faq/articles/{article_id}", headers=auth(seeded.agent_token)))
    assert question in article["questions"]
    with database.reader() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(
                AuditEntry.action.in_(("faq.saved", "faq.proposal_accepted", "faq.phrasings_proposed"))
            )
        ).all()
    assert actions.count("faq.saved") == 2  # created, then the question added through do_save_article
    assert "faq.proposal_accepted" in actions
    assert "faq.phrasings_proposed" in actions
    # The new question now finds the article.
    found = json_of(
        client.get(
            "/api/v1/faq/suggest", params={"q": "allowed to take my bike"}, headers=auth(seeded.agent_token)
        )
    )["suggestions"]
    assert found
    assert found[0]["article_id"] == article_id
    assert _phrasings(client, seeded.agent_token) == []
    assert _run(client, seeded) == 0
    # Deciding twice is refused.
    again = client.post(f"/api/v1/faq/proposals/{proposal['id']}/dismiss", headers=auth(seeded.admin_token))
    assert again.status_code == 409


def test_duplicates_known_questions_and_non_questions_are_not_proposed(
    client: TestClient, seeded: Seeded, database: Database, ingest: IngestFn
) -> None:
    article_id = _article(client, seeded)
    conversations = {
        # The article's own question, in other case and spacing: nothing to learn.
        "known": "can I   BRING my bicycle on the train?",
        "title": "bikes on BOARD",
        "same-1": "Is there room for my bike?",
        "same-2": "is there room for my  bike?",
        "short": "bike??",
        "long": "My bike " + "and my other bike " * 40 + "need to come along",
    }
    ids = {}
    for number, (name, text) in enumerate(conversations.items()):
        ids[name] = conversation_of(
            database,
            ingest(seeded.fb_channel, text, external_id=f"d{number}", author_id=f"c{number}", minutes_ago=1),
        )
        assert _inserted(client, seeded.agent_token, article_id, ids[name]).status_code == 202
    # An insert without a conversation (older clients) teaches nothing.
    bare = client.post(
        "/api/v1/faq/events", json={"article_id": article_id}, headers=auth(seeded.agent_token)
    )
    assert bare.status_code == 202
    assert _run(client, seeded) == 1
    proposals = _phrasings(client, seeded.agent_token)
    assert len(proposals) == 1
    assert " ".join(proposals[0]["title"].casefold().split()) == "is there room for my bike?"
    assert proposals[0]["conversation_ids"][0] in (ids["same-1"], ids["same-2"])
    # Inserting again into the same conversation proposes nothing more.
    assert _inserted(client, seeded.agent_token, article_id, ids["same-1"]).status_code == 202
    assert _run(client, seeded) == 0
    # A dismissed phrasing is not proposed again either.
    dismissed = json_of(
        client.post(f"/api/v1/faq/proposals/{proposals[0]['id']}/dismiss", headers=auth(seeded.admin_token))
    )
    assert (dismissed["status"], dismissed["kind"], dismissed["article"]) == ("dismissed", "phrasing", None)
    assert _phrasings(client, seeded.agent_token, status="dismissed")[0]["id"] == proposals[0]["id"]
    assert _inserted(client, seeded.agent_token, article_id, ids["same-2"]).status_code == 202
    assert _run(client, seeded) == 0
    with database.reader() as session:
        article = session.get_one(FaqArticle, article_id)
        assert article.questions == BIKE["questions"]  # dismissing changes nothing
    # Deleting the article drops its open phrasings.
    other = conversation_of(
        database,
        ingest(seeded.fb_channel, "Where do bikes go on the train?", external_id="e1", minutes_ago=1),
    )
    assert _inserted(client, seeded.agent_token, article_id, other).status_code == 202
    assert _run(client, seeded) == 1
    assert (
        client.delete(f"/api/v1/faq/articles/{article_id}", headers=auth(seeded.admin_token)).status_code
        == 204
    )
    assert _phrasings(client, seeded.agent_token) == []


def test_many_inserted_answers_read_the_customers_messages_in_one_query(
    client: TestClient, seeded: Seeded, database: Database, ingest: IngestFn
) -> None:
    article_id = _article(client, seeded)
    conversations = [
        conversation_of(
            database,
            ingest(seeded.fb_channel, f"Can bike number {n} come on the train?", external_id=f"n{n}"),
        )
        for n in range(6)
    ]
    for conversation_id in conversations:
        assert _inserted(client, seeded.agent_token, article_id, conversation_id).status_code == 202
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        with database.session() as session:
            made = do_propose_phrasings(session, organization_id=seeded.org.id)
    finally:
        event.remove(database.engine, "before_cursor_execute", record)
    assert sorted(p.title for p in made) == sorted(
        f"Can bike number {n} come on the train?" for n in range(6)
    )
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT") and "messages" in s]) == 1


def test_personal_data_is_proposed_redacted(
    client: TestClient, seeded: Seeded, database: Database, ingest: IngestFn
) -> None:
    article_id = _article(client, seeded)
    message_id = ingest(
        seeded.fb_channel, f"Can my bike come along, call me on {PHONE}", external_id="p1", minutes_ago=1
    )
    with database.reader() as session:
        message = session.get_one(Message, message_id)
        assert message.has_pii
        assert message.text_sealed
        shown = (message.redacted_text or message.text).strip()
        conversation_id = message.conversation_id
    assert PHONE not in shown
    assert _inserted(client, seeded.agent_token, article_id, conversation_id).status_code == 202
    assert _run(client, seeded) == 1
    proposal = _phrasings(client, seeded.agent_token)[0]
    assert proposal["title"] == shown
    assert proposal["questions"] == [shown]
    assert "call me on" in proposal["title"]
    assert PHONE not in str(proposal)
    accepted = json_of(
        client.post(f"/api/v1/faq/proposals/{proposal['id']}/accept", headers=auth(seeded.admin_token))
    )
    assert not any(PHONE in question for question in accepted["article"]["questions"])


def test_the_api_records_only_conversations_the_user_may_see(
    client: TestClient, seeded: Seeded, database: Database, ingest: IngestFn
) -> None:
    shared_article = _article(client, seeded)
    market_conversation = conversation_of(
        database, ingest(seeded.market_channel, "Do you sell fresh fish today?", external_id="m1")
    )
    rail_conversation = conversation_of(
        database, ingest(seeded.fb_channel, "Can I bring my bike along?", external_id="r1")
    )
    # The agent sees the rail brand only: the market's conversation (or none) is not found.
    assert _inserted(client, seeded.agent_token, shared_article, market_conversation).status_code == 404
    assert _inserted(client, seeded.agent_token, shared_article, 999_999).status_code == 404
    assert _inserted(client, seeded.agent_token, shared_article, rail_conversation).status_code == 202
    # No token, no event.
    anonymous = client.post(
        "/api/v1/faq/events", json={"article_id": shared_article, "conversation_id": rail_conversation}
    )
    assert anonymous.status_code == 401
    # The admin sees every brand.
    assert _inserted(client, seeded.admin_token, shared_article, market_conversation).status_code == 202
    with database.reader() as session:
        recorded = list(session.scalars(select(FaqEvent.conversation_id).order_by(FaqEvent.id)))
    assert recorded == [rail_conversation, market_conversation]
    # A market article's phrasings are invisible to (and not decidable by) those without the brand.
    market_article = _article(client, seeded, brand_id=seeded.market.id, title="Fresh fish", questions=[])
    assert _inserted(client, seeded.admin_token, market_article, market_conversation).status_code == 202
    assert _run(client, seeded) == 3
    assert {p["article_id"] for p in _phrasings(client, seeded.agent_token)} == {shared_article}
    assert {p["article_id"] for p in _phrasings(client, seeded.admin_token)} == {
        shared_article,
        market_article,
    }


def test_erasure_removes_what_was_learned_from_the_person(
    client: TestClient, seeded: Seeded, database: Database, ingest: IngestFn
) -> None:
    article_id = _article(client, seeded)
    learned = "Can my dog and my bike both travel with me?"
    pending = "What about a tandem bike on the train?"
    first = conversation_of(
        database, ingest(seeded.x_channel, learned, external_id="x1", author_id="u42", minutes_ago=2)
    )
    second = conversation_of(
        database, ingest(seeded.fb_channel, pending, external_id="f1", author_id="u42", minutes_ago=2)
    )
    other = conversation_of(
        database,
        ingest(
            seeded.fb_channel,
            "Do folding bikes need a ticket?",
            external_id="f2",
            author_id="p7",
            minutes_ago=2,
        ),
    )
    for conversation_id in (first, second, other):
        assert _inserted(client, seeded.agent_token, article_id, conversation_id).status_code == 202
    assert _run(client, seeded) == 3
    accept = next(p for p in _phrasings(client, seeded.agent_token) if p["title"] == learned)
    accepted = client.post(f"/api/v1/faq/proposals/{accept['id']}/accept", headers=auth(seeded.admin_token))
    assert learned in json_of(accepted)["article"]["questions"]

    # Their messages were edited on the platform since: what was learned no longer matches the text.
    with database.session() as session:
        for message in session.scalars(select(Message).where(Message.conversation_id.in_((first, second)))):
            message.text = message.text + " (edited)"
    for platform in ("x", "facebook"):
        response = client.post(
            "/api/v1/privacy/erase",
            json={"platform": platform, "author_id": "u42", "confirm": "u42"},
            headers=auth(seeded.admin_token),
        )
        assert response.status_code == 200, response.text

    with database.reader() as session:
        proposals = session.scalars(select(FaqProposal)).all()
        assert [p.title for p in proposals] == ["Do folding bikes need a ticket?"]  # the other customer's
        article = session.get_one(FaqArticle, article_id)
        assert learned not in article.questions
        assert article.questions == BIKE["questions"]
        linked = set(session.scalars(select(FaqEvent.conversation_id)).all())
        assert linked <= {other, None}
        assert session.scalar(select(Conversation.id).where(Conversation.id.in_((first, second)))) is None
    # Nothing of theirs comes back on the next run.
    assert _run(client, seeded) == 0


def test_editors_decide_phrasings_on_the_knowledge_base_page(
    client: TestClient, seeded: Seeded, database: Database, ingest: IngestFn
) -> None:
    article_id = _article(client, seeded)
    for number, text in enumerate(
        ["Can I take my bike on the night train?", "Is a bike trailer allowed too?"]
    ):
        conversation_id = conversation_of(
            database,
            ingest(seeded.fb_channel, text, external_id=f"w{number}", author_id=f"w{number}", minutes_ago=1),
        )
        assert _inserted(client, seeded.agent_token, article_id, conversation_id).status_code == 202
    assert _run(client, seeded) == 2
    take, trailer = sorted(_phrasings(client, seeded.agent_token), key=lambda p: str(p["title"]))
    csrf = sign_in(client, seeded.admin.email, seeded.password)
    page = client.get("/faq").text
    assert f'action="/faq/proposals/{take["id"]}/accept"' in page
    accepted = client.post(
        f"/faq/proposals/{take['id']}/accept", headers={"X-CSRF-Token": csrf}, follow_redirects=False
    )
    assert accepted.status_code == 303
    assert accepted.headers["location"] == "/faq"
    dismissed = client.post(
        f"/faq/proposals/{trailer['id']}/dismiss", headers={"X-CSRF-Token": csrf}, follow_redirects=False
    )
    assert dismissed.status_code == 303
    with database.reader() as session:
        article = session.get_one(FaqArticle, article_id)
        assert article.questions == [*BIKE["questions"], "Can I take my bike on the night train?"]
        statuses = dict(session.execute(select(FaqProposal.title, FaqProposal.status)).all())
    assert statuses == {
        "Can I take my bike on the night train?": "accepted",
        "Is a bike trailer allowed too?": "dismissed",
    }
    assert "Customers also asked" not in client.get("/faq").text


def test_the_evaluation_simulates_learning_from_inserts_without_touching_the_queries() -> None:
    from tilsvar.faq.evaluation import evaluate, evaluate_learned

    topics = {
        "lost_card": ["lost my card {n}", "card is gone {n}", "where is my card {n}"],
        "refund": ["money back for order {n}", "refund for ticket {n}", "return payment {n}"],
        "delay": ["train {n} is late", "delayed departure {n}", "late arrival of train {n}"],
    }
    rows = [
        (pattern.format(n=n), intent)
        for intent, patterns in topics.items()
        for pattern in patterns
        for n in range(10)
    ]
    before = evaluate(rows, 5, limit=30)
    learned = evaluate_learned(rows, 4, questions=5, limit=30)
    assert learned["queries"] == before["queries"] == 30
    assert learned["conversations"] == 12  # 4 per article, none of them an evaluation query
    assert learned["learned"] <= learned["inserted"] <= learned["conversations"]
    assert learned["mean_questions_per_article"] == round(5 + learned["learned"] / 3, 1)
    assert learned["suggestions_shown_by"] == "keystroke"
    assert 0 <= learned["top1"] <= learned["top3"] <= 1


def test_the_propose_command_proposes_phrasings_too(
    client: TestClient, seeded: Seeded, database: Database, ingest: IngestFn
) -> None:
    import json

    from typer.testing import CliRunner

    from tilsvar.cli import app as cli_app

    article_id = _article(client, seeded)
    conversation_id = conversation_of(
        database,
        ingest(seeded.fb_channel, "Can I park my bike at the station?", external_id="c1", minutes_ago=1),
    )
    assert _inserted(client, seeded.agent_token, article_id, conversation_id).status_code == 202
    result = CliRunner().invoke(cli_app, ["faq", "propose"])
    assert result.exit_code == 0, result.output
    made = json.loads(result.stdout)
    assert [(p["kind"], p["article_id"], p["title"]) for p in made] == [
        ("phrasing", article_id, "Can I park my bike at the station?")
    ]
    again = CliRunner().invoke(cli_app, ["faq", "propose"])
    assert json.loads(again.stdout) == []


def test_the_worker_looks_for_proposals_once_a_day_per_organisation(
    client: TestClient, seeded: Seeded, database: Database, ingest: IngestFn, run_jobs: Callable[[], int]
) -> None:
    from tilsvar.jobs.faq_handlers import PROPOSE_EVERY, PROPOSE_JOB, schedule_proposals
    from tilsvar.models import Job, Organization, utcnow

    article_id = _article(client, seeded)
    question = "May I take my bicycle along on the train?"
    conversation_id = conversation_of(database, ingest(seeded.fb_channel, question, external_id="w1"))
    assert _inserted(client, seeded.agent_token, article_id, conversation_id).status_code == 202

    with database.reader() as session:
        organizations = len(session.scalars(select(Organization.id)).all())
    assert schedule_proposals(database) == organizations
    assert schedule_proposals(database) == 0  # queued already: not twice
    run_jobs()
    proposals = _phrasings(client, seeded.agent_token)
    assert [(p["article_id"], p["title"]) for p in proposals] == [(article_id, question)]
    assert schedule_proposals(database) == 0  # ran within the day
    with database.session() as session:
        for job in session.scalars(select(Job).where(Job.kind == PROPOSE_JOB)):
            job.created_at = utcnow() - PROPOSE_EVERY
    assert schedule_proposals(database) == organizations  # a day later: again
    run_jobs()
    assert len(_phrasings(client, seeded.agent_token)) == 1  # and nothing is proposed twice
