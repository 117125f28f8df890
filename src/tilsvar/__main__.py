"""``python -m tilsvar`` runs the command line."""

from tilsvar.cli import app

app()
