"""Content keys, and an in-process memo in front of a :class:`~causalmix.BaseCache`.

Values are looked up first in a process-wide memo of live objects (so a process deserializes a
value at most once), then in the cache (bytes, shared across processes); a miss is computed by
the caller and written to both.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from causalmix._cache import BaseCache

__all__ = ["CACHE_FORMAT_VERSION", "ObjectStore", "clear_memo", "content_key"]

_logger = logging.getLogger(__name__)

CACHE_FORMAT_VERSION = 1
"""Part of every key: bump it when the meaning or the encoding of a cached value changes."""

_MEMO_MAX_ENTRIES = 8192

T = TypeVar("T")


def content_key(kind: str, **parts: Any) -> str:
    """A hex digest of ``kind`` and ``parts`` (JSON-serialisable values)."""
    payload = json.dumps(
        {"kind": kind, "version": CACHE_FORMAT_VERSION, **parts},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return f"{kind}-{hashlib.sha256(payload.encode()).hexdigest()}"


class _Memo:
    """A bounded, thread-safe LRU map of ``(namespace, key) -> object``."""

    def __init__(self, max_entries: int) -> None:
        self._values: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._max_entries = max_entries
        self._lock = threading.Lock()

    def get(self, namespace: str, key: str) -> Any | None:
        with self._lock:
            value = self._values.get((namespace, key))
            if value is not None:
                self._values.move_to_end((namespace, key))
            return value

    def set(self, namespace: str, key: str, value: Any) -> None:
        with self._lock:
            self._values[(namespace, key)] = value
            self._values.move_to_end((namespace, key))
            while len(self._values) > self._max_entries:
                self._values.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


_MEMO = _Memo(_MEMO_MAX_ENTRIES)


def clear_memo() -> None:
    """Forget the objects this process memoised in front of the caches.

    Discovery results and fitted mechanisms are kept in a per-process memo (bounded, keyed by
    the cache's namespace) so that the trials of one worker decode each of them once; clearing
    it makes the next augmentation read the cache (or compute) again, e.g. to time a cold run.
    """
    _MEMO.clear()


class ObjectStore:
    """Memo + optional cache, with hit and miss counters per value kind.

    Args:
        cache: The persistent cache, or ``None`` for the process memo only.
    """

    def __init__(self, cache: BaseCache | None) -> None:
        self.cache = cache
        self.namespace = "process" if cache is None else cache.namespace
        self.hits: dict[str, int] = {}
        self.misses: dict[str, int] = {}

    def get_or_compute(
        self,
        kind: str,
        key: str,
        compute: Callable[[], T],
        encode: Callable[[T], bytes],
        decode: Callable[[bytes], T],
    ) -> T:
        """Return the value under ``key``, computing and storing it on a miss."""
        value = self.lookup(kind, key, decode)
        if value is None:
            value = compute()
            self.store(key, value, encode)
        return value

    def lookup(self, kind: str, key: str, decode: Callable[[bytes], T]) -> T | None:
        """The value under ``key`` or ``None``; counts a hit or a miss for ``kind``."""
        value: T | None = _MEMO.get(self.namespace, key)
        if value is None and self.cache is not None:
            raw = self.cache.get(key)
            if raw is not None:
                try:
                    value = decode(raw)
                except Exception as e:  # noqa: BLE001 - a stale or corrupt entry is a miss
                    _logger.warning("Ignoring unreadable cache entry %s: %s", key, e)
                    value = None
                if value is not None:
                    _MEMO.set(self.namespace, key, value)
        counter = self.misses if value is None else self.hits
        counter[kind] = counter.get(kind, 0) + 1
        return value

    def store(self, key: str, value: T, encode: Callable[[T], bytes]) -> None:
        """Memoise ``value`` and write it to the cache."""
        _MEMO.set(self.namespace, key, value)
        if self.cache is not None:
            self.cache.set(key, encode(value))
