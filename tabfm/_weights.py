"""Saving and loading TabFM weights: safetensors plus a JSON config, never pickle."""

from __future__ import annotations

import functools
import importlib.resources
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tabfm._config import TabFMConfig
from tabfm._errors import TabFMError

if TYPE_CHECKING:
    import torch

    from tabfm._model import TabFMModel

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"


def shipped_weights_dir() -> Path:
    """The directory of the weights shipped inside the package (``tabfm/weights``)."""
    return Path(str(importlib.resources.files("tabfm") / "weights"))


def resolve_weights_dir(weights: str | Path | None) -> Path:
    """The directory holding ``model.safetensors`` and ``config.json``.

    ``weights`` may be that directory, the ``.safetensors`` file inside it, or ``None`` for the
    shipped weights.
    """
    if weights is None:
        return shipped_weights_dir()
    path = Path(weights).expanduser()
    return path.parent if path.suffix == ".safetensors" else path


def weights_sha256(weights: str | Path | None = None) -> str:
    """SHA-256 of the ``model.safetensors`` that ``weights`` names (the shipped one for
    ``None``): what a benchmark protocol and a portfolio record, so that results learned with
    other weights are noticed.

    Raises:
        TabFMError: If the file cannot be read.
    """
    import hashlib

    path = resolve_weights_dir(weights) / WEIGHTS_FILE
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as e:
        raise TabFMError(f"Cannot read the weights file {str(path)!r}: {e}.") from e


def save_weights(
    model: TabFMModel, directory: str | Path, extra: dict[str, Any] | None = None
) -> Path:
    """Write ``model.safetensors`` and ``config.json`` (plus ``extra`` keys) into ``directory``.

    Returns:
        The directory.
    """
    from safetensors.torch import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = {
        name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()
    }
    save_file(state, str(directory / WEIGHTS_FILE))
    document = {"model": model.config.to_dict(), **(extra or {})}
    (directory / CONFIG_FILE).write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    return directory


def read_config(directory: Path) -> dict[str, Any]:
    """Parse ``config.json`` of a weights directory.

    Raises:
        TabFMError: If it is missing or not a JSON object.
    """
    path = directory / CONFIG_FILE
    if not path.is_file():
        raise TabFMError(f"The weights config file is missing: {str(path)!r}.")
    try:
        document = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise TabFMError(f"The weights config file is corrupt: {str(path)!r} ({e}).") from e
    if not isinstance(document, dict) or not isinstance(document.get("model"), dict):
        raise TabFMError(f"The weights config file has no 'model' object: {str(path)!r}.")
    return document


def load_model(weights: str | Path | None = None) -> TabFMModel:
    """A fresh CPU :class:`~tabfm.TabFMModel` in eval mode with the given weights.

    Reading and parsing the files is cached per process (keyed on path, size and mtime); each
    call returns its own module, so callers may move or fine-tune it freely.

    Raises:
        TabFMError: If a file is missing or corrupt, or does not match its config.
    """
    from tabfm._model import TabFMModel

    directory = resolve_weights_dir(weights).resolve()
    weights_path = directory / WEIGHTS_FILE
    if not weights_path.is_file():
        raise TabFMError(f"The weights file is missing: {str(weights_path)!r}.")
    config_path = directory / CONFIG_FILE
    stamp = tuple(
        (p.stat().st_size, p.stat().st_mtime_ns) for p in (weights_path, config_path) if p.exists()
    )
    config, state = _read_cached(str(directory), stamp)
    model = TabFMModel(config)
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        first = str(e).splitlines()[0]
        raise TabFMError(
            f"The weights file does not match its config: {str(weights_path)!r} ({first})."
        ) from e
    return model.eval()


@functools.lru_cache(maxsize=8)
def _read_cached(
    directory: str, stamp: tuple[tuple[int, int], ...]
) -> tuple[TabFMConfig, dict[str, torch.Tensor]]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(directory)
    config = TabFMConfig.from_dict(read_config(path)["model"])
    try:
        state = load_file(str(path / WEIGHTS_FILE))
    except (SafetensorError, OSError, ValueError) as e:
        raise TabFMError(
            f"The weights file is corrupt: {str(path / WEIGHTS_FILE)!r} ({e}).".replace("\n", " ")
        ) from e
    return config, state
