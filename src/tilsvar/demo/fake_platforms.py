"""A fake platform API server (``tilsvar fake-platforms --port 8900``) for the demo and tests.

It accepts the outbound calls Tilsvar's connectors make to the Graph API, X, LinkedIn and YouTube,
answers each the way the platform documents (with fresh, realistic ids), and records it, so replies,
hides and deletes visibly "reach" a platform: ``/`` lists the calls newest first, ``/calls`` gives
them as JSON (``DELETE /calls`` forgets them). Point a channel at it with its config:

- Facebook / Instagram: ``graph_base = http://127.0.0.1:8900/graph``
- X: ``api_base = http://127.0.0.1:8900/x``
- LinkedIn: ``api_base = http://127.0.0.1:8900/linkedin``
- YouTube: ``api_base = http://127.0.0.1:8900/google``

Access tokens are never recorded (only whether one was sent). Nothing here talks to the outside world.
"""

from __future__ import annotations

import html
import itertools
import json
import re
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

PREFIXES = {"graph": "Graph API", "x": "X API", "linkedin": "LinkedIn", "google": "YouTube"}
SECRET_PARAMS = frozenset({"access_token", "appsecret_proof", "key"})


@dataclass(frozen=True, slots=True)
class Call:
    id: int
    at: str
    platform: str
    method: str
    path: str
    query: dict[str, str]
    body: Any
    authorized: bool
    action: str
    status: int
    answer: Any


class Recorder:
    """The calls received, newest last (bounded)."""

    def __init__(self, size: int = 2000) -> None:
        self.calls: deque[Call] = deque(maxlen=size)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, **values: Any) -> Call:
        with self._lock:
            call = Call(id=next(self._ids), at=datetime.now(UTC).isoformat(timespec="milliseconds"), **values)
            self.calls.append(call)
            return call

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()


_counter = itertools.count(1)


def _number() -> str:
    return f"{int(time.time() * 1000)}{next(_counter):04d}"


def answer_graph(method: str, parts: list[str], query: dict[str, str], body: Any) -> tuple[str, int, Any]:
    """(what it was, status, JSON) for a Graph API call; ``parts`` start after the version."""
    node = parts[0] if parts else ""
    edge = parts[1] if len(parts) > 1 else ""
    if method == "DELETE":
        return f"delete {node}", 200, {"success": True}
    if method == "POST" and edge == "messages":
        recipient = body.get("recipient", {}) if isinstance(body, dict) else {}
        target = recipient.get("id") or recipient.get("comment_id") or recipient.get("post_id") or ""
        action = "private reply" if recipient.get("comment_id") or recipient.get("post_id") else "send DM"
        return action, 200, {"recipient_id": target, "message_id": f"m_{_number()}"}
    if method == "POST" and edge in {"comments", "replies"}:
        return f"reply to comment {node}", 200, {"id": f"{node.split('_')[0]}_{_number()}"}
    fields = {**query, **(body if isinstance(body, dict) else {})}
    if method == "POST" and ("is_hidden" in fields or "hide" in fields):
        hidden = str(fields.get("is_hidden") or fields.get("hide") or "").lower() == "true"
        return f"{'hide' if hidden else 'unhide'} comment {node}", 200, {"success": True}
    if method == "GET":
        return f"read {node}", 200, {"id": node}
    return f"{method} {'/'.join(parts)}", 200, {"success": True}


def answer_x(method: str, parts: list[str], body: Any) -> tuple[str, int, Any]:
    path = "/".join(parts)
    text = body.get("text", "") if isinstance(body, dict) else ""
    if method == "POST" and path == "2/tweets":
        reply_to = (body.get("reply", {}) if isinstance(body, dict) else {}).get("in_reply_to_tweet_id", "")
        return f"reply to post {reply_to}", 201, {"data": {"id": _number(), "text": text}}
    dm = re.fullmatch(r"2/dm_conversations/with/([^/]+)/messages", path)
    if method == "POST" and dm:
        return (
            f"send DM to {dm.group(1)}",
            201,
            {"data": {"dm_conversation_id": f"{dm.group(1)}-1", "dm_event_id": _number()}},
        )
    hidden = re.fullmatch(r"2/tweets/([^/]+)/hidden", path)
    if method == "PUT" and hidden:
        value = bool(body.get("hidden")) if isinstance(body, dict) else True
        return f"{'hide' if value else 'unhide'} reply {hidden.group(1)}", 200, {"data": {"hidden": value}}
    if method == "DELETE" and re.fullmatch(r"2/tweets/[^/]+", path):
        return f"delete post {parts[-1]}", 200, {"data": {"deleted": True}}
    return f"{method} /{path}", 200, {"data": {}}


