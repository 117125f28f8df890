"""`make bench`: run every benchmark script in bench/ one after another and print their JSON together.

Each script prints one JSON object on stdout (progress goes to stderr). The results are also written to
`bench/out/<name>.json` so a run can be compared with the figures recorded in bench/README.md.
Pass script names to run only some of them (`python bench/run_all.py inbox_latency`); extra variants
(PostgreSQL) run with `--postgresql`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOT_BENCHMARKS = {"__init__", "common", "generate_jsonl", "run_all"}
POSTGRESQL_VARIANTS = {"import_throughput", "inbox_latency"}


def scripts(names: list[str]) -> list[str]:
    found = sorted(path.stem for path in HERE.glob("*.py") if path.stem not in NOT_BENCHMARKS)
    unknown = set(names) - set(found)
    if unknown:
        raise SystemExit(f"unknown benchmarks: {', '.join(sorted(unknown))} (have: {', '.join(found)})")
    return [name for name in found if not names or name in names]


def run(name: str, extra: list[str]) -> dict[str, object]:
    label = "_".join([name, *[arg.strip("-").replace("-", "_") for arg in extra]])
    print(f"== {label}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(HERE / f"{name}.py"), *extra], capture_output=True, text=True, check=False
    )
    sys.stderr.write(done.stderr[-4000:])
    if done.returncode != 0:
        return {"benchmark": label, "error": f"exit {done.returncode}", "stderr": done.stderr[-2000:]}
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_seconds"] = round(time.perf_counter() - started, 1)
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / f"{label}.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help="Only these benchmarks.")
    parser.add_argument("--postgresql", action="store_true", help="Also run the PostgreSQL variants.")
    args = parser.parse_args()
    results = []
    for name in scripts(args.names):
        results.append(run(name, []))
        if args.postgresql and name in POSTGRESQL_VARIANTS:
            results.append(run(name, ["--backend", "postgresql"]))
    print(json.dumps(results, indent=2))
    if any("error" in result for result in results):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
