"""X connector: Account Activity / X Activity API webhooks at ``/webhooks/x`` and the v2 REST API."""

from tilsvar.channels.x.inbound import (
    SIGNATURE_HEADER,
    accounts,
    crc_response,
    delivery_id,
    parse,
    sign,
    verify_signature,
)
from tilsvar.channels.x.outbound import XConnector, map_error

__all__ = [
    "SIGNATURE_HEADER",
    "XConnector",
    "accounts",
    "crc_response",
    "delivery_id",
    "map_error",
    "parse",
    "sign",
    "verify_signature",
]
