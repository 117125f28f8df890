"""AES-GCM encryption of secrets at rest (channel credentials), keyed by a master key file.

The key lives outside the database (``TILSVAR_SECRET_KEY_FILE``), so a stolen database dump alone does
not reveal platform tokens. Each value carries a one-byte key version for later rotation.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = b"\x01"


def load_or_create_key(path: Path) -> bytes:
    """Read the base64 master key, creating a random one (mode 600) when the file is missing."""
    if path.exists():
        key = base64.b64decode(path.read_text().strip())
        if len(key) != 32:
            raise ValueError(f"{path}: the key must be 32 bytes (base64-encoded)")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = AESGCM.generate_key(bit_length=256)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(base64.b64encode(key).decode() + "\n")
    return key


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: bytes, *, context: bytes = b"") -> bytes:
        nonce = os.urandom(12)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, context)

    def decrypt(self, token: bytes, *, context: bytes = b"") -> bytes:
        if token[:1] != _VERSION:
            raise ValueError("unknown secret format")
        return self._aead.decrypt(token[1:13], token[13:], context)

    def encrypt_json(self, value: dict[str, Any], *, context: bytes = b"") -> bytes:
        return self.encrypt(json.dumps(value, sort_keys=True).encode(), context=context)

    def decrypt_json(self, token: bytes, *, context: bytes = b"") -> dict[str, Any]:
        value = json.loads(self.decrypt(token, context=context))
        assert isinstance(value, dict)
        return value
