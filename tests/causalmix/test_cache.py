from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from causalmix import DirectoryCache, MemoryCache


def _write(path: str, key: str, size: int) -> None:
    DirectoryCache(path).set(key, bytes([size % 251]) * size)


def test_memory_and_directory_round_trip(tmp_path: Path) -> None:
    for cache in (MemoryCache(), DirectoryCache(tmp_path / "c")):
        assert cache.get("k") is None
        cache.set("k", b"value")
        assert cache.get("k") == b"value"


def test_directory_cache_concurrent_writers_never_leave_partial_values(tmp_path: Path) -> None:
    path = str(tmp_path / "shared")
    with ProcessPoolExecutor(max_workers=2) as pool:
        list(pool.map(_write, [path] * 8, ["same-key"] * 8, [1_000_000] * 8))
    value = DirectoryCache(path).get("same-key")
    assert value is not None and len(value) == 1_000_000
    leftovers = [p for p in Path(path).rglob(".tmp-*")]
    assert leftovers == []


def test_directory_caches_on_one_path_share_a_namespace(tmp_path: Path) -> None:
    assert DirectoryCache(tmp_path).namespace == DirectoryCache(str(tmp_path) + "/").namespace
    assert DirectoryCache(tmp_path / "a").namespace != DirectoryCache(tmp_path / "b").namespace
    assert MemoryCache().namespace != MemoryCache().namespace
