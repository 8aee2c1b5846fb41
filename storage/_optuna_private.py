"""The one module that touches Optuna's private API.

Heartbeats and the failing of dead workers' trials need a few things Optuna does not make
public. Every such use is here, with the reason, so that an Optuna upgrade is checked in one
place: ``pyproject.toml`` bounds Optuna from above, ``constraints.txt`` pins the version the
suite passed with, and ``tests/storage/test_optuna_private.py`` fails if another module of the
project reaches into Optuna's internals.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna
    from optuna.storages import BaseStorage, RDBStorage

__all__ = [
    "grpc_proxy_server",
    "heartbeat_interval",
    "orm_models",
    "rdb_backend",
    "rdb_storage",
    "record_heartbeat",
    "study_id",
    "study_storage",
    "trial_id",
]


def study_storage(study: optuna.Study) -> BaseStorage:
    """The storage a study was opened with.

    ``Study._storage``: Optuna has no public accessor, and a study loaded by name (the way
    workers and the export open one) keeps only this reference to it.
    """
    return study._storage


def study_id(study: optuna.Study) -> int:
    """The study's row id (``Study._study_id``), for queries on Optuna's tables."""
    return study._study_id


def rdb_backend(storage: BaseStorage) -> BaseStorage:
    """The RDB storage behind Optuna's cache wrapper (``_CachedStorage._backend``).

    ``optuna.load_study`` wraps an :class:`RDBStorage` in a cache; the heartbeat settings, the
    engine and the URL live on the wrapped one.
    """
    return getattr(storage, "_backend", storage)


def heartbeat_interval(storage: BaseStorage) -> int | None:
    """The storage's heartbeat interval in seconds, or ``None`` if heartbeats are off.

    ``optuna.storages._heartbeat.is_heartbeat_enabled`` is how Optuna itself asks, and it
    sees through the cache wrapper.
    """
    from optuna.storages._heartbeat import BaseHeartbeat, is_heartbeat_enabled

    if not is_heartbeat_enabled(storage):
        return None
    assert isinstance(storage, BaseHeartbeat)
    return storage.get_heartbeat_interval()


def record_heartbeat(study: optuna.Study, trial: optuna.Trial | int) -> None:
    """Record a heartbeat of ``trial`` (a trial or its id, ``Trial._trial_id``) now.

    Optuna records heartbeats only inside ``Study.optimize``; workers that use ask / tell
    record them themselves.
    """
    from optuna.storages._heartbeat import BaseHeartbeat

    storage = study_storage(study)
    assert isinstance(storage, BaseHeartbeat)
    storage.record_heartbeat(trial if isinstance(trial, int) else trial._trial_id)


def trial_id(trial: optuna.Trial) -> int:
    """The trial's row id (``Trial._trial_id``), stable while the trial runs."""
    return trial._trial_id


def orm_models() -> ModuleType:
    """Optuna's SQLAlchemy models (``optuna.storages._rdb.models``).

    Trials that never recorded a heartbeat are found with one query over the trial and
    heartbeat tables; Optuna has no public call for them.
    """
    from optuna.storages._rdb import models

    return models


def rdb_storage(storage: BaseStorage) -> RDBStorage | None:
    """The :class:`RDBStorage` behind ``storage``, or ``None`` for another kind."""
    from optuna.storages import RDBStorage

    backend = rdb_backend(storage)
    return backend if isinstance(backend, RDBStorage) else None


def grpc_proxy_server(storage: BaseStorage, host: str, port: int, thread_pool: Any) -> Any:
    """Optuna's gRPC proxy server for ``storage``, not started
    (``optuna.storages._grpc.server.make_server``).

    The public ``run_grpc_proxy_server`` starts the server and blocks, so nothing can be added
    to it; the proxy of this package adds its study lock (``storage._proxy``) before starting.
    """
    from optuna.storages._grpc.server import make_server

    return make_server(storage, host, port, thread_pool)
