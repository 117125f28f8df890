"""Web forms for moderation: hide, unhide (undo) or delete a customer's public message with a reason,
and clear a flag. Thin: authorize through ``access``, call one action, re-render the thread."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, Response
from fastapi.responses import RedirectResponse

from tilsvar import access
from tilsvar.actions.common import ActionError
from tilsvar.actions.moderation import ACTIONS, do_clear_flag, do_moderate_message
from tilsvar.api.deps import DatabaseDep
from tilsvar.web.routes import _conversation_values, not_found, render
from tilsvar.web.session import CsrfUser

router = APIRouter(include_in_schema=False)


@router.post("/messages/{message_id}/moderation")
def moderate(
    request: Request,
    database: DatabaseDep,
    context: CsrfUser,
    message_id: int,
    action: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    if action not in ACTIONS:
        raise HTTPException(400, f"action must be one of {', '.join(ACTIONS)}")
    try:
        access.require(context.user, "moderate")
        with database.session() as session:
            message = access.access_message(session, context.user, message_id)
            conversation_id = message.conversation_id
            do_moderate_message(session, user=context.user, message=message, action=action, reason=reason)
    except access.NotFound:
        return not_found(request, context)
    except access.Forbidden as error:
        raise HTTPException(403, str(error)) from error
    except ActionError as error:
        raise HTTPException(error.status, error.reason) from error
    return _thread(request, database, context, conversation_id)


@router.post("/messages/{message_id}/clear-flag")
def clear_flag(
    request: Request,
    database: DatabaseDep,
    context: CsrfUser,
    message_id: int,
    reason: Annotated[str, Form()] = "looked at, fine",
) -> Response:
    try:
        access.require(context.user, "moderate")
        with database.session() as session:
            message = access.access_message(session, context.user, message_id)
            conversation_id = message.conversation_id
            do_clear_flag(session, user=context.user, message=message, reason=reason)
    except access.NotFound:
        return not_found(request, context)
    except access.Forbidden as error:
        raise HTTPException(403, str(error)) from error
    except ActionError as error:
        raise HTTPException(error.status, error.reason) from error
    return _thread(request, database, context, conversation_id)


def _thread(request: Request, database: DatabaseDep, context: CsrfUser, conversation_id: int) -> Response:
    if request.headers.get("HX-Request"):
        return render(
            request, "_thread.html", context, **_conversation_values(database, context, conversation_id)
        )
    return RedirectResponse(f"/conversations/{conversation_id}", status_code=303)
