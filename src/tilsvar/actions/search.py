"""Saved searches: create and delete a person's named queries (which the inbox shows as views).

The query is checked by the search parser when it is saved, so a saved view never fails to run
because of its syntax."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tilsvar.actions.common import ActionError, audit
from tilsvar.models import SavedSearch, User
from tilsvar.search.query import QueryError, parse


def do_create_saved_search(
    session: Session, *, user: User, name: str, query: str, shared: bool = False
) -> SavedSearch:
    name = name.strip()
    if not name or len(name) > 200:
        raise ActionError("a saved search needs a name of 1 to 200 characters")
    if not query.strip():
        raise ActionError("a saved search needs a query")
    try:
        parse(query)
    except QueryError as error:
        raise ActionError(str(error)) from error
    existing = session.scalar(
        select(SavedSearch).where(SavedSearch.user_id == user.id, SavedSearch.name == name)
    )
    if existing is not None:
        raise ActionError(f"you already have a saved search named {name!r}", status=409)
    saved = SavedSearch(
        organization_id=user.organization_id, user_id=user.id, name=name, query=query, shared=shared
    )
    session.add(saved)
    session.flush()
    audit(
        session,
        action="saved_search.created",
        actor_user=user,
        target_type="saved_search",
        target_id=saved.id,
        details={"name": name, "query": query, "shared": shared},
    )
    return saved


def do_delete_saved_search(session: Session, *, user: User, saved: SavedSearch) -> None:
    """Delete ``saved``: its owner may, and so may an administrator of the organisation."""
    if saved.user_id != user.id and user.role != "admin":
        raise ActionError("only its owner or an administrator may delete a saved search", status=403)
    audit(
        session,
        action="saved_search.deleted",
        actor_user=user,
        target_type="saved_search",
        target_id=saved.id,
        details={"name": saved.name},
    )
    session.delete(saved)
