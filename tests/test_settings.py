"""Settings: every setting has help text and is documented in the README; TOML config works."""

from __future__ import annotations

from pathlib import Path

import pytest

from tilsvar.settings import Settings, documented_settings, get_settings

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_setting_has_help_and_is_in_the_readme() -> None:
    readme = README.read_text(encoding="utf-8")
    missing_help = [name for name, _, help_text in documented_settings() if not help_text]
    undocumented = [name for name, _, _ in documented_settings() if f"`{name}`" not in readme]
    assert missing_help == []
    assert undocumented == [], (
        "add these to the configuration table in README.md (`tilsvar settings --markdown`)"
    )


def test_defaults_run_on_sqlite_in_the_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TILSVAR_DATABASE_URL", raising=False)
    monkeypatch.setenv("TILSVAR_DATA_DIR", str(tmp_path))
    settings = Settings()
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'tilsvar.db'}"
    assert settings.run_worker_in_process
    assert settings.effective_secret_key_file == tmp_path / "secret.key"


def test_toml_file_and_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "tilsvar.toml"
    config.write_text('port = 9123\nfirst_response_target_minutes = 240\nlog_level = "DEBUG"\n')
    monkeypatch.setenv("TILSVAR_CONFIG_FILE", str(config))
    monkeypatch.setenv("TILSVAR_LOG_LEVEL", "WARNING")
    get_settings.cache_clear()
    try:
        settings = get_settings()
        assert settings.port == 9123
        assert settings.first_response_target_minutes == 240
        assert settings.log_level == "WARNING"  # the environment wins over the file
    finally:
        get_settings.cache_clear()


def test_postgresql_runs_no_worker_in_the_server_by_default() -> None:
    settings = Settings(database_url="postgresql+psycopg://localhost/tilsvar")
    assert not settings.run_worker_in_process
    assert Settings(database_url="postgresql+psycopg://x/y", worker_in_process="yes").run_worker_in_process
