"""Small linear text classifiers (offensive language, sentiment) stored without pickle.

Features are hashed character n-grams within word boundaries plus hashed words and word pairs
(scikit-learn's ``HashingVectorizer``, which is stateless, so a model file is just the coefficient
matrix, the intercepts and the class names in a compressed ``.npz``). The same ``featurize`` is used by
``training/`` and at run time, so a shipped model always sees the features it was trained on.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    from scipy.sparse import csr_matrix

DATA_DIR = Path(__file__).resolve().parent / "data"
N_FEATURES = 2**18
_URL = re.compile(r"(?:https?://|www\.)\S+", re.I)
_HANDLE = re.compile(r"(?<!\w)@\w+")
_DIGITS = re.compile(r"\d")


def normalize(text: str) -> str:
    """Lower case, URLs → "url", @handles → "@user", digits → "0" (what the models are trained on)."""
    text = _HANDLE.sub(" @user ", _URL.sub(" url ", text))
    return _DIGITS.sub("0", text).casefold()


@cache
def _vectorizers() -> tuple[Any, Any]:
    from sklearn.feature_extraction.text import HashingVectorizer

    chars = HashingVectorizer(
        analyzer="char_wb", ngram_range=(2, 5), n_features=N_FEATURES, alternate_sign=False, lowercase=False
    )
    words = HashingVectorizer(
        analyzer="word",
        ngram_range=(1, 2),
        n_features=N_FEATURES,
        alternate_sign=False,
        lowercase=False,
        token_pattern=r"(?u)\b\w+\b|[!?]+|[:;]-?[()dpDP]",  # noqa: S106 (not a password)
    )
    return chars, words


def featurize(texts: list[str]) -> csr_matrix:
    """Hashed, L2-normalised char and word n-gram counts, side by side (2 × 2**18 columns)."""
    from scipy.sparse import hstack
    from sklearn.preprocessing import normalize as l2

    chars, words = _vectorizers()
    normalized = [normalize(text) for text in texts]
    char_part = chars.transform(normalized)
    char_part.data = 1.0 + _log(char_part.data)
    word_part = words.transform(normalized)
    word_part.data = 1.0 + _log(word_part.data)
    return l2(hstack([l2(char_part), l2(word_part)], format="csr"))


def _log(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    import numpy as np

    result: npt.NDArray[Any] = np.log(values)
    return result


@dataclass(slots=True)
class LinearTextModel:
    classes: list[str]
    coef: np.ndarray[Any, Any]
    intercept: np.ndarray[Any, Any]
    meta: dict[str, Any] = field(default_factory=dict)

    def decision(self, texts: list[str]) -> np.ndarray[Any, Any]:
        features = featurize(texts)
        return features @ self.coef.T + self.intercept  # type: ignore[no-any-return]

    def predict_proba(self, texts: list[str]) -> np.ndarray[Any, Any]:
        """Class probabilities, one row per text (columns in ``classes`` order)."""
        import numpy as np

        if not texts:
            return np.zeros((0, len(self.classes)))
        scores = self.decision(texts)
        if len(self.classes) == 2 and scores.shape[1] == 1:
            positive = 1.0 / (1.0 + np.exp(-scores[:, 0]))
            return np.column_stack([1.0 - positive, positive])
        scores = scores - scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True)  # type: ignore[no-any-return]

    def save(self, path: Path) -> None:
        import numpy as np

        np.savez_compressed(
            path,
            coef=self.coef.astype("float16"),
            intercept=self.intercept.astype("float32"),
            classes=np.array(self.classes),
            meta=np.array(json.dumps(self.meta)),
        )

    @classmethod
    def load(cls, path: Path) -> LinearTextModel:
        import numpy as np

        with np.load(path, allow_pickle=False) as data:
            return cls(
                classes=[str(c) for c in data["classes"]],
                coef=data["coef"].astype("float32"),
                intercept=data["intercept"],
                meta=json.loads(str(data["meta"])),
            )


@cache
def shipped(name: str) -> LinearTextModel:
    """A model from ``data/<name>.npz``, loaded once per process."""
    return LinearTextModel.load(DATA_DIR / f"{name}.npz")
