"""Sign-in safety: argon2id with pinned parameters, lockout after repeated wrong passwords (per
account, unknown e-mails alike) with a clear message, unlock after the time or by an admin, throttling
per client address, every attempt audited, alerts on sign-in from a new place, and the session list
with revoke and revoke-all."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

from tilsvar.cli import app as cli
from tilsvar.db import Database
from tilsvar.models import AuditEntry, DomainEvent, User, WebSession, utcnow
from tilsvar.passwords import hash_password

from conftest import PASSWORD, Seeded


def _login(client: TestClient, email: str, password: str, **headers: str) -> tuple[int, str]:
    client.cookies.clear()
    response = client.post(
        "/login", data={"email": email, "password": password}, headers=headers, follow_redirects=False
    )
    return response.status_code, response.text


def test_passwords_are_argon2id_with_pinned_parameters() -> None:
    hashed = hash_password("a long enough password")
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_lockout_after_repeated_failures_then_admin_unlock(
    client: TestClient, database: Database, seeded: Seeded
) -> None:
    for _ in range(4):
        assert _login(client, seeded.agent.email, "wrong-password")[0] == 401
    status, page = _login(client, seeded.agent.email, "wrong-password")
    assert status == 429
    assert "locked after too many failed sign-ins" in page
    assert "ask an administrator to unlock it" in page
    # Even the right password is refused while locked.
    assert _login(client, seeded.agent.email, PASSWORD)[0] == 429
    unlocked = client.post(
        f"/api/v1/users/{seeded.agent.id}/unlock", headers={"Authorization": f"Bearer {seeded.admin_token}"}
    )
    assert unlocked.status_code == 200
    assert unlocked.json()["locked_until"] is None
    assert _login(client, seeded.agent.email, PASSWORD)[0] == 303
    with database.reader() as session:
        actions = list(
            session.scalars(select(AuditEntry.action).where(AuditEntry.target_id == str(seeded.agent.id)))
        )
    assert actions.count("auth.sign_in_failed") == 5
    assert "auth.account_locked" in actions
    assert "auth.sign_in_locked" in actions
    assert "user.unlocked" in actions


def test_lock_expires_by_itself_and_cli_unlocks(
    client: TestClient, database: Database, seeded: Seeded
) -> None:
    for _ in range(5):
        _login(client, seeded.agent.email, "wrong-password")
    with database.session() as session:
        session.execute(
            update(User)
            .where(User.id == seeded.agent.id)
            .values(locked_until=utcnow() - timedelta(seconds=1))
        )
    assert _login(client, seeded.agent.email, PASSWORD)[0] == 303
    for _ in range(5):
        _login(client, seeded.agent.email, "wrong-password")
    assert _login(client, seeded.agent.email, PASSWORD)[0] == 429
    result = CliRunner().invoke(cli, ["users", "unlock", "--email", seeded.agent.email])
    assert result.exit_code == 0, result.output
    assert _login(client, seeded.agent.email, PASSWORD)[0] == 303


def test_unknown_emails_lock_alike(client: TestClient, seeded: Seeded) -> None:
    for _ in range(5):
        _login(client, "nobody@nordicrail.example", "wrong-password")
    status, page = _login(client, "nobody@nordicrail.example", "wrong-password")
    assert status == 429
    assert "locked" in page


def test_throttling_per_client_address(
    client: TestClient, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TILSVAR_LOGIN_IP_MAX_FAILURES", "6")
    from tilsvar.settings import get_settings

    get_settings.cache_clear()
    emails = [f"guess{index}@nordicrail.example" for index in range(6)]
    for email in emails:
        assert _login(client, email, "wrong-password")[0] == 401
    status, page = _login(client, seeded.admin.email, PASSWORD)
    assert status == 429
    assert "Too many failed sign-ins from your network" in page


def test_new_place_alert(client: TestClient, database: Database, seeded: Seeded) -> None:
    assert _login(client, seeded.agent.email, PASSWORD, **{"user-agent": "Firefox/1"})[0] == 303
    assert _login(client, seeded.agent.email, PASSWORD, **{"user-agent": "Firefox/1"})[0] == 303
    with database.reader() as session:
        assert session.scalar(select(DomainEvent).where(DomainEvent.type == "auth.new_place")) is None
    assert _login(client, seeded.agent.email, PASSWORD, **{"user-agent": "Unknown-Browser/9"})[0] == 303
    with database.reader() as session:
        event = session.scalar(select(DomainEvent).where(DomainEvent.type == "auth.new_place"))
        assert event is not None
        assert event.payload["user_id"] == seeded.agent.id
        assert event.brand_id is None  # never shown on inbox live views
        audit = session.scalar(select(AuditEntry).where(AuditEntry.action == "auth.new_place"))
        assert audit is not None


def test_session_list_revoke_and_revoke_all(client: TestClient, database: Database, seeded: Seeded) -> None:
    other = TestClient(client.app)
    other.post(
        "/login", data={"email": seeded.agent.email, "password": PASSWORD}, headers={"user-agent": "Phone"}
    )
    third = TestClient(client.app)
    third.post(
        "/login", data={"email": seeded.agent.email, "password": PASSWORD}, headers={"user-agent": "Tablet"}
    )
    client.post("/login", data={"email": seeded.agent.email, "password": PASSWORD})
    page = client.get("/account")
    assert page.status_code == 200
    assert "Phone" in page.text
    assert "Tablet" in page.text
    assert "This browser" in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    with database.reader() as session:
        phone = session.scalar(select(WebSession).where(WebSession.user_agent == "Phone"))
        assert phone is not None
    client.post(f"/account/sessions/{phone.id}/revoke", data={"csrf_token": csrf.group(1)})
    assert other.get("/inbox", follow_redirects=False).status_code == 303  # signed out
    assert third.get("/inbox").status_code == 200
    client.post("/account/sessions/revoke-others", data={"csrf_token": csrf.group(1)})
    assert third.get("/inbox", follow_redirects=False).status_code == 303
    assert client.get("/inbox").status_code == 200  # this browser stays signed in
    # Someone else's session cannot be revoked (no such session for you).
    with database.reader() as session:
        mine = session.scalar(select(WebSession.id).where(WebSession.user_id == seeded.agent.id))
    api = client.delete(
        f"/api/v1/me/sessions/{mine}", headers={"Authorization": f"Bearer {seeded.analyst_token}"}
    )
    assert api.status_code == 404
    listed = client.get(
        "/api/v1/me/sessions", headers={"Authorization": f"Bearer {seeded.agent_token}"}
    ).json()
    assert len(listed) == 1
    everywhere = client.delete(
        "/api/v1/me/sessions", headers={"Authorization": f"Bearer {seeded.agent_token}"}
    )
    assert everywhere.json() == {"revoked": 1}
    assert client.get("/inbox", follow_redirects=False).status_code == 303


def test_deactivated_user_is_signed_out_everywhere(client: TestClient, seeded: Seeded) -> None:
    client.post("/login", data={"email": seeded.agent.email, "password": PASSWORD})
    assert client.get("/inbox").status_code == 200
    changed = client.patch(
        f"/api/v1/users/{seeded.agent.id}",
        headers={"Authorization": f"Bearer {seeded.admin_token}"},
        json={"active": False},
    )
    assert changed.status_code == 200
    assert client.get("/inbox", follow_redirects=False).status_code == 303
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {seeded.agent_token}"}).status_code == 401
    )
