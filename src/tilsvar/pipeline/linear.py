"""Small linear text classifiers (language, offensive language, sentiment) stored without pickle.

Features are hashed character n-grams (1–4 by default, across word boundaries, the text padded with
spaces) plus hashed words and word pairs. The character part is computed for a whole batch at once with
numpy (one UTF-32 array, rolling polynomial hashes, no Python loop per n-gram), which is what makes the
moderation and language stages cheap; words are hashed with CRC-32. Values are ``1 + log(count)``, each
block L2-normalised, the whole row L2-normalised again. Hashing is stateless, so a model file is just the
coefficient matrix, the intercepts, the class names and metadata (including the feature settings) in a
compressed ``.npz``. A spec may also fold diacritics away before hashing (``fold``: "zjebany" and
"zjębany", common in tweets typed without Polish letters, share their n-grams). The same ``featurize``
is used by ``training/`` and at run time, so a shipped model always sees the features it was trained on.
scikit-learn is needed only for training and ``tilsvar eval``.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tilsvar.pipeline.text import fold

if TYPE_CHECKING:
    import numpy as np
    from scipy.sparse import csr_matrix

DATA_DIR = Path(__file__).resolve().parent / "data"
#: default hash-space size per block (2**18 columns for characters, 2**18 for words)
BITS = 18
N_FEATURES = 2**BITS
_URL = re.compile(r"(?:https?://|www\.)\S+", re.I)
_HANDLE = re.compile(r"(?<!\w)@\w+")
_DIGITS = re.compile(r"\d")
_WORD = re.compile(r"\w+|[!?]+|[:;]-?[()dpDP]")


def normalize(text: str) -> str:
    """Lower case, URLs → "url", @handles → "@user", digits → "0" (what the models are trained on)."""
    text = _HANDLE.sub(" @user ", _URL.sub(" url ", text))
    return _DIGITS.sub("0", text).casefold()


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """Which n-grams a model uses: character n-gram sizes, word n-gram sizes, hash bits per block, and
    whether diacritics are folded away first."""

    chars: tuple[int, ...] = (1, 2, 3, 4)
    words: tuple[int, ...] = (1, 2)
    bits: int = BITS
    fold: bool = False

    @property
    def width(self) -> int:
        blocks: int = int(bool(self.chars)) + int(bool(self.words))
        return int(2**self.bits) * blocks

    def to_meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = {"chars": list(self.chars), "words": list(self.words), "bits": self.bits}
        if self.fold:
            meta["fold"] = True
        return meta

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> FeatureSpec:
        spec = meta.get("features") or {}
        return cls(
            chars=tuple(int(n) for n in spec.get("chars", (1, 2, 3, 4))),
            words=tuple(int(n) for n in spec.get("words", (1, 2))),
            bits=int(spec.get("bits", BITS)),
            fold=bool(spec.get("fold", False)),
        )

    def prepare(self, text: str) -> str:
        """The text as this spec's n-grams see it: ``normalize``, then folded if asked."""
        return fold(normalize(text)) if self.fold else normalize(text)


DEFAULT_SPEC = FeatureSpec()


def _char_hashes(texts: Sequence[str], sizes: Sequence[int], bits: int) -> tuple[Any, Any]:
    """(row, column) of every character n-gram of every text (duplicates included)."""
    import numpy as np

    count = len(texts)
    padded = [" " + " ".join(text.split()) + " " for text in texts]
    codes = np.frombuffer(("\x00".join(padded) + "\x00").encode("utf-32-le"), dtype=np.uint32)
    codes = codes.astype(np.uint64)
    lengths = np.fromiter((len(p) + 1 for p in padded), dtype=np.int64, count=count)
    document = np.repeat(np.arange(count, dtype=np.int64), lengths)
    separator = codes == 0
    rows: list[Any] = []
    columns: list[Any] = []
    total = len(codes)
    shift = np.uint64(64 - bits)
    for size in sizes:
        width = total - size + 1
        if width <= 0:
            continue
        hashed = np.full(width, size * 7919, dtype=np.uint64)
        crossing = np.zeros(width, dtype=bool)
        for offset in range(size):
            hashed = hashed * np.uint64(1_000_003) + codes[offset : offset + width]
            crossing |= separator[offset : offset + width]
        keep = ~crossing
        mixed = hashed[keep] * np.uint64(0x9E3779B97F4A7C15)
        mixed ^= mixed >> np.uint64(31)
        mixed = mixed * np.uint64(0xBF58476D1CE4E5B9)
        rows.append(document[:width][keep])
        columns.append((mixed >> shift).astype(np.int64))
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(rows), np.concatenate(columns)


