"""The chorus detector: incremental clustering of customer messages and an alert when a cluster grows
much faster than its own baseline. Pure and deterministic — no database, no clock: everything
happens in *message* time, so importing last month's messages raises exactly the alerts that live
traffic raised, and a test can replay a stream.

A message becomes a sparse vector of language-neutral features: the concepts its words express
(``trends.concepts``: "forsinket", "försenat", "opóźniony" and "late" are all ``delay``), its other
content words (folded, cut to their first 6 letters so inflections meet), hashtags and numbers.
It joins the most similar *active* cluster of its brand (cosine to the cluster's centroid at least
``similarity``; active = a member within ``baseline``), or starts a new one.

After each join the cluster is tested at that message's time ``t``:

* ``n`` members in the window ``(t - window, t]`` from at least ``min_authors`` different authors,
  and ``n >= min_size``;
* ``n >= sensitivity × expected`` and ``n >= expected + 4·√expected`` (four Poisson standard
  deviations, which is what decides for big clusters), where ``expected`` is the larger of what
  the cluster's own rate over the ``baseline`` before the window predicts, what its share of the
  brand's traffic then predicts from the brand's traffic in the window (so the morning rush is no
  surge), and ``floor_per_hour`` spread over the window (a new cluster has no history, so the
  floor is its baseline);
* no alert of the same kind for this cluster within ``cooldown``.

The alert is a **shitstorm** when at least ``negative_share`` of the window's messages are negative
and at least ``public_share`` are public (comments and posts), else a **chorus**; one alert per
message. A chorus that turns negative and public later still raises its shitstorm alarm once.
"""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tilsvar.faq.text import tokens
from tilsvar.trends.concepts import concept_of

PUBLIC_KINDS = frozenset({"comment", "post"})
CENTROID_FEATURES = 60
STEM_LETTERS = 6
SURPRISE = 4.0  # a big cluster alerts at SURPRISE standard deviations (Poisson) above its baseline
_HASHTAG_RE = re.compile(r"#(\w{2,})")

_STOPWORD_TEXT = """
    og i at er det en et den til paa pa med for af som har de jeg du vi han hun ikke min mit mine din
    dit jer os der her nu saa sa men eller hvad hvor hvorfor naar nar kan skal vil ville have var vaere
    bliver blev meget mere igen ogsa ogsaa bare lige fra over under efter foer for end om ud op ind hos
    och att ar inte jag hon vad varfor nar kunde skulle och mitt mina ditt era oss har nu sa eller men
    av pa med till fran over under efter innan om ut upp in hos bara redan igen ocksa mycket mer blir
    og jeg ikke hva hvorfor hvordan naar kunne skulle min mitt mine ditt deres oss her na sa eller men
    av pa med til fra etter innen om ut opp inn hos bare allerede igjen ogsa veldig mer blir
    i w z na nie jest sa to ze do sie jak co czy ale lub albo moj moja moje twoj ten ta te tak juz
    jeszcze tylko bardzo przez dla od po przy juz mam ma mnie mi nam was ich jego jej by byl byla
    the a an and or but is are was were be been to of in on at for with from by it this that these
    those my your our their his her its i you we they he she me us them not no do does did have has
    had will would can could should just so very still again also why what when where how all any
    hej hi hello hallo dzien dobry please pls venligst vanligen vennligst prosze
    """
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


@dataclass(frozen=True, slots=True)
class Params:
    """The detector's settings (TILSVAR_TRENDS_*, documented in docs/trends.md)."""

    window: timedelta = timedelta(minutes=30)
    similarity: float = 0.55
    min_size: int = 6
    min_authors: int = 5
    sensitivity: float = 4.0
    baseline: timedelta = timedelta(hours=24)
    floor_per_hour: float = 2.0
    cooldown: timedelta = timedelta(hours=6)
    negative_share: float = 0.6
    public_share: float = 0.5


