"""The web chat widget's public endpoints, scoped by the channel's public key:

- ``GET /widget/<key>.js``: the widget script for a brand's pages;
- ``GET|POST /api/widget/<key>/messages``: read one visitor's transcript, post a message. The visitor
  is the holder of the random token the widget keeps in localStorage (``X-Visitor-Token``);
- ``GET /api/widget/<key>/faq?q=``: the brand's FAQ articles for what the visitor is typing, and
  ``POST /api/widget/<key>/faq/<id>/open``: one article as plain text, recorded as *opened* by this
  visitor (the same id their chat messages carry, so deflection can tell whether they wrote after).

No sign-in, so they are fenced instead: CORS limited to the channel's allowed origins (anything else
→ 403), an unknown key → 404, bodies over 8 KB or texts over 2000 characters → 413, and per-address
rate limits → 429.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from tilsvar.actions.faq import do_record_faq_event
from tilsvar.actions.webchat import chat_transcript, do_post_chat_message, webchat_channel
from tilsvar.api.deps import DatabaseDep, ReadSession
from tilsvar.api.faq_routes import MODE_HELP, SuggestMode
from tilsvar.channels.webchat import (
    MAX_BODY_BYTES,
    MAX_TEXT_CHARS,
    RateLimiter,
    origin_allowed,
    valid_token,
    visitor_id,
    widget_script,
)
from tilsvar.db import Database
from tilsvar.faq.service import plain_text, snippet, suggest
from tilsvar.models import Brand, Channel
from tilsvar.models.knowledge import FaqArticle
from tilsvar.settings import get_settings

router = APIRouter(tags=["web chat"])
POSTS = RateLimiter(per_minute=20, burst=10)
READS = RateLimiter(per_minute=120, burst=30)
FAQ = RateLimiter(per_minute=240, burst=60)  # one request per pause in typing
ALLOWED_HEADERS = "Content-Type, X-Visitor-Token"


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers or {})


def _cors(origin: str) -> dict[str, str]:
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


def _channel(database: Database, public_key: str) -> tuple[int, str, list[str]] | None:
    with database.reader() as session:
        channel = webchat_channel(session, public_key=public_key)
        if channel is None:
            return None
        return channel.id, channel.account, list((channel.config or {}).get("allowed_origins") or [])


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/widget/{public_key}.js", include_in_schema=False)
def widget(public_key: str, request: Request, session: ReadSession) -> Response:
    channel: Channel | None = webchat_channel(session, public_key=public_key)
    if channel is None:
        return Response("/* no such chat */", status_code=404, media_type="application/javascript")
    settings = request.app.state.settings
    base = settings.base_url.rstrip("/") or str(request.base_url).rstrip("/")
    script = widget_script(
        base_url=base, public_key=public_key, title=str((channel.config or {}).get("title") or "")
    )
    return Response(
        script,
        media_type="application/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300", "Cross-Origin-Resource-Policy": "cross-origin"},
    )


@router.options("/api/widget/{public_key}/messages", include_in_schema=False)
@router.options("/api/widget/{public_key}/faq", include_in_schema=False)
@router.options("/api/widget/{public_key}/faq/{article_id}/open", include_in_schema=False)
def preflight(
    public_key: str, database: DatabaseDep, origin: Annotated[str | None, Header()] = None
) -> Response:
    found = _channel(database, public_key)
    if found is None:
        return _json(404, {"detail": "no such chat"})
    if not origin_allowed(origin, found[2]):
        return _json(403, {"detail": "this site may not use this chat"})
    assert origin is not None
    return Response(
        status_code=204,
        headers={
            **_cors(origin),
            "Access-Control-Allow-Methods": "GET, POST",
            "Access-Control-Allow-Headers": ALLOWED_HEADERS,
            "Access-Control-Max-Age": "600",
        },
    )


@router.get("/api/widget/{public_key}/messages", summary="A web chat visitor's transcript")
def read_messages(
    public_key: str,
    request: Request,
    database: DatabaseDep,
    origin: Annotated[str | None, Header()] = None,
    x_visitor_token: Annotated[str | None, Header()] = None,
) -> Response:
    found = _channel(database, public_key)
    if found is None:
        return _json(404, {"detail": "no such chat"})
    channel_id, _, allowed = found
    if not origin_allowed(origin, allowed):
        return _json(403, {"detail": "this site may not use this chat"})
    assert origin is not None
    headers = _cors(origin)
    if not READS.allow(f"{channel_id}:{_client(request)}"):
        return _json(429, {"detail": "too many requests"}, {**headers, "Retry-After": "5"})
    if not valid_token(x_visitor_token):
        return _json(401, {"detail": "X-Visitor-Token missing or malformed"}, headers)
    assert x_visitor_token is not None
    with database.reader() as session:
        transcript = chat_transcript(session, channel_id=channel_id, visitor=visitor_id(x_visitor_token))
    return _json(200, {"messages": transcript}, {**headers, "Cache-Control": "no-store"})


@router.post(
    "/api/widget/{public_key}/messages", summary="Post a web chat visitor's message", status_code=201
)
async def post_message(
    public_key: str,
    request: Request,
    database: DatabaseDep,
    origin: Annotated[str | None, Header()] = None,
    x_visitor_token: Annotated[str | None, Header()] = None,
) -> Response:
    found = await run_in_threadpool(_channel, database, public_key)
    if found is None:
        return _json(404, {"detail": "no such chat"})
    channel_id, _, allowed = found
    if not origin_allowed(origin, allowed):
        return _json(403, {"detail": "this site may not use this chat"})
    assert origin is not None
    headers = _cors(origin)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return _json(413, {"detail": f"at most {MAX_BODY_BYTES} bytes"}, headers)
    if not POSTS.allow(f"{channel_id}:{_client(request)}"):
        return _json(429, {"detail": "too many messages; wait a moment"}, {**headers, "Retry-After": "10"})
    if not valid_token(x_visitor_token):
        return _json(401, {"detail": "X-Visitor-Token missing or malformed"}, headers)
    assert x_visitor_token is not None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return _json(413, {"detail": f"at most {MAX_BODY_BYTES} bytes"}, headers)
    try:
        payload = json.loads(body)
    except ValueError:
        return _json(400, {"detail": "the body must be JSON"}, headers)
    if not isinstance(payload, dict) or not isinstance(payload.get("text"), str):
        return _json(422, {"detail": 'expected {"text": "..."}'}, headers)
    text = payload["text"].strip()
    if not text:
        return _json(422, {"detail": "the message is empty"}, headers)
    if len(text) > MAX_TEXT_CHARS:
        return _json(413, {"detail": f"at most {MAX_TEXT_CHARS} characters"}, headers)
    client_id = payload.get("client_id") if isinstance(payload.get("client_id"), str) else None
    name = payload.get("name") if isinstance(payload.get("name"), str) else ""

    def store() -> int:
        with database.session() as session:
            return do_post_chat_message(
                session,
                channel_id=channel_id,
                visitor=visitor_id(x_visitor_token),
                text=text,
                client_id=client_id,
                name=name or "",
            )

    message_id = await run_in_threadpool(store)
    return _json(201, {"id": message_id}, headers)


# -- FAQ suggestions in the widget ---------------------------------------------------------------


def _chat_brand(database: Database, public_key: str) -> tuple[int, int, int, list[str]] | None:
    """(channel id, brand id, organisation id, allowed origins) of an active web chat key."""
    with database.reader() as session:
        channel = webchat_channel(session, public_key=public_key)
        if channel is None:
            return None
        organization_id = session.scalar(select(Brand.organization_id).where(Brand.id == channel.brand_id))
        allowed = list((channel.config or {}).get("allowed_origins") or [])
        return channel.id, channel.brand_id, int(organization_id or 0), allowed


def _safe_url(url: str) -> str:
    """Only web links go to the widget (never ``javascript:`` or ``data:``)."""
    return url if url.lower().startswith(("https://", "http://")) else ""


def _language(value: str | None) -> str | None:
    """``da-DK`` → ``da``; anything odd → no language filter."""
    code = (value or "").split("-")[0].strip().lower()
    return code if code.isalpha() and 2 <= len(code) <= 3 else None


@router.get("/api/widget/{public_key}/faq", summary="FAQ articles for what a web chat visitor types")
def widget_faq(
    public_key: str,
    request: Request,
    database: DatabaseDep,
    q: Annotated[str, Query(max_length=500)] = "",
    language: Annotated[str | None, Query(max_length=16)] = None,
    mode: Annotated[SuggestMode, Query(description=MODE_HELP)] = "keystroke",
    origin: Annotated[str | None, Header()] = None,
) -> Response:
    """Up to three published articles of the chat's brand (or of every brand):
    ``{"suggestions": [{"article_id", "title", "snippet", "url"}], "mode"}``."""
    found = _chat_brand(database, public_key)
    if found is None:
        return _json(404, {"detail": "no such chat"})
    channel_id, brand_id, organization_id, allowed = found
    if not origin_allowed(origin, allowed):
        return _json(403, {"detail": "this site may not use this chat"})
    assert origin is not None
    headers = _cors(origin)
    if not FAQ.allow(f"{channel_id}:{_client(request)}"):
        return _json(429, {"detail": "too many requests"}, {**headers, "Retry-After": "5"})
    with database.reader() as session:
        suggestions = suggest(
            session,
            organization_id=organization_id,
            text=q,
            brand_id=brand_id,
            language=_language(language),
            k=3,
            min_score=get_settings().faq_min_score,
            settled=mode == "settled",
        )
    items = [
        {
            "article_id": s.article_id,
            "title": s.title,
            "snippet": s.short or snippet(s.body),
            "url": _safe_url(s.url),
        }
        for s in suggestions
    ]
    return _json(
        200, {"suggestions": items, "mode": suggestions.mode}, {**headers, "Cache-Control": "no-store"}
    )


@router.post(
    "/api/widget/{public_key}/faq/{article_id}/open",
    summary="A web chat visitor opens an FAQ article (counted for deflection)",
)
def widget_faq_open(
    public_key: str,
    article_id: int,
    request: Request,
    database: DatabaseDep,
    origin: Annotated[str | None, Header()] = None,
    x_visitor_token: Annotated[str | None, Header()] = None,
) -> Response:
    """The article as plain text ``{"article_id", "title", "body", "url"}``; the open is recorded for
    this visitor, and becomes a deflected contact if they write no chat message within
    TILSVAR_FAQ_DEFLECTION_MINUTES."""
    found = _chat_brand(database, public_key)
    if found is None:
        return _json(404, {"detail": "no such chat"})
    channel_id, brand_id, organization_id, allowed = found
    if not origin_allowed(origin, allowed):
        return _json(403, {"detail": "this site may not use this chat"})
    assert origin is not None
    headers = _cors(origin)
    if not FAQ.allow(f"{channel_id}:{_client(request)}"):
        return _json(429, {"detail": "too many requests"}, {**headers, "Retry-After": "5"})
    if not valid_token(x_visitor_token):
        return _json(401, {"detail": "X-Visitor-Token missing or malformed"}, headers)
    assert x_visitor_token is not None
    with database.session() as session:
        article = session.get(FaqArticle, article_id)
        if (
            article is None
            or article.organization_id != organization_id
            or article.status != "published"
            or article.brand_id not in (None, brand_id)
        ):
            return _json(404, {"detail": "no such article"}, headers)
        do_record_faq_event(
            session,
            article=article,
            kind="opened",
            source="widget",
            visitor=visitor_id(x_visitor_token),
            brand_id=brand_id,
        )
        body = {
            "article_id": article.id,
            "title": article.title,
            "body": plain_text(article.body),
            "url": _safe_url(article.url),
        }
    return _json(200, body, {**headers, "Cache-Control": "no-store"})
