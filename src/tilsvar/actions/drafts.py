"""Drafts: replies written but not sent — kept for later, sent to a colleague for review ("don't reply
in anger — ask a colleague"), or held because a routing rule requires approval (e.g. press replies).

A conversation whose routing set ``require_approval`` refuses direct replies from people who may not
approve (``do_reply`` answers 409); they submit a draft instead, which waits in the approval queue
until a member of the approval team (or a supervisor or admin) approves it — then it is sent exactly
as approved — or rejects it with a comment.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tilsvar import access
from tilsvar.actions.common import ActionError, audit
from tilsvar.actions.replies import check_reply_text, do_reply
from tilsvar.actions.timeline import add_timeline, notify
from tilsvar.models import Channel, Conversation, Team, TeamMember, User, utcnow
from tilsvar.models.workflow import ConversationWorkflowState, ReplyDraft

APPROVER_ROLES = frozenset({"admin", "supervisor"})


def approval_needed(session: Session, conversation: Conversation) -> ConversationWorkflowState | None:
    state = session.get(ConversationWorkflowState, conversation.id)
    return state if state is not None and state.requires_approval else None


def may_approve(session: Session, user: User, state: ConversationWorkflowState) -> bool:
    if user.role in APPROVER_ROLES:
        return True
    if state.approval_team_id is None:
        return False
    return session.get(TeamMember, (state.approval_team_id, user.id)) is not None


def check_reply_allowed(session: Session, *, user: User, conversation: Conversation) -> None:
    state = approval_needed(session, conversation)
    if state is None or may_approve(session, user, state):
        return
    team = session.get(Team, state.approval_team_id) if state.approval_team_id else None
    who = f"team {team.name}" if team else "a supervisor"
    raise ActionError(
        f"replies in this conversation need approval by {who}: submit your reply for approval", status=409
    )


def _approvers(
    session: Session, conversation: Conversation, state: ConversationWorkflowState | None
) -> list[int]:
    if state is not None and state.approval_team_id is not None:
        return list(
            session.scalars(select(TeamMember.user_id).where(TeamMember.team_id == state.approval_team_id))
        )
    return list(
        session.scalars(
            select(User.id).where(
                User.organization_id == conversation.organization_id,
                User.role.in_(APPROVER_ROLES),
                User.is_active.is_(True),
            )
        )
    )


def do_save_draft(
    session: Session,
    *,
    user: User,
    conversation: Conversation,
    text: str,
    reviewer_id: int | None = None,
    submit: bool = False,
) -> ReplyDraft:
    """Keep a draft; with ``reviewer_id`` ask that colleague to review it; with ``submit`` (or when the
    conversation requires approval and a reviewer is not named) put it in the approval queue."""
    channel = session.get_one(Channel, conversation.channel_id)
    text = check_reply_text(platform=channel.platform, text=text)
    state = approval_needed(session, conversation)
    draft = ReplyDraft(conversation_id=conversation.id, author_user_id=user.id, text=text, comment="")
    if reviewer_id is not None:
        reviewer = session.get(User, reviewer_id)
        if (
            reviewer is None
            or reviewer.organization_id != user.organization_id
            or not reviewer.is_active
            or conversation.brand_id not in access.brand_ids(session, reviewer)
        ):
            raise ActionError(f"no colleague {reviewer_id} who may see this conversation", status=422)
        draft.status = "review"
        draft.reviewer_user_id = reviewer.id
    elif submit or state is not None:
        draft.status = "approval"
        draft.approval_team_id = state.approval_team_id if state else None
    else:
        draft.status = "draft"
    session.add(draft)
    session.flush()
    if draft.status != "draft":
        targets = (
            [draft.reviewer_user_id] if draft.reviewer_user_id else _approvers(session, conversation, state)
        )
        what = "review" if draft.status == "review" else "approval"
        notify(
            session,
            user_ids=[t for t in targets if t is not None],
            kind=f"draft_{what}",
            text=f"{user.name} asks for your {what} of a reply",
            conversation=conversation,
            skip_user_id=user.id,
        )
        add_timeline(
            session,
            conversation=conversation,
            kind="draft",
            summary=f"Reply draft sent for {what}",
            actor_user=user,
            details={"draft_id": draft.id, "status": draft.status},
        )
    audit(session, action="draft.saved", actor_user=user, target_type="draft", target_id=draft.id)
    return draft


def access_draft(session: Session, user: User, draft_id: int) -> tuple[ReplyDraft, Conversation]:
    draft = session.get(ReplyDraft, draft_id)
    if draft is None:
        raise access.NotFound(f"draft {draft_id}")
    return draft, access.access_conversation(session, user, draft.conversation_id)


def do_decide_draft(
    session: Session, *, user: User, draft_id: int, approve: bool, comment: str = "", text: str | None = None
) -> ReplyDraft:
    """Approve (and send, optionally edited) or reject a draft waiting for review or approval."""
    draft, conversation = access_draft(session, user, draft_id)
    if draft.status not in ("review", "approval"):
        raise ActionError(f"this draft is {draft.status}, not waiting for a decision", status=409)
    state = approval_needed(session, conversation)
    if draft.status == "review" and draft.reviewer_user_id != user.id and user.role not in APPROVER_ROLES:
        raise access.Forbidden("only the colleague asked may review this draft")
    allowed = (state is not None and may_approve(session, user, state)) or user.role in APPROVER_ROLES
    if draft.status == "approval" and not allowed:
        raise access.Forbidden("you may not approve replies in this conversation")
    access.require(user, "reply")
    draft.decided_by_user_id = user.id
    draft.decided_at = utcnow()
    draft.comment = comment.strip()[:1000]
    if text is not None and text.strip():
        draft.text = text.strip()
    if approve:
        author = session.get(User, draft.author_user_id) if draft.author_user_id else None
        sender = author if author is not None and author.is_active and draft.status == "review" else user
        message = do_reply(
            session,
            user=sender,
            conversation=conversation,
            text=draft.text,
            idempotency_key=f"draft-{draft.id}",
            approved=draft.status == "approval" or sender is user,
        )
        draft.message_id = message.id
        draft.status = "sent"
    else:
        draft.status = "rejected"
    add_timeline(
        session,
        conversation=conversation,
        kind="draft",
        summary=f"Draft {'approved and sent' if approve else 'rejected'} by {user.name}"
        + (f": {draft.comment}" if draft.comment else ""),
        actor_user=user,
        details={"draft_id": draft.id, "status": draft.status},
    )
    if draft.author_user_id is not None:
        notify(
            session,
            user_ids=[draft.author_user_id],
            kind="draft_decided",
            text=f"{user.name} {'approved' if approve else 'rejected'} your reply"
            + (f": {draft.comment}" if draft.comment else ""),
            conversation=conversation,
            skip_user_id=user.id,
        )
    audit(
        session,
        action="draft.approved" if approve else "draft.rejected",
        actor_user=user,
        target_type="draft",
        target_id=draft.id,
    )
    return draft


def pending_drafts(session: Session, user: User) -> list[tuple[ReplyDraft, Conversation]]:
    """The approval queue: drafts waiting for this user's review or approval."""
    rows = session.execute(
        select(ReplyDraft, Conversation)
        .join(Conversation, Conversation.id == ReplyDraft.conversation_id)
        .where(
            ReplyDraft.status.in_(("review", "approval")),
            Conversation.brand_id.in_(access.brand_ids(session, user)),
        )
        .order_by(ReplyDraft.created_at)
    ).all()
    result = []
    for draft, conversation in rows:
        if draft.status == "review":
            if draft.reviewer_user_id == user.id or user.role in APPROVER_ROLES:
                result.append((draft, conversation))
            continue
        state = approval_needed(session, conversation)
        if (state is not None and may_approve(session, user, state)) or user.role in APPROVER_ROLES:
            result.append((draft, conversation))
    return result