def _word_hashes(texts: Sequence[str], sizes: Sequence[int], bits: int) -> tuple[Any, Any]:
    import numpy as np

    mask = (1 << bits) - 1
    rows: list[int] = []
    columns: list[int] = []
    crc = zlib.crc32
    for row, text in enumerate(texts):
        tokens = _WORD.findall(text)
        for size in sizes:
            for start in range(len(tokens) - size + 1):
                gram = " ".join(tokens[start : start + size]) if size > 1 else tokens[start]
                rows.append(row)
                columns.append(crc(gram.encode("utf-8", "surrogatepass"), size) & mask)
    return np.array(rows, dtype=np.int64), np.array(columns, dtype=np.int64)


def _block(rows: Any, columns: Any, count: int, bits: int) -> csr_matrix:
    """Sum duplicates, 1 + log(count), L2-normalise each row."""
    import numpy as np
    from scipy.sparse import csr_matrix

    matrix = csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, columns)), shape=(count, 2**bits), dtype=np.float32
    )
    matrix.sum_duplicates()
    matrix.data = 1.0 + np.log(matrix.data)
    _l2_rows(matrix)
    return matrix


def _l2_rows(matrix: csr_matrix) -> None:
    import numpy as np

    squares = matrix.data * matrix.data
    lengths = np.diff(matrix.indptr)
    sums = np.zeros(matrix.shape[0], dtype=np.float64)
    nonempty = lengths > 0
    if nonempty.any():
        sums[nonempty] = np.add.reduceat(squares, matrix.indptr[:-1][nonempty])
    norms = np.sqrt(sums)
    norms[norms == 0] = 1.0
    matrix.data /= np.repeat(norms, lengths).astype(np.float32)


def featurize_normalized(texts: Sequence[str], spec: FeatureSpec = DEFAULT_SPEC) -> csr_matrix:
    """Features of texts that are already normalised (see ``featurize``)."""
    from scipy.sparse import hstack

    count = len(texts)
    blocks = []
    if spec.chars:
        blocks.append(_block(*_char_hashes(texts, spec.chars, spec.bits), count, spec.bits))
    if spec.words:
        blocks.append(_block(*_word_hashes(texts, spec.words, spec.bits), count, spec.bits))
    matrix: csr_matrix = hstack(blocks, format="csr") if len(blocks) > 1 else blocks[0]
    if len(blocks) > 1:
        _l2_rows(matrix)
    return matrix


_LAST: dict[tuple[FeatureSpec, tuple[str, ...]], csr_matrix] = {}


def featurize(texts: Sequence[str], spec: FeatureSpec = DEFAULT_SPEC) -> csr_matrix:
    """Hashed char and word n-gram features of ``normalize(text)`` for each text. The last batch's
    features are kept, so stages that share a feature spec featurize a batch only once."""
    key = (spec, tuple(texts))
    if (found := _LAST.get(key)) is not None:
        return found
    matrix = featurize_normalized([spec.prepare(text) for text in texts], spec)
    _LAST.clear()
    _LAST[key] = matrix
    return matrix


@dataclass(slots=True)
class LinearTextModel:
    classes: list[str]
    coef: np.ndarray[Any, Any]
    intercept: np.ndarray[Any, Any]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def spec(self) -> FeatureSpec:
        return FeatureSpec.from_meta(self.meta)

    def decision(self, texts: Sequence[str]) -> np.ndarray[Any, Any]:
        return self.decision_of(featurize(texts, self.spec))

    def decision_of(self, features: csr_matrix) -> np.ndarray[Any, Any]:
        return features @ self.coef.T + self.intercept  # type: ignore[no-any-return]

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray[Any, Any]:
        """Class probabilities, one row per text (columns in ``classes`` order)."""
        import numpy as np

        if not texts:
            return np.zeros((0, len(self.classes)))
        return self.proba_of(featurize(texts, self.spec))

    def proba_of(self, features: csr_matrix) -> np.ndarray[Any, Any]:
        import numpy as np

        scores = self.decision_of(features)
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
                intercept=data["intercept"].astype("float32"),
                meta=json.loads(str(data["meta"])),
            )


@cache
def shipped(name: str) -> LinearTextModel:
    """A model from ``data/<name>.npz``, loaded once per process."""
    return LinearTextModel.load(DATA_DIR / f"{name}.npz")
