from __future__ import annotations

import multiprocessing
import pickle
import sqlite3
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import pytest

from causalmix import BaseCache
from storage import RDBCache, StorageError

N_KEYS = 60


def _writer(url: str, writer: int, barrier: Barrier, results: Any) -> None:
    """Write N_KEYS keys, racing another process that writes the same keys."""
    try:
        barrier.wait(timeout=60)
        # Both processes create the table at the same moment, too.
        with RDBCache(url) as cache:
            seen = []
            for index in range(N_KEYS):
                key = f"key-{index:03d}"
                cache.set(key, f"{key} from writer {writer}".encode() * 50)
                seen.append(cache.get(key))
        results.put((writer, seen, None))
    except Exception as e:  # noqa: BLE001 - report any failure to the test process
        results.put((writer, [], repr(e)))


def _race(url: str) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results = context.Queue()
    processes = [
        context.Process(target=_writer, args=(url, writer, barrier, results)) for writer in (0, 1)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    assert [error for _, _, error in outcomes] == [None, None]
    with RDBCache(url) as cache:
        assert len(cache) == N_KEYS
        for index in range(N_KEYS):
            key = f"key-{index:03d}"
            final = cache.get(key)
            assert final in (
                f"{key} from writer 0".encode() * 50,
                f"{key} from writer 1".encode() * 50,
            )
            # Insert-if-absent: once written, a value never changes, whoever wrote second.
            for _, seen, _ in outcomes:
                assert seen[index] == final


def test_rdb_cache_round_trip_on_sqlite(tmp_path: Path) -> None:
    with RDBCache(f"sqlite:///{tmp_path / 'cache.db'}") as cache:
        assert isinstance(cache, BaseCache)
        assert cache.get("k") is None
        cache.set("k", b"\x00value\xff")
        assert cache.get("k") == b"\x00value\xff"
        assert len(cache) == 1


def test_rdb_cache_keeps_the_first_value(tmp_path: Path) -> None:
    with RDBCache(f"sqlite:///{tmp_path / 'cache.db'}") as cache:
        cache.set("k", b"first")
        cache.set("k", b"second")
        assert cache.get("k") == b"first"
        assert len(cache) == 1


def test_rdb_cache_table_layout_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    with RDBCache(f"sqlite:///{path}", table="my_cache") as cache:
        cache.set("k", b"v")
    connection = sqlite3.connect(path)
    try:
        columns = [row[1] for row in connection.execute("PRAGMA table_info(my_cache)")]
        assert columns == ["key", "value", "created_at"]
        key, value, created_at = connection.execute("SELECT * FROM my_cache").fetchone()
        assert (key, value) == ("k", b"v") and created_at
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        connection.close()


def test_rdb_cache_survives_pickling(tmp_path: Path) -> None:
    cache = RDBCache(f"sqlite:///{tmp_path / 'cache.db'}")
    cache.set("k", b"v")
    clone = pickle.loads(pickle.dumps(cache))
    try:
        assert clone.get("k") == b"v"
    finally:
        clone.close()
        cache.close()


def test_rdb_cache_repr_masks_password() -> None:
    cache = RDBCache("postgresql+psycopg://u:secret@127.0.0.1:1/x")
    assert "secret" not in repr(cache)
    assert "u:***@127.0.0.1:1/x" in repr(cache)


def test_rdb_cache_unreachable_database_is_masked() -> None:
    cache = RDBCache("postgresql+psycopg://u:secret@127.0.0.1:1/x", connect_timeout=2)
    with pytest.raises(StorageError) as info:
        cache.get("k")
    assert "secret" not in str(info.value)
    assert "u:***@127.0.0.1:1/x" in str(info.value)


def test_rdb_cache_rejects_bad_table_name() -> None:
    with pytest.raises(StorageError, match=r"table='x; DROP TABLE y'"):
        RDBCache("sqlite:///:memory:", table="x; DROP TABLE y")


def test_rdb_cache_rejects_bad_url() -> None:
    with pytest.raises(StorageError, match="Malformed storage URL"):
        RDBCache("nonsense")


def test_rdb_cache_rejects_non_bytes(tmp_path: Path) -> None:
    with RDBCache(f"sqlite:///{tmp_path / 'cache.db'}") as cache:
        with pytest.raises(StorageError, match="must be bytes, but got a str for key 'k'"):
            cache.set("k", "text")  # type: ignore[arg-type]


@pytest.mark.slow
def test_rdb_cache_concurrent_writers_on_sqlite(tmp_path: Path) -> None:
    _race(f"sqlite:///{tmp_path / 'shared.db'}")


@pytest.mark.postgres
def test_rdb_cache_round_trip_on_postgres(postgres_url: str) -> None:
    with RDBCache(postgres_url) as cache:
        assert cache.get("k") is None
        cache.set("k", bytes(range(256)))
        cache.set("k", b"other")
        assert cache.get("k") == bytes(range(256))
    with RDBCache(postgres_url) as again:
        assert again.get("k") == bytes(range(256))


@pytest.mark.postgres
@pytest.mark.slow
def test_rdb_cache_concurrent_writers_on_postgres(postgres_url: str) -> None:
    _race(postgres_url)
