"""Study storage (SQLite / PostgreSQL), artifact storage and best-config export."""

from storage._errors import StorageError

__all__ = ["StorageError"]
