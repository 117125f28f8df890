"""Identities whose platform id is personal contact data (an e-mail address): sealed, found by a
keyed blind index.

For these platforms (``SEALED_PLATFORMS``) an identity stores its address AES-GCM encrypted in
``identities.external_id_sealed`` (``tilsvar.models.sealed``) and, in ``identities.external_id`` —
the column ingest, erasure and search look identities up by, unique per (organization, platform) —
a *blind index* of it: ``bi:<key id>:<HMAC-SHA256(address)>``, under a key derived from a key of the
ring. Equal addresses give equal indexes, so the exact-match lookups still run in SQL; without the
key nothing leads back to the address. ``handle`` is left empty (it held the address too), and the
name shown for the person falls back to a masked address (``j…@example.com``) rather than the
address itself.

Lookups try the index under every key of the ring (and the address itself, for identities stored
before this existed), so a rotation does not split a person in two before ``tilsvar keys
reencrypt`` rewrites the indexes under the new primary key (``tilsvar.privacy.keys``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from typing import Any

from tilsvar.crypto import SecretBox, key_id, keyring

SEALED_PLATFORMS = frozenset({"email"})
PREFIX = "bi:"
_DERIVE = b"tilsvar blind index\x00"


def _index_key(key: bytes) -> bytes:
    return hmac.new(key, _DERIVE, hashlib.sha256).digest()


def _normal(value: str) -> str:
    return value.strip().casefold()


def blind_index(value: str, key: bytes) -> str:
    """The blind index of ``value`` under (a key derived from) ``key``."""
    digest = hmac.new(_index_key(key), _normal(value).encode(), hashlib.sha256).hexdigest()
    return f"{PREFIX}{key_id(key).hex()}:{digest}"


def is_blind(value: str) -> bool:
    return value.startswith(PREFIX)


def is_current(value: str, ring: SecretBox) -> bool:
    """An index made under the ring's primary key."""
    return value.startswith(f"{PREFIX}{ring.primary_id.hex()}:")


def sealed_platform(platform: str) -> bool:
    return platform in SEALED_PLATFORMS


def stored_id(platform: str, external_id: str, ring: SecretBox | None = None) -> str:
    """What ``identities.external_id`` holds for this platform id."""
    if not sealed_platform(platform):
        return external_id
    ring = ring or keyring()
    return blind_index(external_id, ring.keys[-1])


def lookup_ids(platform: str, external_ids: Iterable[str], ring: SecretBox | None = None) -> dict[str, str]:
    """Stored value → the platform id it stands for: every key's index, and the id itself (an
    identity stored before it was sealed)."""
    values = list(external_ids)
    if not sealed_platform(platform):
        return {value: value for value in values}
    ring = ring or keyring()
    found: dict[str, str] = {}
    for value in values:
        found[value] = value
        for key in ring.keys:
            found[blind_index(value, key)] = value
    return found


def masked(address: str) -> str:
    """An address as shown in place of a name: ``j…@example.com``."""
    local, at, domain = address.partition("@")
    if not at:
        return (local[:1] + "…") if local else ""
    return f"{local[:1]}…@{domain}"


def identity_columns(
    platform: str, external_id: str, handle: str, ring: SecretBox | None = None
) -> dict[str, Any]:
    """The id columns of a new identity."""
    if not sealed_platform(platform):
        return {"external_id": external_id, "handle": handle, "external_id_sealed": None}
    return {
        "external_id": stored_id(platform, external_id, ring),
        "handle": "",
        "external_id_sealed": external_id,
    }
