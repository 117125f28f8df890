"""The ASGI application: JSON API, web UI, static files, security headers, and (on SQLite, or when
configured) an in-process job worker that lives as long as the server."""

from __future__ import annotations

import html
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError

from tilsvar import __version__
from tilsvar.access import Forbidden, NotFound
from tilsvar.actions.common import ActionError
from tilsvar.db import Database, get_database
from tilsvar.settings import Settings, get_settings
from tilsvar.web_security import SecurityMiddleware

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "web" / "static"


def _error(request: Request, status: int, detail: str) -> Response:
    """JSON for the API, a plain escaped page for the web UI."""
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": detail}, status_code=status)
    body = f"<!doctype html><title>{status}</title><h1>{status}</h1><p>{html.escape(detail)}</p>"
    return HTMLResponse(body, status_code=status)


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    database = database or get_database(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        thread: threading.Thread | None = None
        # A worker thread when configured, or when `process` was asked for but no one started the
        # child process (the app embedded elsewhere, e.g. a test server): jobs must still run.
        wanted = settings.serve_worker == "thread" or (
            settings.serve_worker == "process" and not app.state.worker_process
        )
        if wanted and app.state.start_worker:
            from tilsvar.jobs.worker import Worker

            worker = Worker(database)
            thread = threading.Thread(
                target=worker.run_forever, args=(stop,), name="tilsvar-worker", daemon=True
            )
            thread.start()
        listener = None
        if app.state.start_worker:  # background services: off in API tests that drive jobs themselves
            from tilsvar.notify import start_listener

            listener = start_listener(database.url, stop)
        yield
        stop.set()
        if listener is not None:
            listener.join(timeout=5)
        if thread is not None:
            from tilsvar.jobs.queue import wakeup

            wakeup.set()
            thread.join(timeout=10)

    app = FastAPI(
        title="Tilsvar",
        version=__version__,
        description="One inbox for every customer channel. Authenticate with `Authorization: Bearer <token>`."
        " Create a token with `tilsvar users token --email ...`.",
        lifespan=lifespan,
        docs_url=None,  # served by the web router from vendored Swagger UI (no CDN)
        redoc_url=None,
    )
    app.state.database = database
    app.state.settings = settings
    app.state.start_worker = True
    app.state.worker_process = False  # `tilsvar serve` sets it when it started a worker child process

    # Webhook deliveries skip routing and dependencies (inside the security middleware below).
    from tilsvar.api.webhooks import WebhookFastPath

    app.add_middleware(WebhookFastPath)
    # Security headers, body size limits and the same-origin check (tilsvar.web_security).
    app.add_middleware(SecurityMiddleware, settings=settings)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, error: NotFound) -> Response:
        return _error(request, 404, f"not found: {error}")

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, error: Forbidden) -> Response:
        return _error(request, 403, str(error))

    @app.exception_handler(OverflowError)
    async def id_out_of_range(request: Request, overflow: OverflowError) -> Response:
        # An id beyond 64 bits (SQLite refuses to bind it): no such object.
        del overflow
        return _error(request, 404, "not found")

    @app.exception_handler(DataError)
    async def value_out_of_range(request: Request, data_error: DataError) -> Response:
        # PostgreSQL refused a value (an id out of bigint range, a number out of range): bad input.
        del data_error
        return _error(request, 404 if request.url.path.count("/") > 3 else 400, "not found or out of range")

    @app.exception_handler(ActionError)
    async def action_error(_request: Request, error: ActionError) -> Response:
        return JSONResponse({"detail": error.reason}, status_code=error.status)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    from tilsvar.api.routes import router as api_router

    app.include_router(api_router)
    from tilsvar.api.search_routes import router as search_api_router

    app.include_router(search_api_router)
    from tilsvar.api.workflow_routes import router as workflow_api_router

    app.include_router(workflow_api_router)
    from tilsvar.api.faq_routes import router as faq_api_router
    from tilsvar.api.trends_routes import router as trends_api_router

    app.include_router(faq_api_router)
    app.include_router(trends_api_router)
    from tilsvar.api.listening_routes import router as listening_api_router

    app.include_router(listening_api_router)
    from tilsvar.api.webhooks import router as webhooks_router

    app.include_router(webhooks_router)
    from tilsvar.api.webchat import router as webchat_router

    app.include_router(webchat_router)
    from tilsvar.api.files import router as files_router

    app.include_router(files_router)
    from tilsvar.api.security_routes import router as security_api_router

    app.include_router(security_api_router)
    from tilsvar.api.report_routes import router as report_api_router

    app.include_router(report_api_router)
    from tilsvar.api.privacy_routes import router as privacy_api_router

    app.include_router(privacy_api_router)
    try:
        from tilsvar.web.routes import router as web_router
    except ImportError:  # pragma: no cover - the web UI is optional in stripped-down builds
        log.warning("web UI not available")
    else:
        from tilsvar.web.account_routes import router as account_web_router
        from tilsvar.web.inbox_routes import router as inbox_web_router
        from tilsvar.web.moderation_routes import router as moderation_web_router
        from tilsvar.web.oidc_routes import router as oidc_web_router
        from tilsvar.web.search_routes import router as search_web_router

        app.include_router(inbox_web_router)  # before web_router: /inbox/counts is not a conversation
        app.include_router(web_router)
        from tilsvar.web.attachment_routes import router as attachment_web_router

        app.include_router(attachment_web_router)
        app.include_router(account_web_router)
        app.include_router(oidc_web_router)
        from tilsvar.web.channel_routes import router as channel_web_router

        app.include_router(channel_web_router)
        app.include_router(search_web_router)
        from tilsvar.web.workflow_routes import router as workflow_web_router

        app.include_router(workflow_web_router)
        app.include_router(moderation_web_router)
        from tilsvar.web.knowledge_routes import router as knowledge_web_router

        app.include_router(knowledge_web_router)
        from tilsvar.web.listening_routes import router as listening_web_router

        app.include_router(listening_web_router)
        from tilsvar.web.dashboard_routes import router as dashboard_web_router

        app.include_router(dashboard_web_router)
        from tilsvar.web.privacy_routes import router as privacy_web_router

        app.include_router(privacy_web_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _document_refusals(app)
    return app


def _document_refusals(app: FastAPI) -> None:
    """Say in the OpenAPI document what 422 answers really look like: FastAPI's list of validation
    errors for malformed requests, or one sentence (``{"detail": "..."}``) when an action refuses a
    well-formed request (e.g. a routing rule that names an unknown field)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            detail = schema.get("components", {}).get("schemas", {}).get("HTTPValidationError", {})
            properties = detail.get("properties", {})
            if "detail" in properties:
                properties["detail"] = {
                    "title": "Detail",
                    "anyOf": [properties["detail"], {"type": "string"}],
                }
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
