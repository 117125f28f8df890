"""Password hashing (argon2id) and random tokens, in one place.

Argon2id with the RFC 9106 "second recommended" profile (64 MiB memory, 3 passes, 4 lanes), named
explicitly so a library upgrade cannot weaken it silently; hashes made with other parameters are
upgraded at the next successful sign-in (``needs_rehash``). API tokens and session cookies are 256
random bits, so a plain SHA-256 of them is enough to store."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher(
    time_cost=3, memory_cost=65536, parallelism=4, hash_len=32, salt_len=16, type=Type.ID
)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def new_token(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
