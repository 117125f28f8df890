"""Encryption at rest: a message text with personal data is stored redacted, its original only as
AES-GCM ciphertext; raw platform payloads are encrypted. The raw SQLite files (database, WAL, shared
memory — so the FTS index and ``raw_events`` too) never contain a planted e-mail address, CPR number or
phone number, while search still finds the rest of the text and reveal, the person's own export and
the pipeline see the original. Keys rotate: a new primary, old keys still decrypt, a resumable
re-encryption pass, key ids in the ciphertext, retirement of an unused key."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

from tilsvar.actions.ingest import do_store_rejected_input
from tilsvar.actions.org import do_create_api_token
from tilsvar.cli import app as cli_app
from tilsvar.crypto import SecretBox, key_id, keyring
from tilsvar.db import Database
from tilsvar.models import Conversation, Message, RawEvent, User
from tilsvar.privacy import sealing
from tilsvar.privacy.keys import status
from tilsvar.settings import Settings

from conftest import IngestFn, Seeded
from helpers import auth, json_of

MARKER = "gnuhornqzx"
EMAIL = "ola.secret@example.org"
CPR = "070761-4285"
PHONE = "+45 20 11 22 33"
NEEDLES = [EMAIL, CPR, "0707614285", PHONE, "20 11 22 33"]


def seed(
    client: TestClient, seeded: Seeded, ingest: IngestFn, run_jobs: Callable[[], int], database: Database
) -> int:
    first = ingest(
        seeded.x_channel, f"Toget {MARKER} er forsinket, skriv til {EMAIL}", external_id="x1", author_id="u9"
    )
    ingest(
        seeded.x_channel,
        f"Mit CPR-nummer er {CPR}, ring {PHONE} {MARKER}",
        external_id="x2",
        author_id="u9",
        in_reply_to="x1",
    )
    ingest(seeded.x_channel, f"Helt almindelig besked {MARKER}", external_id="x3", author_id="u8")
    response = client.post(
        "/api/v1/inbound",
        json={
            "account": "rail-app",
            "external_id": "a1",
            "author": {"id": "u9", "name": "Ola Nordmann"},
            "text": f"App-fejl {MARKER} {EMAIL} {PHONE}",
        },
        headers=auth(seeded.admin_token),
    )
    assert response.status_code == 201, response.text
    # A malformed import line is kept for inspection — encrypted.
    with database.session() as session:
        do_store_rejected_input(
            session,
            source="import:test",
            items=[("line-1", f'{{"text": "{EMAIL}" broken'.encode(), "bad json")],
        )
    run_jobs()
    with database.reader() as session:
        return session.get_one(Message, first).conversation_id


def database_bytes(database: Database) -> bytes:
    database.dispose()  # every pooled connection let go, so the WAL is complete on disk
    files = Path(database.engine.url.database or "").parent.glob("tilsvar.db*")
    data = b"".join(path.read_bytes() for path in files)
    assert data, "no database files found"
    return data


def token_for(database: Database, user: User) -> str:
    with database.session() as session:
        return do_create_api_token(session, user=session.get_one(User, user.id), name="enc")


def revealed_texts(client: TestClient, seeded: Seeded, database: Database, conversation_id: int) -> str:
    url = f"/api/v1/privacy/conversations/{conversation_id}/reveal"
    agent = auth(seeded.agent_token)
    pending = client.post(url, json={"reason": "customer asked for a call back"}, headers=agent)
    if pending.status_code == 202:
        supervisor = auth(token_for(database, seeded.supervisor))
        approved = client.post(
            f"/api/v1/privacy/reveal-requests/{json_of(pending)['id']}/approve", headers=supervisor
        )
        assert approved.status_code == 200, approved.text
    revealed = client.get(url, headers=agent)
    assert revealed.status_code == 200, revealed.text
    return " ".join(message["text"] for message in json_of(revealed)["messages"])


def test_personal_data_is_not_stored_in_clear(
    client: TestClient,
    seeded: Seeded,
    ingest: IngestFn,
    run_jobs: Callable[[], int],
    database: Database,
    settings: Settings,
) -> None:
    conversation_id = seed(client, seeded, ingest, run_jobs, database)
    admin = auth(seeded.admin_token)

    with database.reader() as session:
        rows = session.execute(
            select(Message.external_id, Message.text, Message.text_sealed, Message.has_pii, Message.analysis)
        ).all()
        by_id = {row[0]: row for row in rows}
        for external_id in ("x1", "x2", "a1"):
            _, text, sealed, has_pii, analysis = by_id[external_id]
            assert sealed
            assert has_pii
            assert MARKER in text
            assert not any(needle in text for needle in NEEDLES)
            assert not any(needle in str(analysis) for needle in NEEDLES)
            assert keyring().key_of(sealed) == key_id(keyring().keys[-1]).hex()  # the key id travels along
        assert by_id["x3"][2] is None  # no personal data: stored as it is
        raw_bodies = [bytes(body) for body in session.scalars(select(RawEvent.body))]
        assert raw_bodies
        assert all(body.startswith(sealing.RAW_MAGIC) for body in raw_bodies)
        # Kept for inspection: whoever holds the key can still read a rejected line.
        assert any(EMAIL.encode() in sealing.open_raw(body) for body in raw_bodies)

    # Search works on the redacted text.
    found = json_of(client.get("/api/v1/search", params={"q": MARKER}, headers=admin))
    assert found["total"] == 4
    assert not any(needle in str(found) for needle in NEEDLES)
    thread = client.get(f"/api/v1/conversations/{conversation_id}", headers=admin)
    assert thread.status_code == 200
    assert MARKER in thread.text
    assert not any(needle in thread.text for needle in NEEDLES)

    # Those allowed see the original: reveal, and the person's own export.
    shown = revealed_texts(client, seeded, database, conversation_id)
    assert EMAIL in shown
    assert CPR in shown
    assert PHONE in shown
    export = client.get("/api/v1/privacy/export", params={"platform": "x", "author_id": "u9"}, headers=admin)
    assert export.status_code == 200
    assert EMAIL in export.text
    assert CPR in export.text

    if database.is_sqlite:
        data = database_bytes(database)
        assert MARKER.encode() in data  # the grep sees stored text ...
        for needle in NEEDLES:
            assert needle.encode() not in data, needle  # ... but never the personal data
    else:
        from test_privacy_erase import assert_no_text_in_tables

        assert_no_text_in_tables(database, NEEDLES)


def test_pipeline_reads_the_original_and_keeps_it_sealed(
    seeded: Seeded, ingest: IngestFn, run_jobs: Callable[[], int], database: Database
) -> None:
    message_id = ingest(seeded.x_channel, f"Skriv til {EMAIL} om billetten", external_id="p1")
    run_jobs()
    with database.reader() as session:
        message = session.get_one(Message, message_id)
        assert message.has_pii
        assert message.analysis
        assert message.analysis["pii"][0]["type"] == "email"
        assert EMAIL not in message.text
        assert EMAIL not in (message.redacted_text or "")
        assert sealing.original_texts(session, [message_id]) == {
            message_id: f"Skriv til {EMAIL} om billetten"
        }


def test_key_rotation_reencrypts_everything(
    client: TestClient,
    seeded: Seeded,
    ingest: IngestFn,
    run_jobs: Callable[[], int],
    database: Database,
    settings: Settings,
) -> None:
    conversation_id = seed(client, seeded, ingest, run_jobs, database)
    runner = CliRunner()
    old = key_id(keyring().keys[-1]).hex()

    rotated = runner.invoke(cli_app, ["keys", "rotate", "--no-reencrypt"])
    assert rotated.exit_code == 0, rotated.output
    ring = keyring()
    new = key_id(ring.keys[-1]).hex()
    assert new != old
    assert len(ring.keys) == 2
    assert oct(settings.effective_secret_key_file.stat().st_mode)[-3:] == "600"
    # Before the pass: old ciphertexts still open, new ones use the new key.
    assert CPR in revealed_texts(client, seeded, database, conversation_id)
    fresh = ingest(seeded.x_channel, f"Ny besked {EMAIL}", external_id="x9", author_id="u7")
    with database.reader() as session:
        assert ring.key_of(session.get_one(Message, fresh).text_sealed or b"") == new
    counts = status(database)
    assert counts["message texts"].get(old, 0) == 3
    assert counts["message texts"][new] == 1

    # An old-style (v1, no key id) secret is still read, and rewritten by the pass.
    nonce = os.urandom(12)
    v1 = (
        b"\x01"
        + nonce
        + AESGCM(ring.keys[0]).encrypt(nonce, b'{"token": "t"}', f"channel:{seeded.x_channel.id}".encode())
    )
    with database.session() as session:
        session.execute(
            update(type(seeded.x_channel))
            .where(type(seeded.x_channel).id == seeded.x_channel.id)
            .values(credentials_encrypted=v1)
        )

    done = runner.invoke(cli_app, ["keys", "reencrypt", "--no-vacuum"])
    assert done.exit_code == 0, done.output
    counts = status(database)
    for name, per_key in counts.items():
        assert set(per_key) - {"plain"} <= {new}, (name, per_key)
        assert not per_key.get("plain"), name
    again = runner.invoke(cli_app, ["keys", "reencrypt", "--no-vacuum"])
    assert "message texts: 0 rewritten" in again.output  # resumable: nothing left to do

    from tilsvar.actions.org import channel_credentials

    with database.reader() as session:
        channel = session.get_one(type(seeded.x_channel), seeded.x_channel.id)
        assert channel_credentials(channel)["token"] == "t"

    refused = runner.invoke(cli_app, ["keys", "retire", new])
    assert refused.exit_code == 1
    retired = runner.invoke(cli_app, ["keys", "retire", old])
    assert retired.exit_code == 0, retired.output
    assert len(keyring().keys) == 1
    assert CPR in revealed_texts(client, seeded, database, conversation_id)
    listed = runner.invoke(cli_app, ["keys", "status"])
    assert f"key {new} (primary)" in listed.output


def test_reencrypt_seals_what_older_versions_left_in_clear(
    client: TestClient, seeded: Seeded, ingest: IngestFn, run_jobs: Callable[[], int], database: Database
) -> None:
    message_id = ingest(seeded.x_channel, f"Mail {EMAIL}", external_id="old1")
    run_jobs()
    with database.session() as session:
        # What a version before encryption at rest stored: the original in clear, a plain raw body.
        session.execute(
            update(Message).where(Message.id == message_id).values(text=f"Mail {EMAIL}", text_sealed=None)
        )
        session.add(
            RawEvent(
                source="api", dedupe_key="legacy", body=f'{{"text": "{EMAIL}"}}'.encode(), status="processed"
            )
        )
    result = CliRunner().invoke(cli_app, ["keys", "reencrypt"])
    assert result.exit_code == 0, result.output
    assert "messages sealed: 1 rewritten" in result.output
    with database.reader() as session:
        message = session.get_one(Message, message_id)
        assert EMAIL not in message.text
        assert message.text_sealed
        assert sealing.original_texts(session, [message_id])[message_id] == f"Mail {EMAIL}"
        body = session.scalar(select(RawEvent.body).where(RawEvent.dedupe_key == "legacy"))
        assert body is not None
        assert EMAIL.encode() not in bytes(body)
        assert EMAIL.encode() in sealing.open_raw(body)
    if database.is_sqlite:
        assert EMAIL.encode() not in database_bytes(database)


def test_key_ring_formats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = AESGCM.generate_key(bit_length=256), AESGCM.generate_key(bit_length=256)
    old, new = SecretBox(first), SecretBox([first, second])
    token = old.encrypt(b"secret", context=b"c")
    assert new.decrypt(token, context=b"c") == b"secret"
    assert not new.is_current(token)
    assert new.is_current(new.encrypt(b"x"))
    with pytest.raises(ValueError, match="not in the key ring"):
        SecretBox(second).decrypt(token, context=b"c")
    # The key may come from the environment instead of the file.
    from tilsvar.settings import get_settings

    monkeypatch.setenv("TILSVAR_SECRET_KEY", ",".join(base64.b64encode(k).decode() for k in (first, second)))
    get_settings.cache_clear()
    try:
        assert keyring().keys == [first, second]
        refused = CliRunner().invoke(cli_app, ["keys", "rotate"])
        assert refused.exit_code == 2
    finally:
        monkeypatch.delenv("TILSVAR_SECRET_KEY")
        get_settings.cache_clear()


def test_an_edit_is_sealed_and_a_late_finding_is_sealed_at_analysis(
    seeded: Seeded, ingest: IngestFn, database: Database
) -> None:
    from tilsvar.actions.analysis import do_store_analysis
    from tilsvar.actions.webhooks import _apply_change
    from tilsvar.channels.activity import MessageChanged
    from tilsvar.models import Channel, utcnow

    edited = ingest(seeded.x_channel, "Hej, toget er sent", external_id="e1")
    with database.session() as session:
        channel = session.get_one(Channel, seeded.x_channel.id)
        change = MessageChanged(
            platform="x",
            account=channel.account,
            external_id="e1",
            change="edited",
            at=utcnow(),
            text=f"Hej {EMAIL}",
        )
        assert _apply_change(session, channel=channel, change=change, events=[]) == 1
    with database.reader() as session:
        message = session.get_one(Message, edited)
        assert EMAIL not in message.text
        assert message.has_pii
        assert sealing.original_texts(session, [edited])[edited] == f"Hej {EMAIL}"

    # A (plug-in) PII stage finds what the ingest detection did not: sealed when the analysis is stored.
    late = ingest(seeded.x_channel, "Mit kundenummer er KX-77-ALFA", external_id="e2")
    with database.session() as session:
        redacted = "Mit kundenummer er [ID]"
        analysis = {"pii": [{"type": "customer_id", "start": 19, "end": 29}], "redacted": redacted}
        do_store_analysis(session, results={late: analysis}, route=False)
    with database.reader() as session:
        message = session.get_one(Message, late)
        assert message.text == redacted
        assert message.redacted_text == redacted
        assert message.text_sealed
        assert sealing.original_texts(session, [late])[late] == "Mit kundenummer er KX-77-ALFA"


def test_a_kept_raw_payload_can_be_inspected_with_the_key(database: Database, seeded: Seeded) -> None:
    del seeded
    with database.session() as session:
        do_store_rejected_input(
            session, source="import:test", items=[("line-9", b'{"text": "broken', "bad json")]
        )
    with database.reader() as session:
        raw_id = session.scalar(select(RawEvent.id).where(RawEvent.dedupe_key == "line-9"))
    shown = CliRunner().invoke(cli_app, ["privacy", "raw-event", str(raw_id)])
    assert shown.exit_code == 0, shown.output
    assert '{"text": "broken' in shown.stdout
    assert CliRunner().invoke(cli_app, ["privacy", "raw-event", "999999"]).exit_code == 1


def test_email_addresses_in_mail_headers_are_encrypted(
    seeded: Seeded, ingest: IngestFn, database: Database
) -> None:
    from sqlalchemy import text

    from tilsvar.models import EmailMessage

    address, old_address = "kari.mail@example.net", "old.mail@example.net"
    first = ingest(seeded.x_channel, "Hej med mail", external_id="m1")
    second = ingest(seeded.x_channel, "Gammel mail", external_id="m2")
    with database.session() as session:
        session.add(
            EmailMessage(
                message_id=first,
                header_message_id="<a@x>",
                from_address=address,
                reply_to=address,
                to_addresses="",
            )
        )
    with database.session() as session:  # as an older version stored it: plain text
        session.execute(
            text(
                'INSERT INTO email_messages (message_id, header_message_id, "references", subject, '
                "from_address, reply_to, to_addresses, was_html) "
                "VALUES (:id, '<b@x>', '', '', :a, :a, :a, false)"
            ),
            {"id": second, "a": old_address},
        )
    with database.reader() as session:
        assert session.get_one(EmailMessage, first).from_address == address
        assert session.get_one(EmailMessage, second).reply_to == old_address  # still readable
    result = CliRunner().invoke(cli_app, ["keys", "reencrypt"])
    assert result.exit_code == 0, result.output
    with database.reader() as session:
        assert session.get_one(EmailMessage, second).reply_to == old_address
        assert all(not counts.get("plain") for counts in status(database).values())
    if database.is_sqlite:
        data = database_bytes(database)
        assert address.encode() not in data
        assert old_address.encode() not in data


SENDER = "kari.privat@example.com"


def _mail(sender: str, message_id: str, text_: str) -> bytes:
    return (
        f"From: {sender}\r\nTo: support@rail.example\r\nSubject: Billet\r\n"
        f"Message-ID: <{message_id}@mail.example>\r\nDate: Sun, 06 Dec 2026 06:00:00 +0000\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{text_}\r\n"
    ).encode()


def _receive(database: Database, channel_id: int, uid: int, raw: bytes) -> int:
    from tilsvar.actions.mail import do_store_mail_batch
    from tilsvar.channels.email import parse_mail

    mail = parse_mail(raw, account="support@rail.example")
    with database.session() as session:
        do_store_mail_batch(
            session,
            channel_id=channel_id,
            mailbox="INBOX",
            uidvalidity=1,
            highest_uid=uid,
            reset=False,
            mails=[(uid, mail)],
        )
    with database.reader() as session:
        contact_id = session.scalars(
            select(Conversation.contact_id)
            .join(Message, Message.conversation_id == Conversation.id)
            .where(Message.external_id == mail.message_id)
        ).one()
        assert contact_id is not None
        return contact_id


def test_an_email_senders_address_is_sealed_and_found_by_its_blind_index(
    client: TestClient, seeded: Seeded, database: Database, settings: Settings
) -> None:
    from sqlalchemy import text

    from tilsvar.actions.mail import do_connect_email_channel
    from tilsvar.models import Contact, Identity

    with database.session() as session:
        channel = do_connect_email_channel(
            session,
            brand=session.get_one(type(seeded.rail), seeded.rail.id),
            account="support@rail.example",
            imap_url="imaps://support@mail.rail.example",
            smtp_url="smtps://support@mail.rail.example",
            password="pw",
            mode="simulated",
        )
        channel_id = channel.id
    first = _receive(database, channel_id, 1, _mail(f"Kari Hansen <{SENDER}>", "one", f"Billet {MARKER}"))
    # A second, unrelated mail (no References) from the same sender, the address spelt differently.
    second = _receive(database, channel_id, 2, _mail("Kari.Privat@Example.COM", "two", "Igen"))
    assert first == second  # the same contact

    with database.reader() as session:
        identity = session.scalars(select(Identity).where(Identity.platform == "email")).one()
        assert identity.external_id.startswith("bi:")
        assert identity.platform_id == SENDER
        assert identity.handle == ""
        names = set(session.scalars(select(Message.author_name).where(Message.channel_id == channel_id)))
        assert names == {"Kari Hansen", "k…@example.com"}  # never the address itself

    admin = auth(seeded.admin_token)
    contact = json_of(client.get(f"/api/v1/contacts/{first}", headers=admin))
    assert [i["handle"] for i in contact["identities"]] == ["k…@example.com"]
    found = json_of(client.get("/api/v1/search", params={"q": f"author:{SENDER}"}, headers=admin))
    assert found["total"] == 2
    export = client.get(
        "/api/v1/privacy/export", params={"platform": "email", "author_id": SENDER}, headers=admin
    )
    assert export.status_code == 200
    assert SENDER in export.text

    # An identity an older version stored in clear is still found, and sealed by `keys reencrypt`.
    old_sender = "gammel.kunde@example.net"
    with database.session() as session:
        old_contact = Contact(organization_id=seeded.org.id, display_name=old_sender)
        session.add(old_contact)
        session.flush()
        session.execute(
            text(
                "INSERT INTO identities (organization_id, contact_id, platform, external_id, handle, name, "
                "created_at) VALUES (:org, :contact, 'email', :address, :address, '', CURRENT_TIMESTAMP)"
            ),
            {"org": seeded.org.id, "contact": old_contact.id, "address": old_sender},
        )
        old_contact_id = old_contact.id
    assert _receive(database, channel_id, 3, _mail(old_sender, "three", "Hej")) == old_contact_id

    # Rotation: before re-encryption the old key's index still finds the person; after, the new one.
    runner = CliRunner()
    rotated = runner.invoke(cli_app, ["keys", "rotate", "--no-reencrypt"])
    assert rotated.exit_code == 0, rotated.output
    assert _receive(database, channel_id, 4, _mail(SENDER, "four", "Tre")) == first
    assert status(database)["identity blind indexes"].get("plain") == 1
    result = runner.invoke(cli_app, ["keys", "reencrypt"])
    assert result.exit_code == 0, result.output
    new = key_id(keyring().keys[-1]).hex()
    assert status(database)["identity blind indexes"] == {new: 2}
    assert set(status(database)["identity addresses"]) == {new}
    assert _receive(database, channel_id, 5, _mail(SENDER, "five", "Fire")) == first
    assert _receive(database, channel_id, 6, _mail(old_sender, "six", "Igen")) == old_contact_id
    with database.reader() as session:
        assert session.get_one(Contact, old_contact_id).display_name == "g…@example.net"
        assert len(session.scalars(select(Identity).where(Identity.platform == "email")).all()) == 2

    needles = [SENDER, old_sender, SENDER.partition("@")[0], old_sender.partition("@")[0]]
    if database.is_sqlite:
        data = database_bytes(database)
        assert MARKER.encode() in data
        for needle in needles:
            assert needle.encode() not in data, needle
            assert needle.upper().encode() not in data, needle
    else:
        from test_privacy_erase import assert_no_text_in_tables

        assert_no_text_in_tables(database, needles)


VIP_RULES = """
rules:
  - id: vip
    name: A known sender goes to press
    position: 10
    when: {handle: kari.privat@example.com}
    then: [{assign_team: press}]
    stop: true
  - id: service
    name: Everything else to customer service
    position: 100
    then: [{assign_team: customer-service}]
