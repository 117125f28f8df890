"""Key rotation: find every ciphertext, and re-encrypt those not made with the primary key.

``tilsvar keys rotate`` appends a new key to the key file (it becomes the primary; old keys keep
decrypting) and runs ``reencrypt``; ``tilsvar keys reencrypt`` runs the pass alone. The pass walks
each encrypted column in id order, in batches of one transaction each, and rewrites only what is not
yet under the primary key — so an interrupted pass simply resumes where it stopped when run again,
and a second run changes nothing. It also seals what older versions left in clear: raw payloads
stored before they were encrypted, and messages with detected personal data whose original was
still in ``messages.text``, and e-mail identities stored with their address in clear. The blind
indexes of sealed identities (``tilsvar.privacy.blind``) are keyed by the ring too: the pass rewrites
those not made under the primary key. ``status`` counts ciphertexts per key, so a key can be retired
(``tilsvar keys retire``) once nothing uses it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import LargeBinary, Table, and_, bindparam, func, select, text, type_coerce, update
from sqlalchemy.orm import Session

from tilsvar.crypto import SecretBox, keyring
from tilsvar.db import Database
from tilsvar.models import Channel, Contact, EmailMessage, Identity, Message, RawEvent, User, sealed
from tilsvar.models.base import table_of
from tilsvar.privacy import blind, sealing

BATCH = 500


@dataclass(frozen=True, slots=True)
class Target:
    """One encrypted column: how its rows are found and what context each ciphertext is bound to."""

    name: str
    table: Table
    column: str
    context: Callable[[int], bytes]
    # A prefix before the ring's ciphertext (raw bodies, sealed columns); values without it are plain
    # ones stored before the column was encrypted, and get encrypted.
    magic: bytes | None = None
    key: str = "id"


TARGETS = (
    Target(
        "channel credentials", table_of(Channel), "credentials_encrypted", lambda i: f"channel:{i}".encode()
    ),
    Target(
        "two-factor secrets", table_of(User), "totp_secret_encrypted", lambda i: f"user-totp:{i}".encode()
    ),
    Target("message texts", table_of(Message), "text_sealed", lambda i: sealing.TEXT_CONTEXT),
    Target(
        "raw payloads", table_of(RawEvent), "body", lambda i: sealing.RAW_CONTEXT, magic=sealing.RAW_MAGIC
    ),
    *(
        Target(
            f"e-mail {column}",
            table_of(EmailMessage),
            column,
            lambda i: sealed.CONTEXT,
            sealed.MAGIC,
            "message_id",
        )
        for column in ("from_address", "reply_to", "to_addresses")
    ),
    Target(
        "identity addresses", table_of(Identity), "external_id_sealed", lambda i: sealed.CONTEXT, sealed.MAGIC
    ),
)
IDENTITIES = "identity blind indexes"


def _column(target: Target) -> Any:
    """The stored bytes (a sealed column's type would decrypt them on the way out)."""
    return type_coerce(target.table.c[target.column], LargeBinary)


def _bytes(value: Any) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)


def _token(target: Target, value: Any) -> bytes | None:
    """The ring ciphertext inside a stored value (None: a plain value from before)."""
    data = _bytes(value)
    if target.magic is not None:
        return data[len(target.magic) :] if data.startswith(target.magic) else None
    return data


def total_rows(database: Database) -> int:
    """Rows the pass will look at (for a progress bar)."""
    with database.reader() as session:
        count = 0
        for target in TARGETS:
            count += int(
                session.scalar(
                    select(func.count()).select_from(target.table).where(_column(target).is_not(None))
                )
                or 0
            )
        count += int(
            session.scalar(select(func.count()).select_from(table_of(Message)).where(_unsealed())) or 0
        )
        count += int(session.scalar(select(func.count()).where(_sealed_identities())) or 0)
        return count


def _sealed_identities() -> Any:
    return Identity.platform.in_(sorted(blind.SEALED_PLATFORMS))


def _unsealed() -> Any:
    """Messages with detected personal data whose original is not sealed (stored by an older
    version, before sealing existed)."""
    return and_(Message.has_pii.is_(True), Message.text_sealed.is_(None), Message.redacted_text.is_not(None))


def status(database: Database) -> dict[str, dict[str, int]]:
    """Per encrypted column: ciphertexts per key id ("v1": old format; "plain": not yet encrypted)."""
    ring = keyring()
    found: dict[str, dict[str, int]] = {}
    with database.reader() as session:
        for target in TARGETS:
            counts: Counter[str] = Counter()
            rows = session.execute(
                select(_column(target)).where(_column(target).is_not(None)).execution_options(yield_per=2000)
            )
            for (value,) in rows:
                token = _token(target, value)
                counts["plain" if token is None else ring.key_of(token)] += 1
            found[target.name] = dict(counts)
        unsealed = session.scalar(select(func.count()).where(_unsealed()))
        found["message texts"]["plain"] = int(unsealed or 0)
        indexes: Counter[str] = Counter()
        for (value,) in session.execute(select(Identity.external_id).where(_sealed_identities())):
            indexes[value.split(":")[1] if blind.is_blind(value) else "plain"] += 1
        found[IDENTITIES] = dict(indexes)
    return found


