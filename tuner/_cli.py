"""The ``causalmix`` command line.

Each verb lives in its own ``tuner/_cmd_<verb>.py`` module (found automatically) exposing
``register(subparsers)``,
which adds the verb's parser and sets ``func`` to a ``run(args) -> int`` function. Verb modules
import heavy libraries inside ``run`` so that ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from typing import NoReturn

from causalmix._errors import CausalMixError
from search_spaces._errors import SearchSpaceError
from storage._errors import StorageError
from tabfm._errors import TabFMError
from tuner._errors import TunerError

__all__ = ["USER_ERRORS", "build_parser", "main"]

USER_ERRORS: tuple[type[Exception], ...] = (
    CausalMixError,
    SearchSpaceError,
    StorageError,
    TabFMError,
    TunerError,
)
"""Errors caused by user input: printed as one line, exit code 2."""

_VERB_ORDER = ("augment", "tune", "worker", "dashboard", "export", "fit", "predict")
"""Verbs listed first in ``--help``; any other ``tuner/_cmd_<verb>.py`` follows."""

_logger = logging.getLogger("causalmix")


class _OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are a single line on stderr and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _verbs() -> list[str]:
    import pkgutil

    import tuner

    found = {
        info.name.removeprefix("_cmd_")
        for info in pkgutil.iter_modules(tuner.__path__)
        if info.name.startswith("_cmd_") and info.name != "_cmd_common"
    }
    return [v for v in _VERB_ORDER if v in found] + sorted(found - set(_VERB_ORDER))


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="causalmix",
        description="Tune causal data augmentation for fine-tuning tabular foundation models.",
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (repeatable)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=_OneLineParser
    )
    subparsers.required = True
    for verb in _verbs():
        importlib.import_module(f"tuner._cmd_{verb}").register(subparsers)
    return parser


def _configure_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else logging.DEBUG if verbose > 0 else logging.INFO
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr)
    # Third-party libraries log at INFO (Optuna per trial, DoWhy per node); keep the product's
    # own output readable unless the user asks for more.
    third_party_level = logging.DEBUG if verbose > 1 else logging.WARNING
    for name in ("optuna", "dowhy", "causallearn", "matplotlib", "PIL", "sqlalchemy"):
        logging.getLogger(name).setLevel(third_party_level)
    # Optuna resets its own logger's level when it is first imported: set it through its API
    # (argparse has already answered --help by now, so the import costs nothing there).
    import optuna

    optuna.logging.set_verbosity(third_party_level)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (2 for bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose, args.quiet)
    try:
        return int(args.func(args) or 0)
    except USER_ERRORS as e:
        message = " ".join(str(e).split())
        print(f"causalmix {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"causalmix {args.command}: interrupted", file=sys.stderr)
        return 130
