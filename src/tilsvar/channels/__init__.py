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
    OutboundReply,
    SendResult,
    normalize_account,
)
from tilsvar.channels.generic_api import GenericApiConnector
from tilsvar.channels.linkedin import LinkedInConnector
from tilsvar.channels.meta import MetaConnector
from tilsvar.channels.simulated import SimulatedConnector
from tilsvar.channels.x import XConnector

CONNECTORS: dict[str, Connector] = {
    "api": GenericApiConnector(),
    "facebook": MetaConnector("facebook"),
    "instagram": MetaConnector("instagram"),
    "x": XConnector(),
    "linkedin": LinkedInConnector(),
}


def connector_for(platform: str, mode: str) -> Connector:
    """The connector that delivers replies for a channel of ``platform`` in ``mode``."""
    if mode == "simulated":
        return SimulatedConnector()
    connector = CONNECTORS.get(platform)
    if connector is None:
        raise DeliveryError(f"no connector for platform {platform!r} is installed", retryable=False)
    return connector


__all__ = [
    "CONNECTORS",
    "PLATFORMS",
    "Author",
    "Connector",
    "DeliveryError",
    "InboundMessage",
    "OutboundReply",
    "SendResult",
    "connector_for",
    "normalize_account",
]
