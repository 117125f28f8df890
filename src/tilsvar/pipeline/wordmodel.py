"""A word-unigram tf-idf linear model with sigmoid-calibrated members, evaluated with numpy alone.

It holds the English offensive-language model (``data/offensive_en.npz``), converted by
``training/convert_offensive_en.py`` from alt-profanity-check 1.9.1 (MIT): scikit-learn's
``TfidfVectorizer`` (lower case, ``\\b\\w\\w+\\b`` tokens, smooth idf, l2 norm) feeding a
``CalibratedClassifierCV`` of five ``LinearSVC`` members with sigmoid calibration, averaged. Storing
only the vocabulary, idf weights and coefficients in an ``.npz`` keeps scikit-learn and pickle out of
the run-time path, like the other shipped models (``linear.py``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"
_TOKEN = re.compile(r"(?u)\b\w\w+\b")


@dataclass(frozen=True)
class WordModel:
    index: dict[str, int]
    idf: Any  # (vocabulary,) float32
    coef: Any  # (members, vocabulary) float32
    intercept: Any  # (members,)
    sigmoid_a: Any  # (members,)
    sigmoid_b: Any  # (members,)
    meta: dict[str, Any]

    @classmethod
    def load(cls, path: Path) -> WordModel:
        import numpy as np

        with np.load(path, allow_pickle=False) as data:
            words = [str(word) for word in data["words"]]
            return cls(
                index={word: number for number, word in enumerate(words)},
                idf=data["idf"].astype("float32"),
                coef=data["coef"].astype("float32"),
                intercept=data["intercept"].astype("float64"),
                sigmoid_a=data["sigmoid_a"].astype("float64"),
                sigmoid_b=data["sigmoid_b"].astype("float64"),
                meta=json.loads(str(data["meta"])),
            )

    def probabilities(self, texts: Sequence[str]) -> list[float]:
        """The calibrated probability of the positive class for each text (one pass per batch)."""
        import numpy as np

        columns: list[int] = []
        counts: list[int] = []
        starts: list[int] = []
        rows: list[int] = []
        for row, text in enumerate(texts):
            seen: dict[int, int] = {}
            for token in _TOKEN.findall(text.lower()):
                number = self.index.get(token)
                if number is not None:
                    seen[number] = seen.get(number, 0) + 1
            if seen:
                starts.append(len(columns))
                rows.append(row)
                columns.extend(seen)
                counts.extend(seen.values())
        decisions = np.repeat(self.intercept[:, None], len(texts), axis=1)
        if rows:
            where = np.asarray(columns, dtype=np.int64)
            weights = np.asarray(counts, dtype=np.float32) * self.idf[where]
            offsets = np.asarray(starts, dtype=np.int64)
            norms = np.sqrt(np.add.reduceat(weights * weights, offsets))
            lengths = np.diff(np.append(offsets, len(where)))
            weights /= np.repeat(norms, lengths)
            decisions[:, rows] += np.add.reduceat(self.coef[:, where] * weights, offsets, axis=1)
        calibrated = 1.0 / (1.0 + np.exp(self.sigmoid_a[:, None] * decisions + self.sigmoid_b[:, None]))
        return [float(value) for value in calibrated.mean(axis=0)]


@cache
def shipped(name: str) -> WordModel:
    """A model from ``data/<name>.npz``, loaded once per process."""
    return WordModel.load(DATA_DIR / f"{name}.npz")
