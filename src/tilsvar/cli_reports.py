"""``tilsvar report``'s work: bring the KPI engine up to date (or rebuild it), then render the period
as the KPI JSON of KPIS.md, or as the weekly report's CSV, HTML or PDF (the same files the scheduled
e-mail carries)."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import select

from tilsvar.db import Database
from tilsvar.models import Brand, Organization
from tilsvar.reports.engine import Scope, kpi_report
from tilsvar.reports.kpis import Period
from tilsvar.reports.rollups import rebuild_rollups, refresh_rollups
from tilsvar.reports.weekly import build_report
from tilsvar.settings import get_settings


def run_report(
    database: Database,
    *,
    first: date,
    last: date,
    brand: str | None,
    fmt: str,
    target: float | None,
    rebuild: bool = False,
) -> bytes:
    """The report's bytes; ``ValueError`` with a message for people on bad input."""
    try:
        period = Period.from_dates(first, last)
    except ValueError as error:
        raise ValueError(f"bad period: {error}") from error
    if rebuild:
        rebuild_rollups(database)
    else:
        refresh_rollups(database, wait=True)
    with database.reader() as session:
        query = select(Brand.id, Brand.name)
        if brand:
            query = query.where(Brand.slug == brand)
        brands = session.execute(query).all()
        if brand and not brands:
            raise ValueError(f"no brand {brand!r}")
        brand_ids = [row.id for row in brands]
        if fmt == "json":
            data = kpi_report(session, period=period, scope=Scope(tuple(brand_ids)), target_minutes=target)
            return (json.dumps(data, indent=2) + "\n").encode()
        if brand:
            scope_name = brands[0].name
        else:
            names = list(session.scalars(select(Organization.name)))
            scope_name = names[0] if len(names) == 1 else "all organisations"
        report = build_report(
            session,
            period=period,
            brand_ids=brand_ids,
            title=f"Tilsvar report: {scope_name}",
            target_minutes=target,
            base_url=get_settings().effective_base_url,
        )
    if fmt == "csv":
        return report.csv().encode()
    if fmt == "html":
        return report.html().encode()
    return report.pdf()
