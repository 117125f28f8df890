"""Reading saved searches: the ones a user may use (their own and the organisation's shared ones),
and the inbox restriction a saved search or an ad-hoc query stands for."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from tilsvar import access
from tilsvar.access import NotFound
from tilsvar.models import SavedSearch, User
from tilsvar.search.engine import conversation_ids


def saved_searches(session: Session, user: User) -> list[SavedSearch]:
    """The user's own saved searches and those shared in the organisation, by name."""
    return list(
        session.scalars(
            select(SavedSearch)
            .where(
                SavedSearch.organization_id == user.organization_id,
                or_(SavedSearch.user_id == user.id, SavedSearch.shared.is_(True)),
            )
            .order_by(SavedSearch.name, SavedSearch.id)
        )
    )


def access_saved_search(session: Session, user: User, saved_search_id: int) -> SavedSearch:
    saved = session.get(SavedSearch, saved_search_id)
    if (
        saved is None
        or saved.organization_id != user.organization_id
        or (saved.user_id != user.id and not saved.shared)
    ):
        raise NotFound(f"saved search {saved_search_id}")
    return saved


def inbox_scope(
    session: Session, user: User, *, q: str | None = None, saved_search_id: int | None = None
) -> Select[Any] | None:
    """The conversation ids an inbox view is restricted to (``None``: no restriction).

    Raises ``NotFound`` for a saved search the user may not use and ``QueryError`` for a bad query."""
    queries = []
    if saved_search_id is not None:
        queries.append(access_saved_search(session, user, saved_search_id).query)
    if q and q.strip():
        queries.append(q)
    if not queries:
        return None
    return conversation_ids(
        session, brand_ids=access.brand_ids(session, user), query=" ".join(f"({query})" for query in queries)
    )
