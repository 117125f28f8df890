"""API fuzzing: schemathesis generates requests from our own OpenAPI document and sends them through
the ASGI app with a valid admin token; no answer may be a server error, and answers whose schema is
declared must match it. Bounded: a few cases per operation (about 20 seconds in all), reproducible
(derandomized), so it runs in every `make test`."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from conftest import IngestFn, Seeded

CASES_PER_OPERATION = 4
# Revoking tokens by random id could revoke the fuzzer's own token and end the run early.
SKIPPED = {("DELETE", "/api/v1/tokens/{token_id}")}
# Found by this test in work still in progress elsewhere (a 422 whose body is not the declared
# validation-error shape, or a server error); reported on every run, asserted once fixed.
KNOWN_ISSUES: set[str] = set()


def test_no_server_errors_and_declared_schemas_hold(
    client: TestClient, seeded: Seeded, ingest: IngestFn, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest(seeded.fb_channel, "Toget er forsinket", external_id="fuzz-1")
    ingest(seeded.market_channel, "Har I åbent?", external_id="fuzz-2")
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    headers = {"Authorization": f"Bearer {seeded.admin_token}"}
    counts: dict[str, int] = {}
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation: Any = result.ok()  # type: ignore[union-attr]
        key = (operation.method.upper(), operation.path)
        if key in SKIPPED:
            continue
        _fuzz(operation, f"{key[0]} {key[1]}", headers, counts, failures)
    total = sum(counts.values())
    with capsys.disabled():
        print(f"\napi fuzz: {total} cases over {len(counts)} operations")
    known = [failure for failure in failures if failure.split(":", 1)[0] in KNOWN_ISSUES]
    with capsys.disabled():
        for label in sorted({failure.split(":", 1)[0] for failure in known}):
            print(f"api fuzz: known issue in {label}")
    assert [failure for failure in failures if failure not in known] == []
    assert len(counts) >= 40
    assert total >= len(counts) * 2


def _fuzz(
    operation: Any, label: str, headers: dict[str, str], counts: dict[str, int], failures: list[str]
) -> None:
    counts[label] = 0

    @given(case=operation.as_strategy())
    @settings(
        max_examples=CASES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        counts[label] += 1
        try:
            response = case.call(headers=headers)
            case.validate_response(
                response, checks=[not_a_server_error, response_schema_conformance], headers=headers
            )
        except BaseException as error:  # schemathesis reports failures as (base) exception groups
            if isinstance(error, KeyboardInterrupt):
                raise
            failures.append(f"{label}: {error}"[:2000])

    run()
