"""A tie-breaker for Danish, Swedish, Norwegian Bokmål and Nynorsk.

General detectors (lingua included) score these four languages within a few per cent of each other
on short texts, because they share most character n-grams. Their function words and spelling do
differ: "ikke/ikkje/inte", "jeg/eg/jag", "hvad/hva/kva/vad", "af/av", "efter/etter", "mig/meg",
"blev/ble", "æ ø" against "ä ö", "-erne" against "-ene/-arna". ``vote`` counts those markers; the
language stage lets a clear marker majority decide between the Nordic languages (and, with strong
evidence, override a non-Nordic guess such as English for a Swedish tweet with an English quote).
The lists were written for Tilsvar from grammar-book knowledge, not learnt from the evaluation sets.
"""

from __future__ import annotations

import re
from functools import lru_cache

from tilsvar.pipeline import word_frequencies

NORDIC = ("da", "sv", "nb", "nn")
#: guesses never overridden (other scripts, or languages a Nordic text is not mistaken for)
_OTHER_SCRIPTS_OR_FAR = frozenset({"pl", "uk", "ru", "ar", "fr", "es", "it"})

# Each line: the languages a word points to, then the words. A word common to all four languages
# (du, det, som, han, men, med, om, vi, kan, har, for) tells nothing and is left out.
_MARKERS = """
sv: inte jag och är vad hur någon något några mycket också varför kanske bara sån dom ni fick gick
sv: vill ska måste till från för att tack väldigt riktigt gott dålig tycker redan själv egentligen
sv: varje alla andra många fler stora nya gång hemma upp ner tänker tänka prata självklart vilken
sv: vilket hela ganska faktiskt detta denna dessa deras varit blivit göra gör säger hon hem hjälp
sv: köpa köp köpt fråga tillbaka tillsammans än ännu mellan över vid utan därför nog alltså asså
sv: dessutom jävla jävlar jävligt härlig gamla gammal vem mej dej sej kolla typ väl nåt nån
sv: idag igår ju va hade klart såklart snyggt skit fan ses lär
sv: vecka kväll tjej flicka spel genom nästan ett bör
da sv: mig dig sig blev nu hej nej efter ej sådan sten
sv nn: medan
nb nn: hadde gjennom blitt
nb nn sv: oss ut av vet blir mat bok ute satt
nb sv: bra mer alltid kul vår mitt ditt sitt riktig hennes lite
da: hvad nogen noget nogle af ud jer fik gik tak lidt lille rigtig kun mere altid aldrig os vores
da: mit dit sit hende hendes hjælp hjælpe købe køb købt spørgsmål tilbage været blevet gøre gør
da: siger tage sgu fandme dejlig dejligt endnu mellem uden desuden måske bliver sjov tusind tyve
da: tænke tænker blot endda vej øje øjne høj op ind end helvede havde gennem næsten desværre uge
da: aften pige dreng bog mad spil dage kaldte kaldt meget blive uger fortsat slet ret
da nb: ikke jeg hvordan hvorfor hvor hvem hvis ganske faktisk egentlig selv hver flere hele dette
da nb: denne disse være synes allerede derfor fra hun bare sammen deres
da nb: hvilken hvilket selvfølgelig mennesker menneske godt dårlig mens gamle
da nb nn: alle andre mange store nye gang nok altså fordi at til og er også vil skal må ved
nb: hva noe noen dere ble fikk gikk nå etter mye tilbake vært gjøre gjør sier sånn uten
nb: ennå dessuten kanskje deilig gøy vei øye øyne høy opp inn enn tusen tjue tenke tenker kjempe
nb: faen jævla jævlig takk nei hei ei helvete bli greit dessverre stein
nb: nesten dager uke kveld jente gutt spill meg deg seg litt veldig aldri hjelp kjøpe kjøp
nb: kjøpt spørsmål slik mellom å kalte rett slett tvil ga gitt fortsatt
nn: eg ikkje kva kven korleis kvifor berre meir mykje noko nokon nokre frå dei ein eit vere vert
nn: ho dykk fekk gjekk seier gjere gjer heile fleire sjølv saman deira òg meg deg seg litt veldig
nn: aldri hjelp kjøpe kjøp kjøpt spørsmål slik mellom å etter tilbake opp inn enn tenke kjempe
nn: faen takk nei hei ei kveld dagar
da: hedder giver finde børn derefter herefter hvornår gerne spørge bruge bruger vand penge lige
da: ligesom netop inden inde fået gået hinanden mod kære værre værste almindelig kende søge plads
da: rejse fejl sagde
da sv: igen
da sv nn: haft
nb nn: igjen tatt finne gjerne spørre vann nettopp innen kjære verre verste billett feil reise
nb nn sv: fått gått mot inne
nb: heter gir deretter bruke bruker penger hverandre søke plass hatt
da nb sv: en
da nb: et annet mener hjem siden huske
nb: annen
nb nn: beste ekte vite setter
nb nn sv: visste
nb sv: boken
da: bedste ægte vidste sætter bogen
nn: vart hjå difor anna sidan kjem kome gong veke heim meiner einaste sjå hugse verte
sv: heter ger hitta därefter gärna vatten inom varandra kära värre plats fel resa pengar
"""


