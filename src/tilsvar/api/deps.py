"""FastAPI dependencies shared by the API and web routers: the database and the calling user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from tilsvar import access
from tilsvar.auth import do_note_token_used, token_use_due, user_for_token
from tilsvar.db import Database
from tilsvar.models import User

bearer = HTTPBearer(auto_error=False, description="An API token (`tilsvar users token --email ...`).")


def get_db(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def read_session(database: Annotated[Database, Depends(get_db)]) -> Iterator[Session]:
    with database.reader() as session:
        yield session


def api_user(
    database: Annotated[Database, Depends(get_db)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "an API token is required", headers={"WWW-Authenticate": "Bearer"})
    # A read (no write lock on SQLite); the token's last use is written only when it is due.
    with database.reader() as session:
        found = user_for_token(session, credentials.credentials)
        if found is None:
            raise HTTPException(401, "invalid or revoked API token", headers={"WWW-Authenticate": "Bearer"})
        user, token = found
        session.expunge(user)
    access.limit_to_scopes(user, list(token.scopes or []))
    if token_use_due(token):
        with database.session() as session:
            do_note_token_used(session, token=token)
    return user


DatabaseDep = Annotated[Database, Depends(get_db)]
ReadSession = Annotated[Session, Depends(read_session)]
ApiUser = Annotated[User, Depends(api_user)]
