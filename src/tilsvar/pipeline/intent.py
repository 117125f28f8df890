"""Intent — complaint, question, praise, sales_lead, press, feedback, other, spam — the basis for
routing (press inquiries to the press team, leads to marketing, service to customer service).

Rules over multilingual cue patterns we wrote (da, sv, nb, pl, en), in priority order: spam (from
moderation), press, sales lead, complaint, question, praise, feedback; sentiment breaks ties
(a negative message without other cues is a complaint, a positive one praise).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING

from tilsvar.pipeline.text import CueSet, lexicon_form

if TYPE_CHECKING:
    from tilsvar.pipeline import TextItem

INTENTS = ("complaint", "question", "praise", "sales_lead", "press", "feedback", "other", "spam")

CUES: dict[str, list[str]] = {
    "press": [
        r"journalist\w*",
        r"redaktion\w*",
        r"redaktør\w*",
        r"redaktör\w*",
        r"redaktor\w*",
        r"dziennikarz\w*",
        r"reporter\w*",
        r"presse\w*",
        r"press(?:e|officer|kontakt|contact|office|inquiry|rum)?",
        r"prasow\w*",
        r"rzecznik\w*",
        r"kommentar\s+til\s+(?:en\s+)?artikel",
        r"til\s+(?:en\s+)?artikel",
        r"för\s+en\s+artikel",
        r"for\s+an?\s+(?:article|story|piece)",
        r"do\s+artykułu",
        r"interview\w*",
        r"intervju\w*",
        r"wywiad\w*",
        r"citat",
        r"quote\s+for",
        r"deadline",
        r"dr\s+nyheder",
        r"tv\s?2",
        r"svt",
        r"nrk",
        r"politiken",
        r"berlingske",
        r"aftonbladet",
        r"expressen",
        r"dagens\s+nyheter",
        r"vg\.no",
        r"aftenposten",
        r"gazeta",
        r"onet",
        r"tvn",
        r"bbc",
        r"reuters",
        r"media\s+(?:inquiry|request)",
        r"medieforespørgsel",
    ],
    "sales_lead": [
        r"tilbud\s+på",
        r"offert\w*",
        r"quote\s+(?:for|on)",
        r"pris\s*(?:tilbud|på|för|for)",
        r"price\s+(?:for|of)",
        r"how\s+much",
        r"hvad\s+koster",
        r"hva\s+koster",
        r"vad\s+kostar",
        r"ile\s+kosztuje",
        r"cennik",
        r"firmaaftale",
        r"företagsavtal",
        r"bedriftsavtale",
        r"business\s+account",
        r"corporate",
        r"erhverv\w*",
        r"företag\w*\s+(?:kund|avtal)",
        r"umowa\s+firmowa",
        r"dla\s+firm",
        r"gruppe?rabat\w*",
        r"grupprabatt",
        r"group\s+(?:booking|discount)",
        r"samarbejd\w*",
        r"samarbet\w*",
        r"samarbeid\w*",
        r"partnership",
        r"współprac\w*",
        r"interesseret\s+i\s+at\s+købe",
        r"intresserad\s+av\s+att\s+köpa",
        r"interested\s+in\s+buying",
        r"vil\s+gerne\s+købe",
        r"vill\s+köpa",
        r"vil\s+kjøpe",
        r"want\s+to\s+buy",
        r"chcę\s+kupić",
        r"demo",
        r"abonnement\w*",
        r"prenumer\w*",
        r"subscription",
        r"ansatte",
        r"anställda",
        r"employees",
        r"pracowników",
    ],
    "complaint": [
        r"klage\w*",
        r"klaga\w*",
        r"klagemål",
        r"complain\w*",
        r"reklamac\w*",
        r"reklamation\w*",
        r"reklamasjon\w*",
        r"skandal\w*",
        r"scandal\w*",
        r"uacceptabel\w*",
        r"oacceptabel\w*",
        r"uakseptabel\w*",
        r"unacceptable",
        r"forsink\w*",
        r"försen\w*",
        r"delay\w*",
        r"opóźn\w*",
        r"aflyst\w*",
        r"inställ\w*",
        r"innstil\w*",
        r"cancel\w*",
        r"odwoł\w*",
        r"refund\w*",
        r"refusion\w*",
        r"pengene\s+tilbage",
        r"pengarna\s+tillbaka",
        r"pengene\s+tilbake",
        r"zwrot\w*",
        r"aldrig\s+(?:igen|mere)",
        r"never\s+again",
        r"aldri\s+mer",
        r"nigdy\s+więcej",
        r"still\s+(?:no|not|hasn't|haven't)",
        r"stadig\s+ikke",
        r"fortfarande\s+inte",
        r"fortsatt\s+ikke",
        r"nadal\s+nie",
        r"ikke\s+modtaget",
        r"inte\s+fått",
        r"ikke\s+mottatt",
        r"nie\s+otrzymał\w*",
        r"not\s+received",
        r"virker\s+ikke",
        r"fungerar\s+inte",
        r"fungerer\s+ikke",
        r"nie\s+działa",
        r"doesn't\s+work",
        r"not\s+working",
        r"broken",
        r"i\s+stykker",
        r"trasig\w*",
        r"ødelagt",
        r"zepsut\w*",
        r"elendig\w*",
        r"värdelös\w*",
        r"worst",
        r"værste",
        r"sämsta",
        r"verste",
        r"najgorsz\w*",
        r"skuffet",
        r"besviken",
        r"disappoint\w*",
        r"rozczarow\w*",
        r"ventet\s+i",
        r"väntat\s+i",
        r"waited",
        r"czekam",
    ],
    "question": [
        r"hvordan",
        r"hvornår",
        r"hvor(?:for)?",
        r"hvad",
        r"hvilk\w+",
        r"kan\s+(?:i|jeg|man|du|dere|ni)",
        r"hur",
        r"när",
        r"var\s+(?:finns|kan)",
        r"vad",
        r"vilk\w+",
        r"hvorfor",
        r"hva",
        r"når",
        r"how",
        r"when",
        r"where",
        r"what",
        r"why",
        r"which",
        r"can\s+(?:i|you|we)",
        r"is\s+it",
        r"do\s+you",
        r"does",
        r"jak",
        r"kiedy",
        r"gdzie",
        r"dlaczego",
        r"czy",
        r"ile",
        r"co\s+(?:to|jest)",
        r"er\s+det\s+muligt",
        r"är\s+det\s+möjligt",
        r"er\s+det\s+mulig",
        r"går\s+det\s+an",
        r"any\s+(?:way|chance)",
        r"weet",
        r"miten",
        r"milloin",
    ],
    "praise": [
        r"tak\s+for",
        r"takk\s+for",
        r"tack\s+för",
        r"thank\s*(?:s|you)",
        r"dziękuj\w*",
        r"dzięki",
        r"super\s+service",
        r"god\s+service",
        r"bra\s+service",
        r"great\s+service",
        r"świetna\s+obsługa",
        r"i\s+love",
        r"elsker",
        r"älskar",
        r"kocham",
        r"fantastisk\w*",
        r"amazing",
        r"awesome",
        r"wspaniał\w*",
        r"bedste",
        r"bästa",
        r"beste",
        r"best\s+(?:service|company|support)",
        r"you\s+rock",
        r"i\s+er\s+(?:de\s+)?bedste",
        r"ni\s+är\s+bäst",
        r"dere\s+er\s+best",
        r"jesteście\s+najlepsi",
        r"hjälpsam\w*",
        r"hjælpsom\w*",
        r"hjelpsom\w*",
        r"helpful",
    ],
    "feedback": [
        r"forslag",
        r"förslag",
        r"suggest\w*",
        r"propozycj\w*",
        r"sugestia",
        r"feedback",
        r"tilbagemelding",
        r"tilbakemelding",
        r"återkoppling",
        r"opinia",
        r"det\s+ville\s+være\s+(?:rart|fedt|godt)",
        r"det\s+vore\s+(?:bra|kul)",
        r"det\s+hadde\s+vært",
        r"it\s+would\s+be\s+(?:nice|great|better)",
        r"byłoby\s+(?:fajnie|dobrze|miło)",
        r"i\s+burde",
        r"ni\s+borde",
        r"dere\s+burde",
        r"you\s+should",
        r"powinniście",
        r"why\s+not\s+add",
        r"hvorfor\s+ikke",
        r"varför\s+inte",
        r"i\s+stedet\s+for",
        r"wish\s+(?:you|there)",
        r"ønske",
        r"önskar",
    ],
}


@cache
def _patterns() -> dict[str, CueSet]:
    return {name: CueSet(cues, suffix=r")(?!\w)") for name, cues in CUES.items()}


def classify(text: str, sentiment: float = 0.0, moderation_labels: Sequence[str] = ()) -> str:
    """The one intent of a message."""
    if "spam" in moderation_labels or "advertising" in moderation_labels:
        return "spam"
    form = lexicon_form(text)
    hits = {name: bool(pattern.search(form)) for name, pattern in _patterns().items()}
    question = hits["question"] or "?" in text
    if hits["press"]:
        return "press"
    if hits["sales_lead"] and sentiment > -0.5 and not hits["complaint"]:
        return "sales_lead"
    # an explicit suggestion ("Et forslag:", "Lite feedback:") often names what is wrong; only a
    # complaint cue or strong anger makes it a complaint
    if hits["feedback"] and sentiment > -0.5 and not hits["complaint"]:
        return "feedback"
    if hits["complaint"] or sentiment <= -0.5 or (sentiment <= -0.3 and not question):
        return "complaint"
    if hits["feedback"]:
        return "feedback"
    if question:
        return "question"
    if hits["praise"] or sentiment >= 0.3:
        return "praise"
    return "other"


class IntentStage:
    name = "intent"

    def run(self, items: Sequence[TextItem]) -> None:
        for item in items:
            sentiment = float((item.analysis.get("sentiment") or {}).get("score") or 0.0)
            labels = (item.analysis.get("moderation") or {}).get("labels") or ()
            item.analysis["intent"] = classify(item.text, sentiment, labels)