@dataclass(frozen=True, slots=True)
class Observation:
    """One inbound customer message as the detector sees it."""

    message_id: int
    at: datetime
    text: str
    author: str
    platform: str = ""
    kind: str = ""
    sentiment: str | None = None


@dataclass(frozen=True, slots=True)
class Member:
    """A recent member of a cluster (what the window test needs)."""

    message_id: int
    at: datetime
    author: str
    negative: bool
    public: bool


@dataclass(slots=True)
class Cluster:
    """A group of similar messages. ``id`` is the stored id (None until saved); ``members`` holds
    only those within ``baseline + window`` of the latest message."""

    id: int | None
    first_seen: datetime
    last_seen: datetime
    size: int = 0
    centroid: dict[str, float] = field(default_factory=dict)
    terms: Counter[str] = field(default_factory=Counter)
    platforms: Counter[str] = field(default_factory=Counter)
    sentiments: Counter[str] = field(default_factory=Counter)
    members: list[Member] = field(default_factory=list)
    alerted: dict[str, datetime] = field(default_factory=dict)  # kind -> last alert (message time)
    changed: bool = False
    merged_into: Cluster | None = None  # grew alike an older cluster and was folded into it

    def survivor(self) -> Cluster:
        """The cluster this one's messages now belong to (itself unless it was merged)."""
        cluster = self
        while cluster.merged_into is not None:
            cluster = cluster.merged_into
        return cluster

    def label(self, words: int = 3) -> str:
        """The cluster's most telling words: its concepts first, then its commonest words."""
        return " · ".join(self.keywords()[:words])

    def keywords(self) -> list[str]:
        concepts = [name[2:] for name, _ in self.terms.most_common() if name.startswith("c:")]
        plain = [name for name, _ in self.terms.most_common() if not name.startswith("c:")]
        return (concepts[:4] + plain)[:10]


@dataclass(frozen=True, slots=True)
class Alert:
    """The detector's decision: ``cluster`` crossed its threshold at ``message_id`` (time ``at``)."""

    cluster: Cluster
    kind: str  # chorus | shitstorm
    at: datetime
    message_id: int
    window_size: int
    expected: float


def vector(text: str) -> tuple[dict[str, float], list[str]]:
    """The normalised feature vector of a message, and the display terms it adds to its cluster."""
    weights: dict[str, float] = {}
    terms: list[str] = []
    for tag in _HASHTAG_RE.findall(text):
        name = "#" + "".join(tokens(tag))
        if len(name) > 2:
            weights[name] = weights.get(name, 0.0) + 2.0
            terms.append(name)
    for word in tokens(text):
        if word in STOPWORDS or len(word) < 2:
            continue
        if word.isdigit():
            if len(word) >= 2:
                weights["n:" + word] = weights.get("n:" + word, 0.0) + 1.5
            continue
        concept = concept_of(word)
        if concept is not None:
            weights["c:" + concept] = weights.get("c:" + concept, 0.0) + 2.0
            terms.append("c:" + concept)
            continue
        if len(word) < 3:
            continue
        stem = word[:STEM_LETTERS]
        weights[stem] = weights.get(stem, 0.0) + 1.0
        terms.append(word)
    norm = math.sqrt(sum(value * value for value in weights.values()))
    if norm == 0:
        return {}, []
    return {name: value / norm for name, value in weights.items()}, terms


