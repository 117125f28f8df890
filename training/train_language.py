"""Train the shipped language identifier ``language.npz``: a linear model over hashed character
1–4-grams and words that tells apart da, sv, nb, nn, pl, en, de, fi, is, fr, es, it and nl (Cyrillic
and Arabic script are decided by rule in ``language.py``).

Training text, all shippable:
- our own sentences in ``training/data/language_<code>.txt`` (written for Tilsvar);
- lingua's test data (Apache-2.0), single words and word pairs, **even lines only**: the odd lines are
  held out for ``tilsvar eval language``;
- Danish: LCC sentences (CC BY) and DKhate comments (CC BY) that lingua's high-accuracy detector
  confidently calls Danish; DKhate comments it confidently calls Swedish or Norwegian Bokmål train those
  languages instead. Polish: PolEval 2019 (BSD-3). English: BANKING77 (CC BY 4.0) and CLINC150
  (CC BY 3.0). The DKhate and PolEval sentences that ``tilsvar eval language`` samples are left out.

Run from the repository root: ``.venv/bin/python -m training.train_language [--data ../shared/eval]``.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from functools import cache
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from tilsvar.pipeline import datasets
from tilsvar.pipeline.language import MODEL_CLASSES, MODEL_NAME, SPEC, prepare
from tilsvar.pipeline.linear import LinearTextModel, featurize_normalized
from training.common import save

OWN = Path(__file__).resolve().parent / "data"
C = 4.0
#: lingua must be this much more confident in its first language than in its second
MARGIN = 0.5


def own_sentences() -> list[tuple[str, str]]:
    rows = []
    for path in sorted(OWN.glob("language_*.txt")):
        code = path.stem.split("_", 1)[1]
        rows += [(line.strip(), code) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return rows


def lingua_even(folder: Path) -> list[tuple[str, str]]:
    rows = []
    for kind in ("single-words", "word-pairs"):
        rows += datasets.lingua_testdata(kind, folder, half="train")
    return rows


@cache
def dkhate_by_lingua(folder: Path, excluded: frozenset[str]) -> list[tuple[str, str]]:
    """DKhate comments labelled by lingua's high-accuracy detector, when it is confident."""
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    codes = ("da", "sv", "nb", "nn", "en", "de")
    detector = LanguageDetectorBuilder.from_languages(
        *[Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in codes]
    ).build()
    rows = []
    for text, _ in datasets.dkhate(folder):
        if text in excluded:
            continue
        cleaned = prepare(text)
        if len(cleaned.split()) < 3:
            continue
        values = detector.compute_language_confidence_values(cleaned)
        if len(values) < 2 or values[0].value - values[1].value < MARGIN:
            continue
        code = str(values[0].language.iso_code_639_1.name).lower()
        if code in {"da", "sv", "nb"}:
            rows.append((text, code))
    return rows


def fragments(texts: list[str], code: str, count: int, rng: random.Random) -> list[tuple[str, str]]:
    """Windows of one to four words cut from sentences, so that short texts are not all word lists."""
    result = []
    split = [t.split() for t in texts if len(t.split()) >= 2]
    for _ in range(count):
        words = rng.choice(split)
        size = rng.randint(1, 4)
        start = rng.randint(0, max(0, len(words) - size))
        result.append((" ".join(words[start : start + size]), code))
    return result


def word_bags(rows: list[tuple[str, str]], count: int, rng: random.Random) -> list[tuple[str, str]]:
    """Pseudo-sentences of 4–14 words drawn from one language's word lists, so that long texts are not
    all real sentences (only Danish, Polish and English have shippable sentences in quantity)."""
    words: dict[str, list[str]] = {}
    for text, code in rows:
        words.setdefault(code, []).extend(text.split())
    return [
        (" ".join(rng.choice(pool) for _ in range(rng.randint(4, 14))), code)
        for code, pool in words.items()
        for _ in range(count)
    ]


def corpus(folder: Path) -> list[tuple[str, str]]:
    from tilsvar.pipeline.evaluation import sentence_sets

    held_out = frozenset(text for texts in sentence_sets(folder).values() for text in texts)
    rng = random.Random(5)
    own = own_sentences()
    lingua = lingua_even(folder)
    rows = own * 5 + lingua + word_bags(lingua + own, 800, rng)
    for code in {c for _, c in own}:
        rows += fragments([t for t, c in own if c == code], code, 150, rng)
    # few real Danish sentences: with thousands of them (and almost no real Swedish or Norwegian ones)
    # the model learns "a whole sentence is Danish"; our parallel sentences carry the differences
    lcc = rng.sample([text for text, _ in datasets.lcc_sentences(folder)], 200)
    danish = lcc + [t for t, code in dkhate_by_lingua(folder, held_out) if code == "da"][:200]
    rows += [(t, c) for t, c in dkhate_by_lingua(folder, held_out) if c != "da"]
    polish = [t for t, _ in datasets.poleval(folder) if t not in held_out and len(t.split()) >= 3]
    english = [t for t, _ in datasets.banking77(folder)] + [t for t, _ in datasets.clinc150(folder)]
    rows += [(text, "da") for text in danish] + fragments(danish, "da", 200, rng)
    for code, texts in (("pl", rng.sample(polish, 1500)), ("en", rng.sample(english, 1500))):
        rows += [(text, code) for text in texts] + fragments(texts, code, 600, rng)
    return [(text, code) for text, code in rows if code in MODEL_CLASSES]


def main() -> None:
    from sklearn.linear_model import LogisticRegression

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=datasets.DEFAULT_EVAL_DIR)
    args = parser.parse_args()
    rows = corpus(args.data)
    counts = Counter(code for _, code in rows)
    print(dict(sorted(counts.items())))
    features = featurize_normalized([prepare(text) for text, _ in rows], SPEC)
    labels = np.array([code for _, code in rows])
    model = LogisticRegression(C=C, class_weight="balanced", max_iter=500, tol=1e-3).fit(features, labels)
    linear = LinearTextModel(
        classes=[str(c) for c in model.classes_],
        coef=np.asarray(model.coef_),
        intercept=np.asarray(model.intercept_),
        meta={
            "features": SPEC.to_meta(),
            "c": C,
            "rows": len(rows),
            "rows_per_language": dict(sorted(counts.items())),
            "source": "own sentences; lingua test data (even lines, Apache-2.0); LCC da and DKhate "
            "(CC BY); PolEval 2019 (BSD-3); BANKING77 (CC BY 4.0); CLINC150 (CC BY 3.0)",
        },
    )
    save(linear, MODEL_NAME)


if __name__ == "__main__":
    main()
