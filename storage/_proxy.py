"""Optuna's gRPC storage proxy: many workers, one set of database connections.

``causalmix storage-proxy --storage URL`` serves a study database through Optuna's proxy
(``optuna.storages.run_grpc_proxy_server``, experimental since Optuna 4.2); workers, ``tune``
and ``export`` then take ``grpc://HOST:PORT`` as their storage URL. Only the proxy connects to
the database, so hundreds of worker processes cost the database a handful of connections.

Beside Optuna's storage service the proxy serves a study lock (``causalmix.StudyLock``), the
one thing the workers' claim needs that the storage API lacks: PostgreSQL workers hold an
advisory lock while they count the finished trials and ask for a new one, so that a study gets
exactly its ``n_trials``; through the proxy they ask the proxy for it instead. It is a lease
(:data:`LOCK_LEASE` seconds): a worker killed while holding it blocks the others for at most
that long. The messages are raw bytes on gRPC's generic handlers, so no protobuf code is
generated.

What does not pass through the proxy:

* heartbeats: Optuna's proxy has no heartbeat call, so a worker killed mid-trial leaves its
  trial RUNNING; fail it with ``causalmix worker`` against the database URL, which runs the
  stale-trial check, or accept the lost trial;
* the discovery / mechanism cache: the shared cache table needs the database, so proxy workers
  use a directory (``--cache-dir``; shared between machines only if the directory is);
* artifacts: a directory (``--artifact-dir``), shared the same way;
* the dashboard, which reads the database URL directly.

The proxy has no authentication and no encryption: it binds to 127.0.0.1 by default. To serve
other machines, put it behind something that authenticates (an SSH tunnel, or a reverse proxy
with mutual TLS), never on an open port.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from optuna.storages import GrpcStorageProxy

from storage._errors import StorageError, StorageUnavailableError

if TYPE_CHECKING:
    import grpc
    from optuna.storages import BaseStorage

__all__ = [
    "LOCK_LEASE",
    "ProxyStorage",
    "check_bindable",
    "make_proxy_server",
    "open_proxy",
    "proxy_lock",
]

_logger = logging.getLogger("causalmix")

LOCK_SERVICE = "causalmix.StudyLock"
LOCK_LEASE = 60.0
"""Seconds a study lock held through the proxy lasts without being released."""
_LOCK_POLL = 0.02


class ProxyStorage(GrpcStorageProxy):
    """Optuna's gRPC storage client, which also knows its ``grpc://HOST:PORT`` URL."""

    def __init__(self, *, host: str, port: int) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ExperimentalWarning: said once, in the README
            super().__init__(host=host, port=port)
        self.url = f"grpc://{host}:{port}"


def open_proxy(host: str, port: int, *, connect_timeout: float) -> ProxyStorage:
    """A client of the proxy at ``host:port``, once the proxy answers.

    Raises:
        StorageUnavailableError: If no proxy answers within ``connect_timeout`` seconds.
    """
    proxy = ProxyStorage(host=host, port=port)
    try:
        proxy.wait_server_ready(timeout=connect_timeout)
    except ConnectionError:
        proxy.close()
        raise StorageUnavailableError(
            f"Cannot reach the storage proxy 'grpc://{host}:{port}': no answer within "
            f"{connect_timeout:g} s. Check that `causalmix storage-proxy` runs there and that "
            "the host and port are right."
        ) from None
    return proxy


class _Leases:
    """Study name -> (holder, expiry), under one lock."""

    def __init__(self, lease: float) -> None:
        self.lease = lease
        self._held: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def try_acquire(self, name: str, holder: str) -> bool:
        now = time.monotonic()
        with self._lock:
            current = self._held.get(name)
            if current is not None and current[0] != holder and current[1] > now:
                return False
            if current is not None and current[0] != holder:
                _logger.warning(
                    "The study lock of %r held by %s expired after %g s; it goes to %s.",
                    name, current[0], self.lease, holder,
                )  # fmt: skip
            self._held[name] = (holder, now + self.lease)
            return True

    def release(self, name: str, holder: str) -> bool:
        with self._lock:
            if self._held.get(name, ("", 0.0))[0] != holder:
                return False
            del self._held[name]
            return True


def make_proxy_server(
    storage: BaseStorage, host: str, port: int, *, threads: int = 32, lease: float = LOCK_LEASE
) -> grpc.Server:
    """Optuna's storage proxy server for ``storage`` plus the study lock, not started yet.

    Raises:
        StorageError: If ``host:port`` cannot be bound.
    """
    import grpc

    from storage._optuna_private import grpc_proxy_server

    server = grpc_proxy_server(storage, host, port, ThreadPoolExecutor(max_workers=threads))
    leases = _Leases(lease)

    def acquire(request: bytes, context: Any) -> bytes:
        message = json.loads(request)
        return b"1" if leases.try_acquire(message["name"], message["holder"]) else b"0"

    def release(request: bytes, context: Any) -> bytes:
        message = json.loads(request)
        return b"1" if leases.release(message["name"], message["holder"]) else b"0"

    handlers = {
        "TryAcquire": grpc.unary_unary_rpc_method_handler(acquire),
        "Release": grpc.unary_unary_rpc_method_handler(release),
    }
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(LOCK_SERVICE, handlers),)
    )
    return server


_CHANNELS: dict[tuple[int, str], Any] = {}


def _call(target: str, method: str, name: str, holder: str) -> bool:
    import grpc

    key = (os.getpid(), target)
    channel = _CHANNELS.get(key)
    if channel is None:
        channel = _CHANNELS[key] = grpc.insecure_channel(target)
    request = json.dumps({"name": name, "holder": holder}).encode()
    reply = channel.unary_unary(f"/{LOCK_SERVICE}/{method}")(request, timeout=30)
    return bool(reply == b"1")


@contextmanager
def proxy_lock(target: str, name: str, *, blocking: bool) -> Iterator[bool]:
    """The study lock of the proxy at ``target`` (``HOST:PORT``); see the module docstring."""
    holder = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}:{uuid.uuid4().hex}"
    while not _call(target, "TryAcquire", name, holder):
        if not blocking:
            yield False
            return
        time.sleep(_LOCK_POLL)
    try:
        yield True
    finally:
        try:
            _call(target, "Release", name, holder)
        except Exception:  # noqa: BLE001 - the lease expires by itself
            _logger.debug("Could not release the study lock of %r.", name, exc_info=True)


def check_bindable(host: str, port: int) -> None:
    """Refuse a host:port that cannot be bound, in one line (before anything starts)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as e:
            raise StorageError(
                f"The storage proxy cannot listen on {host}:{port}: {e.strerror or e}."
            ) from None
