"""The server-rendered web UI (Jinja2 + htmx, live updates over server-sent events)."""
