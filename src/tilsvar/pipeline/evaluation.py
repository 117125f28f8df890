"""The figures behind ``tilsvar eval``: each stage measured on the public sets in ``../shared/eval``
(dev splits or cross-validation, never a test split), as JSON-ready dicts.

PII has no public labelled corpus in our languages, so ``pii_corpus`` builds one: real ID numbers from
``pii/`` (python-stdnum's documented examples, the Swedish Tax Agency's test personnummer and
samordningsnummer) placed in realistic customer sentences, plus near-miss negatives (order, booking and
case numbers that pass the same checksums, dates, prices) that must not be reported.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

from tilsvar.pipeline import datasets
from tilsvar.pipeline.datasets import Labelled
from tilsvar.pipeline.linear import FeatureSpec

CORE = ("da", "sv", "nb", "pl", "en")


def _macro_f1(gold: list[str], predicted: list[str]) -> float:
    from sklearn.metrics import f1_score

    return round(float(f1_score(gold, predicted, average="macro")), 4)


# --- language ----------------------------------------------------------------------------------------
def sentence_sets(folder: Path, per_language: int = 500) -> dict[str, list[str]]:
    """Real sentences of known origin: DKhate (da), Swedish set (sv), NoReC dev (nb/nn), PolEval (pl),
    OLID (en); three words or more. Origin is not a per-sentence label (DKhate has Swedish comments)."""
    from tilsvar.pipeline.text import strip_noise

    rng = random.Random(1)
    sources = {
        "da": [t for t, _ in datasets.dkhate(folder)],
        "sv": [t for t, _ in datasets.swedish_sentiment(folder)],
        "no": [t for t, _ in datasets.norec("dev", folder)],
        "pl": [t for t, _ in datasets.poleval(folder)],
        "en": [t for t, _ in datasets.olid(folder)],
    }
    result = {}
    for language, texts in sources.items():
        kept = [t for t in texts if len(strip_noise(t).split()) >= 3]
        rng.shuffle(kept)
        result[language] = kept[:per_language]
    return result


def evaluate_language(folder: Path) -> dict[str, Any]:
    from tilsvar.pipeline.language import detect

    report: dict[str, Any] = {}
    # lingua's even lines train the shipped model (training/train_language.py): measure the odd ones
    for kind in ("word-pairs", "single-words"):
        rows = datasets.lingua_testdata(kind, folder, half="held-out")
        predicted = detect([text for text, _ in rows])
        per: dict[str, list[bool]] = {}
        for (_, gold), guess in zip(rows, predicted, strict=True):
            per.setdefault(gold, []).append(guess == gold)
        report[kind] = {lang: round(sum(v) / len(v), 4) for lang, v in per.items()}
        core = [ok for lang in CORE for ok in per.get(lang, [])]
        report[kind]["core_mean"] = round(sum(core) / len(core), 4)
    sentences = sentence_sets(folder)
    figures = {}
    bokmaal = 0.0
    for language, texts in sentences.items():
        guesses = detect(texts)
        accepted = {"nb", "nn"} if language == "no" else {language}
        figures[language] = round(sum(g in accepted for g in guesses) / len(texts), 4)
        if language == "no":
            bokmaal = round(sum(g == "nb" for g in guesses) / len(texts), 4)
    figures["mean"] = round(sum(figures.values()) / len(figures), 4)
    # the Norwegian set said to be Bokmål (most NoReC reviews are; the few Nynorsk ones count as misses)
    figures["no_as_nb"] = bokmaal
    report["sentences_from_eval_sets"] = figures
    # clean, edited Danish (Leipzig news and web sentences, CC BY): origin and language agree, unlike
    # DKhate's Reddit threads where Swedes and Norwegians answer Danes
    clean = [t for t, _ in datasets.lcc_sentences(folder) if len(t.split()) >= 3]
    random.Random(2).shuffle(clean)
    clean = clean[:2000]
    guesses = detect(clean)
    report["clean_sentences"] = {"da_lcc": round(sum(g == "da" for g in guesses) / len(clean), 4)}
    return report


# --- personal data -----------------------------------------------------------------------------------
_TEMPLATES: dict[str, list[str]] = {
    "national_id.dk": [
        "Hej, mit CPR-nummer er {v}, kan I finde min bestilling?",
        "Mit cpr nr. {v} - jeg har ikke modtaget mit kort",
        "Personnummer: {v}. Hvorfor er mit abonnement opsagt?",
    ],
    "national_id.se": [
        "Hej! Mitt personnummer är {v} och jag har inte fått min biljett.",
        "Samordningsnummer {v}, kan ni hjälpa mig med återbetalningen?",
        "pnr {v} - varför har ni dragit pengar två gånger?",
    ],
    "national_id.no": [
        "Hei, fødselsnummeret mitt er {v}, kan dere sjekke saken?",
        "Fnr: {v}. Jeg har ikke fått refusjon ennå",
    ],
    "national_id.pl": [
        "Dzień dobry, mój PESEL to {v}, proszę o pomoc z zamówieniem.",
        "Numer PESEL {v} - nie dostałem zwrotu pieniędzy",
    ],
    "national_id.fi": ["Hei, henkilötunnukseni on {v}, en ole saanut lippua."],
    "phone": [
        "Ring venligst til mig på {v} i morgen",
        "Ni kan nå mig på {v} efter 16",
        "Ring meg på {v}, takk",
        "Proszę o kontakt pod numerem {v}",
        "Please call me back on {v} as soon as possible",
    ],
    "email": ["Skriv til mig på {v} tak", "You can email me at {v}.", "Mój e-mail: {v}"],
    "payment_card": [
        "Jeg har betalt med kortet {v} men intet sket",
        "My card number is {v}, why was it charged twice?",
    ],
    "iban": [
        "Refusion til min konto IBAN {v} tak",
        "Please refund to {v} asap",
        "Mitt IBAN är {v}.",
    ],
}
_NEGATIVES = [
    "Min ordre {n10} er stadig ikke kommet",
    "Ordrenummer {n10}, hvor er min pakke?",
    "Booking {n8} er aflyst, hvad nu?",
    "Ordre {n8} forsinket igen!!",
    "Mitt ordernummer är {n10} och paketet har inte kommit",
    "Bestillingsnummer {n11}: feil vare levert",
    "Numer zamówienia {n11} - brak przesyłki",
    "Order #{n8} hasn't arrived yet",
    "Tracking {n10} shows nothing since Monday",
    "Faktura {n10} er betalt den 12.03.2024",
    "Toget kl. 14.35 fra perron 3 var 25 min forsinket",
    "Jeg rejser d. 24-12-2025 og retur 02.01.2026",
    "Det kostede 1.249,95 kr. og 2 x 399 kr.",
    "Sagsnummer {n8} - ingen svar endnu",
    "Kundenummer {n10} er spærret",
    "Billet {n11} virker ikke i appen",
]
_PHONES = ["+45 20 30 40 50", "20 30 40 50", "+46 70 123 45 67", "070-123 45 67", "+47 412 34 567",
           "412 34 567", "+48 601 234 567", "601 234 567", "+44 7911 123456", "0045 31 41 59 26"]  # fmt: skip
_EMAILS = [
    "jens.hansen@example.dk",
    "anna_svensson@mail.example.se",
    "k.nowak+tog@example.pl",
    "ola@nordmann.no",
]
_CARDS = ["4111 1111 1111 1111", "5555-5555-5555-4444", "4571 0000 0000 0001", "3782 822463 10005"]
_IBANS = ["DK5000400440116243", "DK50 0040 0440 1162 43", "SE45 5000 0000 0583 9825 7466", "NO9386011117947",
          "PL61109010140000071219812874", "GB29 NWBK 6016 1331 9268 19", "FI2112345600000785"]  # fmt: skip
#: how people write ID numbers (the stdnum examples also show "8803-20-0016" and "10 04 87 44 732")
_REALISTIC = re.compile(r"^(?:\d{6}[-+ ]?\d{4}|\d{8}-?\d{4}|\d{6}[- ]?\d{5})$")
_HETU_CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"


def _hetu(rng: random.Random) -> str:
    day, month, year, serial = (
        rng.randint(1, 28),
        rng.randint(1, 12),
        rng.randint(40, 99),
        rng.randint(2, 899),
    )
    base = f"{day:02d}{month:02d}{year:02d}"
    return f"{base}-{serial:03d}{_HETU_CHECK[int(base + f'{serial:03d}') % 31]}"


def _valid_ids(folder: Path) -> dict[str, list[str]]:
    ids: dict[str, list[str]] = {
        t: [] for t in ("national_id.dk", "national_id.se", "national_id.no", "national_id.pl")
    }
    kinds = {"cpr": "national_id.dk", "personnummer": "national_id.se", "fodselsnummer": "national_id.no"}
    kinds["pesel"] = "national_id.pl"
    for row in datasets.national_ids(folder):
        target = kinds.get(row["id_type"])
        if target and row["stdnum_is_valid"] == "True" and _REALISTIC.match(row["value"]):
            ids[target].append(row["value"])
    for record in datasets.skatteverket(folder):
        if record.get("valid"):
            ids["national_id.se"].append(str(record["separated_format"]))
    coordination = folder / "pii" / "skatteverket_testdata" / "allCoords.json"
    if coordination.exists():
        import json

        numbers = json.loads(coordination.read_text("utf-8"))[:40]
        ids["national_id.se"] += [f"{n[2:8]}-{n[8:]}" for n in numbers]
    return ids


def pii_corpus(folder: Path, seed: int = 7) -> list[tuple[str, list[tuple[str, int, int]]]]:
    """(text, [(type, start, end)]) pairs: every value in each of its templates, plus negatives."""
    rng = random.Random(seed)
    values = _valid_ids(folder)
    values["national_id.fi"] = [_hetu(rng) for _ in range(20)]
    values.update(phone=_PHONES, email=_EMAILS, payment_card=_CARDS, iban=_IBANS)
    corpus: list[tuple[str, list[tuple[str, int, int]]]] = []
    for kind, templates in _TEMPLATES.items():
        for value in values[kind]:
            template = rng.choice(templates)
            start = template.index("{v}")
            corpus.append((template.replace("{v}", value), [(kind, start, start + len(value))]))
    # negatives: numbers that pass the ID checksums but are order numbers
    pool = {"n8": [], "n10": [], "n11": []}  # type: dict[str, list[str]]
    for ids in values.values():
        for value in ids:
            digits = "".join(ch for ch in value if ch.isdigit())
            key = {8: "n8", 10: "n10", 11: "n11"}.get(len(digits))
            if key:
                pool[key].append(digits)
    pool["n8"] += [str(rng.randint(20_000_000, 99_999_999)) for _ in range(40)]
    pool["n10"] += [str(rng.randint(10**9, 10**10 - 1)) for _ in range(40)]
    pool["n11"] += [str(rng.randint(10**10, 10**11 - 1)) for _ in range(40)]
    for _ in range(300):
        template = rng.choice(_NEGATIVES)
        corpus.append((template.format(**{k: rng.choice(v) for k, v in pool.items()}), []))
    return corpus


def evaluate_pii(folder: Path) -> dict[str, Any]:
    from tilsvar.pipeline.language import detect
    from tilsvar.pipeline.pii import find

    corpus = pii_corpus(folder)
    languages = detect([text for text, _ in corpus])
    true_positive = false_positive = false_negative = 0
    by_type: Counter[str] = Counter()
    missed_by_type: Counter[str] = Counter()
    errors: list[dict[str, Any]] = []
    for (text, gold), language in zip(corpus, languages, strict=True):
        found = {(s.type, s.start, s.end) for s in find(text, language)}
        expected = set(gold)
        true_positive += len(found & expected)
        false_positive += len(found - expected)
        false_negative += len(expected - found)
        for kind, _, _ in expected:
            by_type[kind] += 1
        for kind, _, _ in expected - found:
            missed_by_type[kind] += 1
        if found != expected and len(errors) < 10:
            errors.append({"text": text, "expected": sorted(expected), "found": sorted(found)})
    precision = true_positive / max(1, true_positive + false_positive)
    recall = true_positive / max(1, true_positive + false_negative)
    return {
        "messages": len(corpus),
        "spans": sum(by_type.values()),
        "negatives": sum(1 for _, gold in corpus if not gold),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "recall_by_type": {k: round(1 - missed_by_type[k] / n, 4) for k, n in sorted(by_type.items())},
        "examples_of_errors": errors,
    }


# --- moderation --------------------------------------------------------------------------------------
#: shuffles of the outer 5-fold CV; each figure is their mean (one shuffle of ~1,000 PolEval rows per
#: fold moves the harmful F1 by ±0.02)
MODERATION_SEEDS = (0, 1, 2)


def _logistic(meta: dict[str, Any]) -> Any:
    from sklearn.linear_model import LogisticRegression

    c = float(meta.get("c", 8.0))
    if meta.get("solver") == "liblinear":
        return LogisticRegression(
            C=c, class_weight="balanced", solver="liblinear", dual=True, max_iter=5000, random_state=0
        )
    return LogisticRegression(C=c, class_weight="balanced", max_iter=3000)


def _best_threshold(gold: Any, probabilities: Any, metric: str) -> float:
    import numpy as np
    from sklearn.metrics import f1_score

    average = "macro" if metric == "macro" else "binary"
    grid = np.arange(0.2, 0.8, 0.025) if metric == "macro" else np.arange(0.1, 0.9, 0.01)
    scores = [float(f1_score(gold, probabilities >= t, average=average)) for t in grid]
    return float(grid[int(np.argmax(scores))])


def _nested_offensive(texts: list[str], gold: list[int], meta: dict[str, Any], seed: int) -> list[bool]:
    """Held-out decisions from nested CV: outer 5-fold; in each outer training part an inner 5-fold CV
    picks the threshold (the shipped model's metric), then a model fitted on that part decides the
    held-out fold. No held-out label ever touches its own threshold or weights."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    from tilsvar.pipeline.linear import featurize

    features = featurize(texts, FeatureSpec.from_meta(meta))
    labels = np.array(gold)
    metric = str(meta.get("threshold_metric", "macro"))
    decided = np.zeros(len(labels), dtype=bool)
    for train, test in StratifiedKFold(5, shuffle=True, random_state=seed).split(features, labels):
        inner = np.zeros(len(train))
        splitter = StratifiedKFold(5, shuffle=True, random_state=seed + 100)
        for fit_part, score_part in splitter.split(features[train], labels[train]):
            model = _logistic(meta).fit(features[train][fit_part], labels[train][fit_part])
            inner[score_part] = model.predict_proba(features[train][score_part])[:, 1]
        threshold = _best_threshold(labels[train], inner, metric)
        model = _logistic(meta).fit(features[train], labels[train])
        decided[test] = model.predict_proba(features[test])[:, 1] >= threshold
    return [bool(value) for value in decided]


def _lexicon_offensive(texts: list[str], language: str) -> list[bool]:
    from tilsvar.pipeline.moderation import OFFENSIVE_LABELS, lexicon_labels

    return [
        any(label in OFFENSIVE_LABELS for label in lexicon_labels(text, language).labels) for text in texts
    ]


def _combined(lexicon: list[bool], probabilities: list[float], threshold: float) -> list[int]:
    """Offensive when the classifier's probability reaches ``threshold`` or the lexicons hit."""
    return [int(p >= threshold or hit) for p, hit in zip(probabilities, lexicon, strict=True)]


def evaluate_moderation(folder: Path, seeds: tuple[int, ...] = MODERATION_SEEDS) -> dict[str, Any]:
    from sklearn.metrics import f1_score

    from tilsvar.pipeline.linear import shipped
    from tilsvar.pipeline.moderation import english_parts, offensive_scores

    def mean(values: list[float]) -> float:
        return round(sum(values) / len(values), 4)

    report: dict[str, Any] = {}
    for name, rows, positive, language, model in (
        ("dkhate_da_nested_cv5", datasets.dkhate(folder), "OFF", "da", "offensive_da"),
        ("poleval_pl_nested_cv5", datasets.poleval(folder), "1", "pl", "offensive_pl"),
    ):
        meta = shipped(model).meta
        texts = [t for t, _ in rows]
        gold = [int(label == positive) for _, label in rows]
        lexicon = _lexicon_offensive(texts, language)
        figures: dict[str, list[float]] = {}
        for seed in seeds:
            classifier = _nested_offensive(texts, gold, meta, seed)
            combined = [int(c or hit) for c, hit in zip(classifier, lexicon, strict=True)]
            for key, predicted in (("classifier", classifier), ("with_lexicons", combined)):
                figures.setdefault(f"{key}_macro_f1", []).append(
                    float(f1_score(gold, predicted, average="macro"))
                )
                figures.setdefault(f"{key}_positive_f1", []).append(float(f1_score(gold, predicted)))
        report[name] = {
            "rows": len(rows),
            "seeds": list(seeds),
            **{key: mean(values) for key, values in figures.items()},
            "per_seed_positive_f1": [round(v, 4) for v in figures["classifier_positive_f1"]],
            "per_seed_macro_f1": [round(v, 4) for v in figures["classifier_macro_f1"]],
        }
    rows = datasets.olid(folder)
    texts = [t for t, _ in rows]
    gold = [int(label == "OFF") for _, label in rows]
    scores = offensive_scores(texts, ["en"] * len(texts))
    lexicon = _lexicon_offensive(texts, "en")  # once: every OLID figure below ORs it in
    predicted = _combined(lexicon, scores, 0.5)
    lexicon_only = _combined(lexicon, [0.0] * len(texts), 0.5)
    word_scores, toxic = english_parts(texts)
    report["olid_en_out_of_domain"] = {
        "rows": len(rows),
        "note": "never trained on (no licence): en word model + BiLSTM blend (weight/threshold chosen on "
        "half A) + lexicons",
        "macro_f1": round(float(f1_score(gold, predicted, average="macro")), 4),
        "word_model_only_macro_f1": round(
            float(f1_score(gold, _combined(lexicon, word_scores, 0.5), average="macro")), 4
        ),
        "lexicons_only_macro_f1": round(float(f1_score(gold, lexicon_only, average="macro")), 4),
        "halves": _olid_halves(lexicon, gold, word_scores, toxic),
    }
    return report


#: the OLID split for blend choices: numpy's default_rng(0) permutation, first half = A
OLID_SPLIT_SEED = 0


def _olid_halves(hits: list[bool], gold: list[int], word: list[float], toxic: list[float]) -> dict[str, Any]:
    """The English blend on OLID's two halves: the shipped weight/threshold (chosen on A) on each half,
    and a weight/threshold chosen on each half then measured on the other."""
    import numpy as np
    from sklearn.metrics import f1_score

    from tilsvar.pipeline.moderation import ENGLISH_BLEND_THRESHOLD, ENGLISH_BLEND_WEIGHT

    gold_array = np.asarray(gold)
    lexicon = np.asarray(hits)
    word_array, toxic_array = np.asarray(word), np.asarray(toxic)
    order = np.random.default_rng(OLID_SPLIT_SEED).permutation(len(gold))
    half = {"A": order[: len(gold) // 2], "B": order[len(gold) // 2 :]}

    def score(rows: Any, weight: float, threshold: float) -> float:
        blend = weight * word_array[rows] + (1 - weight) * toxic_array[rows]
        predicted = (blend >= threshold) | lexicon[rows]
        return float(f1_score(gold_array[rows], predicted, average="macro"))

    def choose(rows: Any) -> tuple[float, float]:
        grid = [(w / 10, t / 100) for w in range(11) for t in range(2, 96)]
        return max(grid, key=lambda pair: score(rows, *pair))

    report: dict[str, Any] = {
        "split": f"numpy default_rng({OLID_SPLIT_SEED}).permutation, first half A, second B",
        "shipped": {"weight": ENGLISH_BLEND_WEIGHT, "threshold": ENGLISH_BLEND_THRESHOLD},
        "shipped_on_A_macro_f1": round(score(half["A"], ENGLISH_BLEND_WEIGHT, ENGLISH_BLEND_THRESHOLD), 4),
        "shipped_on_B_macro_f1": round(score(half["B"], ENGLISH_BLEND_WEIGHT, ENGLISH_BLEND_THRESHOLD), 4),
    }
    for tune, test in (("A", "B"), ("B", "A")):
        weight, threshold = choose(half[tune])
        report[f"chosen_on_{tune}"] = {
            "weight": weight,
            "threshold": threshold,
            f"{tune}_macro_f1": round(score(half[tune], weight, threshold), 4),
            f"held_out_{test}_macro_f1": round(score(half[test], weight, threshold), 4),
        }
    return report


# --- sentiment ---------------------------------------------------------------------------------------
def evaluate_sentiment(folder: Path) -> dict[str, Any]:
    """NoReC dev and the Swedish set (evaluation only) and the LCC scored rows, each text with the
    language stage's guess, as in ``tilsvar analyze`` (the sentiment stage weighs some words by it)."""
    from tilsvar.pipeline.language import detect
    from tilsvar.pipeline.sentiment import label, scores

    report: dict[str, Any] = {}
    lcc = datasets.lcc_danish(folder)
    sets: list[tuple[str, Labelled]] = [
        ("norec_no_dev", datasets.norec("dev", folder)),
        ("swedish_sv", datasets.swedish_sentiment(folder)),
        (
            "lcc_da_scored",
            [(t, "positive" if v > 0 else "negative" if v < 0 else "neutral") for t, v in lcc],
        ),
    ]
    for name, rows in sets:
        gold = [g for _, g in rows]
        texts = [text for text, _ in rows]
        predicted = [label(v) for v in scores(texts, detect(texts))]
        report[name] = {
            "rows": len(rows),
            "macro_f1": _macro_f1(gold, predicted),
            "gold": dict(Counter(gold)),
        }
    return report


# --- intent ------------------------------------------------------------------------------------------
#: our own labelled customer messages (shippable: written for Tilsvar), 8 per language and intent
INTENT_DEV = Path(__file__).resolve().parents[3] / "training" / "data" / "intent_dev.tsv"


def intent_dev_set(path: Path = INTENT_DEV) -> list[tuple[str, str, str]]:
    """(language, intent, text) rows of our intent dev set."""
    import csv

    with path.open(encoding="utf-8", newline="") as handle:
        return [
            (row["language"], row["intent"], row["text"])
            for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        ]


def evaluate_intent(folder: Path) -> dict[str, Any]:
    """Intent on our own multilingual dev set (the whole pipeline runs, as in ``tilsvar analyze``), plus
    the language stage on the same messages. ``folder`` is unused: no public set has these intents."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    from tilsvar.pipeline import TextItem, analyze
    from tilsvar.pipeline.intent import INTENTS

    rows = intent_dev_set()
    items = [TextItem(text=text, kind="comment") for _, _, text in rows]
    analyze(items)
    gold = [intent for _, intent, _ in rows]
    predicted = [str(item.analysis.get("intent")) for item in items]
    labels = [intent for intent in INTENTS if intent in set(gold)]
    per_language: dict[str, float] = {}
    language_accuracy: dict[str, float] = {}
    for language in dict.fromkeys(lang for lang, _, _ in rows):
        index = [i for i, row in enumerate(rows) if row[0] == language]
        per_language[language] = _macro_f1([gold[i] for i in index], [predicted[i] for i in index])
        language_accuracy[language] = round(
            sum(items[i].analysis.get("language") == language for i in index) / len(index), 4
        )
    matrix = confusion_matrix(gold, predicted, labels=labels)
    return {
        "rows": len(rows),
        "accuracy": round(float(accuracy_score(gold, predicted)), 4),
        "macro_f1": _macro_f1(gold, predicted),
        "per_intent_f1": dict(
            zip(
                labels,
                (round(float(v), 4) for v in f1_score(gold, predicted, labels=labels, average=None)),
                strict=True,
            )
        ),
        "macro_f1_per_language": per_language,
        "confusion": {"labels": labels, "rows_gold_columns_predicted": matrix.tolist()},
        "language_accuracy_on_these_messages": language_accuracy,
    }
