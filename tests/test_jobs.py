"""The job queue: retries with backoff, dead jobs and re-running them, a killed worker's job taken
over after its lease, concurrent workers never taking the same job, and delivery failures shown on
the reply."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from tilsvar.channels import DeliveryError, OutboundReply, SendResult
from tilsvar.db import Database
from tilsvar.jobs import queue
from tilsvar.jobs.worker import HANDLERS, Handler, PermanentFailure, Worker
from tilsvar.models import Job, utcnow
from tilsvar.settings import get_settings

from conftest import BACKEND, IngestFn, Seeded
from helpers import auth


@pytest.fixture
def calls() -> list[int]:
    return []


@pytest.fixture
def flaky_handler(calls: list[int]) -> Iterator[Callable[[int], None]]:
    """Registers ``test.flaky``: fails the first ``n`` runs, then succeeds."""

    def install(failures: int) -> None:
        def run(_database: Database, job: queue.ClaimedJob) -> None:
            calls.append(job.attempts)
            if len(calls) <= failures:
                raise RuntimeError(f"boom {len(calls)}")

        HANDLERS["test.flaky"] = Handler(run=run)

    yield install
    HANDLERS.pop("test.flaky", None)


def _enqueue(database: Database, kind: str = "test.flaky", max_attempts: int | None = None) -> int:
    with database.session() as session:
        job = queue.enqueue(session, queue="test", kind=kind, payload={}, max_attempts=max_attempts)
        session.flush()
        return job.id


def _job(database: Database, job_id: int) -> Job:
    with database.reader() as session:
        return session.get_one(Job, job_id)


def _make_due(database: Database) -> None:
    with database.session() as session:
        session.execute(update(Job).where(Job.status == "queued").values(run_at=utcnow()))


def test_failed_job_is_retried_with_growing_backoff_then_succeeds(
    database: Database,
    flaky_handler: Callable[[int], None],
    calls: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TILSVAR_JOB_BACKOFF_BASE_SECONDS", "10")
    get_settings.cache_clear()
    flaky_handler(2)
    job_id = _enqueue(database)
    worker = Worker(database, worker_id="w1")
    assert worker.run_once() == 1
    job = _job(database, job_id)
    assert job.status == "queued"
    assert "boom 1" in job.last_error
    first_delay = (job.run_at - utcnow()).total_seconds()
    assert 6 < first_delay <= 12.5  # 10 s ± 25 % jitter
    assert worker.run_once() == 0  # not due yet
    _make_due(database)
    worker.run_once()
    job = _job(database, job_id)
    assert 14 < (job.run_at - utcnow()).total_seconds() <= 25  # doubled
    _make_due(database)
    worker.run_once()
    assert _job(database, job_id).status == "done"
    assert calls == [1, 2, 3]


def test_backoff_is_capped_and_jittered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TILSVAR_JOB_BACKOFF_BASE_SECONDS", "2")
    monkeypatch.setenv("TILSVAR_JOB_BACKOFF_MAX_SECONDS", "60")
    get_settings.cache_clear()
    delays = [queue.backoff_seconds(attempt) for attempt in range(1, 12)]
    assert all(delay <= 75 for delay in delays)
    assert 1.5 <= delays[0] <= 2.5
    assert len({round(queue.backoff_seconds(3), 6) for _ in range(20)}) > 1
    get_settings.cache_clear()


def test_job_dies_after_its_attempts_and_can_be_rerun(
    database: Database, flaky_handler: Callable[[int], None], client: TestClient, seeded: Seeded
) -> None:
    flaky_handler(3)
    job_id = _enqueue(database, max_attempts=3)
    worker = Worker(database, worker_id="w1")
    for _ in range(3):
        _make_due(database)
        worker.run_once()
    assert _job(database, job_id).status == "dead"
    dead = client.get("/api/v1/jobs?status=dead", headers=auth(seeded.admin_token)).json()
    assert [job["id"] for job in dead] == [job_id]
    assert "boom 3" in dead[0]["last_error"]
    assert client.get("/api/v1/jobs", headers=auth(seeded.agent_token)).status_code == 403
    assert client.post(f"/api/v1/jobs/{job_id}/retry", headers=auth(seeded.admin_token)).status_code == 202
    assert worker.run_once() == 1
    assert _job(database, job_id).status == "done"
    assert client.post(f"/api/v1/jobs/{job_id}/retry", headers=auth(seeded.admin_token)).status_code == 404


def test_permanent_failure_is_not_retried(database: Database) -> None:
    def run(_database: Database, _job: queue.ClaimedJob) -> None:
        raise PermanentFailure("cannot ever work")

    HANDLERS["test.permanent"] = Handler(run=run)
    try:
        job_id = _enqueue(database, kind="test.permanent")
        Worker(database).run_once()
        job = _job(database, job_id)
        assert (job.status, job.attempts, job.last_error) == ("dead", 1, "cannot ever work")
    finally:
        HANDLERS.pop("test.permanent")


def test_a_killed_workers_job_runs_again_after_its_lease(
    database: Database, flaky_handler: Callable[[int], None], calls: list[int]
) -> None:
    flaky_handler(0)
    job_id = _enqueue(database)
    with database.session() as session:  # a worker claims the job and dies before finishing
        [claimed] = queue.claim(session, worker_id="dead-worker", limit=10)
    assert claimed.id == job_id
    assert Worker(database, worker_id="w2").run_once() == 0  # lease still held
    with database.session() as session:
        session.execute(update(Job).values(locked_until=utcnow() - timedelta(seconds=1)))
    assert Worker(database, worker_id="w2").run_once() == 1
    job = _job(database, job_id)
    assert (job.status, job.attempts) == ("done", 2)
    assert calls == [2]
    with database.session() as session:  # the dead worker's late completion changes nothing
        queue.complete(session, job_id=job_id, worker_id="dead-worker")
    assert _job(database, job_id).locked_by == "w2"


@pytest.mark.skipif(BACKEND != "postgresql", reason="SKIP LOCKED needs PostgreSQL; SQLite runs one worker")
def test_concurrent_workers_never_take_the_same_job(database: Database) -> None:
    seen: list[int] = []
    lock = threading.Lock()

    def run(_database: Database, job: queue.ClaimedJob) -> None:
        with lock:
            seen.append(job.id)

    HANDLERS["test.count"] = Handler(run=run)
    try:
        with database.session() as session:
            for _ in range(200):
                queue.enqueue(session, queue="test", kind="test.count", payload={})
        threads = [
            threading.Thread(target=Worker(database, worker_id=f"w{n}").run_until_idle) for n in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        HANDLERS.pop("test.count")
    assert len(seen) == 200
    assert len(set(seen)) == 200
    with database.reader() as session:
        assert session.scalar(select(func.count()).select_from(Job).where(Job.status == "done")) == 200


class _Refusing:
    def send_reply(self, reply: OutboundReply) -> SendResult:
        raise DeliveryError("the page no longer exists", retryable=False)


class _TimingOutOnce:
    def __init__(self) -> None:
        self.calls = 0

    def send_reply(self, reply: OutboundReply) -> SendResult:
        self.calls += 1
        if self.calls == 1:
            raise DeliveryError("platform timed out", retryable=True)
        return SendResult(external_id="platform-42")


def _reply(client: TestClient, seeded: Seeded, ingest: IngestFn) -> int:
    ingest(seeded.fb_channel, "Hej", external_id="d1")
    [row] = client.get("/api/v1/conversations", headers=auth(seeded.admin_token)).json()["items"]
    client.post(
        f"/api/v1/conversations/{row['id']}/replies", json={"text": "Hej!"}, headers=auth(seeded.admin_token)
    )
    return int(row["id"])


def test_platform_refusal_marks_the_reply_failed_with_the_reason_and_it_can_be_retried(
    client: TestClient,
    seeded: Seeded,
    ingest: IngestFn,
    run_jobs: Callable[[], int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("tilsvar.jobs.handlers.connector_for", lambda platform, mode: _Refusing())
    conversation_id = _reply(client, seeded, ingest)
    run_jobs()
    thread = client.get(f"/api/v1/conversations/{conversation_id}", headers=auth(seeded.admin_token)).json()
    reply = thread["messages"][-1]
    assert reply["delivery"] == {"state": "failed", "error": "the page no longer exists", "attempts": 1}
    assert thread["waiting_minutes"] is not None  # still unanswered
    monkeypatch.setattr("tilsvar.jobs.handlers.connector_for", lambda platform, mode: _TimingOutOnce())
    retried = client.post(f"/api/v1/messages/{reply['id']}/retry", headers=auth(seeded.admin_token))
    assert retried.status_code == 202
    assert (
        client.post(f"/api/v1/messages/{reply['id']}/retry", headers=auth(seeded.admin_token)).status_code
        == 409
    )


def test_outage_is_retried_and_the_reply_shows_it_until_sent(
    client: TestClient, seeded: Seeded, ingest: IngestFn, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TILSVAR_JOB_BACKOFF_BASE_SECONDS", "60")
    get_settings.cache_clear()
    connector = _TimingOutOnce()
    monkeypatch.setattr("tilsvar.jobs.handlers.connector_for", lambda platform, mode: connector)
    conversation_id = _reply(client, seeded, ingest)
    worker = Worker(database)
    worker.run_once()  # pipeline + first send attempt
    worker.run_once()
    thread = client.get(f"/api/v1/conversations/{conversation_id}", headers=auth(seeded.admin_token)).json()
    assert thread["messages"][-1]["delivery"] == {
        "state": "queued",
        "error": "platform timed out",
        "attempts": 1,
    }
    _make_due(database)
    worker.run_until_idle()
    thread = client.get(f"/api/v1/conversations/{conversation_id}", headers=auth(seeded.admin_token)).json()
    assert thread["messages"][-1]["delivery"] == {"state": "sent", "error": None, "attempts": 2}
    assert thread["messages"][-1]["external_id"] == "platform-42"
    assert connector.calls == 2


def test_a_send_job_that_runs_twice_sends_once(
    client: TestClient, seeded: Seeded, ingest: IngestFn, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    connector = _TimingOutOnce()
    connector.calls = 1  # always succeeds
    monkeypatch.setattr("tilsvar.jobs.handlers.connector_for", lambda platform, mode: connector)
    _reply(client, seeded, ingest)
    Worker(database).run_until_idle()
    with database.session() as session:  # the same job delivered again (e.g. after a lost ack)
        session.execute(
            update(Job).where(Job.kind == "outbound.send").values(status="queued", run_at=utcnow())
        )
    Worker(database).run_until_idle()
    assert connector.calls == 2  # one real send (the counter started at 1)


@pytest.fixture
def ran_kinds(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Registers ``test.urgent`` (made the only urgent kind) and ``test.later``; records the kinds run.
    An urgent job with ``{"again": true}`` enqueues another one, like a webhook that never goes quiet."""
    ran: list[str] = []

    def run(database: Database, job: queue.ClaimedJob) -> None:
        ran.append(job.kind)
        if job.payload.get("again"):
            with database.session() as session:
                queue.enqueue(session, queue="inbound", kind="test.urgent", payload={"again": True})

    monkeypatch.setattr(queue, "URGENT_KINDS", ("test.urgent",))
    HANDLERS["test.urgent"] = HANDLERS["test.later"] = Handler(run=run)
    yield ran
    HANDLERS.pop("test.urgent")
    HANDLERS.pop("test.later")


