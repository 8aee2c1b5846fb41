"""What the third-party backends share: registry, lazy imports, local-only weights."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tabfm import BACKENDS, BaseBackend, TabFMError
from tabfm.backends._base import ExternalBackend, find_checkpoint, require_package


def test_registry_lists_every_backend_without_importing_their_packages() -> None:
    assert {"tabfm", "tabicl", "tabpfn"} <= set(BACKENDS)
    assert all(issubclass(backend, BaseBackend) for backend in BACKENDS.values())
    code = (
        "import sys, tabfm; tabfm.BACKENDS['tabicl']; tabfm.BACKENDS['tabpfn']; "
        "print(sorted(m for m in ('torch', 'tabicl', 'tabpfn', 'huggingface_hub') "
        "if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "package"),
    [("mitra", "autogluon.tabular"), ("tabicl", "tabicl"), ("tabpfn", "tabpfn")],
)
def test_a_missing_package_says_what_to_install(name: str, package: str, tmp_path: Path) -> None:
    # A None entry in sys.modules is how Python spells "this package is not installed"; where
    # the package is really missing (AutoGluon in the main venv), the entry changes nothing.
    code = (
        f"import sys; sys.modules[{package!r}] = None\n"
        "from tabfm import get_backend, TabFMError\n"
        "try:\n"
        f"    get_backend({name!r}, weights={str(tmp_path)!r})\n"
        "except TabFMError as e:\n"
        "    print(e)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    message = result.stdout.strip()
    assert "\n" not in message
    assert f"pip install 'causalmix-tuner[{name}]'" in message and package in message


def test_require_package_names_the_extra() -> None:
    require_package("numpy", "x", "X")  # installed: nothing happens
    with pytest.raises(TabFMError, match=r"pip install 'causalmix-tuner\[tabicl\]'"):
        require_package("causalmix_no_such_package", "tabicl", "TabICL")


def test_find_checkpoint_picks_the_preferred_file_or_refuses_to_guess(tmp_path: Path) -> None:
    (tmp_path / "a.ckpt").write_bytes(b"")
    assert find_checkpoint(tmp_path, (".ckpt",), ("z.ckpt",), "T") == tmp_path / "a.ckpt"
    (tmp_path / "b.ckpt").write_bytes(b"")
    with pytest.raises(TabFMError, match=r"several checkpoints.*\['a\.ckpt', 'b\.ckpt'\]"):
        find_checkpoint(tmp_path, (".ckpt",), ("z.ckpt",), "T")
    (tmp_path / "z.ckpt").write_bytes(b"")
    assert find_checkpoint(tmp_path, (".ckpt",), ("z.ckpt",), "T") == tmp_path / "z.ckpt"
    with pytest.raises(
        TabFMError, match=r"must be a \.ckpt2 file or a \.st file, but got .*a\.ckpt"
    ):
        find_checkpoint(tmp_path / "a.ckpt", (".ckpt2", ".st"), (), "T")


class _RecordingBackend(ExternalBackend):
    """An external backend whose "upstream classifier" records the context it is given."""

    name = "recording"
    max_classes = 10  # type: ignore[assignment]
    module = None  # type: ignore[assignment]

    def __init__(self) -> None:
        self.contexts: list[np.ndarray] = []

    def _unused(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    load = save = make_preprocessor = preprocessor_from_dict = forward_episode = _unused  # type: ignore[assignment]

    def _predict_context(
        self, x_context: np.ndarray, y_context: np.ndarray, x_query: np.ndarray,
        n_estimators: int, seed: int,
    ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        self.contexts.append(x_context[:, 0].copy())
        return np.array([0, 1]), np.full((len(x_query), 2), 0.5)


def test_the_upstream_classifier_gets_the_context_rows_in_the_callers_order() -> None:
    # Upstream classifiers shuffle by themselves; a context shuffled by us as well makes their
    # predictions differ from the user's direct call by float rounding.
    backend = _RecordingBackend()
    x, y = np.arange(50, dtype=np.float32)[:, None], np.arange(50) % 2
    for seed in range(3):
        backend.predict_proba(x, y, x[:4], 2, seed=seed)
        backend.predict_proba(x, y, x[:4], 2, max_context=20, seed=seed)
    whole, *_ = backend.contexts
    np.testing.assert_array_equal(whole, x[:, 0])
    subsamples = backend.contexts[1::2]
    assert all(len(rows) == 20 and np.all(np.diff(rows) > 0) for rows in subsamples)
    assert len({tuple(rows) for rows in subsamples}) > 1  # the subsample still follows the seed
