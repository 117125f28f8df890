"""Convert alt-profanity-check's English model (MIT, © 2018 Victor Zhou, 2021 Menelaos Kotoglou and
Dimitrios Mistriotis; trained by its authors on the Davidson et al. 2017 tweets and the Jigsaw/Wikipedia
toxic-comment data) into ``src/tilsvar/pipeline/data/offensive_en.npz`` (vocabulary, idf, the five
calibrated LinearSVC members): no scikit-learn and no pickle at run time (``pipeline/wordmodel.py``).

There is no shippable English offensive-language data in ``../shared/eval`` (OLID has no licence), so
English uses this pre-trained model. The decision threshold is the one printed by
``tilsvar eval moderation`` as best on OLID's (training) rows — a dev-set choice, stated in the
metadata. Needs the package only here: ``pip install alt-profanity-check==1.9.1``, then
``.venv/bin/python -m training.convert_offensive_en [--from DIR]`` (DIR holds vectorizer.joblib and
model.joblib; default: the installed package).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "src" / "tilsvar" / "pipeline" / "data" / "offensive_en.npz"
#: chosen on OLID's rows (the only English offensive set here; evaluation-only, never trained on)
THRESHOLD = 0.2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--from", dest="source", type=Path, default=None)
    args = parser.parse_args()
    source = args.source
    if source is None:
        from importlib import resources

        source = Path(str(resources.files("profanity_check") / "data"))
    import joblib  # type: ignore[import-untyped]

    vectorizer = joblib.load(source / "vectorizer.joblib")
    model = joblib.load(source / "model.joblib")
    params = vectorizer.get_params()
    expected = {
        "analyzer": "word",
        "ngram_range": (1, 1),
        "lowercase": True,
        "norm": "l2",
        "sublinear_tf": False,
        "use_idf": True,
        "token_pattern": r"(?u)\b\w\w+\b",
    }
    different = {key: params[key] for key, value in expected.items() if params[key] != value}
    if different:
        raise SystemExit(f"wordmodel.py cannot evaluate this vectorizer: {different}")
    words = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.get)
    members = model.calibrated_classifiers_
    assert all(member.method == "sigmoid" for member in members)
    assert list(model.classes_) == [0, 1]
    meta = {
        "source": "alt-profanity-check 1.9.1 (MIT); trained by its authors on Davidson et al. 2017 and "
        "Jigsaw/Wikipedia toxic comments",
        "threshold": THRESHOLD,
        "threshold_from": "best macro-F1 on OLID training rows (evaluation-only set) with our lexicons",
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        OUT,
        words=np.array(words),
        idf=vectorizer.idf_.astype("float32"),
        coef=np.vstack([member.estimator.coef_[0] for member in members]).astype("float32"),
        intercept=np.array([float(member.estimator.intercept_[0]) for member in members]),
        sigmoid_a=np.array([float(member.calibrators[0].a_) for member in members]),
        sigmoid_b=np.array([float(member.calibrators[0].b_) for member in members]),
        meta=np.array(json.dumps(meta)),
    )
    print(json.dumps({"written": str(OUT), "vocabulary": len(words), "members": len(members)}))


if __name__ == "__main__":
    main()
