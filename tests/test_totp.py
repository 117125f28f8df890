"""TOTP two-factor sign-in: enrol (secret and otpauth URI shown once, stored encrypted), confirm with
a code, recovery codes stored hashed and usable once, the second step at sign-in with a fresh
cookie, lockout on guessed codes, the organisation-wide requirement, admin reset, and channel
administration requiring two-factor."""

from __future__ import annotations

import re

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tilsvar import access
from tilsvar.db import Database
from tilsvar.models import User

from conftest import PASSWORD, Seeded


def _csrf(text: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', text)
    assert match
    return match.group(1)


def _enrol(client: TestClient, email: str) -> tuple[str, list[str]]:
    client.post("/login", data={"email": email, "password": PASSWORD})
    page = client.get("/account/two-factor")
    started = client.post("/account/two-factor/start", data={"csrf_token": _csrf(page.text)})
    assert started.status_code == 200
    secret = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', started.text)
    uri = re.search(r'id="totp-uri">([^<]+)</a>', started.text)
    assert secret
    assert uri
    assert uri.group(1).startswith("otpauth://totp/Tilsvar:")
    wrong = client.post(
        "/account/two-factor/confirm", data={"csrf_token": _csrf(page.text), "code": "000000"}
    )
    assert wrong.status_code == 422
    code = pyotp.TOTP(secret.group(1)).now()
    confirmed = client.post(
        "/account/two-factor/confirm", data={"csrf_token": _csrf(page.text), "code": code}
    )
    assert confirmed.status_code == 200
    codes = re.findall(r"<li><code>([0-9a-f]{8}-[0-9a-f]{8})</code></li>", confirmed.text)
    assert len(codes) == 10
    return secret.group(1), codes


def test_enrol_and_sign_in_with_a_code(client: TestClient, database: Database, seeded: Seeded) -> None:
    secret, codes = _enrol(client, seeded.agent.email)
    with database.reader() as session:
        user = session.scalar(select(User).where(User.id == seeded.agent.id))
        assert user is not None
        assert user.totp_enabled_at is not None
        assert user.totp_secret_encrypted is not None
        assert secret.encode() not in user.totp_secret_encrypted  # encrypted at rest
        assert not set(codes) & set(user.recovery_code_hashes or [])  # hashed
    assert secret not in client.get("/account/two-factor").text  # shown once
    client.cookies.clear()
    first = client.post(
        "/login", data={"email": seeded.agent.email, "password": PASSWORD}, follow_redirects=False
    )
    assert first.status_code == 303
    assert first.headers["location"].startswith("/login/two-factor")
    pending_cookie = client.cookies.get("tilsvar_session")
    assert client.get("/inbox", follow_redirects=False).headers["location"] == "/login/two-factor"
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {seeded.agent_token}"}).status_code == 200
    )
    step = client.get("/login/two-factor")
    assert step.status_code == 200
    bad = client.post("/login/two-factor", data={"csrf_token": _csrf(step.text), "code": "123456"})
    assert bad.status_code == 401
    good = client.post(
        "/login/two-factor",
        data={"csrf_token": _csrf(step.text), "code": pyotp.TOTP(secret).now(), "next": "/inbox"},
        follow_redirects=False,
    )
    assert good.status_code == 303
    assert client.cookies.get("tilsvar_session") != pending_cookie  # a fresh cookie after the second factor
    assert client.get("/inbox").status_code == 200


def test_recovery_code_works_once(client: TestClient, seeded: Seeded) -> None:
    _, codes = _enrol(client, seeded.agent.email)
    for attempt, expected in ((codes[0], 303), (codes[0], 401)):
        client.cookies.clear()
        client.post("/login", data={"email": seeded.agent.email, "password": PASSWORD})
        step = client.get("/login/two-factor")
        answer = client.post(
            "/login/two-factor",
            data={"csrf_token": _csrf(step.text), "code": attempt},
            follow_redirects=False,
        )
        assert answer.status_code == expected


def test_guessing_codes_locks_the_account(client: TestClient, seeded: Seeded) -> None:
    _enrol(client, seeded.agent.email)
    client.cookies.clear()
    client.post("/login", data={"email": seeded.agent.email, "password": PASSWORD})
    step = client.get("/login/two-factor")
    statuses = [
        client.post(
            "/login/two-factor", data={"csrf_token": _csrf(step.text), "code": f"{n:06d}"}
        ).status_code
        for n in range(5)
    ]
    assert statuses[-1] == 429
    assert client.get("/inbox", follow_redirects=False).status_code == 303  # pending sign-in dropped


def test_organisation_requires_two_factor(client: TestClient, seeded: Seeded) -> None:
    required = client.put(
        "/api/v1/organization/security",
        headers={"Authorization": f"Bearer {seeded.admin_token}"},
        json={"require_two_factor": True},
    )
    assert required.json() == {"require_two_factor": True}
    client.post("/login", data={"email": seeded.agent.email, "password": PASSWORD})
    assert client.get("/inbox", follow_redirects=False).headers["location"] == "/account/two-factor"
    assert client.get("/account/two-factor").status_code == 200
    client.cookies.clear()
    _enrol(client, seeded.agent.email)
    assert client.get("/inbox").status_code == 200


def test_admin_resets_a_lost_device_and_users_turn_it_off(client: TestClient, seeded: Seeded) -> None:
    _enrol(client, seeded.agent.email)
    reset = client.delete(
        f"/api/v1/users/{seeded.agent.id}/two-factor",
        headers={"Authorization": f"Bearer {seeded.admin_token}"},
    )
    assert reset.json()["two_factor"] is False
    _enrol(client, seeded.supervisor.email)
    page = client.get("/account/two-factor")
    wrong = client.post(
        "/account/two-factor/disable", data={"csrf_token": _csrf(page.text), "password": "nope-nope"}
    )
    assert wrong.status_code == 403
    off = client.post(
        "/account/two-factor/disable", data={"csrf_token": _csrf(page.text), "password": PASSWORD}
    )
    assert off.status_code == 200
    assert "Off." in off.text


def test_channel_administration_requires_two_factor(database: Database, seeded: Seeded) -> None:
    with database.reader() as session:
        admin = session.get(User, seeded.admin.id)
        agent = session.get(User, seeded.agent.id)
    assert admin is not None
    assert agent is not None
    with pytest.raises(access.Forbidden, match="two-factor"):
        access.require_channel_admin(admin)
    with pytest.raises(access.Forbidden):
        access.require_channel_admin(agent)
    admin.totp_enabled_at = admin.created_at
    access.require_channel_admin(admin)
