"""SQLAlchemy models, one module per entity group; importing this package registers them all."""

from tilsvar.models.base import Base, utcnow
from tilsvar.models.channels import Channel
from tilsvar.models.contacts import Contact, Identity
from tilsvar.models.conversations import Conversation, ConversationTag, Message, Tag
from tilsvar.models.jobs import Job
from tilsvar.models.log import AuditEntry, DomainEvent, RawEvent
from tilsvar.models.org import ApiToken, Brand, Organization, Team, TeamMember, User, UserBrand, WebSession
from tilsvar.models.search import SavedSearch

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Base",
    "Brand",
    "Channel",
    "Contact",
    "Conversation",
from tilsvar.models.security import SignInAttempt
    "ConversationTag",
    "DomainEvent",
    "Identity",
    "Job",
    "Message",
    "Organization",
    "RawEvent",
    "SavedSearch",
    "Tag",
    "Team",
    "TeamMember",
    "User",
    "UserBrand",
    "WebSession",
    "utcnow",
]

from tilsvar.models import workflow  # noqa: F401  (registers the workflow tables)
    "SignInAttempt",
