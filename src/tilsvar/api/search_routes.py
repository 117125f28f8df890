"""``/api/v1/search`` and ``/api/v1/saved-searches``: full-text search over every message the caller
may see (results, facets, total) and the saved searches that become inbox views. Thin: parse,
authorize via ``access``, call ``search`` or one action."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from tilsvar import access, search
from tilsvar.actions.search import do_create_saved_search, do_delete_saved_search
from tilsvar.api.deps import ApiUser, DatabaseDep, ReadSession
from tilsvar.models import SavedSearch
from tilsvar.search.engine import Order
from tilsvar.search.saved import access_saved_search, saved_searches

router = APIRouter(prefix="/api/v1")


@router.get("/search", summary="Search every message on every channel")
def search_messages(
    user: ApiUser,
    session: ReadSession,
    q: Annotated[str, Query(max_length=1000)] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    cursor: str | None = None,
    order: Order = "newest",
) -> JSONResponse:
    """Messages matching `q` in the brands the caller may see: `total`, `results` (newest first, or
    `order=relevance`) with an HTML-escaped `snippet` where matches are in `<mark>` (and the same as
    `snippet_parts`), `facets` with counts, and `next_cursor`. Beyond 2,000 matches the facets are
    the shares of a 2,000-match sample scaled to the total (`facets_are_estimates`, `counted`), and
    the total may be estimated too (`total_is_estimate`); docs/search.md says how. Syntax (ibid.):
    words, "phrases", OR, NOT/-word, and `channel: brand: lang: intent: sentiment: status: from: to: has:pii
    author:`. Personal data is never searchable or shown: the index holds redacted text."""
    access.require(user, "read")
    try:
        result = search.search(
            session,
            brand_ids=access.brand_ids(session, user),
            query=q,
            limit=limit,
            cursor=cursor,
            order=order,
        )
    except search.QueryError as error:
        raise HTTPException(400, str(error)) from error
    return JSONResponse(result.as_json())


class SavedSearchIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    query: str = Field(min_length=1, max_length=1000)
    shared: bool = False


def _saved_json(saved: SavedSearch) -> dict[str, Any]:
    return {
        "id": saved.id,
        "name": saved.name,
        "query": saved.query,
        "shared": saved.shared,
        "user_id": saved.user_id,
        "created_at": saved.created_at.isoformat(),
        "inbox_url": f"/api/v1/conversations?view=all&saved_search_id={saved.id}",
    }


@router.get("/saved-searches", summary="Saved searches: your own and the shared ones")
def list_saved_searches(user: ApiUser, session: ReadSession) -> dict[str, Any]:
    access.require(user, "read")
    return {"items": [_saved_json(saved) for saved in saved_searches(session, user)]}


@router.post("/saved-searches", status_code=201, summary="Save a search (it becomes an inbox view)")
def create_saved_search(body: SavedSearchIn, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    """Save `query` under `name`; list its conversations with
    `GET /api/v1/conversations?saved_search_id=ID`. `shared` offers it to the whole organisation."""
    access.require(user, "read")
    with database.session() as session:
        saved = do_create_saved_search(
            session, user=user, name=body.name, query=body.query, shared=body.shared
        )
        return _saved_json(saved)


@router.delete("/saved-searches/{saved_search_id}", status_code=204, summary="Delete a saved search")
def delete_saved_search(saved_search_id: int, user: ApiUser, database: DatabaseDep) -> None:
    access.require(user, "read")
    with database.session() as session:
        saved = access_saved_search(session, user, saved_search_id)
        do_delete_saved_search(session, user=user, saved=saved)
