"""Privacy read models and maintenance: finding everything held about one person (data-subject
requests), and what retention policies would delete (docs/privacy.md). Writes live in
``tilsvar.actions.privacy``."""
