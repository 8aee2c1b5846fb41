"""Content-addressed caches for discovery results and fitted mechanisms.

A cache maps a key (a hex digest of everything the value depends on) to bytes. Values are
written once and never mutated, so concurrent writers of the same key write the same bytes and
the last atomic write wins harmlessly.
"""

from __future__ import annotations

import abc
import hashlib
import os
import tempfile
import uuid
from pathlib import Path

from causalmix._errors import CausalMixError

__all__ = ["BaseCache", "DirectoryCache", "MemoryCache"]


class BaseCache(abc.ABC):
    """A key -> bytes store shared by :class:`~causalmix.CausalAugmenter` calls.

    Implementations must make :meth:`set` atomic: a reader sees either no value or the whole
    value, never a partial one, even with writers in other processes or on other machines.
    """

    @abc.abstractmethod
    def get(self, key: str) -> bytes | None:
        """Return the value stored under ``key``, or ``None``."""

    @abc.abstractmethod
    def set(self, key: str, value: bytes) -> None:
        """Store ``value`` under ``key`` (atomically)."""

    @property
    def namespace(self) -> str:
        """Identifies the store behind this cache within a process.

        Deserialized values are memoised per namespace, so two cache objects over the same
        store (say, two :class:`DirectoryCache` objects on one path) share the memo, while a
        different store still receives every value it is asked for. The default is unique to
        this object; override it when several objects can share one store (a database
        URL, a directory).

        The default is a token drawn for this object on first use, not ``id(self)``: CPython
        reuses a freed object's id, so a new cache could inherit a dead one's memo entries and
        never receive the values it is asked for.
        """
        token = self.__dict__.get("_namespace_token")
        if token is None:
            token = self.__dict__["_namespace_token"] = uuid.uuid4().hex
        return f"{type(self).__qualname__}@{token}"


class MemoryCache(BaseCache):
    """A process-local cache (a dict); the default when no persistent cache is given."""

    def __init__(self) -> None:
        self._values: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        return self._values.get(key)

    def set(self, key: str, value: bytes) -> None:
        self._values[key] = value


class DirectoryCache(BaseCache):
    """A cache in a directory (local or on a shared file system), one file per key.

    Writes go to a temporary file in the same directory and are moved into place with
    :func:`os.replace`, which is atomic on POSIX and Windows file systems.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        if "://" in str(path):
            raise CausalMixError(
                f"The cache directory must be a local path (a shared file system for several "
                f"machines; PostgreSQL storages share their cache in the database), but got "
                f"{str(path)!r}."
            )
        self.path = Path(path)

    @property
    def namespace(self) -> str:
        return f"directory:{self.path.expanduser().resolve()}"

    def _file(self, key: str) -> Path:
        # Keys may be long or contain separators; hash them into a safe two-level layout.
        digest = hashlib.sha256(key.encode()).hexdigest()
        return self.path / digest[:2] / digest

    def get(self, key: str) -> bytes | None:
        try:
            return self._file(key).read_bytes()
        except FileNotFoundError:
            return None

    def set(self, key: str, value: bytes) -> None:
        target = self._file(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(value)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
