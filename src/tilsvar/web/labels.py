"""Words for stored values the web UI shows (a conversation's status, priority and kind, SLA clocks,
who is viewing, a channel's state). The database keeps the English key; templates show it in the
page's language with ``{{ value|t }}``. Listing them here (marked with ``N_``) is what puts them in
the catalogs; a value missing here is simply shown as stored."""

from __future__ import annotations

from tilsvar.web.i18n import N_

STATUSES = (N_("new"), N_("open"), N_("pending"), N_("snoozed"), N_("resolved"), N_("closed"))
PRIORITIES = (N_("low"), N_("normal"), N_("high"), N_("urgent"))
KINDS = (N_("comment"), N_("dm"), N_("email"), N_("chat"), N_("post"))
SENTIMENTS = (N_("positive"), N_("negative"), N_("neutral"), N_("mixed"))
PRESENCE = (N_("viewing"), N_("typing"))
SLA_CLOCKS = (N_("First response"), N_("Next response"), N_("Resolution"))
SLA_STATES = (N_("running"), N_("paused"), N_("met"), N_("missed"), N_("cancelled"))
CHANNEL_STATUSES = (N_("active"), N_("needs_reconnect"), N_("removed"))
DELIVERY_STATES = (N_("sent"), N_("queued"), N_("failed"))
RETENTION_TARGETS = (N_("conversations"), N_("contacts"))
REVEAL_STATES = (N_("approved"), N_("denied"))
# The refusals agents meet most often, as the actions word them (tilsvar.actions.*); templates show an
# action's reason with ``{{ error|t }}``, so a reason listed here appears in the page's language and any
# other reason (most carry values) in English.
ACTION_ERRORS = (
    N_("wrong e-mail or password"),
    N_("That code is not right. Try the current code from your app."),
    N_("That code is not right. Check the time on your phone and try the current code."),
    N_("wrong password"),
    N_("a reply needs some text"),
    N_("only a failed reply can be sent again"),
    N_("snooze until a time in the future"),
    N_("name a team, an assignee, or unassign"),
    N_("a hand-over needs a note for your colleague"),
    N_("a note needs some text"),
    N_("give a reason (it is shown to colleagues and kept in the audit log)"),
    N_("the platform has not answered the last request for this message yet"),
    N_("select at least one conversation"),
    N_("name the tag"),
    N_("give a reason for hiding (colleagues see it; it is audited)"),
    N_("give a reason for seeing the personal data (it is kept in the audit log)"),
    N_("someone else has to approve your own request"),
    N_("ask to reveal first (a supervisor may have to approve)"),
    # team, agent and channel settings, canned responses, customer tags and merges, listening
    N_("capacity cannot be negative"),
    N_("csat_mode is message or link"),
    N_("a shortcut is 1-100 letters, digits, '-', '_' or '.'"),
    N_("a canned response needs text"),
    N_("a tag cannot be added and removed at once"),
    N_("a contact cannot be merged into itself"),
    N_("that contact has nothing left to merge"),
    N_("this merge was already undone"),
    N_("a contact of this merge was deleted; it cannot be undone"),
    N_("a monitor needs a name"),
    N_("this mention is already a conversation"),
)
JOB_STATES = (N_("done"), N_("dead"))
SEARCH_FACETS = (N_("(none)"),)
# tilsvar.pipeline.intent.INTENTS
INTENTS = (
    N_("complaint"),
    N_("question"),
    N_("praise"),
    N_("sales_lead"),
    N_("press"),
    N_("feedback"),
    N_("other"),
    N_("spam"),
)
# Words the dashboard and wall-screen scripts draw into their charts (static JS, strict CSP): pages
# hand them over translated in a JSON block (``ui_words()``), the scripts fall back to English.
CHART_WORDS = (
    N_("Answered inquiries"),
    N_("Answered"),
    N_("Inquiries"),
    N_("Happy"),
    N_("Neutral"),
    N_("Sad"),
    N_("green: within the %(minutes)s min target"),
    N_("target %(percent)s happy"),
    N_("This wall screen link was revoked."),
    N_("%(minutes)d min"),
    N_("%(hours)d h %(minutes)d min"),
    N_("%(days)d d %(hours)d h"),
    *SENTIMENTS,
    *INTENTS,
)
