"""The cost of the web UI's languages: compiling the catalogs (once per process) and rendering a page
of 50 inbox rows in each language through the shared jinja2 environment (per-render translations and
Babel-formatted dates and numbers), compared with English. In-process, no server or database: the
rows are stand-ins with the attributes the template reads. Prints one JSON object.

    .venv/bin/python bench/ui_languages.py [--rows 50] [--renders 300]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import log, percentiles


def _rows(count: int, now: datetime) -> list[SimpleNamespace]:
    rows = []
    for index in range(count):
        since = now - timedelta(minutes=7 * index + 3)
        rows.append(
            SimpleNamespace(
                id=index + 1,
                platform=("facebook", "x", "instagram", "email")[index % 4],
                brand_name="Nordic Rail",
                channel_name="x: NordicRailHelp",
                customer=f"Customer {index}",
                preview="Toget er forsinket igen, hvornår kommer det?",
                priority=("normal", "high", "urgent")[index % 3],
                language="da",
                intent="delay",
                sentiment=("negative", "neutral")[index % 2],
                pii_exposed=index % 5 == 0,
                flagged=index % 7 == 0,
                waiting_since=since,
                waiting_minutes=lambda moment, since=since: (moment - since).total_seconds() / 60,
                sla_due_at=since + timedelta(minutes=60),
                sla_level=("ok", "warning", "breached")[index % 3],
                status=("new", "open", "pending")[index % 3],
                message_count=index % 9 + 1,
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50)
    parser.add_argument("--renders", type=int, default=300)
    options = parser.parse_args()

    from tilsvar.web import i18n
    from tilsvar.web.routes import templates

    started = time.perf_counter()
    for language in i18n.TRANSLATED:
        i18n.translations(language)
    compile_ms = (time.perf_counter() - started) * 1000

    now = datetime.now(UTC)
    values: dict[str, Any] = {"rows": _rows(options.rows, now), "now": now, "rows_url": "/inbox/rows"}
    template = templates.env.get_template("_inbox_rows.html")
    result: dict[str, Any] = {
        "rows": options.rows,
        "renders": options.renders,
        "compile_all_catalogs_ms": round(compile_ms, 1),
    }
    for language in i18n.LANGUAGES:
        for _ in range(20):  # warm-up
            template.render(lang=language, **values)
        samples = []
        for _ in range(options.renders):
            began = time.perf_counter()
            template.render(lang=language, **values)
            samples.append((time.perf_counter() - began) * 1000)
        result[f"render_ms_{language}"] = percentiles(samples)
        log(f"{language}: {result[f'render_ms_{language}']}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
