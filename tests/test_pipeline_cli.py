"""`tilsvar analyze` (JSON lines in, the INTERFACES.md analysis format out, same order, ids echoed,
no database) and `tilsvar eval`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

TILSVAR = Path(sys.executable).parent / "tilsvar"
EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"


def run(arguments: list[str], stdin: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "TILSVAR_DATA_DIR": str(tmp_path), "HOME": str(tmp_path)}
    return subprocess.run(
        [str(TILSVAR), *arguments], input=stdin, capture_output=True, text=True, env=env, timeout=120
    )


def test_analyze_format_order_and_ids(tmp_path: Path) -> None:
    lines = [
        {"id": "a", "text": "Mit CPR er 211062-5629, hjælp", "platform": "facebook", "kind": "comment"},
        {"id": 2, "text": "Tack för hjälpen!"},
        {"text": "Du er en fucking idiot"},
    ]
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"profanity": "flag", "personal_attack": "flag"}))
    result = run(
        ["analyze", "--policy", str(policy)], "\n".join(json.dumps(x) for x in lines) + "\n", tmp_path
    )
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == ["a", 2, None]
    keys = ["id", "language", "pii", "redacted", "moderation", "sentiment", "intent", "priority"]
    assert all(list(o) == keys for o in out)
    first = out[0]
    assert first["pii"] == [{"type": "national_id.dk", "start": 11, "end": 22}]
    assert first["redacted"] == "Mit CPR er [CPR], hjælp"
    assert "pii_exposed" in first["moderation"]["labels"]
    assert first["priority"] == "urgent"
    assert out[1]["language"] == "sv"
    assert out[1]["sentiment"]["label"] == "positive"
    assert out[2]["moderation"]["offensive"] is True
    assert out[2]["moderation"]["action"] == "flag"  # the brand's policy, not the default "hide"
    assert not (tmp_path / "tilsvar.db").exists()


def test_analyze_rejects_a_bad_line(tmp_path: Path) -> None:
    result = run(["analyze"], '{"id": 1}\n', tmp_path)
    assert result.returncode == 2
    assert "line 1" in result.stderr


@pytest.mark.skipif(not EVAL.is_dir(), reason="../shared/eval is absent")
def test_eval_pii_prints_json(tmp_path: Path) -> None:
    result = run(["eval", "pii", "--data", str(EVAL)], "", tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["precision"] >= 0.98
