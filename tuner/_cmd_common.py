"""Arguments shared by several verbs."""

from __future__ import annotations

import argparse
import os

__all__ = [
    "LOCAL_HOSTS",
    "add_storage_arguments",
    "column_name",
    "directory_or_none",
    "host_name",
    "non_negative_int",
    "output_path",
    "port_number",
    "positive_float",
    "positive_int",
    "seed_value",
    "storage_from",
    "study_name",
]

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
"""Addresses that only this machine reaches (the dashboard and the storage proxy default to
the first, and warn when bound elsewhere)."""
MAX_STUDY_NAME = 512
"""Optuna's column for study names holds 512 characters."""
MAX_SEED = 2**32 - 1
"""NumPy's and Optuna's samplers take seeds in 0 .. 2**32 - 1."""


def add_storage_arguments(parser: argparse.ArgumentParser, *, study_required: bool) -> None:
    parser.add_argument("--study", required=study_required, type=study_name, help="study name")
    parser.add_argument(
        "--storage",
        default=None,
        help="storage URL, e.g. sqlite:///causalmix.db or postgresql+psycopg://user@host/db "
        "(default: $CAUSALMIX_STORAGE_URL, else causalmix.db in the working directory)",
    )


def storage_from(args: argparse.Namespace) -> str | None:
    return args.storage or os.environ.get("CAUSALMIX_STORAGE_URL") or None


def _int_at_least(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
    return value


def positive_int(text: str) -> int:
    """An argparse type for integers >= 1, with a one-line error naming the value."""
    return _int_at_least(text, 1)


def non_negative_int(text: str) -> int:
    """An argparse type for integers >= 0, with a one-line error naming the value."""
    return _int_at_least(text, 0)


def _finite_float(text: str, minimum: float, *, strict: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    below = not value > minimum if strict else not value >= minimum
    if below or value == float("inf"):
        bound = f"{'>' if strict else '>='} {minimum:g}"
        raise argparse.ArgumentTypeError(f"must be a finite number {bound}, got {value}")
    return value


def positive_float(text: str) -> float:
    """An argparse type for finite numbers > 0, with a one-line error naming the value."""
    return _finite_float(text, 0.0, strict=True)


def non_negative_float(text: str) -> float:
    """An argparse type for finite numbers >= 0, with a one-line error naming the value."""
    return _finite_float(text, 0.0, strict=False)


def seed_value(text: str) -> int:
    """An argparse type for seeds: integers in 0 .. 2**32 - 1."""
    value = _int_at_least(text, 0)
    if value > MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be <= {MAX_SEED} (2**32 - 1), got {value}")
    return value


def study_name(text: str) -> str:
    """An argparse type for study names: 1-512 printable characters, no surrounding spaces."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"a study name must not be empty, got {text!r}")
    if text != text.strip() or not text.isprintable():
        raise argparse.ArgumentTypeError(
            f"a study name must be printable, without leading or trailing spaces, got {text!r}"
        )
    if len(text) > MAX_STUDY_NAME:
        raise argparse.ArgumentTypeError(
            f"a study name holds at most {MAX_STUDY_NAME} characters, got {len(text)}"
        )
    return text


def column_name(text: str) -> str:
    """An argparse type for a column name: not empty."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"a column name must not be empty, got {text!r}")
    return text


def host_name(text: str) -> str:
    """An argparse type for an address to listen on: not empty, no spaces or scheme."""
    if not text or any(c.isspace() for c in text) or "/" in text:
        raise argparse.ArgumentTypeError(
            f"expected a host name or IP address (e.g. 127.0.0.1), got {text!r}"
        )
    return text


def output_path(text: str) -> str:
    """An argparse type for a file or folder to write: missing folders are created, but a
    path through an existing file cannot be."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"expected a path, got {text!r}")
    parent = os.path.dirname(os.path.abspath(os.path.expanduser(text)))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise argparse.ArgumentTypeError(f"{parent!r} is a file, not a folder (in {text!r})")
    return text


def directory_or_none(text: str) -> str:
    """An argparse type for a folder the command may create (or ``none``): it must not be a
    file, and must not be empty."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"expected a folder or 'none', got {text!r}")
    if text != "none" and os.path.exists(os.path.expanduser(text)):
        if not os.path.isdir(os.path.expanduser(text)):
            raise argparse.ArgumentTypeError(f"{text!r} exists but is not a folder")
    return text


def port_number(text: str, minimum: int = 1) -> int:
    """An argparse type for a TCP port to listen on (``minimum``..65535)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not minimum <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be between {minimum} and 65535, got {value}")
    return value
