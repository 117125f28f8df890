"""One BLAS thread for the small numpy models (the English BiLSTM of moderation, the English FAQ
encoder): their matrices are small, and on two cores BLAS threads contending with the other work of
the process made one LSTM step take 15 ms instead of 0.1 ms (``tilsvar analyze``)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from functools import cache
from typing import Any


@cache
def _controller() -> Any:
    from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]

    return ThreadpoolController()  # looks the loaded BLAS libraries up once per process


def one_thread() -> AbstractContextManager[Any]:
    """A context in which numpy's BLAS uses one thread."""
    return _controller().limit(limits=1, user_api="blas")  # type: ignore[no-any-return]
