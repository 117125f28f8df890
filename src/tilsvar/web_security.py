"""HTTP-level protections for every response and request, as one pure ASGI middleware: security
headers (a strict Content-Security-Policy with no inline script or style anywhere, the Swagger UI
page included; nosniff; referrer, frame and permissions policies; HSTS over TLS), request body size
limits answered with 413 before the application reads the body, and a same-origin check on
state-changing browser requests (a second line behind the per-session CSRF tokens and SameSite
cookies, which also covers the sign-in form that has no session yet)."""

from __future__ import annotations

import json
import re
from urllib.parse import quote, urlsplit

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tilsvar.settings import Settings

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# Swagger UI renders with React, which sets style attributes; its script comes from a file.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
    "payment=(), usb=(), interest-cohort=()"
)
HSTS = "max-age=31536000; includeSubDomains"
# Endpoints whose bodies may be larger: platform webhooks (batched deliveries).
WEBHOOK_PREFIX = "/webhooks/"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class BodyTooLarge(HTTPException):
    """Raised while the application reads a body past the limit (FastAPI passes HTTP errors on)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over {limit} bytes")


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return ""


REPLY_UPLOAD_PATH = re.compile(r"^/conversations/[0-9]+/(reply|draft)$")


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.hsts = settings.secure_cookies

    def limit_for(self, path: str) -> int:
        if path.startswith(WEBHOOK_PREFIX):
            return self.settings.max_webhook_bytes
        if REPLY_UPLOAD_PATH.match(path):  # a reply with attached files (actions.reply_files)
            return max(self.settings.max_reply_upload_bytes, self.settings.max_request_bytes)
        return self.settings.max_request_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        headers = self.headers_for(path)
        if scope["method"] in UNSAFE_METHODS and not self.same_origin(scope):
            await self.refuse(send, 403, "cross-site request refused", headers)
            return
        limit = self.limit_for(path)
        declared = _header(scope, b"content-length")
        if declared.isdigit() and int(declared) > limit:
            await self.refuse(send, 413, f"request body over {limit} bytes", headers)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                present = {bytes(key).lower() for key, _ in message.get("headers", [])}
                extra = [(key, value) for key, value in headers if key not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        try:
            await self.app(scope, counted_receive, send_with_headers)
        except BodyTooLarge:
            if not started:
                await self.refuse(send, 413, f"request body over {limit} bytes", headers)

    def headers_for(self, path: str) -> list[tuple[bytes, bytes]]:
        csp = DOCS_CSP if path == "/docs" else CONTENT_SECURITY_POLICY
        headers = [
            (b"content-security-policy", csp.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"x-frame-options", b"DENY"),
            (b"permissions-policy", PERMISSIONS_POLICY.encode()),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        if self.hsts:
            headers.append((b"strict-transport-security", HSTS.encode()))
        return headers

    def same_origin(self, scope: Scope) -> bool:
        """Browsers send Origin on cross-site POSTs; when present it must name this host. API clients
        (bearer tokens, no cookies) and platforms' webhooks send none and are not affected."""
        path: str = scope["path"]
        if path.startswith(("/api/", WEBHOOK_PREFIX)):
            return True
        origin = _header(scope, b"origin")
        if not origin:
            return True
        if origin == "null":
            return False
        host = _header(scope, b"host")
        return urlsplit(origin).netloc == host

    async def refuse(self, send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]]) -> None:
        body = json.dumps({"detail": detail}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                    *headers,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


# Types a browser may show inline; anything else is served as application/octet-stream.
SAFE_INLINE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain"}


def attachment_headers(filename: str, content_type: str) -> dict[str, str]:
    """Headers for serving a customer's file: always a download (never rendered in our origin), a
    type from a short safe list or octet-stream, nosniff, and a CSP that forbids everything in case
    a browser renders it anyway."""
    safe_type = content_type.split(";", maxsplit=1)[0].strip().lower()
    if safe_type not in SAFE_INLINE_TYPES:
        safe_type = "application/octet-stream"
    ascii_name = "".join(ch if ch.isalnum() or ch in "._- " else "_" for ch in filename)[:150] or "attachment"
    encoded = quote(filename[:150], safe="")
    return {
        "Content-Type": safe_type,
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{encoded}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
    }