def _table() -> dict[str, tuple[str, ...]]:
    table: dict[str, set[str]] = {}
    for line in _MARKERS.strip().splitlines():
        languages, _, words = line.partition(":")
        for word in words.split():
            table.setdefault(word, set()).update(languages.split())
    return {word: tuple(sorted(languages)) for word, languages in table.items()}


MARKERS = _table()

#: word endings (words of six letters or more) and the languages they point to, with a weight
_SUFFIXES: tuple[tuple[str, dict[str, float]], ...] = (
    ("arna", {"sv": 1.0}),
    ("orna", {"sv": 1.0}),
    ("heten", {"sv": 1.0, "nb": 1.0}),
    ("heden", {"da": 1.0}),
    ("legt", {"nn": 1.0}),
    ("leg", {"nn": 1.0}),
    ("sjonen", {"nb": 1.0, "nn": 1.0}),
    ("sjoner", {"nb": 1.0, "nn": 1.0}),
    ("sjon", {"nb": 1.0, "nn": 1.0}),
    ("skabet", {"da": 1.0}),
    ("skab", {"da": 1.0}),
    ("ande", {"sv": 1.0, "nn": 0.5}),
    ("ade", {"sv": 1.0}),
    ("ligt", {"da": 1.0, "sv": 1.0}),
    ("ede", {"da": 1.0}),
    ("ene", {"nb": 0.5, "nn": 0.5}),
    ("kk", {"nb": 1.0, "nn": 1.0}),
    ("tt", {"nb": 0.5, "nn": 0.5, "sv": 0.5}),
    ("nn", {"nb": 1.0, "nn": 1.0, "sv": 0.5}),
    ("ll", {"nb": 0.5, "nn": 0.5, "sv": 0.5}),
    ("ast", {"nn": 1.0, "sv": 0.5}),  # Nynorsk passive and superlative (festast, finast)
)
#: a doubled final consonant in a word of four or five letters too: Norwegian (and often Swedish)
#: doubles it, Danish does not ("takk/tak", "blikk/blik", "mann/mand", "spill/spil", "nytt/nyt")
_DOUBLE_FINALS = frozenset({"kk", "tt", "nn", "ll"})
_SUFFIX_WEIGHTS = dict(_SUFFIXES)
#: a word starting with "kj" (kjenne, kjøre, kjempe) points to nb/nn; Danish writes k- (kende, køre)
_KJ_DANISH = frozenset({"kjole", "kjoler", "kjolen", "kjortel"})
#: letters and letter pairs anywhere in the text (counted once each), only between Nordic languages
_LETTERS: tuple[tuple[str, dict[str, float]], ...] = (
    ("ä", {"sv": 1.0}),
    ("ö", {"sv": 1.0}),
    ("æ", {"da": 1.0, "nb": 1.0, "nn": 1.0}),
    ("ø", {"da": 1.0, "nb": 1.0, "nn": 1.0}),
    ("øy", {"nb": 1.0, "nn": 1.0}),
    ("øj", {"da": 1.0}),
)
#: how many more votes another Nordic language needs than the detector's Nordic guess
MARGIN = 1.0
NORWEGIAN = frozenset({"nb", "nn"})
_NON_NORDIC_MIN = 3.0
#: a short text (this many words or fewer) overrides a non-Nordic guess with two word votes and a lead
#: of one, not three and two
_SHORT_WORDS = 6
#: the Bokmål votes a Norwegian sentence of ``_SHORT_WORDS`` words or more needs to overturn a Nynorsk
#: guess that no Nynorsk marker backs
_NYNORSK_EVIDENCE = 2.0
#: markers that are also English words ("fan", "till", "at", "end"): not counted against a non-Nordic
#: guess, so an English tweet about a fan club is not turned Swedish
_HOMOGRAPHS = """
at end fan sit mad gang till op dig vet store af ho hun et spill og er va tack mod lite bare anna
bra hem skit mat ute ret ned hat sen
"""
_ENGLISH_HOMOGRAPHS = frozenset(_HOMOGRAPHS.split())
#: letters only the Nordic languages write among the candidates (Icelandic has æ, not ø or å)
_NORDIC_ONLY_LETTERS = frozenset("øåØÅ")
_WORD = re.compile(r"[^\W\d_]+")


