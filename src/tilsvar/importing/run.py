"""Run an import: parse the file, store it batch by batch through ``do_ingest_messages`` (one
transaction per batch), keep rejected lines for inspection, and count what happened."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Literal

from sqlalchemy import select

from tilsvar.actions.ingest import do_ingest_messages, do_store_rejected_input
from tilsvar.actions.org import do_create_organization
from tilsvar.db import Database
from tilsvar.importing.jsonl import parse_jsonl
from tilsvar.importing.parsed import Parsed
from tilsvar.importing.twcs import parse_twcs
from tilsvar.models import Brand, Channel, Organization

Format = Literal["jsonl", "twcs"]
MAX_REJECTIONS_LISTED = 1000


@dataclass(slots=True)
class ImportReport:
    imported: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    rejected_count: int = 0
    conversations_created: int = 0

    def as_json(self) -> dict[str, object]:
        return {
            "imported": self.imported,
            "skipped_duplicates": self.duplicates,
            "rejected": self.rejected_count,
            "rejected_lines": [{"line": line, "reason": reason} for line, reason in self.rejected],
            "conversations_created": self.conversations_created,
        }


def count_records(path: Path, fmt: Format) -> int:
    """Roughly how many records a file has (for the progress bar)."""
    with path.open("rb") as handle:
        lines = sum(1 for _ in handle)
    return max(lines - 1, 0) if fmt == "twcs" else lines


def _parse(path: Path, fmt: Format, database: Database) -> Iterator[Parsed]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        if fmt == "jsonl":
            yield from parse_jsonl(handle)
        else:
            with database.reader() as session:
                known = list(session.scalars(select(Channel.account).where(Channel.platform == "x")))
            yield from parse_twcs(handle, known_accounts=known)


def _organization_id(database: Database, organization: str | None) -> int:
    with database.session() as session:
        if organization:
            found = session.scalar(select(Organization).where(Organization.slug == organization))
            if found is None:
                raise ValueError(f"no organization {organization!r}")
            return found.id
        rows = list(session.scalars(select(Organization).limit(2)))
        if len(rows) > 1:
            raise ValueError("several organizations exist: choose one with --org")
        if rows:
            return rows[0].id
        return do_create_organization(session, name="Tilsvar", slug="default").id


def _brand_id(database: Database, organization_id: int, brand: str | None) -> int | None:
    if not brand:
        return None
    with database.reader() as session:
        found = session.scalar(
            select(Brand).where(Brand.organization_id == organization_id, Brand.slug == brand)
        )
    if found is None:
        raise ValueError(f"no brand {brand!r}")
    return found.id


def run_import(
    database: Database,
    path: Path,
    *,
    fmt: Format,
    organization: str | None = None,
    brand: str | None = None,
    batch_size: int = 2000,
    analyze: bool = True,
    route: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import ``path``; safe to run again (already-stored messages are skipped as duplicates).

    Imported history is not routed unless ``route``: past conversations get no agent assignments or
    SLA clocks (they still appear in the inbox views, search and reports)."""
    organization_id = _organization_id(database, organization)
    brand_id = _brand_id(database, organization_id, brand)
    report = ImportReport()
    records = _parse(path, fmt, database)
    source = f"import:{path.name}"
    while True:
        batch = list(islice(records, batch_size))
        if not batch:
            break
        good = [item for item in batch if item.message is not None]
        bad = [item for item in batch if item.message is None]
        with database.session() as session:
            result = do_ingest_messages(
                session,
                messages=[item.message for item in good if item.message is not None],
                unknown_channels="create",
                organization_id=organization_id,
                new_channel_brand_id=brand_id,
                enqueue_pipeline=analyze,
                route=route,
                actor=source,
            )
            rejected = bad + [
                Parsed(line=good[index].line, error=reason) for index, reason in result.rejected
            ]
            do_store_rejected_input(
                session,
                source="import",
                items=[
                    (
                        f"{path.name}:{item.line}:{hashlib.sha256(item.raw.encode()).hexdigest()[:16]}",
                        item.raw.encode(),
                        f"line {item.line}: {item.error}",
                    )
                    for item in rejected
                ],
            )
        report.imported += len(result.stored)
        report.duplicates += len(result.duplicates)
        report.conversations_created += result.conversations_created
        report.rejected_count += len(rejected)
        room = MAX_REJECTIONS_LISTED - len(report.rejected)
        report.rejected.extend(
            (item.line, item.error) for item in sorted(rejected, key=lambda x: x.line)[:room]
        )
        if progress is not None:
            progress(len(batch))
    return report
