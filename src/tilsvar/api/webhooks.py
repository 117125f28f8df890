"""``/webhooks/meta``, ``/webhooks/x``, ``/webhooks/linkedin``: the platforms' push endpoints.

``GET`` answers the platform's handshake (Meta ``hub.challenge``, X CRC ``response_token``, LinkedIn
``challengeResponse``). ``POST`` is thin: read the raw bytes and hand them to the receipt writer
(``webhook_receipts``), whose one action verifies the signature over them and stores the delivery with
its processing job, in a group commit; answer then: 200 stored (or already stored), 403 forged, 400
malformed. Processing happens in the job queue.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from tilsvar.actions.channel_admin import do_record_handshake
from tilsvar.actions.webhooks import WebhookChannel, webhook_channels
from tilsvar.api.deps import DatabaseDep, ReadSession
from tilsvar.api.webhook_receipts import writer_for
from tilsvar.channels import linkedin, meta, x
from tilsvar.db import Database

router = APIRouter(prefix="/webhooks", include_in_schema=True, tags=["webhooks"])


async def _receive(source: str, request: Request) -> Response:
    """Read the raw bytes (signatures are over exactly these) and hand them to the receipt writer,
    which verifies and stores them with whatever else arrived meanwhile (one commit); answer after
    that commit. Async on purpose: no thread per request, nothing blocks the event loop."""
    body = await request.body()
    headers = {name.lower(): value for name, value in request.headers.items()}
    database: Database = request.app.state.database
    writer = writer_for(database, move=not request.app.state.worker_process)
    outcome = await writer.receive(source=source, body=body, headers=headers)
    if outcome.status_code != 200:
        return JSONResponse({"detail": outcome.detail}, status_code=outcome.status_code)
    if outcome.spooled:
        return JSONResponse({"spooled": 1})
    return JSONResponse({"stored": len(outcome.stored), "duplicates": outcome.duplicates})


@router.get("/meta", summary="Meta webhook verification (hub.challenge)", response_class=PlainTextResponse)
def meta_handshake(
    session: ReadSession,
    database: DatabaseDep,
    mode: Annotated[str | None, Query(alias="hub.mode")] = None,
    verify_token: Annotated[str | None, Query(alias="hub.verify_token")] = None,
    challenge: Annotated[str | None, Query(alias="hub.challenge")] = None,
) -> PlainTextResponse:
    channels = webhook_channels(session, platforms=("facebook", "instagram"))
    answer = meta.handshake(
        mode=mode,
        verify_token=verify_token,
        challenge=challenge,
        tokens=[str(channel.credentials.get("verify_token") or "") for channel in channels],
    )
    if answer is None:
        raise HTTPException(403, "verify token does not match")
    _handshake(
        database, [c.id for c in channels if str(c.credentials.get("verify_token") or "") == verify_token]
    )
    return PlainTextResponse(answer)


def _handshake(database: Database, channel_ids: list[int]) -> None:
    """Remember when the platform last verified the webhook (the health panel shows it)."""
    if channel_ids:
        with database.session() as session:
            do_record_handshake(session, channel_ids=channel_ids)


@router.post("/meta", summary="Meta events (Facebook feed, Messenger, Instagram)")
async def meta_events(request: Request) -> Response:
    return await _receive("meta", request)


def _secret_for(channels: list[WebhookChannel], name: str, *, application_id: str | None = None) -> str:
    """The signing secret for a handshake, which names no account: the channel whose config names
    this application, else the first channel that has one (one platform app per installation)."""
    if application_id:
        for channel in channels:
            if str(channel.config.get("application_id") or "") == application_id and channel.credentials.get(
                name
            ):
                return str(channel.credentials[name])
    for channel in channels:
        if channel.credentials.get(name):
            return str(channel.credentials[name])
    return ""


@router.get("/x", summary="X CRC check (response_token)")
def x_crc(session: ReadSession, database: DatabaseDep, crc_token: str) -> dict[str, str]:
    channels = webhook_channels(session, platforms=("x",))
    secret = _secret_for(channels, "consumer_secret")
    if not secret:
        raise HTTPException(404, "no X channel with a consumer secret is connected")
    _handshake(database, [c.id for c in channels if c.credentials.get("consumer_secret") == secret])
    return x.crc_response(crc_token, secret)


@router.post("/x", summary="X Account Activity / X Activity API events")
async def x_events(request: Request) -> Response:
    return await _receive("x", request)


@router.get("/linkedin", summary="LinkedIn webhook validation (challengeCode)")
def linkedin_challenge(
    session: ReadSession,
    database: DatabaseDep,
    challenge_code: Annotated[str, Query(alias="challengeCode")],
    application_id: Annotated[str | None, Query(alias="applicationId")] = None,
) -> dict[str, str]:
    channels = webhook_channels(session, platforms=("linkedin",))
    secret = _secret_for(channels, "client_secret", application_id=application_id)
    if not secret:
        raise HTTPException(404, "no LinkedIn channel with a client secret is connected")
    _handshake(database, [c.id for c in channels if c.credentials.get("client_secret") == secret])
    return linkedin.challenge_response(challenge_code, secret)


@router.post("/linkedin", summary="LinkedIn organisation social-action notifications")
async def linkedin_events(request: Request) -> Response:
    return await _receive("linkedin", request)


FAST_PATHS = {f"/webhooks/{source}": source for source in ("meta", "x", "linkedin")}


class WebhookFastPath:
    """Answers ``POST /webhooks/{meta,x,linkedin}`` before FastAPI's routing (a scan over some two
    hundred routes), dependency solving and exception middleware: at hundreds of deliveries a second
    those cost more than the receipt itself. It sits inside ``SecurityMiddleware``, so the security
    headers, the body size limit and everything else stay as for any route; the routes above stay
    registered for the OpenAPI description and the handshakes (GET)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        source = FAST_PATHS.get(scope.get("path", "")) if scope["type"] == "http" else None
        if source is None or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        chunks = []
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
        except StarletteHTTPException as refused:  # the body grew past the limit
            await _send_json(send, refused.status_code, {"detail": refused.detail})
            return
        headers = {
            bytes(key).decode("latin-1").lower(): bytes(value).decode("latin-1")
            for key, value in scope["headers"]
        }
        app_state = scope["app"].state
        database: Database = app_state.database
        writer = writer_for(database, move=not app_state.worker_process)
        outcome = await writer.receive(source=source, body=b"".join(chunks), headers=headers)
        if outcome.status_code != 200:
            await _send_json(send, outcome.status_code, {"detail": outcome.detail})
        elif outcome.spooled:
            await _send_json(send, 200, {"spooled": 1})
        else:
            await _send_json(send, 200, {"stored": len(outcome.stored), "duplicates": outcome.duplicates})


async def _send_json(send: Send, status: int, payload: dict[str, object]) -> None:
    body = json.dumps(payload, separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
