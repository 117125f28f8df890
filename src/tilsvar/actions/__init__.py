"""Every write in Tilsvar: ``do_*`` functions (and ``check_*`` validators) with keyword-only
arguments. Each runs inside the caller's one transaction (``Database.session()``), writes its audit
row, and records its domain events, which live views see after commit. Nothing else writes.
"""
