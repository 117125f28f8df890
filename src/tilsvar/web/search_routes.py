"""The web UI's search page (``/search``) and saved-search inbox views (``/views/{id}``). Thin:
parse, authorize via ``access``, call ``search`` / ``inbox`` or one action, render autoescaped
templates. Snippets are rendered from ``(text, is_match)`` parts, never from HTML strings."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tilsvar import access, inbox, search
from tilsvar.actions.common import ActionError
from tilsvar.actions.search import do_create_saved_search, do_delete_saved_search
from tilsvar.api.deps import DatabaseDep
from tilsvar.models import utcnow
from tilsvar.search.engine import Order
from tilsvar.search.saved import access_saved_search, inbox_scope, saved_searches
from tilsvar.web.i18n import N_
from tilsvar.web.routes import not_found, render
from tilsvar.web.session import CsrfUser, WebContext, WebUser

router = APIRouter(include_in_schema=False)

# Facet name -> the query field that narrows to one of its values.
FACET_FIELDS = {
    "platform": "channel",
    "brand": "brand",
    "language": "lang",
    "intent": "intent",
    "sentiment": "sentiment",
    "status": "status",
}
FACET_TITLES = {
    "platform": N_("Platform"),
    "brand": N_("Brand"),
    "language": N_("Language"),
    "intent": N_("Intent"),
    "sentiment": N_("Sentiment"),
    "status": N_("Status"),
}


def _narrow(q: str, name: str, value: str) -> str:
    if not value:
        return q
    term = f'{FACET_FIELDS[name]}:"{value}"' if " " in value else f"{FACET_FIELDS[name]}:{value}"
    return f"{q} {term}".strip()


def _search_values(
    database: Any, context: WebContext, q: str, cursor: str | None, order: Order
) -> dict[str, Any]:
    result: search.SearchResult | None = None
    error = ""
    with database.reader() as session:
        if q.strip():
            try:
                result = search.search(
                    session,
                    brand_ids=access.brand_ids(session, context.user),
                    query=q,
                    cursor=cursor,
                    order=order,
                    limit=25,
                )
            except search.QueryError as problem:
                error = str(problem)
        saved = saved_searches(session, context.user)
    facets = []
    if result is not None:
        for name, values in result.facets.items():
            links = [
                (
                    item.label,
                    item.count,
                    "/search?" + urlencode({"q": _narrow(q, name, item.value), "order": order}),
                )
                for item in values[:12]
            ]
            facets.append((FACET_TITLES[name], links))
    next_url = ""
    if result is not None and result.next_cursor:
        next_url = "/search?" + urlencode({"q": q, "order": order, "cursor": result.next_cursor})
    return {
        "q": q,
        "order": order,
        "result": result,
        "facets": facets,
        "error": error,
        "next_url": next_url,
        "saved": saved,
    }


@router.get("/search")
def search_page(
    request: Request,
    database: DatabaseDep,
    context: WebUser,
    q: str = "",
    cursor: str | None = None,
    order: str = "newest",
) -> HTMLResponse:
    access.require(context.user, "read")
    chosen: Order = "relevance" if order == "relevance" else "newest"
    values = _search_values(database, context, q[:1000], cursor or None, chosen)
    status = 400 if values["error"] else 200
    return render(request, "search.html", context, status_code=status, save_error="", **values)


@router.post("/search/saved")
def save_search(
    request: Request,
    database: DatabaseDep,
    context: CsrfUser,
    name: Annotated[str, Form()] = "",
    q: Annotated[str, Form()] = "",
    shared: Annotated[str, Form()] = "",
) -> Response:
    access.require(context.user, "read")
    try:
        with database.session() as session:
            saved = do_create_saved_search(
                session, user=context.user, name=name, query=q, shared=shared == "on"
            )
            saved_id = saved.id
    except ActionError as error:
        values = _search_values(database, context, q[:1000], None, "newest")
        return render(request, "search.html", context, status_code=422, save_error=error.reason, **values)
    return RedirectResponse(f"/views/{saved_id}", status_code=303)


def _view_values(
    database: Any, context: WebContext, saved_search_id: int, cursor: str | None
) -> dict[str, Any]:
    filters = inbox.InboxFilter(view="all", sort="recent")
    with database.reader() as session:
        saved = access_saved_search(session, context.user, saved_search_id)
        within = inbox_scope(session, context.user, saved_search_id=saved_search_id)
        try:
            page = inbox.list_conversations(
                session, context.user, filters=filters, cursor=cursor, limit=50, within=within
            )
        except ValueError:
            page = inbox.list_conversations(session, context.user, filters=filters, limit=50, within=within)
        session.expunge(saved)
    return {
        "saved_search": saved,
        "rows": page.rows,
        "now": utcnow(),
        "next_url": f"/views/{saved_search_id}?{urlencode({'cursor': page.next_cursor})}"
        if page.next_cursor
        else "",
        "rows_url": f"/views/{saved_search_id}/rows?{urlencode({'cursor': cursor or ''})}",
        "can_delete": saved.user_id == context.user.id or context.user.role == "admin",
    }


@router.get("/views/{saved_search_id}")
def saved_view(
    request: Request, database: DatabaseDep, context: WebUser, saved_search_id: int, cursor: str | None = None
) -> HTMLResponse:
    access.require(context.user, "read")
    try:
        values = _view_values(database, context, saved_search_id, cursor or None)
    except access.NotFound:
        return not_found(request, context)
    return render(request, "saved_view.html", context, **values)


@router.get("/views/{saved_search_id}/rows")
def saved_view_rows(
    request: Request, database: DatabaseDep, context: WebUser, saved_search_id: int, cursor: str | None = None
) -> HTMLResponse:
    access.require(context.user, "read")
    try:
        values = _view_values(database, context, saved_search_id, cursor or None)
    except access.NotFound:
        return not_found(request, context)
    return render(request, "_inbox_rows.html", context, **values)


@router.post("/views/{saved_search_id}/delete")
def delete_saved_view(
    request: Request, database: DatabaseDep, context: CsrfUser, saved_search_id: int
) -> Response:
    try:
        with database.session() as session:
            saved = access_saved_search(session, context.user, saved_search_id)
            do_delete_saved_search(session, user=context.user, saved=saved)
    except access.NotFound:
        return not_found(request, context)
    except ActionError as error:
        raise HTTPException(error.status, error.reason) from error
    return RedirectResponse("/search", status_code=303)