@lru_cache(maxsize=8192)
def vote(text: str, *, letters: bool = True) -> dict[str, float]:
    """How strongly the text's markers point to each Nordic language (only languages with a vote);
    ``letters=False`` counts words only, and not those that are English words too (letters like ä ö
    are not Nordic-only either): the evidence against a non-Nordic guess."""
    lowered = text.casefold()
    counts: dict[str, float] = {}
    for original in _WORD.findall(text):
        word = original.casefold()
        languages = MARKERS.get(word)
        if not letters and word in _ENGLISH_HOMOGRAPHS:
            continue
        if languages is not None:
            for language in languages:
                counts[language] = counts.get(language, 0.0) + 1.0
            continue
        if not letters:
            continue
        if word.startswith("kj") and word not in _KJ_DANISH:
            counts["nb"] = counts.get("nb", 0.0) + 1.0
            counts["nn"] = counts.get("nn", 0.0) + 1.0
        if len(word) >= 6 and original[0].islower():
            for end, weights in _SUFFIXES:
                if word.endswith(end):
                    for language, weight in weights.items():
                        counts[language] = counts.get(language, 0.0) + weight
                    break
        elif len(word) >= 4 and original[0].islower() and word[-2:] in _DOUBLE_FINALS:
            for language, weight in _SUFFIX_WEIGHTS[word[-2:]].items():
                counts[language] = counts.get(language, 0.0) + weight
    if letters:
        for letter, weights in _LETTERS:
            if letter in lowered:
                for language, weight in weights.items():
                    counts[language] = counts.get(language, 0.0) + weight
    return counts


def decide(text: str, guess: str | None) -> str | None:
    """The Nordic language the markers clearly favour, or ``guess`` when they do not.

    A Nordic guess is replaced when another Nordic language has ``MARGIN`` more votes; a non-Nordic
    guess only when, counting words alone (without English homographs), the winner has at least three
    votes and two more than the runner-up — in a text of up to ``_SHORT_WORDS`` words, two votes and one
    more."""
    nordic_guess = guess in NORDIC
    if not nordic_guess and guess in _OTHER_SCRIPTS_OR_FAR:
        return guess
    counts = vote(text, letters=nordic_guess)
    if not counts:
        return guess
    if (
        guess == "nn"
        and counts.get("nb", 0.0) >= max(_NYNORSK_EVIDENCE, *counts.values())
        and counts.get("da", 0.0) <= counts["nb"]
        and len(_WORD.findall(text)) >= _SHORT_WORDS
    ):
        # A sentence of Nynorsk almost always has one of its own words (ikkje, ein, dei, frå, eg, kva,
        # berre …) or endings (-leg); a Norwegian sentence whose markers give Nynorsk nothing over
        # Bokmål is Bokmål. (lingua calls about a fifth of Bokmål sentences Nynorsk.)
        return "nb"
    ranked = sorted(counts.items(), key=lambda pair: pair[1], reverse=True)
    best, top = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    if (
        top == second
        and {ranked[0][0], ranked[1][0]} == NORWEGIAN
        and (len(ranked) < 3 or ranked[2][1] < top)
    ):
        # Bokmål and Nynorsk share most markers ("å", "deg", "opp"): a tie between the two alone is
        # still a clear vote for Norwegian; Bokmål, the written standard of most Norwegians, unless
        # the detector already said Nynorsk (a sentence long enough to tell was settled above).
        best = "nn" if guess == "nn" else "nb"
        second = ranked[2][1] if len(ranked) > 2 else 0.0
    if top == second and guess in NORWEGIAN:
        # Another language ties with the other Norwegian standard, both above the detector's guess
        # (typically Danish and Bokmål above Nynorsk: "Her er hun redusert til en stiv pappfigur"):
        # the detector saw Norwegian and the words rule out its variant, so the other variant.
        tied = {language for language, count in ranked if count == top}
        if tied & NORWEGIAN and not tied <= NORWEGIAN and top >= counts.get(guess, 0.0) + MARGIN:
            return min(tied & NORWEGIAN)
    if top == second:
        return guess
    if nordic_guess:
        return best if top >= counts.get(guess or "", 0.0) + MARGIN else guess
    if len(_WORD.findall(text)) <= _SHORT_WORDS or (guess != "is" and _NORDIC_ONLY_LETTERS & set(text)):
        # a short text, or one with letters no other candidate language writes (ø, å): less is needed
        return best if top >= 2 and top - second >= 1 else guess
    if top >= _NON_NORDIC_MIN and top - second >= 2:
        return best
    return guess


def norwegian_standard(text: str) -> str:
    """Nynorsk when its markers outnumber Bokmål's, else Bokmål: for a text another step found to be
    Norwegian (the word frequencies know Bokmål only)."""
    counts = vote(text)
    return "nn" if counts.get("nn", 0.0) > counts.get("nb", 0.0) else "nb"


def bokmaal_over_nynorsk(text: str) -> bool:
    """A short text lingua calls Nynorsk is Bokmål when its markers give Nynorsk nothing over Bokmål and
    every word is a listed Bokmål word ("Den var god", "Da er det julebord"): both standards write
    it, and most Norwegians write Bokmål. A Nynorsk form (kva, ikkje, dagane) keeps Nynorsk."""
    counts = vote(text)
    return (
        len(_WORD.findall(text)) < _SHORT_WORDS
        and counts.get("nn", 0.0) <= counts.get("nb", 0.0)
        and word_frequencies.all_listed(text, "nb")
    )
