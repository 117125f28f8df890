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


def cv_probabilities(
    texts: list[str], labels: npt.NDArray[Any], c: float, folds: int = 5, spec: FeatureSpec = DEFAULT_SPEC
) -> npt.NDArray[Any]:
    """Out-of-fold probabilities of a class-balanced logistic regression (stratified, seeded)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    model = LogisticRegression(C=c, class_weight="balanced", max_iter=3000)
    splitter = StratifiedKFold(folds, shuffle=True, random_state=0)
    result: npt.NDArray[Any] = cross_val_predict(
        model, featurize(texts, spec), labels, cv=splitter, method="predict_proba"
    )
    return result


def best_threshold(labels: npt.NDArray[Any], positive: npt.NDArray[Any]) -> tuple[float, float]:
    """The decision threshold with the best macro-F1, and that F1."""
    from sklearn.metrics import f1_score

    candidates = [
        (float(f1_score(labels, positive >= t, average="macro")), float(t))
        for t in np.arange(0.2, 0.8, 0.025)
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
) -> LinearTextModel:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, class_weight="balanced", max_iter=3000)
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
