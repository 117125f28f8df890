"""The demo organisation's workflow: routing rules, a business-hours calendar, SLA policies and canned
responses, so `make demo` shows routing explanations, SLA countdowns and canned replies out of the
box instead of an empty Workflow page. Written through the same actions an administrator uses."""

from __future__ import annotations

import json
from importlib import resources

from sqlalchemy.orm import Session

from tilsvar.actions.canned import do_save_canned
from tilsvar.actions.workflow_config import (
    do_save_calendar,
    do_save_routing_rules,
    do_save_sla_policies,
    do_set_channel_workflow,
)
from tilsvar.models import Brand, Channel, User

CALENDAR = {
    "name": "Copenhagen office",
    "timezone": "Europe/Copenhagen",
    "hours": {
        **{day: ["08:00-20:00"] for day in ("mon", "tue", "wed", "thu", "fri")},
        "sat": ["10:00-16:00"],
    },
    "holidays": ["DK"],
}
# The railway's 320-minute first response around the clock; urgent conversations within an hour of
# staffed time, with a next response and a resolution target.
POLICIES = [
    {
        "id": "default-320",
        "name": "Railway default",
        "first_response": {"minutes": 320, "business_hours": False},
    },
    {
        "id": "urgent",
        "name": "Urgent",
        "priority": "urgent",
        "first_response": {"minutes": 60, "business_hours": True},
        "next_response": {"minutes": 120, "business_hours": True},
        "resolution": {"minutes": 1440, "business_hours": True},
    },
]


def setup_demo_workflow(session: Session, *, admin: User, brand: Brand, channels: list[Channel]) -> None:
    """Rules for the whole organisation; the calendar on ``channels``; canned responses of ``brand``."""
    rules = resources.files("tilsvar.demo").joinpath("routing_rules.yaml").read_text("utf-8")
    do_save_routing_rules(session, user=admin, rules=rules)
    calendar = do_save_calendar(session, user=admin, spec=CALENDAR)
    for channel in channels:
        do_set_channel_workflow(session, user=admin, channel=channel, calendar_id=calendar.id)
    do_save_sla_policies(session, user=admin, policies=POLICIES)
    # {greeting}, {customer_name}, {agent_name} and {brand} are filled in per reply (actions.canned)
    canned = json.loads(resources.files("tilsvar.demo").joinpath("canned_responses.json").read_text("utf-8"))
    for item in canned:
        do_save_canned(session, user=admin, brand_id=brand.id, **item)
