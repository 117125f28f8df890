"""AES-GCM encryption at rest (channel credentials, TOTP secrets, message texts with personal data,
raw platform payloads), keyed by a key ring kept outside the database.

The ring is a file (``TILSVAR_SECRET_KEY_FILE``, default ``<data_dir>/secret.key``) of base64
32-byte keys, one a line, oldest first; or the ``TILSVAR_SECRET_KEY`` setting (the same keys,
comma-separated), which wins over the file. The **last** key is the primary: everything new is
encrypted with it; every key in the ring still decrypts. ``tilsvar keys rotate`` appends a key and
re-encrypts (docs/privacy.md). A stolen database dump alone reveals nothing encrypted.

Formats: ``0x02 | key id (4 bytes) | nonce (12) | ciphertext+tag``; the key id is the first four
bytes of SHA-256 over the key, so a ciphertext names the key that opens it. The older ``0x01 | nonce |
ciphertext`` (no key id, written before key rotation existed) is still read by trying each key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_V1 = b"\x01"
_V2 = b"\x02"
_HEADER = 1 + 4 + 12


def key_id(key: bytes) -> bytes:
    """The four bytes that name ``key`` inside its ciphertexts."""
    return hashlib.sha256(b"tilsvar key id\x00" + key).digest()[:4]


def _decode_key(text: str, where: str) -> bytes:
    key = base64.b64decode(text.strip())
    if len(key) != 32:
        raise ValueError(f"{where}: a key must be 32 bytes (base64-encoded)")
    return key


def parse_keys(text: str, where: str = "key ring") -> list[bytes]:
    """Keys from a key file's text (one base64 key a line, ``#`` comments) or a comma-separated value."""
    keys = []
    for line in text.replace(",", "\n").splitlines():
        value = line.split("#", 1)[0].strip()
        if value:
            keys.append(_decode_key(value, where))
    return keys


def _write_private(path: Path, text: str) -> None:
    """Replace ``path`` atomically with ``text``, readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".new")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def load_or_create_keys(path: Path) -> list[bytes]:
    """The keys in ``path`` (oldest first), creating the file with one random key (mode 600)."""
    if path.exists():
        keys = parse_keys(path.read_text(), str(path))
        if not keys:
            raise ValueError(f"{path}: no key in the key file")
        return keys
    key = AESGCM.generate_key(bit_length=256)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(base64.b64encode(key).decode() + "\n")
    return [key]


def load_or_create_key(path: Path) -> bytes:
    """The ring's first (oldest) key: what keys derived once (survey link signatures) are made from,
    so rotating the encryption key does not break links already sent."""
    return load_or_create_keys(path)[0]


def append_key(path: Path) -> bytes:
    """Add a new random key to the key file as its primary (the old keys stay, to decrypt)."""
    keys = load_or_create_keys(path)
    key = AESGCM.generate_key(bit_length=256)
    lines = [base64.b64encode(old).decode() for old in keys] + [base64.b64encode(key).decode()]
    _write_private(path, "\n".join(lines) + "\n")
    return key


def remove_key(path: Path, key_hex: str) -> None:
    """Drop a retired key (never the primary) from the key file."""
    keys = load_or_create_keys(path)
    kept = [key for key in keys if key_id(key).hex() != key_hex]
    if len(kept) == len(keys):
        raise ValueError(f"no key {key_hex} in {path}")
    if keys[-1] not in kept:
        raise ValueError("the primary key cannot be removed; rotate first")
    _write_private(path, "\n".join(base64.b64encode(key).decode() for key in kept) + "\n")


class SecretBox:
    """Encrypt with the primary key; decrypt with whichever key of the ring a ciphertext names."""

    def __init__(self, keys: bytes | Sequence[bytes]) -> None:
        ring = [keys] if isinstance(keys, bytes) else list(keys)
        if not ring:
            raise ValueError("an empty key ring")
        self.keys = ring
        self._by_id = {key_id(key): AESGCM(key) for key in ring}
        self.primary_id = key_id(ring[-1])
        self._primary = self._by_id[self.primary_id]

    def encrypt(self, plaintext: bytes, *, context: bytes = b"") -> bytes:
        nonce = os.urandom(12)
        return _V2 + self.primary_id + nonce + self._primary.encrypt(nonce, plaintext, context)

    def decrypt(self, token: bytes, *, context: bytes = b"") -> bytes:
        token = bytes(token)
        if token[:1] == _V2:
            aead = self._by_id.get(token[1:5])
            if aead is None:
                raise ValueError(f"encrypted with key {token[1:5].hex()}, which is not in the key ring")
            return aead.decrypt(token[5:17], token[17:], context)
        if token[:1] == _V1:
            for aead in reversed(self._by_id.values()):
                try:
                    return aead.decrypt(token[1:13], token[13:], context)
                except InvalidTag:
                    continue
            raise ValueError("no key in the key ring opens this secret")
        raise ValueError("unknown secret format")

    def key_of(self, token: bytes) -> str:
        """The hex id of the key ``token`` was made with ("v1" for the old format without one)."""
        token = bytes(token)
        return token[1:5].hex() if token[:1] == _V2 else "v1"

    def is_current(self, token: bytes) -> bool:
        """Made with the primary key (a re-encryption pass skips it)."""
        token = bytes(token)
        return token[:1] == _V2 and token[1:5] == self.primary_id

    def encrypt_json(self, value: dict[str, Any], *, context: bytes = b"") -> bytes:
        return self.encrypt(json.dumps(value, sort_keys=True).encode(), context=context)

    def decrypt_json(self, token: bytes, *, context: bytes = b"") -> dict[str, Any]:
        value = json.loads(self.decrypt(token, context=context))
        assert isinstance(value, dict)
        return value


_RINGS: dict[tuple[str, str, int], SecretBox] = {}


def keyring() -> SecretBox:
    """The configured ring (setting ``secret_key``, else the key file, created on first use).

    Cached per process, keyed by the file's modification time, so a rotation by another process (the
    CLI) is picked up by running servers and workers at their next use."""
    from tilsvar.settings import get_settings

    settings = get_settings()
    if settings.secret_key:
        cache_key = ("env", settings.secret_key, 0)
    else:
        path = settings.effective_secret_key_file
        if not path.exists():
            load_or_create_keys(path)
        cache_key = (str(path), "", path.stat().st_mtime_ns)
    ring = _RINGS.get(cache_key)
    if ring is None:
        keys = (
            parse_keys(settings.secret_key, "TILSVAR_SECRET_KEY")
            if settings.secret_key
            else load_or_create_keys(settings.effective_secret_key_file)
        )
        ring = SecretBox(keys)
        if len(_RINGS) > 16:
            _RINGS.clear()
        _RINGS[cache_key] = ring
    return ring
