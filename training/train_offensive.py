"""Train the shipped "offensive" classifiers: ``offensive_da`` on DKhate (CC BY 4.0; also used for
nb/sv, which share much spelling with Danish) and ``offensive_pl`` on PolEval 2019 task 6-1 (BSD-3).
OLID is never trained on (no licence). Prints 5-fold CV figures; run from the repository root:
``.venv/bin/python -m training.train_offensive [--data ../shared/eval]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tilsvar.pipeline import datasets
from training.common import best_threshold, cv_probabilities, fit, save

C = 8.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=datasets.DEFAULT_EVAL_DIR)
    args = parser.parse_args()
    for name, rows, positive, source in (
        (
            "offensive_da",
            datasets.dkhate(args.data),
            "OFF",
            "DKhate (Sigurbergsson & Derczynski 2020), CC BY 4.0",
        ),
        (
            "offensive_pl",
            datasets.poleval(args.data),
            "1",
            "PolEval 2019 task 6-1 (Ptaszynski et al.), BSD-3",
        ),
    ):
        texts = [text for text, _ in rows]
        labels = np.array([1 if label == positive else 0 for _, label in rows])
        probabilities = cv_probabilities(texts, labels, C)[:, 1]
        threshold, macro_f1 = best_threshold(labels, probabilities)
        from sklearn.metrics import f1_score

        positive_f1 = round(float(f1_score(labels, probabilities >= threshold)), 4)
        model = fit(
            texts,
            labels,
            C,
            {
                "threshold": threshold,
                "cv_macro_f1": macro_f1,
                "cv_positive_f1": positive_f1,
                "rows": len(texts),
                "source": source,
                "c": C,
            },
        )
        save(model, name)


if __name__ == "__main__":
    main()
