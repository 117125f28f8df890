"""A column type that keeps a string AES-GCM encrypted at rest (``tilsvar.crypto`` key ring).

For contact details that are only ever read and written whole, never compared or searched in SQL:
the addresses in e-mail headers. Values written before a column became sealed (plain text) are read
as they are; ``tilsvar keys reencrypt`` encrypts them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import LargeBinary
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

MAGIC = b"\x00tse"
CONTEXT = b"tilsvar sealed column"


class SealedString(TypeDecorator[str]):
    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> bytes | None:
        del dialect
        if value is None:
            return None
        from tilsvar.crypto import keyring

        return MAGIC + keyring().encrypt(str(value).encode(), context=CONTEXT)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        del dialect
        return open_sealed(value)


def open_sealed(value: Any) -> str | None:
    """A stored value's text: decrypted, or a plain value from before as it is."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    data = bytes(value)
    if not data.startswith(MAGIC):
        return data.decode("utf-8", errors="replace")
    from tilsvar.crypto import keyring

    return keyring().decrypt(data[len(MAGIC) :], context=CONTEXT).decode()
