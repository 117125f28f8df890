"""LinkedIn connector: organisation social-action notifications at ``/webhooks/linkedin`` and
replies through the Community Management API."""

from tilsvar.channels.linkedin.inbound import (
    SIGNATURE_HEADER,
    accounts,
    challenge_response,
    delivery_id,
    parse,
    post_of,
    sign,
    verify_signature,
)
from tilsvar.channels.linkedin.outbound import LinkedInConnector, map_error

__all__ = [
    "SIGNATURE_HEADER",
    "LinkedInConnector",
    "accounts",
    "challenge_response",
    "delivery_id",
    "map_error",
    "parse",
    "post_of",
    "sign",
    "verify_signature",
]
