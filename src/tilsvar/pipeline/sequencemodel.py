"""A word-embedding bidirectional LSTM text classifier, evaluated with numpy alone.

It holds the English toxic-comment model (``data/toxic_lstm_en.npz``), converted by
``training/convert_toxic_lstm_en.py`` from toxic-comment-classifier 0.3.0 (MIT): Keras' legacy
``Tokenizer`` (lower case, its default punctuation filters replaced by spaces, split on " ", the 19,999
most frequent training words, others dropped), sequences pre-padded/pre-truncated to 100 ids, then
Embedding(20,000×50) → Bidirectional(LSTM 50, all steps) → global max pooling → Dense 50 relu →
Dense 6 sigmoid (toxic, severe_toxic, obscene, threat, insult, identity_hate).

The network has no masking, so the padding id 0 is a real input the LSTMs read. Two exact shortcuts
keep the cost low: every message starts with the same run of padding, so the forward LSTM's states over
it are computed once per process (a table by number of padding steps, with their running maximum); and
a batch only runs the window of its longest message, the backward LSTM then going on over the
remaining padding (its state drifts over it for tens of steps, so none of it is skipped). Messages are
sorted by length into batches, so a batch's window stays close to its messages' lengths.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from tilsvar import blas

DATA_DIR = Path(__file__).resolve().parent / "data"


def _sigmoid(values: Any) -> Any:
    import numpy as np

    return 1.0 / (1.0 + np.exp(-values))


@dataclass
class SequenceModel:
    index: dict[str, int]
    weights: dict[str, Any]  # float32 arrays, named as in the converter
    meta: dict[str, Any]
    _table: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, path: Path) -> SequenceModel:
        import numpy as np

        with np.load(path, allow_pickle=False) as data:
            words = [str(word) for word in data["words"]]
            weights = {key: data[key].astype("float32") for key in data.files if key not in {"words", "meta"}}
            meta = json.loads(str(data["meta"]))
        model = cls({word: number for number, word in enumerate(words) if number}, weights, meta)
        with blas.one_thread():
            model._precompute()
        return model

    @property
    def labels(self) -> list[str]:
        return list(self.meta["labels"])

    def _precompute(self) -> None:
        """Input projections of the whole vocabulary and the forward LSTM's states over padding."""
        import numpy as np

        w = self.weights
        units = w["forward_recurrent"].shape[0]
        # tanh(x) = 2·sigmoid(2x) − 1: the cell-candidate columns are doubled so one sigmoid serves all
        scale = np.ones(4 * units, dtype=np.float32)
        scale[2 * units : 3 * units] = 2.0
        for direction in ("forward", "backward"):
            # x·W + b for every word at once: one matrix product per step is left (the recurrent one)
            projected = w["embedding"] @ w[f"{direction}_kernel"] + w[f"{direction}_bias"]
            self._table[f"{direction}_input"] = (projected * scale).astype(np.float32)
            self._table[f"{direction}_recurrent"] = (w[f"{direction}_recurrent"] * scale).astype(np.float32)
        maxlen = int(self.meta["maxlen"])
        pad_input = self._table["forward_input"][0][None, :]
        h = np.zeros((1, units), dtype=np.float32)
        c = np.zeros((1, units), dtype=np.float32)
        states_h = [h[0]]
        states_c = [c[0]]
        running = [np.full(units, -np.inf, dtype=np.float32)]
        for _ in range(maxlen):
            h, c = self._step(pad_input, h, c.copy(), "forward")
            states_h.append(h[0])
            states_c.append(c[0])
            running.append(np.maximum(running[-1], h[0]))
        # after k padding steps: the state, and the maximum of the k outputs so far
        self._table["pad_h"] = np.stack(states_h)
        self._table["pad_c"] = np.stack(states_c)
        self._table["pad_max"] = np.stack(running)

    def _step(self, projected: Any, h: Any, c: Any, direction: str) -> tuple[Any, Any]:
        """One LSTM step (Keras gate order i, f, c, o; sigmoid and tanh); ``c`` is updated in place."""
        import numpy as np

        z = h @ self._table[f"{direction}_recurrent"]
        z += projected
        np.negative(z, out=z)
        np.exp(z, out=z)
        z += 1.0
        np.reciprocal(z, out=z)  # sigmoid of every gate (the candidate's pre-activation was doubled)
        units = h.shape[1]
        candidate = z[:, 2 * units : 3 * units]
        candidate *= 2.0
        candidate -= 1.0
        candidate *= z[:, :units]
        c *= z[:, units : 2 * units]
        c += candidate
        return z[:, 3 * units :] * np.tanh(c), c

    def sequences(self, texts: Sequence[str]) -> list[list[int]]:
        """Keras ``texts_to_sequences`` then pre-truncation to ``maxlen`` ids."""
        table = str.maketrans(dict.fromkeys(self.meta["filters"], " "))
        maxlen = int(self.meta["maxlen"])
        index = self.index
        out: list[list[int]] = []
        for text in texts:
            ids = [index[word] for word in text.lower().translate(table).split(" ") if word in index]
            out.append(ids[-maxlen:])
        return out

    def predict(self, texts: Sequence[str], batch: int = 256) -> Any:
        """(texts, labels) sigmoid outputs, as Keras' ``model.predict`` on the padded sequences.

        Messages are run in batches of similar length (sorted), so a batch's window stays short.
        """
        import numpy as np

        sequences = self.sequences(texts)
        out = np.zeros((len(texts), self.weights["out_bias"].shape[0]), dtype=np.float32)
        order = sorted(range(len(sequences)), key=lambda row: len(sequences[row]))
        for start in range(0, len(order), batch):
            rows = order[start : start + batch]
            out[rows] = self.predict_ids([sequences[row] for row in rows])
        return out

    def predict_ids(self, sequences: Sequence[Sequence[int]]) -> Any:
        """The outputs for id sequences of at most ``maxlen`` ids (one batch, no sorting)."""
        # one BLAS thread: the matrices are small, and with two threads contending with the other
        # stages' threads a step took 15 ms instead of 0.1 ms (tilsvar analyze, 2 cores)
        with blas.one_thread():
            return self._predict_ids(sequences)

    def _predict_ids(self, sequences: Sequence[Sequence[int]]) -> Any:
        import numpy as np

        w = self.weights
        maxlen = int(self.meta["maxlen"])
        count = len(sequences)
        if not count:
            return np.zeros((0, w["out_bias"].shape[0]), dtype=np.float32)
        window = max(1, *(len(ids) for ids in sequences))
        ids = np.zeros((count, window), dtype=np.int64)
        for row, sequence in enumerate(sequences):
            if sequence:
                ids[row, window - len(sequence) :] = sequence
        lead = maxlen - window  # padding steps every message has before the window
        units = w["forward_recurrent"].shape[0]

        forward_input = self._table["forward_input"]  # (vocabulary, 4·units), gathered step by step
        h = np.repeat(self._table["pad_h"][lead][None, :], count, axis=0)
        c = np.repeat(self._table["pad_c"][lead][None, :], count, axis=0)
        forward_max = np.repeat(self._table["pad_max"][lead][None, :], count, axis=0)
        for t in range(window):
            h, c = self._step(forward_input[ids[:, t]], h, c, "forward")
            np.maximum(forward_max, h, out=forward_max)

        backward_input = self._table["backward_input"]
        h = np.zeros((count, units), dtype=np.float32)
        c = np.zeros((count, units), dtype=np.float32)
        backward_max = np.full((count, units), -np.inf, dtype=np.float32)
        for t in range(window - 1, -1, -1):
            h, c = self._step(backward_input[ids[:, t]], h, c, "backward")
            np.maximum(backward_max, h, out=backward_max)
        # the backward LSTM reads the leading padding last; its state keeps drifting over it for
        # tens of steps (measured), so all of it is run
        pad = backward_input[0][None, :]
        for _ in range(lead):
            h, c = self._step(pad, h, c, "backward")
            np.maximum(backward_max, h, out=backward_max)

        pooled = np.concatenate([forward_max, backward_max], axis=1)
        hidden = np.maximum(pooled @ w["dense_kernel"] + w["dense_bias"], 0.0)
        return _sigmoid(hidden @ w["out_kernel"] + w["out_bias"])


@cache
def shipped(name: str) -> SequenceModel:
    """A model from ``data/<name>.npz``, loaded once per process."""
    return SequenceModel.load(DATA_DIR / f"{name}.npz")
