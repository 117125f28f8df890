"""SQLAlchemy models, one module per entity group; importing this package registers them all."""

from tilsvar.models.analytics import (
    AnalyticsCursor,
    KpiConversationFact,
    KpiDaily,
    KpiHourly,
    KpiResponseFact,
    ReportSchedule,
    WallScreen,
)
from tilsvar.models.base import Base, utcnow
from tilsvar.models.channels import Channel
from tilsvar.models.contacts import Contact, Identity
from tilsvar.models.conversations import ContactTag, Conversation, ConversationTag, Message, Tag
from tilsvar.models.jobs import Job
from tilsvar.models.log import AuditEntry, DomainEvent, RawEvent
from tilsvar.models.mail import EmailMailbox, EmailMessage, MessageAttachment
from tilsvar.models.org import ApiToken, Brand, Organization, Team, TeamMember, User, UserBrand, WebSession
from tilsvar.models.search import SavedSearch
from tilsvar.models.security import SignInAttempt

__all__ = [
    "AnalyticsCursor",
    "ApiToken",
    "AuditEntry",
    "Base",
    "Brand",
    "Channel",
    "Contact",
    "ContactTag",
    "Conversation",
    "ConversationTag",
    "DomainEvent",
    "EmailMailbox",
    "EmailMessage",
    "Identity",
    "Job",
    "KpiConversationFact",
    "KpiDaily",
    "KpiHourly",
    "KpiResponseFact",
    "Message",
    "MessageAttachment",
    "Organization",
    "RawEvent",
    "ReportSchedule",
    "SavedSearch",
    "SignInAttempt",
    "Tag",
    "Team",
    "TeamMember",
    "User",
    "UserBrand",
    "WallScreen",
    "WebSession",
    "utcnow",
]

from tilsvar.models import (  # noqa: F401  (register the FAQ, trends, workflow, channel health and privacy tables)
    channel_state,
    knowledge,
    listening,
    privacy,
    workflow,
)
