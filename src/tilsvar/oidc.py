"""OpenID Connect single sign-on: the authorization code flow with PKCE, state and nonce.

Pure protocol (no database): ``start`` builds the issuer's authorization URL and an encrypted,
short-lived flow cookie (state, nonce, PKCE verifier, where to go after); ``finish`` checks the
state, exchanges the code (with the verifier) at the token endpoint, and verifies the ID token's
signature against the issuer's published keys (JWKS) and its issuer, audience, expiry and nonce.
The web routes (``tilsvar.web.oidc_routes``) then sign the matching Tilsvar user in.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from tilsvar.crypto import keyring
from tilsvar.settings import Settings

FLOW_COOKIE = "tilsvar_oidc"
FLOW_SECONDS = 600
_CONTEXT = b"tilsvar oidc flow"
_TIMEOUT = 10.0
ALGORITHMS = ["RS256", "ES256", "PS256", "EdDSA"]  # asymmetric only: the key comes from the JWKS


class SsoError(Exception):
    """A sign-in the issuer's answer does not allow."""


@dataclass(frozen=True, slots=True)
class SsoIdentity:
    email: str
    subject: str
    next: str


def enabled(settings: Settings) -> bool:
    return bool(settings.oidc_issuer and settings.oidc_client_id)


def discover(settings: Settings) -> dict[str, Any]:
    url = settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration"
    response = httpx.get(url, timeout=_TIMEOUT)
    response.raise_for_status()
    document: dict[str, Any] = response.json()
    if document.get("issuer") != settings.oidc_issuer:
        raise SsoError("the discovery document names another issuer")
    return document


def start(settings: Settings, *, redirect_uri: str, next_url: str) -> tuple[str, str]:
    """The authorization URL to send the browser to, and the flow cookie's value."""
    config = discover(settings)
    state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
    query = {
        "response_type": "code",
        "client_id": settings.oidc_client_id,
        "redirect_uri": redirect_uri,
        "scope": "openid email profile",
        "state": state,
        "nonce": nonce,
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
    }
    flow = {"state": state, "nonce": nonce, "verifier": verifier, "next": next_url, "at": int(time.time())}
    sealed = keyring().encrypt(json.dumps(flow).encode(), context=_CONTEXT)
    return f"{config['authorization_endpoint']}?{urlencode(query)}", base64.urlsafe_b64encode(sealed).decode()


def finish(settings: Settings, *, cookie: str, state: str, code: str, redirect_uri: str) -> SsoIdentity:
    """The verified identity the issuer vouches for (raises ``SsoError``)."""
    try:
        flow = json.loads(keyring().decrypt(base64.urlsafe_b64decode(cookie), context=_CONTEXT))
    except (ValueError, TypeError) as error:
        raise SsoError("no sign-in in progress in this browser") from error
    if not state or not hmac.compare_digest(str(flow["state"]), state):
        raise SsoError("the sign-in answer does not belong to this browser (state)")
    if time.time() - int(flow["at"]) > FLOW_SECONDS:
        raise SsoError("the sign-in took too long; start again")
    config = discover(settings)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": settings.oidc_client_id,
        "code_verifier": flow["verifier"],
    }
    if settings.oidc_client_secret_file:
        form["client_secret"] = settings.oidc_client_secret_file.read_text().strip()
    token = httpx.post(config["token_endpoint"], data=form, timeout=_TIMEOUT)
    if token.status_code != 200:
        raise SsoError(f"the issuer refused the code ({token.status_code})")
    id_token = token.json().get("id_token")
    if not id_token:
        raise SsoError("the issuer sent no ID token")
    keys = httpx.get(config["jwks_uri"], timeout=_TIMEOUT)
    keys.raise_for_status()
    try:
        token_ = jwt.decode(id_token, KeySet.import_key_set(keys.json()), algorithms=ALGORITHMS)
        jwt.JWTClaimsRegistry(
            leeway=60,
            iss={"essential": True, "value": settings.oidc_issuer},
            aud={"essential": True, "value": settings.oidc_client_id},
            sub={"essential": True},
            exp={"essential": True},
            nonce={"essential": True, "value": flow["nonce"]},
        ).validate(token_.claims)
        claims = token_.claims
    except (JoseError, ValueError) as error:
        raise SsoError(f"the ID token is not valid: {error}") from error
    email = str(claims.get("email") or "")
    if not email or claims.get("email_verified") is False:
        raise SsoError("the issuer vouches for no verified e-mail address")
    return SsoIdentity(email=email, subject=str(claims["sub"]), next=str(flow["next"]))
