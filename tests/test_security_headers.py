"""Web security at the HTTP level: security headers and a strict CSP on every kind of response (the
API docs page included, with no inline script), HSTS over TLS only, secure sign-in cookies, CSRF
refusal on every state-changing web route, the same-origin check, body size limits (413), and
customer files served as safe downloads."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from test_authorization_matrix import EXPECTATIONS, ROUTES
from tilsvar.app import create_app
from tilsvar.db import Database
from tilsvar.settings import Settings
from tilsvar.web_security import attachment_headers

from conftest import PASSWORD, Seeded


def _sign_in(client: TestClient, email: str) -> str:
    response = client.post("/login", data={"email": email, "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 303, response.text
    page = client.get("/inbox")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match
    return match.group(1)


@pytest.mark.parametrize("path", ["/login", "/healthz", "/api/v1/me", "/static/css/app.css", "/nowhere"])
def test_headers_on_every_kind_of_response(client: TestClient, seeded: Seeded, path: str) -> None:
    response = client.get(path)
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "'unsafe-inline'" not in csp
    assert "'unsafe-eval'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["x-frame-options"] == "DENY"
    assert "camera=()" in response.headers["permissions-policy"]
    assert "strict-transport-security" not in response.headers  # plain http here


def test_docs_page_has_no_inline_script(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'self';" in csp
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", response.text, re.S)
    assert scripts
    assert all('src="/static/' in attributes and not body.strip() for attributes, body in scripts)


def test_no_inline_script_or_style_in_any_template() -> None:
    from pathlib import Path

    import tilsvar

    templates = Path(tilsvar.__file__).parent / "web" / "templates"
    for template in templates.glob("*.html"):
        text = template.read_text()
        if not (template.name.startswith("_") or '{% extends "base.html" %}' in text or "<html" in text):
            continue
        if "e-mail" in text.split("\n", 2)[1]:
            continue  # an e-mail body or PDF source, never served to a browser
        # Only script files; a JSON data block (type="application/json") is never executed.
        assert not re.search(r"<script(?![^>]*\b(src=|type=\"application/json\"))[^>]*>", text), template.name
        assert not re.search(r"<style", text), template.name
        assert not re.search(r"\sstyle=", text), template.name
        assert not re.search(r"\son[a-z]+=", text), template.name


def test_hsts_and_secure_cookie_over_tls(settings: Settings, database: Database, seeded: Seeded) -> None:
    tls = settings.model_copy(update={"base_url": "https://tilsvar.example.org"})
    app = create_app(tls, database)
    app.state.start_worker = False
    with TestClient(app, base_url="https://testserver") as client:
        response = client.post(
            "/login", data={"email": seeded.agent.email, "password": PASSWORD}, follow_redirects=False
        )
        assert response.status_code == 303
        assert "max-age=31536000" in response.headers["strict-transport-security"]
        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie
        assert "samesite=lax" in cookie
        assert "secure" in cookie


def test_session_cookie_is_httponly_and_lax(client: TestClient, seeded: Seeded) -> None:
    response = client.post(
        "/login", data={"email": seeded.agent.email, "password": PASSWORD}, follow_redirects=False
    )
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie


def test_every_state_changing_web_route_requires_the_csrf_token(client: TestClient, seeded: Seeded) -> None:
    """Every POST page route refuses a signed-in request without (or with a wrong) CSRF token."""
    _sign_in(client, seeded.admin.email)
    routes = [
        path
        for method, path in ROUTES
        if method == "POST"
        and not path.startswith(("/api/", "/webhooks/"))
        and (method, path) in EXPECTATIONS  # routes without one fail the matrix test instead
        and EXPECTATIONS[(method, path)].allowed != "public"
    ]
    assert len(routes) >= 15
    for path in routes:
        if path == "/login":
            continue  # no session yet: covered by SameSite and the same-origin check below
        url = re.sub(r"\{[a-z_]+\}", "1", path)
        for headers in ({}, {"X-CSRF-Token": "forged"}):
            response = client.post(
                url, headers=headers, data={"csrf_token": "forged"}, follow_redirects=False
            )
            assert response.status_code == 403, (path, headers, response.status_code)


def test_cross_site_posts_are_refused(client: TestClient, seeded: Seeded) -> None:
    csrf = _sign_in(client, seeded.admin.email)
    response = client.post(
        "/logout",
        data={"csrf_token": csrf},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    login = client.post(
        "/login",
        data={"email": seeded.agent.email, "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert login.status_code == 403  # login CSRF
    same = client.post(
        "/logout", data={"csrf_token": csrf}, headers={"Origin": "http://testserver"}, follow_redirects=False
    )
    assert same.status_code == 303


def test_body_size_limits(client: TestClient, seeded: Seeded) -> None:
    auth = {"Authorization": f"Bearer {seeded.admin_token}"}
    big = "x" * (1_048_576 + 10)
    response = client.post(
        "/api/v1/inbound",
        headers={**auth, "content-type": "application/json"},
        content=('{"account": "rail-app", "author": {"id": "a"}, "text": "' + big + '"}').encode(),
    )
    assert response.status_code == 413
    assert response.headers["content-security-policy"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while read
        yield b'{"account": "rail-app", "author": {"id": "a"}, "text": "'
        for _ in range(20):
            yield b"y" * 65536
        yield b'"}'

    streamed = client.post(
        "/api/v1/inbound", headers={**auth, "content-type": "application/json"}, content=chunks()
    )
    assert streamed.status_code == 413
    # Webhooks may be larger than the API limit (batched deliveries), but not unbounded.
    webhook = client.post("/webhooks/meta", content=b"{" + b" " * 2_000_000 + b"}")
    assert webhook.status_code != 413
    too_big = client.post("/webhooks/meta", content=b" " * (10_485_760 + 1))
    assert too_big.status_code == 413


def test_attachments_are_served_as_safe_downloads() -> None:
    headers = attachment_headers('"><script>alert(1)</script>.html', "text/html; charset=utf-8")
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Disposition"].startswith('attachment; filename="')
    assert "<" not in headers["Content-Disposition"]
    assert '"><' not in headers["Content-Disposition"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in headers["Content-Security-Policy"]
    assert attachment_headers("photo.png", "image/png")["Content-Type"] == "image/png"
    assert attachment_headers("x.svg", "image/svg+xml")["Content-Type"] == "application/octet-stream"
