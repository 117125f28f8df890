"""The knowledge base (FAQ articles per brand and language with alternative questions), what
customers and agents did with its suggestions (for deflection figures), and article proposals mined
from resolved conversations; and the chorus detector's clusters, their members and alerts, and the
incidents agents open from an alert."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tilsvar.models.base import Base, IdType, JsonType, UTCDateTime, utcnow


class FaqArticle(Base):
    """An article; ``brand_id`` None means every brand of the organisation, ``language`` None any."""

    __tablename__ = "faq_articles"
    __table_args__ = (
        UniqueConstraint("organization_id", "key"),
        Index("ix_faq_articles_org_updated", "organization_id", "updated_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"))
    # The article's own id (``tilsvar faq import`` "id"); stable across imports.
    key: Mapped[str] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    questions: Mapped[list[str]] = mapped_column(JsonType, default=list)
    url: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(16), default="published")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FaqEmbedding(Base):
    """The sentence vector of one text of an article (its title or an alternative question), computed
    by the ``faq.embed`` job and shared by every API node (docs/faq.md, "Settled suggestions").

    ``digest`` identifies the text (sha256 of its kind and text) and ``model`` the embedding model:
    a vector whose text is no longer the article's, or of another model, is stale and is replaced by
    the job. No text is stored here; deleting the article deletes its vectors."""

    __tablename__ = "faq_embeddings"
    __table_args__ = (
        UniqueConstraint("article_id", "model", "digest"),
        Index("ix_faq_embeddings_org", "organization_id", "id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    article_id: Mapped[int] = mapped_column(ForeignKey("faq_articles.id", ondelete="CASCADE"))
    model: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(64))
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float32 little-endian
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FaqEvent(Base):
    """A suggestion shown, an article opened (web chat) or inserted into a reply (agent)."""

    __tablename__ = "faq_events"
    __table_args__ = (Index("ix_faq_events_org_at", "organization_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"))
    article_id: Mapped[int] = mapped_column(ForeignKey("faq_articles.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # opened | inserted
    source: Mapped[str] = mapped_column(String(16), default="widget")
    # The web chat visitor (the author id the widget writes with), to tell whether they wrote after.
    visitor: Mapped[str] = mapped_column(String(200), default="")
    # The conversation an agent inserted the article into: its customer's question is a phrasing of
    # the article (``do_propose_phrasings``). None for widget events and older rows.
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"), index=True
    )
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FaqProposal(Base):
    """A suggested new article (``kind`` article: customers kept asking this in resolved
    conversations), or a new alternative question of the existing article ``article_id`` (``kind``
    phrasing: a customer asked it in a conversation an agent answered with that article)."""

    __tablename__ = "faq_proposals"
    __table_args__ = (UniqueConstraint("organization_id", "fingerprint"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16), default="article", server_default="article")
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"))
    language: Mapped[str | None] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(300))
    questions: Mapped[list[str]] = mapped_column(JsonType, default=list)
    answer: Mapped[str] = mapped_column(Text, default="")
    conversation_ids: Mapped[list[int]] = mapped_column(JsonType, default=list)
    size: Mapped[int] = mapped_column(default=0)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | accepted | dismissed
    article_id: Mapped[int | None] = mapped_column(ForeignKey("faq_articles.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TrendCluster(Base):
    """A group of similar customer messages of one brand (tilsvar.trends.engine). Times are message
    times."""

    __tablename__ = "trend_clusters"
    __table_args__ = (Index("ix_trend_clusters_brand_last", "brand_id", "last_seen"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    size: Mapped[int] = mapped_column(default=0)
    label: Mapped[str] = mapped_column(String(200), default="")
    keywords: Mapped[list[str]] = mapped_column(JsonType, default=list)
    centroid: Mapped[dict[str, float]] = mapped_column(JsonType, default=dict)
    terms: Mapped[dict[str, int]] = mapped_column(JsonType, default=dict)
    platforms: Mapped[dict[str, int]] = mapped_column(JsonType, default=dict)
    sentiments: Mapped[dict[str, int]] = mapped_column(JsonType, default=dict)
    # kind -> ISO time of the last alert of that kind (the detector's cool-down).
    alerted: Mapped[dict[str, str]] = mapped_column(JsonType, default=dict)


class TrendMember(Base):
    """A customer message the detector has seen (``cluster_id`` None: nothing to match on)."""

    __tablename__ = "trend_members"
    __table_args__ = (
        Index("ix_trend_members_brand_at", "brand_id", "at"),
        Index("ix_trend_members_cluster_at", "cluster_id", "at"),
    )

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"))
    cluster_id: Mapped[int | None] = mapped_column(ForeignKey("trend_clusters.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    author: Mapped[str] = mapped_column(String(320), default="")
    negative: Mapped[bool] = mapped_column(default=False)
    public: Mapped[bool] = mapped_column(default=False)


class TrendAlert(Base):
    """A cluster grew much faster than its baseline: a chorus, or a shitstorm (negative and public)."""

    __tablename__ = "trend_alerts"
    __table_args__ = (Index("ix_trend_alerts_org_at", "organization_id", "alerted_at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"))
    cluster_id: Mapped[int] = mapped_column(ForeignKey("trend_clusters.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    alerted_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the message time it fired at
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    window_size: Mapped[int] = mapped_column(default=0)
    expected: Mapped[float] = mapped_column(default=0.0)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    details: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)


class Incident(Base):
    """Many conversations about one thing, handled together (opened from a trend alert)."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IncidentConversation(Base):
    __tablename__ = "incident_conversations"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
