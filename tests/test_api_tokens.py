"""Scoped API tokens: stored hashed, shown once, narrowed by scopes (never beyond the role), listed
with last use, revocable via API, web UI and CLI."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from tilsvar.cli import app as cli
from tilsvar.db import Database
from tilsvar.models import ApiToken
from tilsvar.passwords import token_hash

from conftest import PASSWORD, Seeded


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_create_list_use_and_revoke_via_api(client: TestClient, database: Database, seeded: Seeded) -> None:
    created = client.post(
        "/api/v1/tokens", headers=_auth(seeded.agent_token), json={"name": "dashboard", "scopes": ["read"]}
    )
    assert created.status_code == 201
    body = created.json()
    token = body["token"]
    assert body["scopes"] == ["read"]
    assert body["last_used_at"] is None
    with database.reader() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.id == body["id"]))
        assert row is not None
        assert row.token_hash == token_hash(token)
        assert token not in (row.token_hash, row.prefix)  # only the hash and a short prefix are kept
    assert client.get("/api/v1/conversations", headers=_auth(token)).status_code == 200
    listed = client.get("/api/v1/tokens", headers=_auth(seeded.agent_token)).json()
    mine = next(item for item in listed if item["id"] == body["id"])
    assert mine["last_used_at"] is not None
    assert "token" not in mine
    assert client.delete(f"/api/v1/tokens/{body['id']}", headers=_auth(seeded.agent_token)).status_code == 204
    assert client.get("/api/v1/me", headers=_auth(token)).status_code == 401


def test_scopes_narrow_what_a_token_may_do(client: TestClient, seeded: Seeded, ingest: object) -> None:
    read_only = client.post(
        "/api/v1/tokens", headers=_auth(seeded.admin_token), json={"name": "r", "scopes": ["read"]}
    ).json()["token"]
    ingest_only = client.post(
        "/api/v1/tokens", headers=_auth(seeded.admin_token), json={"name": "i", "scopes": ["ingest"]}
    ).json()["token"]
    assert client.get("/api/v1/conversations", headers=_auth(read_only)).status_code == 200
    refused = client.get("/api/v1/jobs", headers=_auth(read_only))
    assert refused.status_code == 403
    assert "scopes" in refused.json()["detail"]
    assert client.get("/api/v1/audit", headers=_auth(read_only)).status_code == 403
    assert (
        client.post(
            "/api/v1/tokens", headers=_auth(read_only), json={"name": "x", "scopes": ["read"]}
        ).status_code
        == 403
    )
    posted = client.post(
        "/api/v1/inbound",
        headers=_auth(ingest_only),
        json={"account": "rail-app", "author": {"id": "shop"}, "text": "Order 1 arrived damaged"},
    )
    assert posted.status_code == 201
    assert client.get("/api/v1/conversations", headers=_auth(ingest_only)).status_code == 403


def test_scopes_never_exceed_the_role(client: TestClient, seeded: Seeded) -> None:
    admin_scoped = client.post(
        "/api/v1/tokens", headers=_auth(seeded.analyst_token), json={"name": "a", "scopes": ["admin", "read"]}
    ).json()["token"]
    assert client.get("/api/v1/jobs", headers=_auth(admin_scoped)).status_code == 403
    assert client.get("/api/v1/users", headers=_auth(admin_scoped)).status_code == 403
    bad = client.post(
        "/api/v1/tokens", headers=_auth(seeded.analyst_token), json={"name": "a", "scopes": ["root"]}
    )
    assert bad.status_code == 422


def test_others_tokens_are_invisible_except_to_admins(client: TestClient, seeded: Seeded) -> None:
    agents = client.get("/api/v1/tokens", headers=_auth(seeded.agent_token)).json()
    assert (
        client.delete(f"/api/v1/tokens/{agents[0]['id']}", headers=_auth(seeded.analyst_token)).status_code
        == 404
    )
    everyone = client.get(
        "/api/v1/tokens", headers=_auth(seeded.admin_token), params={"everyone": "true"}
    ).json()
    assert {item["user_id"] for item in everyone} >= {seeded.agent.id, seeded.analyst.id}
    assert (
        client.get(
            "/api/v1/tokens", headers=_auth(seeded.agent_token), params={"everyone": "true"}
        ).status_code
        == 403
    )
    assert (
        client.delete(f"/api/v1/tokens/{agents[0]['id']}", headers=_auth(seeded.admin_token)).status_code
        == 204
    )
    assert client.get("/api/v1/me", headers=_auth(seeded.agent_token)).status_code == 401


def test_tokens_in_the_web_ui(client: TestClient, seeded: Seeded) -> None:
    client.post("/login", data={"email": seeded.agent.email, "password": PASSWORD})
    page = client.get("/account")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    made = client.post(
        "/account/tokens",
        data={"csrf_token": csrf.group(1), "name": "phone app", "scopes": ["read", "reply"]},
    )
    assert made.status_code == 200
    shown = re.search(r'<code id="new-token">([^<]+)</code>', made.text)
    assert shown
    token = shown.group(1)
    assert client.get("/api/v1/me", headers=_auth(token)).json()["email"] == seeded.agent.email
    assert "phone app" in made.text
    assert "read, reply" in made.text
    listed = client.get("/account").text
    assert token not in listed  # shown once
    token_id = max(int(found) for found in re.findall(r'action="/account/tokens/(\d+)/revoke"', listed))
    revoked = client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf.group(1)})
    assert revoked.status_code == 200
    assert client.get("/api/v1/me", headers=_auth(token)).status_code == 401


def test_cli_token_with_scopes_list_and_revoke(
    client: TestClient, database: Database, seeded: Seeded
) -> None:
    runner = CliRunner()
    made = runner.invoke(
        cli, ["users", "token", "--email", seeded.analyst.email, "--name", "bi", "--scope", "report"]
    )
    assert made.exit_code == 0, made.output
    token = made.output.strip().splitlines()[-1]
    assert (
        client.get(
            "/api/v1/reports/kpis", headers=_auth(token), params={"from": "2026-01-01", "to": "2026-01-02"}
        ).status_code
        == 200
    )
    assert client.get("/api/v1/conversations", headers=_auth(token)).status_code == 403
    listed = runner.invoke(cli, ["users", "tokens", "--email", seeded.analyst.email])
    assert listed.exit_code == 0
    assert "report" in listed.output
    assert token not in listed.output
    with database.reader() as session:
        token_id = session.scalar(select(ApiToken.id).where(ApiToken.token_hash == token_hash(token)))
    assert runner.invoke(cli, ["users", "revoke-token", str(token_id)]).exit_code == 0
    assert client.get("/api/v1/me", headers=_auth(token)).status_code == 401
    bad = runner.invoke(cli, ["users", "token", "--email", seeded.analyst.email, "--scope", "everything"])
    assert bad.exit_code == 2
