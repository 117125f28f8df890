"""Platform connectors: inbound parsing/verification and outbound clients. Pure: no database here.

``connector_for(platform, mode)`` returns the connector that sends for a channel; packages per
platform register themselves in ``CONNECTORS``.
"""

from __future__ import annotations

from tilsvar.channels.base import (
    PLATFORMS,
    Author,
    Connector,
    DeliveryError,
    InboundMessage,
    ModeratingConnector,
    ModerationRequest,
    OutboundReply,
    SendResult,
    normalize_account,
)
from tilsvar.channels.email import EmailConnector
from tilsvar.channels.generic_api import GenericApiConnector
from tilsvar.channels.linkedin import LinkedInConnector
from tilsvar.channels.meta import MetaConnector
from tilsvar.channels.simulated import SimulatedConnector
from tilsvar.channels.webchat import WebchatConnector
from tilsvar.channels.x import XConnector
from tilsvar.channels.youtube import YouTubeConnector

CONNECTORS: dict[str, Connector] = {
    "api": GenericApiConnector(),
    "facebook": MetaConnector("facebook"),
    "instagram": MetaConnector("instagram"),
    "x": XConnector(),
    "linkedin": LinkedInConnector(),
    "email": EmailConnector(),
    "webchat": WebchatConnector(),
    "youtube": YouTubeConnector(),
}


def connector_for(platform: str, mode: str) -> Connector:
    """The connector that delivers replies for a channel of ``platform`` in ``mode``."""
    if mode == "simulated":
        return SimulatedConnector()
    connector = CONNECTORS.get(platform)
    if connector is None:
        raise DeliveryError(f"no connector for platform {platform!r} is installed", retryable=False)
    return connector


def moderator_for(platform: str, mode: str) -> ModeratingConnector | None:
    """The connector that hides and deletes public messages on ``platform``, if it can."""
    try:
        connector = connector_for(platform, mode)
    except DeliveryError:
        return None
    return connector if isinstance(connector, ModeratingConnector) else None


__all__ = [
    "CONNECTORS",
    "PLATFORMS",
    "Author",
    "Connector",
    "DeliveryError",
    "InboundMessage",
    "ModeratingConnector",
    "ModerationRequest",
    "OutboundReply",
    "SendResult",
    "connector_for",
    "moderator_for",
    "normalize_account",
]
