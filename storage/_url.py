"""Storage URLs: defaults, validation and password masking.

Supported databases:

* SQLite (``sqlite:///relative.db``, ``sqlite:////absolute/path.db``): one machine, several
  worker processes;
* PostgreSQL (``postgresql+psycopg://user:password@host:5432/db``; ``postgresql://`` picks the
  installed driver, psycopg 3 first): workers on several machines;
* a storage proxy (``grpc://host:13000``, served by ``causalmix storage-proxy`` in front of
  either): many workers, one set of database connections (``storage._proxy``).

Passwords never appear in logs, exports or errors: every message shows :func:`mask_url`.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from storage._errors import StorageError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

__all__ = [
    "DEFAULT_DATABASE",
    "SUPPORTED_URLS",
    "is_proxy_url",
    "mask_url",
    "parse_url",
    "resolve_storage_url",
    "scrub",
]

DEFAULT_DATABASE = "causalmix.db"
"""The SQLite file used when no storage URL is given (in the working directory)."""

SUPPORTED_URLS = (
    "sqlite:///PATH.db, postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB "
    "(or postgresql+psycopg2://...), grpc://HOST:PORT (a causalmix storage-proxy)"
)
"""The supported URL forms, for error messages."""

_POSTGRES_DRIVERS = ("psycopg", "psycopg2")
_DRIVER_PACKAGES = {"pysqlite": "sqlite3", "psycopg": "psycopg", "psycopg2": "psycopg2"}
# The query arguments that SQLAlchemy's pysqlite dialect reads (others need ``uri=true``).
_SQLITE_QUERY_KEYS = frozenset(
    ("timeout", "uri", "check_same_thread", "isolation_level", "detect_types", "cached_statements")
)
_SECRET_QUERY_KEYS = ("password", "passwd", "pwd", "sslpassword")
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<user>[^:/@?#]*):[^@/?#]*@")
_QUERY_SECRET = re.compile(rf"(?P<key>[?&](?:{'|'.join(_SECRET_QUERY_KEYS)})=)[^&#\s]*", re.I)


def mask_url(url: str) -> str:
    """Return ``url`` with its password (and any ``password=`` query value) replaced by ``***``.

    Works on malformed URLs too, so that an error about a bad URL never shows a password.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError, TypeError):
        masked = _USERINFO.sub(r"\g<scheme>\g<user>:***@", str(url))
        return _QUERY_SECRET.sub(r"\g<key>***", masked)
    secret_keys = [k for k in parsed.query if k.lower() in _SECRET_QUERY_KEYS]
    if secret_keys:
        parsed = parsed.update_query_dict({k: "***" for k in secret_keys})
    return parsed.render_as_string(hide_password=True).replace("%2A%2A%2A", "***")


def scrub(message: str, url: str) -> str:
    """Remove the password of ``url`` from ``message`` (a driver's error text).

    The result is one line that ends with a full stop (or another sentence end).
    """
    text = " ".join(str(message).split())
    if not text.endswith((".", "?", "!")):
        text += "."
    try:
        from sqlalchemy.engine import make_url

        password = make_url(url).password
    except Exception:  # noqa: BLE001 - an unparsable URL has no password to look for
        password = None
    if password:
        # Only where the password stands as a token of its own: a short password must not
        # mangle the words around it.
        text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(str(password))}(?![A-Za-z0-9])", "***", text)
    return _QUERY_SECRET.sub(r"\g<key>***", _USERINFO.sub(r"\g<scheme>\g<user>:***@", text))


