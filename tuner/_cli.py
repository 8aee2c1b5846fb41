"""The ``causalmix`` command line.

Each verb lives in its own ``tuner/_cmd_<verb>.py`` module (found automatically) exposing
``register(subparsers)``,
which adds the verb's parser and sets ``func`` to a ``run(args) -> int`` function. Verb modules
import heavy libraries inside ``run`` so that ``--help`` answers at once. Other packages add
verbs through the entry-point group ``causalmix.verbs`` (name -> module), with the errors that
mean bad input in the module's ``USER_ERRORS``: the benchmark's ``bench`` verb lives in
``bench/``, and the tuning service never imports it.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType, ModuleType
from typing import NoReturn

from tuner._errors import OPERATIONAL_ERRORS, USER_ERRORS

__all__ = [
    "EXIT_OPERATIONAL",
    "EXIT_USAGE",
    "OPERATIONAL_ERRORS",
    "USER_ERRORS",
    "build_parser",
    "main",
]

EXIT_USAGE = 2
"""Exit code for bad input: a file, column, target, URL, config or option."""

EXIT_OPERATIONAL = 3
"""Exit code for an operational failure: the database unreachable (after the retries), a
worker process that failed. The input may be fine; running again later may succeed."""

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
    user_errors = list(USER_ERRORS)
    for module in _plugin_modules():
        module.register(subparsers)
        user_errors += getattr(module, "USER_ERRORS", ())
    # Kept on the parser, not in the parsed arguments: `bench` records its arguments verbatim.
    parser.user_errors = tuple(user_errors)  # type: ignore[attr-defined]
    return parser


VERB_GROUP = "causalmix.verbs"
"""The entry-point group of verbs that other packages register."""


def _plugin_modules() -> list[ModuleType]:
    """The verb modules registered in :data:`VERB_GROUP`, sorted by verb name."""
    from importlib.metadata import entry_points

    return [
        importlib.import_module(point.value)
        for point in sorted(entry_points(group=VERB_GROUP), key=lambda p: p.name)
    ]


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


class Terminated(KeyboardInterrupt):
    """SIGTERM, turned into an exception so that a worker records its running trial first."""


def _raise_terminated(number: int, frame: FrameType | None) -> None:
    raise Terminated


def _storage_url_of(args: argparse.Namespace) -> str | None:
    """The storage URL this command uses, to hide its password in an error message."""
    return getattr(args, "storage", None) or os.environ.get("CAUSALMIX_STORAGE_URL")


def _error_line(args: argparse.Namespace, error: BaseException) -> str:
    from storage._url import scrub

    message = " ".join(str(error).split()) or type(error).__name__
    url = _storage_url_of(args)
    return scrub(message, url) if url else message


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code.

    0 on success, 2 for bad input, 3 for an operational failure (database unreachable, a
    failed worker process), 130 for Ctrl-C, 143 for SIGTERM.

    SIGTERM is handled like Ctrl-C while a command runs: a worker records its running trial
    as failed before it exits, so that nothing is left RUNNING.
    """
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = {}
    if in_main_thread:
        previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
        signal.signal(signal.SIGTERM, _raise_terminated)
    command = "?"
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as e:  # --help, or a usage error already printed as one line
            return e.code if isinstance(e.code, int) else 2
        command = args.command
        _configure_logging(args.verbose, args.quiet)
        try:
            return int(args.func(args) or 0)
        except OPERATIONAL_ERRORS as e:
            print(f"causalmix {command}: error: {_error_line(args, e)}", file=sys.stderr)
            return EXIT_OPERATIONAL
        except getattr(parser, "user_errors", USER_ERRORS) as e:
            print(f"causalmix {command}: error: {_error_line(args, e)}", file=sys.stderr)
            return EXIT_USAGE
        except Exception as e:
            from storage import is_connection_error, mask_url

            if not is_connection_error(e):
                raise
            # A database that went away outside a worker's retry loop.
            url = _storage_url_of(args)
            where = f" {mask_url(url)!r}" if url else ""
            print(
                f"causalmix {command}: error: lost the connection to the storage{where}: "
                f"{_error_line(args, e)} Check that the database server is running.",
                file=sys.stderr,
            )
            return EXIT_OPERATIONAL
    except KeyboardInterrupt as e:
        # A second Ctrl-C while shutting down must not print a traceback.
        if in_main_thread:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        terminated = isinstance(e, Terminated)
        what = "terminated" if terminated else "interrupted"
        print(f"causalmix {command}: {what}", file=sys.stderr)
        return 143 if terminated else 130
    finally:
        for number, handler in previous.items():
            if handler is not None:
                signal.signal(number, handler)
