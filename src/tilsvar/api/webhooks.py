"""``/webhooks/meta``, ``/webhooks/x``, ``/webhooks/linkedin``: the platforms' push endpoints.

``GET`` answers the platform's handshake (Meta ``hub.challenge``, X CRC ``response_token``, LinkedIn
``challengeResponse``). ``POST`` is thin: read the raw bytes, call one action that verifies the
signature over them and stores the delivery with its processing job, answer at once: 200 stored (or
already stored), 403 forged, 400 malformed. Processing happens in the job queue.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from tilsvar.actions.webhooks import do_receive_webhook, webhook_channels
from tilsvar.api.deps import DatabaseDep, ReadSession
from tilsvar.channels import meta

router = APIRouter(prefix="/webhooks", include_in_schema=True, tags=["webhooks"])


async def raw_body(request: Request) -> bytes:
    """The request body exactly as it arrived (signatures are over these bytes)."""
    return await request.body()


RawBody = Annotated[bytes, Depends(raw_body)]


def _receive(source: str, request: Request, body: bytes, database: DatabaseDep) -> Response:
    headers = {name.lower(): value for name, value in request.headers.items()}
    with database.session() as session:
        outcome = do_receive_webhook(session, source=source, body=body, headers=headers)
    if outcome.status_code != 200:
        return JSONResponse({"detail": outcome.detail}, status_code=outcome.status_code)
    return JSONResponse({"stored": len(outcome.stored), "duplicates": outcome.duplicates})


@router.get("/meta", summary="Meta webhook verification (hub.challenge)", response_class=PlainTextResponse)
def meta_handshake(
    session: ReadSession,
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
    return PlainTextResponse(answer)


@router.post("/meta", summary="Meta events (Facebook feed, Messenger, Instagram)")
def meta_events(request: Request, body: RawBody, database: DatabaseDep) -> Response:
    return _receive("meta", request, body, database)
