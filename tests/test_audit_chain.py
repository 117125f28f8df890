"""The audit trail is hash-chained: every action's row links to the one before; `tilsvar audit
verify` finds an edited or deleted row by id and exits non-zero; concurrent writers never fork the
chain; export writes JSON lines; the API and the audit page search it (admins and supervisors only);
sign-ins, token changes and role changes are audited."""

from __future__ import annotations

import json
import threading
from itertools import pairwise
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, update
from typer.testing import CliRunner

from tilsvar.actions.common import audit
from tilsvar.audit_chain import GENESIS, verify
from tilsvar.cli import app as cli
from tilsvar.db import Database
from tilsvar.models import AuditEntry

from conftest import PASSWORD, Seeded


def _rows(database: Database) -> list[AuditEntry]:
    with database.reader() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def test_every_row_links_to_the_one_before(database: Database, seeded: Seeded) -> None:
    rows = _rows(database)
    assert len(rows) > 10
    assert rows[0].prev_hash == GENESIS
    for before, after in pairwise(rows):
        assert after.prev_hash == before.row_hash
    with database.reader() as session:
        result = verify(session)
    assert result.ok
    assert result.checked == len(rows)
    assert result.head_id == rows[-1].id


def test_verify_names_the_edited_row_and_exits_non_zero(database: Database, seeded: Seeded) -> None:
    runner = CliRunner()
    ok = runner.invoke(cli, ["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "audit chain OK" in ok.output
    victim = _rows(database)[5]
    with database.session() as session:
        session.execute(
            update(AuditEntry).where(AuditEntry.id == victim.id).values(details={"name": "forged"})
        )
    broken = runner.invoke(cli, ["audit", "verify"])
    assert broken.exit_code == 1
    assert f"BROKEN at row {victim.id}" in broken.output
    assert "content was changed" in broken.output


def test_verify_finds_a_deleted_row(database: Database, seeded: Seeded) -> None:
    rows = _rows(database)
    with database.session() as session:
        session.execute(delete(AuditEntry).where(AuditEntry.id == rows[3].id))
    with database.reader() as session:
        result = verify(session)
    assert not result.ok
    assert result.broken_id == rows[4].id
    assert "deleted" in result.problem
    result_cli = CliRunner().invoke(cli, ["audit", "verify"])
    assert result_cli.exit_code == 1
    assert f"row {rows[4].id}" in result_cli.output


def test_a_removed_tail_is_found_against_a_recorded_head(database: Database, seeded: Seeded) -> None:
    rows = _rows(database)
    head = rows[-1].row_hash
    assert CliRunner().invoke(cli, ["audit", "verify", "--expect-head", head]).exit_code == 0
    with database.session() as session:
        session.execute(delete(AuditEntry).where(AuditEntry.id == rows[-1].id))
    truncated = CliRunner().invoke(cli, ["audit", "verify", "--expect-head", head])
    assert truncated.exit_code == 1
    assert "rows were removed" in truncated.output


def test_concurrent_writers_never_fork_the_chain(database: Database, seeded: Seeded) -> None:
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for index in range(15):
                with database.session() as session:
                    audit(session, action="test.concurrent", actor=f"w{worker}", details={"i": index})
                    audit(session, action="test.concurrent", actor=f"w{worker}", details={"i": index, "b": 1})
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with database.reader() as session:
        result = verify(session)
        prevs = session.scalar(select(func.count(func.distinct(AuditEntry.prev_hash))))
        total = session.scalar(select(func.count()).select_from(AuditEntry))
    assert result.ok, result
    assert prevs == total  # no two rows claim the same predecessor: no fork


def test_export_writes_json_lines_that_verify_offline(
    database: Database, seeded: Seeded, tmp_path: Path
) -> None:
    out = tmp_path / "audit.jsonl"
    result = CliRunner().invoke(cli, ["audit", "export", "-o", str(out)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == len(_rows(database))
    assert lines[0]["prev_hash"] == GENESIS
    assert all(b["prev_hash"] == a["row_hash"] for a, b in pairwise(lines))
    assert {"id", "at", "actor", "action", "target_type", "target_id", "details"} <= set(lines[0])


def test_sign_ins_tokens_and_role_changes_are_audited(client: TestClient, seeded: Seeded) -> None:
    client.post("/login", data={"email": seeded.agent.email, "password": "wrong-password"})
    client.post("/login", data={"email": seeded.agent.email, "password": PASSWORD})
    admin = {"Authorization": f"Bearer {seeded.admin_token}"}
    created = client.post("/api/v1/tokens", headers=admin, json={"name": "ci", "scopes": ["read"]}).json()
    assert client.delete(f"/api/v1/tokens/{created['id']}", headers=admin).status_code == 204
    changed = client.patch(f"/api/v1/users/{seeded.readonly.id}", headers=admin, json={"role": "analyst"})
    assert changed.status_code == 200
    items = client.get("/api/v1/audit", headers=admin, params={"limit": 500}).json()["items"]
    actions = {item["action"] for item in items}
    assert {
        "auth.sign_in_failed",
        "auth.signed_in",
        "api_token.created",
        "api_token.revoked",
        "user.permissions_changed",
    } <= actions
    change = next(item for item in items if item["action"] == "user.permissions_changed")
    assert change["details"]["before"]["role"] == "readonly"
    assert change["details"]["after"]["role"] == "analyst"
    assert change["actor"] == seeded.admin.email
    only_auth = client.get("/api/v1/audit", headers=admin, params={"action": "auth."}).json()["items"]
    assert only_auth
    assert all(item["action"].startswith("auth.") for item in only_auth)
    verified = client.get("/api/v1/audit/verify", headers=admin).json()
    assert verified["ok"] is True


def test_audit_page_for_supervisors_not_agents(client: TestClient, seeded: Seeded) -> None:
    client.post("/login", data={"email": seeded.agent.email, "password": PASSWORD})
    assert client.get("/admin/audit").status_code == 403
    client.cookies.clear()
    client.post("/login", data={"email": seeded.supervisor.email, "password": PASSWORD})
    page = client.get("/admin/audit", params={"action": "auth.", "check": "1"})
    assert page.status_code == 200
    assert "auth.signed_in" in page.text
    assert "The chain is intact" in page.text
    assert "brand.created" not in page.text  # filtered to auth.*
    agent_api = client.get("/api/v1/audit", headers={"Authorization": f"Bearer {seeded.agent_token}"})
    assert agent_api.status_code == 403
