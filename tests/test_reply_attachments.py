"""Files attached to a reply in the conversation view (docs/ui.md): multipart upload with CSRF, size and
type checks, stored under the data dir, listed on the message, downloadable by agents who may read the
conversation; on web chat the visitor's transcript carries a signed download link; on platforms whose
connector cannot send files the file input is disabled and the action refuses. (The e-mail send with
an attachment is in tests/test_channel_email.py.)"""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tilsvar.actions.org import do_create_user
from tilsvar.actions.webchat import do_connect_webchat_channel
from tilsvar.api import webchat as webchat_api
from tilsvar.channels.webchat import RateLimiter
from tilsvar.db import Database
from tilsvar.models import AuditEntry, Brand, Message, MessageAttachment

from conftest import PASSWORD, IngestFn, Seeded

SITE = "https://www.nordicrail.example"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def sign_in(client: TestClient, email: str) -> str:
    response = client.post(
        "/login", data={"email": email, "password": PASSWORD, "next": "/inbox"}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/inbox").text)
    assert match
    return match.group(1)


@pytest.fixture
def chat(
    client: TestClient, database: Database, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, dict[str, str], int]:
    """A web chat channel on the rail brand with one visitor's conversation. The widget's post limiter
    is per process and keyed by channel id, which repeats across test databases: these tests get their
    own, so they never eat into the web chat tests' bucket."""
    monkeypatch.setattr(webchat_api, "POSTS", RateLimiter(per_minute=20, burst=10))
    with database.session() as session:
        channel = do_connect_webchat_channel(
            session, brand=session.get_one(Brand, seeded.rail.id), account="rail-web", allowed_origins=[SITE]
        )
        key = str(channel.config["public_key"])
    headers = {"Origin": SITE, "X-Visitor-Token": secrets.token_hex(24)}
    posted = client.post(f"/api/widget/{key}/messages", json={"text": "Mit billet?"}, headers=headers)
    assert posted.status_code == 201
    with database.reader() as session:
        conversation_id = session.get_one(Message, posted.json()["id"]).conversation_id
    return key, headers, conversation_id


def test_a_file_goes_with_a_web_chat_reply_and_the_visitor_can_download_it(
    client: TestClient,
    chat: tuple[str, dict[str, str], int],
    database: Database,
    seeded: Seeded,
    run_jobs: Any,
) -> None:
    key, visitor, conversation_id = chat
    csrf = sign_in(client, seeded.agent.email)
    page = client.get(f"/conversations/{conversation_id}").text
    assert 'enctype="multipart/form-data"' in page
    assert re.search(
        r'<input type="file" id="reply-files" name="files" multiple accept="[^"]*image/png', page
    )

    sent = client.post(
        f"/conversations/{conversation_id}/reply",
        data={"text": "Her er billetten.", "csrf_token": csrf},
        files=[("files", ("billet <1>.png", PNG, "image/png"))],
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    with database.reader() as session:
        reply = session.scalars(select(Message).where(Message.direction == "out")).one()
        stored = session.scalars(select(MessageAttachment)).one()
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "reply.queued")).one()
    assert stored.message_id == reply.id
    assert (stored.filename, stored.content_type, stored.size) == ("billet _1_.png", "image/png", len(PNG))
    assert stored.storage_path.startswith("attachments/")
    assert entry.details["attachments"] == [{"id": stored.id, "size": len(PNG), "sha256": stored.sha256}]

    # Listed on the message in the thread, downloadable by the agent with safe headers.
    thread = client.get(f"/conversations/{conversation_id}/thread").text
    assert f'href="/attachments/{stored.id}"' in thread
    assert "billet _1_.png" in thread
    download = client.get(f"/attachments/{stored.id}")
    assert download.status_code == 200
    assert download.content == PNG
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["x-content-type-options"] == "nosniff"

    # The visitor sees it once the reply is sent, as a link they can open without a session.
    before = client.get(f"/api/widget/{key}/messages", headers=visitor).json()["messages"]
    assert all("attachments" not in m for m in before)
    run_jobs()
    after = client.get(f"/api/widget/{key}/messages", headers=visitor).json()["messages"]
    files = after[-1]["attachments"]
    assert [(f["filename"], f["content_type"], f["size"]) for f in files] == [
        ("billet _1_.png", "image/png", len(PNG))
    ]
    path = urlsplit(files[0]["url"]).path
    assert re.fullmatch(rf"/files/{stored.id}/[0-9a-f]{{40}}", path)
    anonymous = TestClient(client.app)
    got = anonymous.get(path)
    assert got.status_code == 200
    assert got.content == PNG
    assert got.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert anonymous.get(path[:-1] + ("0" if path[-1] != "0" else "1")).status_code == 404
    assert anonymous.get(f"/attachments/{stored.id}", follow_redirects=False).status_code in (303, 401)


def test_an_agent_of_another_brand_cannot_download_the_file(
    client: TestClient, chat: tuple[str, dict[str, str], int], database: Database, seeded: Seeded
) -> None:
    _, _, conversation_id = chat
    csrf = sign_in(client, seeded.agent.email)
    client.post(
        f"/conversations/{conversation_id}/reply",
        data={"text": "Se vedhæftet.", "csrf_token": csrf},
        files=[("files", ("note.txt", b"Afgang 07:12", "text/plain"))],
    )
    with database.session() as session:
        attachment_id = session.scalars(select(MessageAttachment.id)).one()
        do_create_user(
            session,
            organization=seeded.org,
            email="market-agent@fjordmarket.example",
            role="agent",
            password=PASSWORD,
            brands=[session.get_one(Brand, seeded.market.id)],
        )
    client.post("/logout", data={"csrf_token": csrf})
    sign_in(client, "market-agent@fjordmarket.example")
    assert client.get(f"/attachments/{attachment_id}").status_code == 404


