"""``causalmix dashboard``: serve optuna-dashboard over the studies and their artifacts.

The dashboard has no authentication, so by default it

* binds 127.0.0.1 (this machine only; reach it from elsewhere through an SSH tunnel), and warns
  when ``--host`` makes it listen on another address;
* is read-only: requests that would change a study (notes, telling or deleting trials,
  deleting studies or artifacts, uploads) are refused unless ``--allow-writes`` is given;
* while bound to a loopback address, answers only requests whose ``Host`` header names a
  loopback address, so that a web page in the user's browser cannot reach it through DNS
  rebinding.
"""

from __future__ import annotations

import argparse
import json
import logging
import socket
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from tuner._cmd_common import LOCAL_HOSTS, directory_or_none, host_name, port_number, storage_from
from tuner._defaults import DEFAULT_ARTIFACT_DIR

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

_logger = logging.getLogger("causalmix")

_READ_METHODS = ("GET", "HEAD", "OPTIONS")

_App = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _port(text: str) -> int:
    return port_number(text, minimum=0)  # 0: any free port


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "dashboard",
        help="serve optuna-dashboard with the trial artifacts",
        description="Serve optuna-dashboard, read-only and on this machine only (127.0.0.1), "
        "unless --allow-writes and --host say otherwise. It has no authentication.",
    )
    parser.add_argument("--storage", default=None, help="storage URL")
    parser.add_argument("--artifact-dir", type=directory_or_none, default=DEFAULT_ARTIFACT_DIR)
    parser.add_argument(
        "--host",
        type=host_name,
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1)",
    )
    parser.add_argument("--port", type=_port, default=8080, help="port (default: 8080)")
    parser.add_argument(
        "--allow-writes",
        action="store_true",
        help="let the dashboard change studies (notes, tell or delete trials and studies)",
    )
    parser.set_defaults(func=run)


def guard(app: _App, *, allow_writes: bool, loopback_only: bool) -> _App:
    """Wrap a WSGI app: refuse writes unless allowed, and foreign Host headers on loopback."""

    def refuse(start_response: Callable[..., Any], status: str, reason: str) -> list[bytes]:
        body = json.dumps({"reason": reason}).encode()
        start_response(
            status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        )
        return [body]

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if loopback_only and _host_name(environ.get("HTTP_HOST", "")) not in LOCAL_HOSTS:
            return refuse(
                start_response,
                "403 Forbidden",
                "This dashboard only answers requests for 127.0.0.1 or localhost.",
            )
        if not allow_writes and environ.get("REQUEST_METHOD", "GET").upper() not in _READ_METHODS:
            return refuse(
                start_response,
                "403 Forbidden",
                "This dashboard is read-only; start it with --allow-writes to change studies.",
            )
        return app(environ, start_response)

    return guarded


def _host_name(header: str) -> str:
    """``127.0.0.1:8080`` -> ``127.0.0.1``; ``[::1]:8080`` -> ``::1``."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def _make_server(host: str, port: int, app: _App) -> WSGIServer:
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    from tuner._errors import TunerError

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

    class Handler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
            _logger.debug("dashboard: " + format, *args)

    try:
        return make_server(host, port, app, server_class=Server, handler_class=Handler)
    except OSError as e:
        raise TunerError(
            f"Cannot serve the dashboard on {host}:{port}: {e.strerror or e} (choose another "
            "--port or --host)."
        ) from None


def run(args: argparse.Namespace) -> int:
    from optuna_dashboard import wsgi

    from storage import (
        create_storage,
        is_proxy_url,
        mask_url,
        open_artifact_store,
        resolve_storage_url,
    )
    from tuner._errors import TunerError

    url = resolve_storage_url(storage_from(args))
    if is_proxy_url(url):
        raise TunerError(
            f"The dashboard reads the database itself: pass the database URL that the storage "
            f"proxy serves, not the proxy {mask_url(url)!r}."
        )
    rdb = create_storage(url, heartbeat_interval=None, create=False)
    artifact_store = open_artifact_store(args.artifact_dir)
    loopback = args.host in LOCAL_HOSTS
    app = guard(
        wsgi(rdb, artifact_store=artifact_store),
        allow_writes=args.allow_writes,
        loopback_only=loopback,
    )
    server = _make_server(args.host, args.port, app)
    if not loopback:
        _logger.warning(
            "The dashboard binds %s, not 127.0.0.1: anyone who can reach this machine on port "
            "%d can read the studies (it has no authentication%s).",
            args.host, args.port, "" if not args.allow_writes else ", and writes are allowed",
        )  # fmt: skip
    port = server.server_address[1]
    shown_host = f"[{args.host}]" if ":" in args.host else args.host
    _logger.info(
        "Serving optuna-dashboard for %s on http://%s:%d/ (%s; Ctrl-C stops it).",
        mask_url(url), shown_host, port, "writes allowed" if args.allow_writes else "read-only",
    )  # fmt: skip
    try:
        server.serve_forever()
    finally:
        server.server_close()
        rdb.engine.dispose()
    return 0
