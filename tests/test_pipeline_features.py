"""Shared machinery of the pipeline: the numpy n-gram featurizer and the prefiltered cue patterns."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tilsvar.pipeline import lexicons
from tilsvar.pipeline.intent import CUES
from tilsvar.pipeline.linear import FeatureSpec, featurize, featurize_normalized
from tilsvar.pipeline.text import CueSet, lexicon_form, strip_noise


def test_features_are_unit_rows_and_independent_of_the_batch() -> None:
    texts = ["Tak for hjælpen!", "", "kurwa mać", "Why is my parcel late?? 😡"]
    batch = featurize(texts)
    assert batch.shape == (4, FeatureSpec().width)
    norms = np.sqrt(np.asarray(batch.multiply(batch).sum(axis=1)).ravel())
    assert np.allclose(norms, 1.0, atol=1e-5)
    for index, text in enumerate(texts):
        alone = featurize_normalized([text.casefold()]).toarray()
        assert np.allclose(alone, featurize_normalized([t.casefold() for t in texts])[index].toarray())


def test_char_ngrams_do_not_cross_texts() -> None:
    spec = FeatureSpec(chars=(3,), words=())
    pair = featurize_normalized(["ab", "cd"], spec)
    assert pair[0].nnz == 2  # " ab", "ab " — never "b\0c"
    assert pair[1].nnz == 2


@pytest.mark.parametrize(
    "patterns",
    [lexicons.THREATS, lexicons.SPAM_PATTERNS, lexicons.ADVERTISING_PATTERNS, *CUES.values()],
)
def test_cue_sets_find_what_one_alternation_finds(patterns: list[str]) -> None:
    alternation = re.compile(r"(?<!\w)(?:" + "|".join(patterns) + r")(?!\w)", re.I)
    cues = CueSet(patterns, suffix=r")(?!\w)")
    texts = [
        "jeg ved hvor du bor",
        "Use my code SAVE10 and get 20% off, shop now!",
        "Hvornår kommer min pakke? Den er stadig ikke modtaget",
        "I'm a journalist at the BBC, deadline today",
        "earn $500 from home, link in bio",
        "nothing to see here",
        "gruppe rabat og grupperabat",
    ]
    for text in texts:
        form = lexicon_form(text)
        expected = alternation.search(form)
        found = cues.search(form)
        assert (found is None) == (expected is None), text
        if found and expected:
            assert found.start() == expected.start()


def test_strip_noise_removes_emoji_symbols_handles_and_links() -> None:
    assert strip_noise("@DSB toget 😡 er\tforsinket https://t.co/x #fail ©") == "toget er forsinket fail"


def test_a_folding_spec_sees_text_typed_without_diacritics_as_the_same() -> None:
    spec = FeatureSpec(chars=(1, 2, 3), words=(), fold=True)
    with_marks, without = featurize(
        ["Zjębany łajdak, idź się leczyć", "zjebany lajdak, idz sie leczyc"], spec
    )
    assert (with_marks != without).nnz == 0
    assert FeatureSpec.from_meta({"features": spec.to_meta()}) == spec
    assert "fold" not in FeatureSpec().to_meta()  # older model files keep their exact metadata