def answer_linkedin(method: str, parts: list[str], body: Any) -> tuple[str, int, Any, dict[str, str]]:
    path = "/".join(parts)
    comments = re.fullmatch(r"rest/socialActions/([^/]+)/comments", path)
    if method == "POST" and comments:
        target = comments.group(1)
        comment_id = _number()
        post = body.get("object", target) if isinstance(body, dict) else target
        urn = f"urn:li:comment:({post},{comment_id})"
        return f"comment on {target}", 201, {}, {"x-restli-id": urn}
    if method == "DELETE":
        return f"delete {path}", 204, None, {}
    return f"{method} /{path}", 200, {}, {}


def answer_youtube(method: str, parts: list[str], query: dict[str, str], body: Any) -> tuple[str, int, Any]:
    path = "/".join(parts)
    if method == "GET" and path == "youtube/v3/commentThreads":
        return (
            "list comment threads",
            200,
            {"kind": "youtube#commentThreadListResponse", "pageInfo": {"totalResults": 0}, "items": []},
        )
    if method == "POST" and path == "youtube/v3/comments":
        snippet = body.get("snippet", {}) if isinstance(body, dict) else {}
        parent = str(snippet.get("parentId", ""))
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        comment = {
            "kind": "youtube#comment",
            "etag": f"etag{_number()}",
            "id": f"{parent}.{_number()}",
            "snippet": {
                "parentId": parent,
                "textOriginal": snippet.get("textOriginal", ""),
                "textDisplay": snippet.get("textOriginal", ""),
                "authorDisplayName": "@brand",
                "publishedAt": now,
                "updatedAt": now,
            },
        }
        return f"reply to comment {parent}", 200, comment
    if method == "POST" and path == "youtube/v3/comments/setModerationStatus":
        return f"set {query.get('id', '')} {query.get('moderationStatus', '')}", 204, None
    return f"{method} /{path}", 200, {}


def create_fake_platforms_app(recorder: Recorder | None = None) -> FastAPI:
    """The fake platform server as an ASGI app (``recorder`` lets tests read the calls directly)."""
    app = FastAPI(title="Tilsvar fake platforms", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.recorder = recorder = recorder or Recorder()

    @app.get("/calls")
    def calls() -> list[dict[str, Any]]:
        return [asdict(call) for call in recorder.calls]

    @app.delete("/calls", status_code=204)
    def forget() -> None:
        recorder.clear()

    @app.get("/", response_class=HTMLResponse)
    def page() -> HTMLResponse:
        rows = "".join(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{} {}</code></td><td>{}</td>"
            "<td><pre>{}</pre></td></tr>".format(
                *(
                    html.escape(str(value))
                    for value in (
                        call.at,
                        PREFIXES.get(call.platform, call.platform),
                        call.action,
                        call.method,
                        call.path,
                        call.status,
                        json.dumps(call.body, ensure_ascii=False)[:500] if call.body is not None else "",
                    )
                )
            )
            for call in reversed(recorder.calls)
        )
        return HTMLResponse(
            "<!doctype html><html><head><meta charset='utf-8'><title>Fake platforms</title>"
            "<meta http-equiv='refresh' content='5'><style>body{font-family:sans-serif}"
            "td{border-bottom:1px solid #ddd;padding:4px;vertical-align:top}"
            "pre{margin:0;white-space:pre-wrap}"
            "</style></head><body><h1>Calls Tilsvar made to the (fake) platforms</h1>"
            f"<p>{len(recorder.calls)} calls; JSON at <a href='/calls'>/calls</a>.</p><table>"
            "<tr><th>when</th><th>platform</th><th>what</th><th>call</th><th>status</th><th>body</th></tr>"
            f"{rows}</table></body></html>"
        )

    @app.api_route("/{platform}/{rest:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
    async def platform_call(platform: str, rest: str, request: Request) -> Response:
        raw = await request.body()
        body: Any
        if request.headers.get("content-type", "").startswith("application/x-www-form"):
            body = dict(parse_qsl(raw.decode(errors="replace")))
        else:
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
        query = {key: value for key, value in request.query_params.items() if key not in SECRET_PARAMS}
        authorized = bool(request.headers.get("authorization") or "access_token" in request.query_params)
        parts = [part for part in rest.split("/") if part]
        headers: dict[str, str] = {}
        if platform == "graph":
            action, status, answer = answer_graph(request.method, parts[1:], query, body)
        elif platform == "x":
            action, status, answer = answer_x(request.method, parts, body)
        elif platform == "linkedin":
            action, status, answer, headers = answer_linkedin(request.method, parts, body)
        elif platform == "google":
            action, status, answer = answer_youtube(request.method, parts, query, body)
        else:
            return JSONResponse({"error": f"unknown platform {platform!r}"}, status_code=404)
        recorder.add(
            platform=platform,
            method=request.method,
            path="/" + rest,
            query=query,
            body=body,
            authorized=authorized,
            action=action,
            status=status,
            answer=answer,
        )
        if answer is None:
            return Response(status_code=status, headers=headers)
        return JSONResponse(answer, status_code=status, headers=headers)

    return app
