"""Search over every message on every channel: one interface (:func:`search`), two engines (SQLite
FTS5 and PostgreSQL full-text), maintained by database triggers. See docs/search.md."""

from tilsvar.search.engine import FACETS, FacetValue, Hit, SearchResult, conversation_ids, search
from tilsvar.search.query import ParsedQuery, QueryError, parse

__all__ = [
    "FACETS",
    "FacetValue",
    "Hit",
    "ParsedQuery",
    "QueryError",
    "SearchResult",
    "conversation_ids",
    "parse",
    "search",
]