"""


def test_routing_rules_still_match_a_sealed_email_senders_address(
    client: TestClient, seeded: Seeded, database: Database, run_jobs: Callable[[], int]
) -> None:
    from tilsvar.actions.mail import do_connect_email_channel
    from workflow_support import put_rules, workflow

    assert put_rules(client, seeded.admin_token, VIP_RULES).status_code == 200
    with database.session() as session:
        channel_id = do_connect_email_channel(
            session,
            brand=session.get_one(type(seeded.rail), seeded.rail.id),
            account="support@rail.example",
            imap_url="imaps://support@mail.rail.example",
            smtp_url="smtps://support@mail.rail.example",
            password="pw",
            mode="simulated",
        ).id
    _receive(database, channel_id, 1, _mail(f"Kari Hansen <{SENDER}>", "vip", "Hej"))
    _receive(database, channel_id, 2, _mail("someone@example.org", "other", "Hej"))
    run_jobs()
    with database.reader() as session:
        conversations = dict(
            session.execute(
                select(Message.external_id, Message.conversation_id).where(Message.channel_id == channel_id)
            ).all()
        )
    teams = {
        key: workflow(client, seeded.admin_token, conversations[f"<{key}@mail.example>"])["team"]["id"]
        for key in ("vip", "other")
    }
    assert teams == {"vip": seeded.press_team.id, "other": seeded.service_team.id}
