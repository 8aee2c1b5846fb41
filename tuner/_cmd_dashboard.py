"""``causalmix dashboard``: serve optuna-dashboard over the studies and their artifacts."""

from __future__ import annotations

import argparse
import logging

from tuner._cmd_common import storage_from

_logger = logging.getLogger("causalmix")

_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "dashboard",
        help="serve optuna-dashboard with the trial artifacts",
        description="Serve optuna-dashboard on this machine only (127.0.0.1) unless --host "
        "says otherwise.",
    )
    parser.add_argument("--storage", default=None, help="storage URL")
    parser.add_argument("--artifact-dir", default="causalmix_artifacts")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from optuna_dashboard import run_server

    from storage import create_storage, mask_url, open_artifact_store, resolve_storage_url

    url = resolve_storage_url(storage_from(args))
    rdb = create_storage(url, heartbeat_interval=None)
    artifact_store = open_artifact_store(args.artifact_dir)
    if args.host not in _LOCAL_HOSTS:
        _logger.warning(
            "The dashboard binds %s: anyone who can reach this machine on port %d can read "
            "the studies (it has no authentication).",
            args.host, args.port,
        )  # fmt: skip
    _logger.info(
        "Serving optuna-dashboard for %s on http://%s:%d/ (Ctrl-C stops it).",
        mask_url(url), args.host, args.port,
    )  # fmt: skip
    run_server(rdb, host=args.host, port=args.port, artifact_store=artifact_store)
    return 0
