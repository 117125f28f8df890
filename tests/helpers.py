"""Small helpers shared by the test files (fixtures live in conftest.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, skipping the test when that folder is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return path


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def json_of(response: Any) -> Any:
    assert response.headers["content-type"].startswith("application/json"), response.text
    return response.json()


def csrf_in(page: str) -> str:
    """The CSRF token of a page's forms."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


def sign_in(client: Any, email: str, password: str) -> str:
    """Sign ``client`` in through the login form; the CSRF token of its session (from the inbox page)."""
    response = client.post(
        "/login", data={"email": email, "password": password, "next": "/inbox"}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return csrf_in(client.get("/inbox").text)
