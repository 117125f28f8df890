"""Readers for the public evaluation and training sets in ``../shared/eval`` (see its README for
licences). They are read where they lie, never copied: ``tilsvar eval``, ``training/`` and ``bench/``
share these readers so that every figure and every shipped model comes from the same rows."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

#: default location: the ``shared/eval`` folder beside the repository (or TILSVAR_EVAL_DIR)
DEFAULT_EVAL_DIR = Path(
    os.environ.get("TILSVAR_EVAL_DIR", Path(__file__).resolve().parents[3].parent / "shared" / "eval")
)

Labelled = list[tuple[str, str]]


def _tsv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def dkhate(base: Path = DEFAULT_EVAL_DIR) -> Labelled:
    """DKhate (OffensEval 2020 Danish) train: (text, "OFF"|"NOT"). CC BY 4.0."""
    rows = _tsv_rows(base / "moderation" / "dkhate_da" / "train.tsv")
    return [(row["tweet"], row["subtask_a"]) for row in rows if row.get("tweet") and row.get("subtask_a")]


def olid(base: Path = DEFAULT_EVAL_DIR) -> Labelled:
    """OLID (OffensEval 2019 English) train: (text, "OFF"|"NOT"). Evaluation only."""
    rows = _tsv_rows(base / "moderation" / "olid_en" / "train.tsv")
    return [(row["tweet"], row["subtask_a"]) for row in rows if row.get("tweet") and row.get("subtask_a")]


def poleval(base: Path = DEFAULT_EVAL_DIR) -> Labelled:
    """PolEval 2019 task 6-1 train: (text, "1" harmful | "0"). BSD-3."""
    folder = base / "moderation" / "poleval2019_pl" / "task01"
    texts = (folder / "train_text.txt").read_text(encoding="utf-8").split("\n")
    tags = (folder / "train_tags.txt").read_text(encoding="utf-8").split()
    return list(zip(texts, tags, strict=False))


def ldnoobw_words(base: Path = DEFAULT_EVAL_DIR) -> dict[str, list[str]]:
    folder = base / "moderation" / "ldnoobw"
    return {
        path.stem: [w.strip() for w in path.read_text(encoding="utf-8").splitlines() if w.strip()]
        for path in sorted(folder.glob("*.txt"))
    }


def norec(split: str = "dev", base: Path = DEFAULT_EVAL_DIR) -> Labelled:
    """NoReC sentence sentiment: (text, "negative"|"neutral"|"positive"). CC BY-NC: evaluation only."""
    rows = json.loads((base / "sentiment" / "norec_sentence_no" / f"{split}.json").read_text("utf-8"))
    return [(row["text"], row["label"].lower()) for row in rows]


def swedish_sentiment(base: Path = DEFAULT_EVAL_DIR) -> Labelled:
    """Swedish tweets/YouTube comments: (text, "negative"|"neutral"|"positive"). Evaluation only."""
    names = {"neg": "negative", "neu": "neutral", "pos": "positive"}
    with (base / "sentiment" / "swe_sentiment_sv" / "train.csv").open(encoding="utf-8", newline="") as f:
        return [(row["text"], names[row["label"]]) for row in csv.DictReader(f)]


def lcc_danish(base: Path = DEFAULT_EVAL_DIR) -> list[tuple[str, int]]:
    """LCC Danish sentences with an AFINN-style valence (only the scored head of each file). CC BY."""
    rows: list[tuple[str, int]] = []
    for path in sorted((base / "sentiment" / "lcc_da").glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle, skipinitialspace=True):
                valence = (row.get("valence") or "").strip()
                if valence.lstrip("-").isdigit():
                    rows.append((row["text"], int(valence)))
    return rows


def lcc_sentences(base: Path = DEFAULT_EVAL_DIR) -> list[tuple[str, int | None]]:
    """All LCC Danish sentences (CC BY) with their valence where one is given (the scored head)."""
    rows: list[tuple[str, int | None]] = []
    for path in sorted((base / "sentiment" / "lcc_da").glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle, skipinitialspace=True):
                valence = (row.get("valence") or "").strip()
                if row.get("text"):
                    rows.append((row["text"], int(valence) if valence.lstrip("-").isdigit() else None))
    return rows


def lingua_testdata(
    kind: str = "word-pairs", base: Path = DEFAULT_EVAL_DIR, half: str | None = None
) -> Labelled:
    """Lingua's language-ID test data: (text, language code). Apache-2.0. ``half="train"`` keeps the
    even lines of each file (what ``training/train_language.py`` learns from), ``half="held-out"`` the
    odd lines (what ``tilsvar eval language`` measures)."""
    folder = base / "language" / "lingua_testdata" / kind
    wanted = {"train": 0, "held-out": 1}.get(half or "")
    rows = []
    for path in sorted(folder.glob("*.txt")):
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        rows += [(line, path.stem) for i, line in enumerate(lines) if wanted is None or i % 2 == wanted]
    return rows


def twcs_texts(base: Path = DEFAULT_EVAL_DIR) -> list[str]:
    """Texts of the 5k random "Customer Support on Twitter" sample. Evaluation only."""
    path = base / "support" / "twcs" / "twcs_random_sample_5k.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return [row["text"] for row in csv.DictReader(handle)]


def national_ids(base: Path = DEFAULT_EVAL_DIR) -> list[dict[str, str]]:
    with (base / "pii" / "national_ids_examples.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def skatteverket(base: Path = DEFAULT_EVAL_DIR) -> list[dict[str, object]]:
    data = json.loads((base / "pii" / "skatteverket_testdata" / "list.json").read_text("utf-8"))
    return list(data)


def banking77(base: Path = DEFAULT_EVAL_DIR) -> Labelled:
    """BANKING77 train: (English banking question, intent). CC BY 4.0."""
    with (base / "support" / "banking77" / "train.csv").open(encoding="utf-8", newline="") as handle:
        return [(row["text"], row["category"]) for row in csv.DictReader(handle)]


def clinc150(base: Path = DEFAULT_EVAL_DIR) -> Labelled:
    """CLINC150 train+val (all splits in the file except test): (English utterance, intent). CC BY 3.0."""
    data = json.loads((base / "support" / "clinc150" / "train_val.json").read_text("utf-8"))
    return [
        (str(text), str(label)) for key, rows in data.items() if "test" not in key for text, label in rows
    ]
