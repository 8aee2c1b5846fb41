"""Loading search spaces: shipped ones by name, others from a .yaml / .yml / .json file."""

from __future__ import annotations

import difflib
import functools
import json
import os
import re
from importlib import resources
from pathlib import Path
from typing import Any

from search_spaces._errors import SearchSpaceError
from search_spaces._space import SearchSpace

__all__ = ["SPACE_SUFFIXES", "list_spaces", "load_space", "load_yaml"]

SPACE_SUFFIXES = (".yaml", ".yml", ".json")
"""File suffixes :func:`load_space` reads."""


_FLOAT_TAG = "tag:yaml.org,2002:float"
# YAML 1.1 (PyYAML) reads a float only with a dot: 1e-6 stays the string "1e-6". Users write
# learning rates that way, so the exponent form without a dot is a float here too.
_EXPONENT_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$")


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` that also reads ``1e-6`` (an exponent without a dot) as a float.

    Every YAML the project reads (search spaces, exported configs, ``--set`` values) goes
    through here, so a number is a number wherever it is typed.

    Raises:
        yaml.YAMLError: For text that is not valid YAML.
    """
    loader = _loader()(text)  # a SafeLoader: plain data only, never Python objects
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


@functools.cache
def _loader() -> Any:
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_implicit_resolver(_FLOAT_TAG, _EXPONENT_FLOAT, list("-+0123456789."))
    return Loader


def shipped_names(folder: str) -> list[str]:
    """Names of the ``.yaml`` files in the package folder ``search_spaces/FOLDER``, sorted."""
    directory = resources.files("search_spaces") / folder
    return sorted(
        entry.name.removesuffix(".yaml")
        for entry in directory.iterdir()
        if entry.is_file() and entry.name.endswith(".yaml")
    )


def did_you_mean(name: str, names: list[str]) -> str:
    """`` Did you mean 'x'?`` for the closest of ``names``, or nothing."""
    close = difflib.get_close_matches(name, names, n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def read_shipped(folder: str, name: str, what: str, shipped: str, otherwise: str) -> str:
    """The text of ``search_spaces/FOLDER/NAME.yaml``, or an error listing the shipped names
    (``what``: "search space"; ``shipped``: "spaces"; ``otherwise``: what else to give)."""
    names = shipped_names(folder)
    if name not in names:
        raise SearchSpaceError(
            f"Unknown {what} {name!r}.{did_you_mean(name, names)} Shipped {shipped}: "
            f"{', '.join(names)}; or give {otherwise}."
        )
    resource = resources.files("search_spaces") / folder / f"{name}.yaml"
    return resource.read_text(encoding="utf-8")


def read_file(path: Path, text: str, what: str) -> str:
    """The text of a user's file, or an error naming it (``what``: "search space file")."""
    try:
        return path.expanduser().read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SearchSpaceError(f"The {what} does not exist: {text!r}.") from None
    except (OSError, UnicodeDecodeError) as e:
        raise SearchSpaceError(f"Cannot read the {what} {text!r}: {e}.") from None


def list_spaces() -> list[str]:
    """Names of the search spaces shipped with the package, sorted."""
    return shipped_names("spaces")


def load_space(name_or_path: str | os.PathLike[str]) -> SearchSpace:
    """Load and validate a search space.

    Args:
        name_or_path: A shipped space name (see :func:`list_spaces`) or a path to a ``.yaml``,
            ``.yml`` or ``.json`` file.

    Raises:
        SearchSpaceError: For an unknown name, a missing or unreadable file, a file that is not
            YAML / JSON, or an invalid space (naming the key, the value and what is allowed).
    """
    text = os.fspath(name_or_path)
    path = Path(text)
    suffix = path.suffix.lower()
    if not suffix and len(path.parts) == 1:
        return _load_shipped(text)
    if suffix not in SPACE_SUFFIXES:
        raise SearchSpaceError(
            f"A search space file must end in {', '.join(SPACE_SUFFIXES)}, but got {text!r} "
            f"(suffix {suffix or 'none'!r}); shipped spaces: {', '.join(list_spaces())}."
        )
    data = _parse(read_file(path, text, "search space file"), suffix, text)
    return SearchSpace.from_dict(data, default_name=path.stem, source=text)


def _load_shipped(name: str) -> SearchSpace:
    otherwise = f"a path to a {', '.join(SPACE_SUFFIXES)} file"
    content = read_shipped("spaces", name, "search space", "spaces", otherwise)
    data = _parse(content, ".yaml", name)
    return SearchSpace.from_dict(data, default_name=name, source=f"shipped space {name!r}")


def _parse(content: str, suffix: str, source: str) -> Any:
    if suffix == ".json":
        try:
            return json.loads(content)
        except json.JSONDecodeError as e:
            raise SearchSpaceError(
                f"The search space file {source!r} is not valid JSON: {e}."
            ) from e
    import yaml

    try:
        return load_yaml(content)
    except yaml.YAMLError as e:
        message = " ".join(str(e).split())
        raise SearchSpaceError(
            f"The search space file {source!r} is not valid YAML: {message}."
        ) from e
