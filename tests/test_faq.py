"""The knowledge base: `tilsvar faq import` / `suggest` as a user runs them, multilingual suggestions
tolerant of missing diacritics and half-typed words, the agent API with answers adapted to the
channel, the public rate-limited widget endpoints and deflection, proposals from resolved
conversations, and the BANKING77 evaluation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from tilsvar.actions.org import do_create_channel
from tilsvar.db import Database
from tilsvar.faq.engine import Article, FaqIndex
from tilsvar.faq.service import adapt_answer
from tilsvar.models import Brand, Conversation
from tilsvar.settings import Settings, get_settings

from conftest import Seeded
from helpers import auth, json_of, shared_path

ARTICLES: list[dict[str, Any]] = [
    {
        "id": "lost-property",
        "brand": "rail",
        "language": "da",
        "title": "Glemte sager",
        "body": "Ring til hittegodskontoret eller udfyld formularen på [vores side](https://rail.example/glemt).",
        "questions": ["Jeg har glemt min taske i toget", "Hvor finder jeg hittegods?"],
    },
    {
        "id": "refund-pl",
        "brand": "rail",
        "language": "pl",
        "title": "Zwrot pieniędzy za bilet",
        "body": "Zwrot otrzymasz w ciągu 14 dni.",
        "questions": ["Jak dostać zwrot pieniędzy?", "Chcę zwrócić bilet"],
    },
    {
        "id": "delay-compensation",
        "language": "en",
        "title": "Compensation for delays",
        "body": "If your train is more than 30 minutes late you get 50 % back. " * 12,
        "questions": ["Do I get money back when the train is late?", "delay compensation"],
        "url": "https://rail.example/delay",
    },
]


def run(settings: Settings, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("TILSVAR_") or k.startswith("TILSVAR_TEST")
    }
    env["TILSVAR_DATA_DIR"] = str(settings.data_dir)
    env["TILSVAR_DATABASE_URL"] = settings.effective_database_url
    result = subprocess.run(
        [sys.executable, "-m", "tilsvar", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result


def test_engine_folds_diacritics_and_matches_half_typed_words_in_every_language() -> None:
    index = FaqIndex(
        [
            Article(id=a["id"], title=a["title"], body=a["body"], questions=tuple(a["questions"]))
            for a in ARTICLES
        ]
    )
    assert index.suggest("zwrot pieniedzy", k=1)[0].article_id == "refund-pl"  # no ę
    assert index.suggest("glemt tasken i tog", k=1)[0].article_id == "lost-property"
    assert index.suggest("compens", k=1)[0].article_id == "delay-compensation"  # half a word
    assert index.suggest("", k=3) == []
    assert index.suggest("xyzzy qqq", k=3, min_score=0.2) == []  # noise scores low


def test_import_and_suggest_from_the_command_line(settings: Settings, seeded: Seeded, tmp_path: Path) -> None:
    source = tmp_path / "faq.jsonl"
    lines = [json.dumps(a, ensure_ascii=False) for a in ARTICLES] + ["{broken", json.dumps({"id": "x"})]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    imported = json.loads(run(settings, "faq", "import", str(source)).stdout)
    assert imported["created"] == 3
    assert len(imported["errors"]) == 2  # the broken line and the article without a title
    again = json.loads(run(settings, "faq", "import", str(source)).stdout)
    assert again["unchanged"] == 3
    queries = [
        {"id": "q1", "text": "Hvor kan jeg finde min glemte taske?", "language": "da"},
        {"id": "q2", "text": "zwrot pieniedzy za bilet"},
        {"id": "q3", "text": "train was late, money back?"},
    ]
    out = run(settings, "faq", "suggest", "--k", "2", stdin="\n".join(json.dumps(q) for q in queries) + "\n")
    results = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["id"] for r in results] == ["q1", "q2", "q3"]
    assert [r["suggestions"][0]["article_id"] for r in results] == [
        "lost-property",
        "refund-pl",
        "delay-compensation",
    ]
    assert all(set(s) == {"article_id", "score"} for r in results for s in r["suggestions"])
    assert all(len(r["suggestions"]) <= 2 for r in results)


def test_agent_api_manages_articles_and_adapts_the_answer_to_the_channel(
    client: TestClient, seeded: Seeded
) -> None:
    created = client.post(
        "/api/v1/faq/articles",
        json={**{k: v for k, v in ARTICLES[2].items() if k != "id"}, "key": "delay"},
        headers=auth(seeded.admin_token),
    )
    assert created.status_code == 201, created.text
    article_id = created.json()["id"]
    # Agents may read and use articles but not edit them.
    refused = client.post("/api/v1/faq/articles", json={"title": "x"}, headers=auth(seeded.agent_token))
    assert refused.status_code == 403
    found = json_of(
        client.get(
            "/api/v1/faq/suggest",
            params={"q": "is my train late compensation", "platform": "x", "brand": seeded.rail.id},
            headers=auth(seeded.agent_token),
        )
    )["suggestions"]
    assert found[0]["article_id"] == article_id
    answer = found[0]["answer"]
    assert len(answer) <= 280
    assert answer.endswith("https://rail.example/delay")
    # An edit is seen by the next request (the cached index follows the articles' version).
    client.put(
        f"/api/v1/faq/articles/{article_id}",
        json={"title": "Bike on board", "questions": ["Can I bring my bicycle?"], "body": "Yes."},
        headers=auth(seeded.admin_token),
    )
    found = client.get(
        "/api/v1/faq/suggest", params={"q": "bicycle"}, headers=auth(seeded.agent_token)
    ).json()
    assert [s["title"] for s in found["suggestions"]] == ["Bike on board"]
    assert (
        client.delete(f"/api/v1/faq/articles/{article_id}", headers=auth(seeded.admin_token)).status_code
        == 204
    )
    found = client.get(
        "/api/v1/faq/suggest", params={"q": "bicycle"}, headers=auth(seeded.agent_token)
    ).json()
    assert found["suggestions"] == []


def test_adapted_answers_are_plain_text() -> None:
    body = "**Ring** til os: [hittegods](https://rail.example/glemt)"
    assert (
        adapt_answer(body=body, url="", platform="facebook")
        == "Ring til os: hittegods (https://rail.example/glemt)"
    )


def test_public_widget_endpoints_rate_limit_and_deflection(
    client: TestClient, seeded: Seeded, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    with database.session() as session:
        rail = session.get_one(Brand, seeded.rail.id)
        do_create_channel(session, brand=rail, platform="webchat", account="rail-web")
    client.post(
        "/api/v1/faq/articles",
        json={**{k: v for k, v in ARTICLES[2].items() if k != "id"}, "brand_id": seeded.rail.id},
        headers=auth(seeded.admin_token),
    )
    params = {"org": "nordic", "brand": "rail", "q": "compensation when late"}
    found = client.get("/api/v1/public/faq/suggest", params=params).json()["suggestions"]
    assert set(found[0]) == {"article_id", "title", "snippet", "url", "score"}
    article = client.get(
        f"/api/v1/public/faq/articles/{found[0]['article_id']}", params={"org": "nordic", "brand": "rail"}
    ).json()
    assert article["title"] == "Compensation for delays"
    # A brand without web chat offers nothing publicly.
    assert client.get("/api/v1/public/faq/suggest", params={**params, "brand": "market"}).status_code == 404
    opened = client.post(
        "/api/v1/public/faq/opened",
        json={"org": "nordic", "brand": "rail", "article_id": found[0]["article_id"], "visitor": "v-1"},
    )
    assert opened.status_code == 202
    monkeypatch.setenv("TILSVAR_FAQ_DEFLECTION_MINUTES", "0")
    get_settings.cache_clear()
    stats = client.get("/api/v1/faq/stats", headers=auth(seeded.admin_token)).json()
    assert stats["opened"] == 1
    assert stats["deflected"] == 1  # the visitor never wrote
    monkeypatch.setenv("TILSVAR_FAQ_WIDGET_REQUESTS_PER_MINUTE", "2")
    get_settings.cache_clear()
    from tilsvar.api.faq_routes import limiter

    limiter._hits.clear()
    codes = [client.get("/api/v1/public/faq/suggest", params=params).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_proposals_from_resolved_conversations(
    client: TestClient, seeded: Seeded, database: Database, ingest: Callable[..., int]
) -> None:
    questions = [
        "Can I take my dog on the train?",
        "Is my dog allowed on the train?",
        "may I bring my dog on the train",
        "Can dogs travel on the train with me?",
    ]
    for number, question in enumerate(questions):
        ingest(seeded.fb_channel, question, external_id=f"d{number}", author_id=f"a{number}")
        ingest(
            seeded.fb_channel,
            "Yes, dogs travel with a child ticket.",
            direction="out",
            in_reply_to=f"d{number}",
        )
    with database.session() as session:
        session.execute(update(Conversation).values(status="resolved"))
    made = client.post("/api/v1/faq/proposals/run", headers=auth(seeded.admin_token)).json()
    assert made["created"] == 1
    proposals = client.get("/api/v1/faq/proposals", headers=auth(seeded.agent_token)).json()["items"]
    assert proposals[0]["size"] == 4
    assert "dog" in proposals[0]["title"].lower()
    assert proposals[0]["answer"].startswith("Yes, dogs")
    accepted = client.post(
        f"/api/v1/faq/proposals/{proposals[0]['id']}/accept", headers=auth(seeded.admin_token)
    )
    assert accepted.json()["article"]["status"] == "draft"
    # Asking again proposes nothing new.
    assert client.post("/api/v1/faq/proposals/run", headers=auth(seeded.admin_token)).json()["created"] == 0


def test_banking77_as_a_knowledge_base() -> None:
    from tilsvar.faq.evaluation import banking77_rows, evaluate

    rows = banking77_rows(shared_path("eval", "support", "banking77"))
    result = evaluate(rows, 10, limit=400)
    assert result["articles"] == 77
    assert result["top1"] >= 0.6
    assert result["top3"] >= 0.8


def test_web_pages_manage_articles_and_escape_customer_text(client: TestClient, seeded: Seeded) -> None:
    response = client.post(
        "/login",
        data={"email": seeded.admin.email, "password": seeded.password, "next": "/faq"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = client.get("/faq/new").text
    csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    saved = client.post(
        "/faq/save",
        data={
            "csrf_token": csrf,
            "title": "<script>alert(1)</script> Lost bags",
            "questions": "Where is my bag?\nI forgot my bag",
            "body": "Call us.",
            "brand_id": str(seeded.rail.id),
            "status": "published",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    listing = client.get("/faq").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Lost bags" in listing
    assert "<script>alert(1)" not in listing
    assert client.get("/trends").status_code == 200