def parse_url(url: str) -> URL:
    """Parse and validate a storage URL (dialect and installed driver).

    Raises:
        StorageError: For a malformed URL, an unsupported dialect or a missing driver; the
            message shows the masked URL and the supported forms.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if not isinstance(url, str) or not url.strip():
        raise StorageError(f"A storage URL must be a non-empty string, but got {url!r}.")
    try:
        parsed = make_url(url.strip())
    except (ArgumentError, ValueError) as e:
        raise StorageError(
            f"Malformed storage URL {mask_url(url)!r}; supported: {SUPPORTED_URLS}."
        ) from e
    # Read from the URL's text: SQLAlchemy's get_driver_name() imports the dialect, which fails
    # with its own exception for a scheme it does not know.
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "postgres":
        raise _unsupported(url, "the scheme is 'postgresql', not 'postgres'")
    if parsed.port is not None and not 1 <= parsed.port <= 65535:
        raise _unsupported(url, f"the port {parsed.port} is not in 1..65535")
    if backend == "sqlite":
        if driver not in ("pysqlite", ""):
            raise _unsupported(url, f"the SQLite driver {driver!r} is not supported")
        unknown = sorted(set(parsed.query) - _SQLITE_QUERY_KEYS)
        if unknown and str(parsed.query.get("uri", "")).lower() not in ("true", "1"):
            raise _unsupported(
                url, f"SQLite takes no query argument {unknown[0]!r} (it would be ignored)"
            )
        return parsed
    if backend == "grpc":
        return _check_proxy_url(parsed, url)
    if backend != "postgresql":
        raise _unsupported(url, f"the database {backend!r} is not supported")
    if not driver:
        installed = [d for d in _POSTGRES_DRIVERS if importlib.util.find_spec(d) is not None]
        if not installed:
            raise _unsupported(url, "no PostgreSQL driver is installed (pip install psycopg)")
        return parsed.set(drivername=f"postgresql+{installed[0]}")
    if driver not in _POSTGRES_DRIVERS:
        raise _unsupported(url, f"the PostgreSQL driver {driver!r} is not supported")
    if importlib.util.find_spec(_DRIVER_PACKAGES[driver]) is None:
        raise _unsupported(
            url, f"the driver {driver!r} is not installed (pip install {_pip_name(driver)})"
        )
    return parsed


def is_proxy_url(url: str) -> bool:
    """Whether ``url`` names a storage proxy (``grpc://HOST:PORT``)."""
    return isinstance(url, str) and url.strip().lower().startswith("grpc://")


def _check_proxy_url(parsed: URL, url: str) -> URL:
    if not parsed.host or parsed.port is None:
        raise _unsupported(url, "a storage proxy URL needs a host and a port")
    extra = [
        name
        for name, value in (
            ("a user", parsed.username),
            ("a password", parsed.password),
            ("a path", parsed.database),
            ("a query", dict(parsed.query)),
        )
        if value
    ]
    if extra:
        raise _unsupported(url, f"a storage proxy URL takes no {extra[0].split()[-1]}")
    if importlib.util.find_spec("grpc") is None:
        raise _unsupported(
            url, "the storage proxy needs grpcio (pip install 'causalmix-tuner[grpc]')"
        )
    return parsed


def _pip_name(driver: str) -> str:
    return {"psycopg": "'psycopg[binary]'", "psycopg2": "psycopg2-binary"}[driver]


def _unsupported(url: str, reason: str) -> StorageError:
    return StorageError(
        f"Unsupported storage URL {mask_url(url)!r}: {reason}; supported: {SUPPORTED_URLS}."
    )


def resolve_storage_url(url: str | None) -> str:
    """Return the storage URL to use, validated.

    Args:
        url: A SQLAlchemy URL, or ``None`` for an embedded SQLite file ``causalmix.db`` in the
            current working directory.

    Returns:
        The URL as a string (with its password, for connecting; show it with
        :func:`mask_url`). A relative SQLite path is made absolute, so that every process
        opens the same file, and ``postgresql://`` names its driver.

    Raises:
        StorageError: For a malformed URL, an unsupported database or a missing driver.
    """
    if url is None:
        return f"sqlite:///{Path.cwd() / DEFAULT_DATABASE}"
    parsed = parse_url(url)
    if parsed.get_backend_name() != "sqlite":
        return parsed.render_as_string(hide_password=False)
    # Built by hand: SQLAlchemy would percent-escape the path (":memory:" -> "%3Amemory%3A").
    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        database = os.path.abspath(os.path.expanduser(database))
    query = "&".join(
        f"{key}={value}"
        for key, values in parsed.query.items()
        for value in ([values] if isinstance(values, str) else values)
    )
    return f"sqlite:///{database}" + (f"?{query}" if query else "") if database else "sqlite://"