def reencrypt(database: Database, *, progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Rewrite every ciphertext not under the primary key, and seal what older versions left in
    clear; returns rows rewritten per column. Resumable and idempotent (see the module docstring)."""
    ring = keyring()
    rewritten: dict[str, int] = {IDENTITIES: _identity_pass(database, ring, progress)}
    for target in TARGETS:
        rewritten[target.name] = _pass(database, target, ring, progress)
    rewritten["messages sealed"] = _seal_old_messages(database, ring, progress)
    return rewritten


def _pass(database: Database, target: Target, ring: SecretBox, progress: Callable[[int], None] | None) -> int:
    column = _column(target)
    key = target.table.c[target.key]
    last = 0
    count = 0
    while True:
        with database.session() as session:
            _secure_delete(session)
            rows = session.execute(
                select(key, column).where(key > last, column.is_not(None)).order_by(key).limit(BATCH)
            ).all()
            if not rows:
                return count
            changes = []
            for row_id, value in rows:
                token = _token(target, value)
                if token is not None and ring.is_current(token):
                    continue
                context = target.context(row_id)
                plain = _bytes(value) if token is None else ring.decrypt(token, context=context)
                fresh = ring.encrypt(plain, context=context)
                changes.append({"row_id": row_id, "value": (target.magic or b"") + fresh})
            _write(session, target, changes)
            count += len(changes)
            last = rows[-1][0]
        if progress:
            progress(len(rows))


def _write(session: Session, target: Target, changes: list[dict[str, Any]]) -> None:
    if changes:
        session.execute(
            update(target.table)
            .where(target.table.c[target.key] == bindparam("row_id"))
            .values({target.column: bindparam("value", type_=LargeBinary)})
            .execution_options(synchronize_session=False),
            changes,
        )


def _seal_old_messages(database: Database, ring: SecretBox, progress: Callable[[int], None] | None) -> int:
    count = 0
    while True:
        with database.session() as session:
            _secure_delete(session)
            rows = session.execute(
                select(Message.id, Message.text, Message.redacted_text)
                .where(_unsealed())
                .order_by(Message.id)
                .limit(BATCH)
            ).all()
            if not rows:
                return count
            session.execute(
                update(table_of(Message))
                .where(table_of(Message).c.id == bindparam("row_id"))
                .values(text=bindparam("plain"), text_sealed=bindparam("sealed")),
                [
                    {"row_id": row_id, "plain": redacted, "sealed": sealing.seal_text(text, ring)}
                    for row_id, text, redacted in rows
                ],
            )
            count += len(rows)
        if progress:
            progress(len(rows))


def _identity_pass(database: Database, ring: SecretBox, progress: Callable[[int], None] | None) -> int:
    """Blind indexes under the primary key for every sealed identity; an identity stored with its
    address in clear (before sealing) gets it sealed, its handle cleared, and the address it left as
    its contact's and messages' shown name replaced by the masked address."""
    table = table_of(Identity)
    last = 0
    count = 0
    while True:
        with database.session() as session:
            _secure_delete(session)
            rows = session.execute(
                select(
                    Identity.id,
                    Identity.platform,
                    Identity.external_id,
                    Identity.external_id_sealed,
                    Identity.handle,
                    Identity.contact_id,
                )
                .where(_sealed_identities(), Identity.id > last)
                .order_by(Identity.id)
                .limit(BATCH)
            ).all()
            if not rows:
                return count
            for identity_id, platform, external_id, sealed_address, handle, contact_id in rows:
                if blind.is_blind(external_id) and blind.is_current(external_id, ring):
                    continue
                address = sealed_address if blind.is_blind(external_id) else external_id
                if address is None:
                    continue  # an index without its address: nothing to make it from
                if not blind.is_blind(external_id):  # stored in clear by an older version
                    shown = [value for value in {external_id, handle} if value]
                    session.execute(
                        update(table_of(Message))
                        .where(Message.author_identity_id == identity_id, Message.author_name.in_(shown))
                        .values(author_name=blind.masked(address))
                    )
                    session.execute(
                        update(table_of(Contact))
                        .where(Contact.id == contact_id, Contact.display_name.in_(shown))
                        .values(display_name=blind.masked(address))
                    )
                session.execute(
                    update(table)
                    .where(table.c.id == identity_id)
                    .values(blind.identity_columns(platform, address, "", ring))
                )
                count += 1
            last = rows[-1][0]
        if progress:
            progress(len(rows))


def _secure_delete(session: Session) -> None:
    """SQLite: zero the old content of rewritten rows in the freed space."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA secure_delete=ON"))
