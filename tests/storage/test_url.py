from __future__ import annotations

from pathlib import Path

import pytest

from storage import StorageError, mask_url, resolve_storage_url
from storage._url import scrub


def test_default_is_sqlite_file_in_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_storage_url(None) == f"sqlite:///{tmp_path / 'causalmix.db'}"


def test_relative_sqlite_path_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_storage_url("sqlite:///runs/a.db") == f"sqlite:///{tmp_path / 'runs/a.db'}"


def test_in_memory_sqlite_is_kept() -> None:
    assert resolve_storage_url("sqlite:///:memory:") == "sqlite:///:memory:"


def test_postgresql_without_driver_picks_psycopg() -> None:
    url = resolve_storage_url("postgresql://u:secret@db.example:5432/tuning")
    assert url == "postgresql+psycopg://u:secret@db.example:5432/tuning"


def test_malformed_url_is_refused_without_password() -> None:
    with pytest.raises(StorageError) as info:
        resolve_storage_url("postgresql://u:secret@host:notaport/db")
    message = str(info.value)
    assert "Malformed storage URL 'postgresql://u:***@host:notaport/db'" in message
    assert "secret" not in message
    assert "sqlite:///PATH.db" in message


def test_url_without_scheme_is_malformed() -> None:
    with pytest.raises(StorageError, match="Malformed storage URL 'causalmix.db'"):
        resolve_storage_url("causalmix.db")


def test_empty_url_is_refused() -> None:
    with pytest.raises(StorageError, match="non-empty string, but got ''"):
        resolve_storage_url("")


def test_unsupported_dialect_names_supported_ones() -> None:
    with pytest.raises(StorageError) as info:
        resolve_storage_url("mysql+pymysql://u:secret@db/x")
    message = str(info.value)
    assert "the database 'mysql' is not supported" in message
    assert "postgresql+psycopg://" in message and "secret" not in message


def test_unknown_postgres_driver() -> None:
    with pytest.raises(StorageError, match="PostgreSQL driver 'asyncpg' is not supported"):
        resolve_storage_url("postgresql+asyncpg://u@db/x")


def test_missing_driver_names_the_package() -> None:
    import importlib.util

    # psycopg2 is not a dependency; the case cannot be shown where someone installed it.
    if importlib.util.find_spec("psycopg2") is not None:
        pytest.skip("psycopg2 is installed here")
    with pytest.raises(StorageError) as info:
        resolve_storage_url("postgresql+psycopg2://u:secret@db/x")
    message = str(info.value)
    assert "'psycopg2' is not installed (pip install psycopg2-binary)" in message
    assert "u:***@db" in message and "secret" not in message


def test_mask_url_hides_password() -> None:
    masked = mask_url("postgresql+psycopg://tuner:s3cr3t@db:5432/causalmix")
    assert masked == "postgresql+psycopg://tuner:***@db:5432/causalmix"


def test_mask_url_hides_password_in_query() -> None:
    masked = mask_url("postgresql+psycopg://tuner@db/x?password=s3cr3t&sslmode=require")
    assert "s3cr3t" not in masked
    assert "password=***" in masked and "sslmode=require" in masked


def test_mask_url_on_malformed_url_still_hides_password() -> None:
    assert mask_url("postgresql://u:s3cr3t@host:port/db") == "postgresql://u:***@host:port/db"
    assert "s3cr3t" not in mask_url("weird scheme://u:s3cr3t@h/x?pwd=s3cr3t")


def test_mask_url_leaves_url_without_password_alone() -> None:
    assert mask_url("sqlite:////tmp/a.db") == "sqlite:////tmp/a.db"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("foo://x", "the database 'foo' is not supported"),
        ("http://u:secret@example.com/x", "the database 'http' is not supported"),
        ("postgres://u:secret@db/x", "the scheme is 'postgresql', not 'postgres'"),
        ("postgresql+psycopg://u:secret@db:99999/x", "the port 99999 is not in 1..65535"),
        ("sqlite:///a.db?journal=wal", "SQLite takes no query argument 'journal'"),
    ],
)
def test_unknown_schemes_and_bad_parts_are_refused_in_one_line(url: str, reason: str) -> None:
    # An unknown scheme used to reach SQLAlchemy's dialect loader and its NoSuchModuleError.
    with pytest.raises(StorageError) as info:
        resolve_storage_url(url)
    message = str(info.value)
    assert message.startswith("Unsupported storage URL") and reason in message
    assert "\n" not in message and "secret" not in message


def test_sqlite_query_arguments_of_the_driver_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert (
        resolve_storage_url("sqlite:///a.db?timeout=3") == f"sqlite:///{tmp_path}/a.db?timeout=3"
    )


def test_scrub_masks_a_short_password_without_mangling_the_words() -> None:
    url = "postgresql+psycopg://u:p@db/x"
    assert scrub("password p was rejected", url) == "password *** was rejected."
    assert scrub("unsupported", url) == "unsupported."
