"""Arguments shared by several verbs."""

from __future__ import annotations

import argparse
import os

__all__ = ["add_storage_arguments", "positive_int", "storage_from"]


def add_storage_arguments(parser: argparse.ArgumentParser, *, study_required: bool) -> None:
    parser.add_argument("--study", required=study_required, help="study name")
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


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value
