"""Chorus and shitstorm detection: the pure detector (``engine``), its multilingual vocabulary
(``concepts``) and the read models for the trends pages, ``tilsvar trends`` and insights
(``queries``, ``insights``). Writes live in ``actions.trends``."""
