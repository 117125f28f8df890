"""OpenID Connect single sign-on against a respx-mocked issuer: discovery, the authorization code
flow with PKCE and state, and an ID token whose signature is checked against the issuer's JWKS (a
test RSA key). A forged token, a wrong state and an unknown e-mail are refused."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
import respx
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import RSAKey

from tilsvar.app import create_app
from tilsvar.db import Database
from tilsvar.settings import Settings

from conftest import Seeded

ISSUER = "https://idp.example"
CLIENT = "tilsvar-test"
KEY = RSAKey.generate_key(2048, parameters={"kid": "test-1"})
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "test-1"})


class Issuer:
    def __init__(self) -> None:
        self.email = ""
        self.nonce = ""
        self.challenge = ""
        self.signing_key: Any = KEY
        self.token_forms: list[dict[str, list[str]]] = []

    def token(self, request: httpx.Request) -> httpx.Response:
        form = parse_qs(request.content.decode())
        self.token_forms.append(form)
        verifier = form["code_verifier"][0]
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if form["code"] != ["the-code"] or digest != self.challenge:
            return httpx.Response(400, json={"error": "invalid_grant"})
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": CLIENT,
            "sub": "idp-user-1",
            "iat": now,
            "exp": now + 300,
            "nonce": self.nonce,
            "email": self.email,
            "email_verified": True,
        }
        id_token = jwt.encode({"alg": "RS256", "kid": "test-1"}, claims, self.signing_key)
        return httpx.Response(200, json={"access_token": "at", "token_type": "Bearer", "id_token": id_token})


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    state = Issuer()
    with respx.mock(assert_all_called=False) as mock:
        mock.get(f"{ISSUER}/.well-known/openid-configuration").respond(
            json={
                "issuer": ISSUER,
                "authorization_endpoint": f"{ISSUER}/authorize",
                "token_endpoint": f"{ISSUER}/token",
                "jwks_uri": f"{ISSUER}/jwks",
            }
        )
        mock.get(f"{ISSUER}/jwks").respond(json={"keys": [KEY.as_dict(private=False)]})
        mock.post(f"{ISSUER}/token").mock(side_effect=state.token)
        yield state


@pytest.fixture
def sso_client(settings: Settings, database: Database) -> Iterator[TestClient]:
    configured = settings.model_copy(update={"oidc_issuer": ISSUER, "oidc_client_id": CLIENT})
    app = create_app(configured, database)
    app.state.start_worker = False
    with TestClient(app) as client:
        yield client


def _begin(client: TestClient, issuer: Issuer, email: str) -> str:
    response = client.get("/login/oidc", params={"next": "/search"}, follow_redirects=False)
    assert response.status_code == 303
    location = urlparse(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{ISSUER}/authorize"
    query = {key: values[0] for key, values in parse_qs(location.query).items()}
    assert query["client_id"] == CLIENT
    assert query["code_challenge_method"] == "S256"
    assert query["redirect_uri"].endswith("/login/oidc/callback")
    issuer.email, issuer.nonce, issuer.challenge = email, query["nonce"], query["code_challenge"]
    return query["state"]


def test_sign_in_with_the_issuer(sso_client: TestClient, issuer: Issuer, seeded: Seeded) -> None:
    assert "/login/oidc?next=" in sso_client.get("/login").text
    state = _begin(sso_client, issuer, seeded.agent.email.upper())
    response = sso_client.get(
        "/login/oidc/callback", params={"code": "the-code", "state": state}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/search"
    assert issuer.token_forms[0]["client_id"] == [CLIENT]
    assert sso_client.get("/inbox").status_code == 200  # signed in


def test_a_wrong_state_a_forged_token_and_an_unknown_user_are_refused(
    sso_client: TestClient, issuer: Issuer, seeded: Seeded
) -> None:
    _begin(sso_client, issuer, seeded.agent.email)
    wrong = sso_client.get("/login/oidc/callback", params={"code": "the-code", "state": "guessed"})
    assert wrong.status_code == 401
    assert not issuer.token_forms  # the code was never exchanged

    state = _begin(sso_client, issuer, seeded.agent.email)
    issuer.signing_key = OTHER_KEY  # signed by someone else than the issuer's published key
    forged = sso_client.get("/login/oidc/callback", params={"code": "the-code", "state": state})
    assert forged.status_code == 401
    assert "not valid" in forged.text

    issuer.signing_key = KEY
    state = _begin(sso_client, issuer, "stranger@example.com")
    stranger = sso_client.get("/login/oidc/callback", params={"code": "the-code", "state": state})
    assert stranger.status_code == 403
    signed_out = sso_client.get("/inbox", follow_redirects=False)
    assert signed_out.status_code in (302, 303, 307)


def test_single_sign_on_is_off_without_settings(client: TestClient) -> None:
    assert client.get("/login/oidc", follow_redirects=False).status_code == 404
    assert "/login/oidc" not in client.get("/login").text
