"""``causalmix storage-proxy``: serve a study database through Optuna's gRPC storage proxy.

Workers, ``tune`` and ``export`` then use ``grpc://HOST:PORT`` as their storage URL, and only
this process connects to the database (``storage._proxy`` says what passes through the proxy
and what does not). The proxy has no authentication: it binds 127.0.0.1 unless ``--host``
says otherwise, and warns then.
"""

from __future__ import annotations

import argparse
import logging

from tuner._cmd_common import LOCAL_HOSTS, host_name, port_number, positive_int, storage_from
from tuner._errors import TunerError

_logger = logging.getLogger("causalmix")

DEFAULT_PORT = 13000


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "storage-proxy",
        help="serve a study database to many workers through Optuna's gRPC proxy",
        description="Serve the study database at --storage through Optuna's gRPC storage "
        "proxy; workers then pass --storage grpc://HOST:PORT. It has no authentication and "
        "binds 127.0.0.1 by default.",
    )
    parser.add_argument(
        "--storage", default=None, help="the database URL (SQLite or PostgreSQL) to serve"
    )
    parser.add_argument(
        "--host",
        type=host_name,
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1)",
    )
    parser.add_argument(
        "--port", type=port_number, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--threads",
        type=positive_int,
        default=32,
        help="threads serving requests at once (default: 32)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import optuna

    from storage import (
        check_bindable,
        create_storage,
        is_proxy_url,
        make_proxy_server,
        mask_url,
        resolve_storage_url,
    )
    from tuner._study import storage_options

    given = storage_from(args)
    if given is not None and is_proxy_url(given):
        raise TunerError(
            f"--storage must be the database the proxy serves, not another proxy, but got "
            f"{mask_url(given)!r}."
        )
    url = resolve_storage_url(given)
    check_bindable(args.host, args.port)
    options = storage_options()
    # No heartbeats here: the workers' trials beat through their own connection, which proxy
    # workers do not have (storage._proxy). Every database call is retried while the
    # database restarts.
    database = create_storage(
        url,
        heartbeat_interval=None,
        busy_timeout=options.busy_timeout,
        connect_timeout=options.connect_timeout,
        reconnect_timeout=options.reconnect_timeout,
    )
    # Optuna's advice for its proxy: serve through its in-process cache of finished trials.
    server = make_proxy_server(
        optuna.storages.get_storage(database), args.host, args.port, threads=args.threads
    )
    server.start()
    if args.host not in LOCAL_HOSTS:
        _logger.warning(
            "The storage proxy binds %s, not 127.0.0.1: anyone who can reach this machine on "
            "port %d can read and change every study (it has no authentication). Put it "
            "behind an SSH tunnel or an authenticating reverse proxy.",
            args.host, args.port,
        )  # fmt: skip
    _logger.info(
        "Serving %s through the storage proxy on grpc://%s:%d (Ctrl-C stops it).",
        mask_url(url), args.host, args.port,
    )  # fmt: skip
    try:
        server.wait_for_termination()
    finally:
        server.stop(grace=2)
        database.engine.dispose()
    return 0
