"""Convert toxic-comment-classifier 0.3.0's English BiLSTM (MIT, © Md Irfan Ali; trained by its author on
the Jigsaw/Wikipedia toxic-comment data) into ``src/tilsvar/pipeline/data/toxic_lstm_en.npz``: the
Keras 3 weights (Embedding 20,000×50, Bidirectional LSTM 2×50, Dense 50 relu, Dense 6 sigmoid) and the
vocabulary of the pickled Keras ``Tokenizer`` (its 19,999 most frequent words). Run time needs neither
TensorFlow nor pickle: ``pipeline/sequencemodel.py`` evaluates the network with numpy.

The pickle is read here with a stub in place of Keras' ``Tokenizer`` class (no TensorFlow needed, and
only ``collections``/``builtins`` classes are let through). Needs h5py and numpy, e.g. in a scratch
venv: ``python3 -m venv /tmp/h5venv && /tmp/h5venv/bin/pip install h5py numpy``, then
``pip download --no-deps toxic-comment-classifier==0.3.0``, unzip the wheel and
``/tmp/h5venv/bin/python training/convert_toxic_lstm_en.py --from DIR/toxic_classifier``.
"""

from __future__ import annotations

import argparse
import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "src" / "tilsvar" / "pipeline" / "data" / "toxic_lstm_en.npz"
LABELS = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
MAXLEN = 100
#: the filters of the pickled tokenizer: Keras' defaults (checked below)
KERAS_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'


class _TokenizerStub:
    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


class _Unpickler(pickle.Unpickler):
    SAFE = {("collections", "OrderedDict"), ("collections", "defaultdict"), ("builtins", "int")}

    def find_class(self, module: str, name: str) -> Any:
        if name == "Tokenizer" and module.startswith("keras"):
            return _TokenizerStub
        if (module, name) in self.SAFE:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing {module}.{name}")


def main() -> None:
    import h5py  # type: ignore[import-untyped,import-not-found,unused-ignore]

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--from", dest="source", type=Path, required=True, help="the toxic_classifier folder")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    model_dir = args.source / "model"
    with (model_dir / "tokenizer.pickle").open("rb") as handle:
        tokenizer = _Unpickler(handle).load()
    settings = {
        key: tokenizer.__dict__.get(key) for key in ("filters", "split", "lower", "char_level", "oov_token")
    }
    expected = {"filters": KERAS_FILTERS, "split": " ", "lower": True, "char_level": False, "oov_token": None}
    if settings != expected:
        raise SystemExit(f"sequencemodel.py cannot reproduce this tokenizer: {settings}")
    num_words = int(tokenizer.num_words)
    by_index = {int(index): word for word, index in tokenizer.word_index.items() if int(index) < num_words}
    if sorted(by_index) != list(range(1, num_words)):
        raise SystemExit("word_index does not cover 1..num_words-1")
    words = [""] + [by_index[index] for index in range(1, num_words)]  # row 0: padding

    layers = "layers/"
    with h5py.File(model_dir / "model.weights.h5", "r") as weights:

        def get(name: str) -> Any:
            return np.asarray(weights[layers + name])

        arrays = {
            "embedding": get("embedding/vars/0"),
            "forward_kernel": get("bidirectional/forward_layer/cell/vars/0"),
            "forward_recurrent": get("bidirectional/forward_layer/cell/vars/1"),
            "forward_bias": get("bidirectional/forward_layer/cell/vars/2"),
            "backward_kernel": get("bidirectional/backward_layer/cell/vars/0"),
            "backward_recurrent": get("bidirectional/backward_layer/cell/vars/1"),
            "backward_bias": get("bidirectional/backward_layer/cell/vars/2"),
            "dense_kernel": get("dense/vars/0"),
            "dense_bias": get("dense/vars/1"),
            "out_kernel": get("dense_1/vars/0"),
            "out_bias": get("dense_1/vars/1"),
        }
    if arrays["embedding"].shape != (num_words, 50):
        raise SystemExit(f"unexpected embedding {arrays['embedding'].shape}")
    meta = {
        "source": "toxic-comment-classifier 0.3.0 (MIT, Md Irfan Ali); trained by its author on the "
        "Jigsaw/Wikipedia toxic comments",
        "labels": LABELS,
        "maxlen": MAXLEN,
        "filters": KERAS_FILTERS,
        "padding": "pre",
        "truncating": "pre",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        words=np.array(words),
        # the embedding is stored in float16 (half the size; the LSTM runs in float32)
        **{
            key: value.astype("float16" if key == "embedding" else "float32") for key, value in arrays.items()
        },
        meta=np.array(json.dumps(meta)),
    )
    print(json.dumps({"written": str(args.out), "vocabulary": num_words, "bytes": args.out.stat().st_size}))


if __name__ == "__main__":
    main()