@pytest.mark.parametrize(
    ("name", "data", "content_type", "reason"),
    [
        ("page.html", b"<script>alert(1)</script>", "text/html", "files of type text/html are not allowed"),
        ("photo.png", b"<svg onload=alert(1)>", "image/png", "the content is not a image/png file"),
        ("photo.exe", PNG, "image/png", "the name must end in .png"),
        ("big.txt", b"x" * (10 * 1024 * 1024 + 1), "text/plain", "larger than 10 MB"),
    ],
)
def test_unsafe_or_oversized_files_are_refused_and_nothing_is_stored(
    client: TestClient,
    chat: tuple[str, dict[str, str], int],
    database: Database,
    seeded: Seeded,
    name: str,
    data: bytes,
    content_type: str,
    reason: str,
) -> None:
    _, _, conversation_id = chat
    csrf = sign_in(client, seeded.agent.email)
    answer = client.post(
        f"/conversations/{conversation_id}/reply",
        data={"text": "Hej", "csrf_token": csrf},
        files=[("files", (name, data, content_type))],
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 422
    assert reason in answer.text
    with database.reader() as session:
        assert session.scalars(select(Message).where(Message.direction == "out")).all() == []
        assert session.scalars(select(MessageAttachment)).all() == []


def test_a_multipart_reply_without_the_csrf_token_is_refused(
    client: TestClient, chat: tuple[str, dict[str, str], int], database: Database, seeded: Seeded
) -> None:
    _, _, conversation_id = chat
    sign_in(client, seeded.agent.email)
    answer = client.post(
        f"/conversations/{conversation_id}/reply",
        data={"text": "Hej"},
        files=[("files", ("a.png", PNG, "image/png"))],
    )
    assert answer.status_code == 403
    with database.reader() as session:
        assert session.scalars(select(MessageAttachment)).all() == []


def test_platforms_that_cannot_send_files_disable_the_input_and_refuse(
    client: TestClient, database: Database, seeded: Seeded, ingest: IngestFn
) -> None:
    message_id = ingest(seeded.fb_channel, "Hvor er toget?", external_id="c-files")
    with database.reader() as session:
        conversation_id = session.get_one(Message, message_id).conversation_id
    csrf = sign_in(client, seeded.agent.email)
    page = client.get(f"/conversations/{conversation_id}").text
    assert '<input type="file" id="reply-files" name="files" disabled' in page
    assert "Tilsvar cannot send files on this platform yet" in page
    answer = client.post(
        f"/conversations/{conversation_id}/reply",
        data={"text": "Se her", "csrf_token": csrf},
        files=[("files", ("a.png", PNG, "image/png"))],
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 422
    assert "files cannot be sent on facebook" in answer.text
    with database.reader() as session:
        assert session.scalars(select(Message).where(Message.direction == "out")).all() == []
    # A reply without a file still works there: a browser's empty file input sends a part with an
    # empty file name, which is skipped.
    boundary = "tilsvar-test-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{csrf}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\nSe her\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename=""\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n\r\n--{boundary}--\r\n"
    )
    plain = client.post(
        f"/conversations/{conversation_id}/reply",
        content=body.encode(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        follow_redirects=False,
    )
    assert plain.status_code == 303, plain.text


def test_the_api_channel_callback_carries_the_files_links() -> None:
    import json

    import httpx

    from tilsvar.channels.base import OutboundFile, OutboundReply
    from tilsvar.channels.generic_api import GenericApiConnector

    seen: list[dict[str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(200, json={"id": "remote-1"})

    connector = GenericApiConnector(httpx.Client(transport=httpx.MockTransport(answer)))
    reply = OutboundReply(
        platform="api",
        account="crm",
        kind="dm",
        text="Se filen",
        thread_key="t1",
        in_reply_to=None,
        recipient_id="c1",
        last_inbound_at=None,
        idempotency_key="k1",
        credentials={},
        config={"callback_url": "https://crm.example/hook"},
        files=(OutboundFile("a.pdf", "application/pdf", b"%PDF-1", "https://tilsvar.example/files/1/abc"),),
    )
    assert connector.send_reply(reply).external_id == "remote-1"
    assert seen[0]["attachments"] == [
        {
            "filename": "a.pdf",
            "content_type": "application/pdf",
            "size": 6,
            "url": "https://tilsvar.example/files/1/abc",
        }
    ]


def test_asking_for_approval_with_files_is_refused_rather_than_dropping_them(
    client: TestClient, chat: tuple[str, dict[str, str], int], database: Database, seeded: Seeded
) -> None:
    _, _, conversation_id = chat
    csrf = sign_in(client, seeded.agent.email)
    answer = client.post(
        f"/conversations/{conversation_id}/draft",
        data={"text": "Udkast", "csrf_token": csrf},
        files=[("files", ("a.png", PNG, "image/png"))],
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 422
    assert "a draft for approval cannot carry files yet" in answer.text
    with database.reader() as session:
        assert session.scalars(select(MessageAttachment)).all() == []
