"""Shared fixtures.

Tests that need a service (the PostgreSQL server, a headless Chromium) skip with a clear reason
when it is missing, unless ``CAUSALMIX_REQUIRE_SERVICES=1`` is set (``.ci/run`` sets it): then
the missing service is a test failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DATASETS_DIR = REPO_ROOT / "datasets"
# The device of the fine-tuning and tuner tests: the CPU here and in CI;
# `benchmarks/gpu_check.sh` sets CAUSALMIX_TEST_DEVICE=cuda to run them on a GPU.
TEST_DEVICE = os.environ.get("CAUSALMIX_TEST_DEVICE", "cpu")
POSTGRES_URL = os.environ.get(
    "CAUSALMIX_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def require_service(available: bool, reason: str) -> None:
    """Skip (or, under ``CAUSALMIX_REQUIRE_SERVICES=1``, fail) when a service is missing."""
    if available:
        return
    if os.environ.get("CAUSALMIX_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (CAUSALMIX_REQUIRE_SERVICES=1 makes this a failure)")
    pytest.skip(reason)


def require_ctgan() -> None:
    """Skip (or, under ``CAUSALMIX_REQUIRE_CTGAN=1``, fail) without the optional ``ctgan``.

    ``ctgan`` pins pandas < 3, so the main test environment goes without it and ``make
    test-pandas2`` (called by ``.ci/run``) runs the tests that need it in ``.venv-pandas2``.
    """
    import importlib.util

    if importlib.util.find_spec("ctgan") is not None:
        return
    reason = "the optional `ctgan` package is not installed (`make test-pandas2` runs this test)"
    if os.environ.get("CAUSALMIX_REQUIRE_CTGAN") == "1":
        pytest.fail(f"{reason}; CAUSALMIX_REQUIRE_CTGAN=1 makes this a failure")
    pytest.skip(reason)


def require_mitra() -> None:
    """Skip (or, under ``CAUSALMIX_REQUIRE_MITRA=1``, fail) without ``autogluon.tabular``.

    AutoGluon (the Mitra backend's ``mitra`` extra) pins pandas < 3 like ``ctgan``, so ``make
    test-pandas2`` runs the Mitra tests in the same second venv, ``.venv-pandas2``.
    """
    import importlib.util

    try:
        if importlib.util.find_spec("autogluon.tabular") is not None:
            return
    except ModuleNotFoundError:  # no `autogluon` namespace package at all
        pass
    reason = (
        "the optional `autogluon.tabular[mitra]` package is not installed (`make test-pandas2` "
        "runs this test)"
    )
    if os.environ.get("CAUSALMIX_REQUIRE_MITRA") == "1":
        pytest.fail(f"{reason}; CAUSALMIX_REQUIRE_MITRA=1 makes this a failure")
    pytest.skip(reason)


@pytest.fixture
def datasets_dir() -> Path:
    return DATASETS_DIR


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database on the local server, dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(POSTGRES_URL)
    admin = create_engine(base, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as e:  # noqa: BLE001 - any connection failure means "no server"
        admin.dispose()
        require_service(False, f"PostgreSQL is not reachable at {base.render_as_string()}: {e}")
    name = f"causalmix_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
