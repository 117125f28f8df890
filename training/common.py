"""Shared training plumbing: cross-validated probabilities, threshold tuning, fitting and saving a
``LinearTextModel`` so every shipped model is rebuilt the same way (and its CV figures printed)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from tilsvar.pipeline.linear import DATA_DIR, DEFAULT_SPEC, FeatureSpec, LinearTextModel, featurize


def logistic(c: float, solver: str = "lbfgs") -> Any:
    """The class-balanced logistic regression every offensive/sentiment model is trained with.
    ``liblinear`` (dual) reaches the same kind of optimum 10-20x faster on wide sparse features, which
    makes repeated and nested cross-validation affordable."""
    from sklearn.linear_model import LogisticRegression

    if solver == "liblinear":
        return LogisticRegression(
            C=c, class_weight="balanced", solver="liblinear", dual=True, max_iter=5000, random_state=0
        )
    return LogisticRegression(C=c, class_weight="balanced", max_iter=3000)


def cv_probabilities(
    texts: list[str],
    labels: npt.NDArray[Any],
    c: float,
    folds: int = 5,
    spec: FeatureSpec = DEFAULT_SPEC,
    solver: str = "lbfgs",
    seed: int = 0,
) -> npt.NDArray[Any]:
    """Out-of-fold probabilities of a class-balanced logistic regression (stratified, seeded)."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    result: npt.NDArray[Any] = cross_val_predict(
        logistic(c, solver), featurize(texts, spec), labels, cv=splitter, method="predict_proba"
    )
    return result


def best_threshold(
    labels: npt.NDArray[Any], positive: npt.NDArray[Any], metric: str = "macro"
) -> tuple[float, float]:
    """The decision threshold with the best macro-F1 (``metric="macro"``) or best positive-class F1
    (``"positive"``, PolEval's measure), and that F1. ``positive`` may hold several rows of
    out-of-fold probabilities (repeated CV): the threshold with the best mean F1 over them wins."""
    from sklearn.metrics import f1_score

    runs = np.atleast_2d(positive)
    average = "macro" if metric == "macro" else "binary"
    grid = np.arange(0.2, 0.8, 0.025) if metric == "macro" else np.arange(0.1, 0.9, 0.01)
    candidates = [
        (float(np.mean([f1_score(labels, run >= t, average=average) for run in runs])), float(t))
        for t in grid
    ]
    f1, threshold = max(candidates)
    return round(threshold, 3), round(f1, 4)


def fit(
    texts: list[str],
    labels: npt.NDArray[Any],
    c: float,
    meta: dict[str, Any],
    spec: FeatureSpec = DEFAULT_SPEC,
    sample_weight: npt.NDArray[Any] | None = None,
    solver: str = "lbfgs",
) -> LinearTextModel:
    model = logistic(c, solver)
    model.fit(featurize(texts, spec), labels, sample_weight=sample_weight)
    meta = {**meta, "features": spec.to_meta()}
    classes = [str(value) for value in model.classes_]
    coef = model.coef_
    intercept = model.intercept_
    return LinearTextModel(classes=classes, coef=np.asarray(coef), intercept=np.asarray(intercept), meta=meta)


def save(model: LinearTextModel, name: str) -> Path:
    path = DATA_DIR / f"{name}.npz"
    model.save(path)
    print(json.dumps({"saved": str(path), "bytes": path.stat().st_size, **model.meta}))
    return path
