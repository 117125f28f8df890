"""Meta connector: Facebook Page feed comments and visitor posts, Messenger, and Instagram comments
and Direct messages, through the one ``/webhooks/meta`` endpoint and the Graph API."""

from tilsvar.channels.meta.inbound import (
    SIGNATURE_HEADER,
    accounts,
    handshake,
    parse,
    sign,
    verify_signature,
)
from tilsvar.channels.meta.outbound import MetaConnector, map_error

__all__ = [
    "SIGNATURE_HEADER",
    "MetaConnector",
    "accounts",
    "handshake",
    "map_error",
    "parse",
    "sign",
    "verify_signature",
]