def _enqueue_kind(database: Database, kind: str, count: int, *, again: bool = False) -> None:
    with database.session() as session:
        for _ in range(count):
            queue.enqueue(
                session,
                queue="inbound" if kind == "test.urgent" else "pipeline",
                kind=kind,
                payload={"again": again},
            )


def test_storing_deliveries_is_an_urgent_kind() -> None:
    assert "webhook.process" in queue.URGENT_KINDS


def test_urgent_jobs_run_before_older_other_jobs(database: Database, ran_kinds: list[str]) -> None:
    _enqueue_kind(database, "test.later", 5)  # an analysis backlog, older
    _enqueue_kind(database, "test.urgent", 3)  # then new deliveries arrive
    worker = Worker(database, worker_id="prio")
    for _ in range(3):
        assert worker.run_once() == queue.URGENT_BATCH == 1  # one delivery job takes the rest along
    assert ran_kinds == ["test.urgent"] * 3  # none of the older others yet
    _enqueue_kind(database, "test.urgent", 1)  # a delivery arriving while the backlog drains
    worker.run_once()
    assert ran_kinds[-1] == "test.urgent"
    assert worker.run_until_idle() == 5
    assert ran_kinds[4:] == ["test.later"] * 5
    with database.reader() as session:
        assert session.scalar(select(func.count()).select_from(Job).where(Job.status != "done")) == 0


