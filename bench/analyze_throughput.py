"""`tilsvar analyze` throughput: the whole process (start-up and model loading included) on 20k real
short messages — the "Customer Support on Twitter" sample mixed with DKhate, PolEval, the Swedish set
and NoReC, read from ../shared/eval at run time — plus peak memory and each stage's cost in-process.
Goals: ≥ 1,000 messages/s, ≤ 1 GB."""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import log


def messages(data: Path, count: int) -> list[str]:
    from tilsvar.pipeline import datasets

    pool = datasets.twcs_texts(data)
    pool += [t for t, _ in datasets.dkhate(data)] + [t for t, _ in datasets.poleval(data)]
    pool += [t for t, _ in datasets.swedish_sentiment(data)] + [t for t, _ in datasets.norec("dev", data)]
    pool = [t for t in pool if t.strip()]
    rng = random.Random(3)
    return [rng.choice(pool) for _ in range(count)]


def whole_process(texts: list[str]) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as handle:
        for number, text in enumerate(texts):
            handle.write(json.dumps({"id": number, "text": text, "kind": "comment"}) + "\n")
        path = Path(handle.name)
    tilsvar = Path(sys.executable).parent / "tilsvar"
    started = time.perf_counter()
    with path.open("rb") as source:
        result = subprocess.run([str(tilsvar), "analyze"], stdin=source, capture_output=True, check=True)
    elapsed = time.perf_counter() - started
    path.unlink()
    lines = result.stdout.decode().splitlines()
    assert len(lines) == len(texts), (len(lines), result.stderr[-500:])
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "messages": len(lines),
        "seconds": round(elapsed, 2),
        "messages_per_second": round(len(lines) / elapsed),
        "peak_rss_mb": round(peak),
    }


def per_stage(texts: list[str]) -> dict[str, dict[str, float]]:
    from tilsvar.pipeline import STAGES, TextItem

    warm = [TextItem(text=t, kind="comment") for t in texts[:64]]
    costs: dict[str, dict[str, float]] = {}
    for stage in STAGES:
        started = time.perf_counter()
        stage.run(warm)
        costs[stage.name] = {"first_batch_seconds": round(time.perf_counter() - started, 3)}
    items = [TextItem(text=t, kind="comment") for t in texts]
    for stage in STAGES:
        started = time.perf_counter()
        for index in range(0, len(items), 512):
            stage.run(items[index : index + 512])
        elapsed = time.perf_counter() - started
        costs[stage.name]["microseconds_per_message"] = round(elapsed / len(items) * 1e6, 1)
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    from tilsvar.pipeline.datasets import DEFAULT_EVAL_DIR

    # ../shared/eval beside the repository, or TILSVAR_EVAL_DIR (a worktree elsewhere passes --data)
    parser.add_argument("--data", type=Path, default=DEFAULT_EVAL_DIR)
    parser.add_argument("--messages", type=int, default=20_000)
    args = parser.parse_args()
    texts = messages(args.data, args.messages)
    log(f"analyzing {len(texts)} messages in a fresh `tilsvar analyze` process")
    report: dict[str, object] = {"whole_process": whole_process(texts)}
    log("per-stage cost in-process")
    report["per_stage"] = per_stage(texts[:5000])
    report["goals"] = {"messages_per_second": 1000, "peak_rss_mb": 1024}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