class Detector:
    """Clusters of one brand, advanced message by message (in message-time order)."""

    def __init__(
        self, params: Params, clusters: Iterable[Cluster] = (), traffic: Iterable[datetime] = ()
    ) -> None:
        self.params = params
        self.clusters: list[Cluster] = list(clusters)
        # When the brand's recent messages (clustered or not) were written: the share baseline.
        self.traffic: list[datetime] = sorted(traffic)
        self._postings: dict[str, set[int]] = {}
        for number, cluster in enumerate(self.clusters):
            self._post(number, cluster)

    def _post(self, number: int, cluster: Cluster) -> None:
        for name in cluster.centroid:
            self._postings.setdefault(name, set()).add(number)

    def _nearest(self, features: dict[str, float], at: datetime) -> tuple[int | None, float]:
        candidates: set[int] = set()
        for name in features:
            candidates |= self._postings.get(name, set())
        best: int | None = None
        best_score = 0.0
        horizon = at - self.params.baseline
        for number in sorted(candidates):
            cluster = self.clusters[number]
            if cluster.last_seen < horizon or cluster.merged_into is not None:
                continue
            score = _dot(features, cluster.centroid) / _norm(cluster.centroid)
            if score > best_score:
                best, best_score = number, score
        return best, best_score

    def observe(self, observation: Observation) -> tuple[Cluster | None, list[Alert]]:
        """Add one message; returns its cluster (None for a message with nothing to match on) and the
        alerts it raised."""
        at = observation.at
        bisect.insort(self.traffic, at)
        horizon = self.traffic[-1] - self.params.baseline - self.params.window
        if self.traffic[0] < horizon:
            del self.traffic[: bisect.bisect_left(self.traffic, horizon)]
        features, terms = vector(observation.text)
        if not features:
            return None, []
        number, score = self._nearest(features, at)
        if number is None or score < self.params.similarity:
            cluster = Cluster(id=None, first_seen=at, last_seen=at)
            self.clusters.append(cluster)
            number = len(self.clusters) - 1
        cluster = self.clusters[number]
        self._join(number, cluster, observation, features, terms)
        cluster = self._merge_with_sibling(number, cluster, at)
        return cluster, self._check(cluster, observation)

    def _merge_with_sibling(self, number: int, cluster: Cluster, at: datetime) -> Cluster:
        """One incident told in several ways ("Aflyst tog fra Odense …", "Cancelled again from Odense,
        zero information") can start several clusters before any of them is typical; once a
        cluster's centroid is as alike another's as a message must be to join, and both were born
        within the window, the younger is folded into the older, so the incident raises one alert
        and one incident holds all its conversations. Clusters with a history are never merged: a
        surge folded into a long-standing topic would be measured against that topic's baseline and
        found late. Returns the cluster the message now belongs to."""
        born = at - self.params.window
        if cluster.first_seen < born:
            return cluster
        candidates: set[int] = set()
        for name in cluster.centroid:
            candidates |= self._postings.get(name, set())
        candidates.discard(number)
        norm = _norm(cluster.centroid)
        best: int | None = None
        best_score = self.params.similarity
        for other_number in sorted(candidates):
            other = self.clusters[other_number]
            if other.first_seen < born or other.merged_into is not None:
                continue
            score = _dot(cluster.centroid, other.centroid) / (norm * _norm(other.centroid))
            if score >= best_score:
                best, best_score = other_number, score
        if best is None:
            return cluster
        older, younger = sorted(((number, cluster), (best, self.clusters[best])), key=_age)
        self._absorb(older[0], older[1], younger[1])
        return older[1]

    def _add_to_centroid(self, number: int, cluster: Cluster, weights: dict[str, float]) -> None:
        """Sum ``weights`` into the centroid, keep its ``CENTROID_FEATURES`` strongest features."""
        merged = dict(cluster.centroid)
        for name, weight in weights.items():
            merged[name] = merged.get(name, 0.0) + weight
        kept = sorted(merged.items(), key=lambda item: (-item[1], item[0]))[:CENTROID_FEATURES]
        cluster.centroid = {name: round(value, 4) for name, value in kept}
        self._post(number, cluster)

    def _absorb(self, number: int, cluster: Cluster, other: Cluster) -> None:
        self._add_to_centroid(number, cluster, other.centroid)
        cluster.size += other.size
        cluster.first_seen = min(cluster.first_seen, other.first_seen)
        cluster.last_seen = max(cluster.last_seen, other.last_seen)
        cluster.terms.update(other.terms)
        cluster.platforms.update(other.platforms)
        cluster.sentiments.update(other.sentiments)
        cluster.members = sorted(cluster.members + other.members, key=lambda m: (m.at, m.message_id))
        for kind, at in other.alerted.items():
            cluster.alerted[kind] = max(at, cluster.alerted.get(kind, at))
        cluster.changed = True
        other.merged_into = cluster
        other.changed = True

    def _join(
        self,
        number: int,
        cluster: Cluster,
        observation: Observation,
        features: dict[str, float],
        terms: Sequence[str],
    ) -> None:
        at = observation.at
        self._add_to_centroid(number, cluster, features)
        cluster.size += 1
        cluster.first_seen = min(cluster.first_seen, at)
        cluster.last_seen = max(cluster.last_seen, at)
        cluster.terms.update(terms)
        if observation.platform:
            cluster.platforms[observation.platform] += 1
        cluster.sentiments[observation.sentiment or "unknown"] += 1
        cluster.members.append(
            Member(
                message_id=observation.message_id,
                at=at,
                author=observation.author,
                negative=observation.sentiment == "negative",
                public=observation.kind in PUBLIC_KINDS,
            )
        )
        horizon = cluster.last_seen - self.params.baseline - self.params.window
        cluster.members = sorted(
            (member for member in cluster.members if member.at >= horizon), key=lambda m: (m.at, m.message_id)
        )
        cluster.changed = True

    def _check(self, cluster: Cluster, observation: Observation) -> list[Alert]:
        params = self.params
        at = observation.at
        start = at - params.window
        window = [member for member in cluster.members if start < member.at <= at]
        size = len(window)
        if size < params.min_size or len({member.author for member in window}) < params.min_authors:
            return []
        before = [member for member in cluster.members if start - params.baseline <= member.at <= start]
        window_hours = params.window.total_seconds() / 3600
        history = min(params.baseline, start - cluster.first_seen)
        expected = params.floor_per_hour * window_hours
        if history >= params.window:
            # Its own rate over the baseline ...
            expected = max(expected, len(before) / (history.total_seconds() / 3600) * window_hours)
            # ... and its share of the brand's traffic then, applied to the brand's traffic now (so the
            # morning rush, when everything grows, is not a surge of any one topic).
            traffic = self.traffic
            brand_before = bisect.bisect_right(traffic, start) - bisect.bisect_left(
                traffic, start - params.baseline
            )
            brand_window = bisect.bisect_right(traffic, at) - bisect.bisect_right(traffic, start)
            if brand_before:
                expected = max(expected, len(before) / brand_before * brand_window)
        threshold = max(params.sensitivity * expected, expected + SURPRISE * math.sqrt(expected))
        if size < threshold:
            return []
        negative = sum(member.negative for member in window) / size
        public = sum(member.public for member in window) / size
        storm = negative >= params.negative_share and public >= params.public_share

        def recent(kind: str) -> bool:
            last = cluster.alerted.get(kind)
            return last is not None and at - last < params.cooldown

        if storm and not recent("shitstorm"):
            kind = "shitstorm"
        elif not recent("chorus") and not recent("shitstorm"):
            kind = "chorus"
        else:
            return []
        cluster.alerted[kind] = at
        return [
            Alert(
                cluster=cluster,
                kind=kind,
                at=at,
                message_id=observation.message_id,
                window_size=size,
                expected=round(expected, 3),
            )
        ]


def _dot(left: dict[str, float], right: dict[str, float]) -> float:
    if len(right) < len(left):
        left, right = right, left
    return sum(weight * right.get(name, 0.0) for name, weight in left.items())


def _norm(vector_: dict[str, float]) -> float:
    return math.sqrt(sum(value * value for value in vector_.values())) or 1.0


def _age(numbered: tuple[int, Cluster]) -> tuple[datetime, int]:
    return numbered[1].first_seen, numbered[0]


def replay(params: Params, observations: Iterable[Observation]) -> list[Alert]:
    """Every alert a stream raises (observations are sorted by time, then id, first)."""
    detector = Detector(params)
    alerts: list[Alert] = []
    for observation in sorted(observations, key=lambda o: (o.at, o.message_id)):
        alerts += detector.observe(observation)[1]
    return alerts