def test_other_jobs_still_progress_while_deliveries_never_stop(
    database: Database, ran_kinds: list[str]
) -> None:
    _enqueue_kind(database, "test.later", 3)
    _enqueue_kind(database, "test.urgent", 1, again=True)  # each run enqueues the next: never idle
    worker = Worker(database, worker_id="prio")
    rounds = 3 * (queue.URGENT_STREAK + 1)
    for _ in range(rounds):
        assert worker.run_once() == 1
    # After URGENT_STREAK urgent batches in a row, one other job gets its turn; all three ran.
    assert ran_kinds == (["test.urgent"] * queue.URGENT_STREAK + ["test.later"]) * 3
    with database.reader() as session:
        left = session.scalar(select(func.count()).select_from(Job).where(Job.status == "queued"))
    assert left == 1  # only the next urgent job waits


def test_a_job_takes_its_queued_siblings_along_and_a_rollback_leaves_them_queued(database: Database) -> None:
    with database.session() as session:
        for number in range(4):
            queue.enqueue(session, queue="trends", kind="test.batchable", payload={"n": number})
        queue.enqueue(session, queue="trends", kind="test.other", payload={"n": 9})
    with database.session() as session:
        taken = queue.take_queued(session, kind="test.batchable", limit=3)
        session.rollback()  # the run failed: nothing was taken
    assert [payload["n"] for payload in taken] == [0, 1, 2]
    with database.reader() as session:
        assert session.scalar(select(func.count()).where(Job.status == "queued")) == 5
    with database.session() as session:
        taken = queue.take_queued(session, kind="test.batchable", limit=3)
    assert [payload["n"] for payload in taken] == [0, 1, 2]
    with database.reader() as session:
        left = session.execute(select(Job.kind, Job.payload).where(Job.status == "queued")).all()
    assert sorted((kind, payload["n"]) for kind, payload in left) == [
        ("test.batchable", 3),
        ("test.other", 9),
    ]
