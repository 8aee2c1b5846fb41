"""The Mitra backend (``pip install 'causalmix-tuner[mitra]'``), AutoGluon's Mitra classifier.

The model is AutoGluon's ``Tab2D`` network (``autogluon.tabular[mitra]``; AutoGluon pins
pandas < 3). Weights are a Mitra checkpoint directory as published in the Hugging Face repo
``autogluon/mitra-classifier`` and written by ``Tab2D.save_pretrained``: ``config.json``
(``dim``, ``dim_output``, ``n_layers``, ``n_heads``, ``task``) beside ``model.safetensors``
(tensors and a JSON header: no pickled code). :meth:`MitraBackend.save` writes the same two
files, which AutoGluon reads back (``hf_model=<directory>``). With ``weights=None`` the files
are looked up in the Hugging Face cache, without any network access; ``Tab2D.from_pretrained``,
which falls back to a download, is never called.

AutoGluon's ``MitraClassifier`` builds its own network from a path and fine-tunes it, so it
cannot predict with the module this backend holds; this backend runs Mitra's inference steps
itself, as ``MitraClassifier`` runs them (``TrainerFinetune.predict``): missing values become
the context column means, columns constant on the context are dropped, columns are randomly
reflected (``random_mirror_x``), and query rows go through the network 1024 at a time with
the whole context as support. Ensemble members differ by their reflections (the first member
sees the columns as they are) and their probabilities are averaged. Training episodes prepare
the rows the same way, with fresh reflections per episode.

The network always runs PyTorch's scaled-dot-product attention (the path ``Tab2D`` takes
without the optional ``flash_attn`` package), so one module runs on any device. It runs under
bf16 autocast on CUDA and in float32 on CPU (where ``MitraClassifier`` also autocasts to bf16).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tabfm._errors import TabFMError
from tabfm.backends._base import (
    ExternalBackend,
    find_checkpoint,
    first_line,
    require_package,
)

if TYPE_CHECKING:
    import torch

HF_REPO = "autogluon/mitra-classifier"
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
CONFIG_KEYS = ("dim", "dim_output", "n_layers", "n_heads", "task")
_QUERY_CHUNK = 1024  # MitraClassifier's max_samples_query


class MitraBackend(ExternalBackend):
    """Mitra (Zhang et al., 2025), AutoGluon's tabular foundation model, as a backend.

    Args:
        model: The ``Tab2D`` module.
        config: Its ``config.json`` (saved with the weights).
        device: Where it runs.
    """

    name = "mitra"

    def __init__(self, model: torch.nn.Module, config: dict[str, Any], device: torch.device):
        self.model = model.to(device)
        self.config = dict(config)
        self.device = device

    @classmethod
    def load(cls, weights: str | Path | None = None, device: str = "auto") -> MitraBackend:
        """Load a Mitra classifier from a local checkpoint directory (or its safetensors file).

        Raises:
            TabFMError: If ``autogluon.tabular[mitra]`` is not installed, or the checkpoint is
                missing, corrupt, or not a classifier.
        """
        tab2d = _tab2d_class()

        from safetensors.torch import load_file

        from tabfm._device import resolve_device

        resolved = resolve_device(device)
        path = _weights_path(weights)
        config = _read_config(path.parent / CONFIG_FILE)
        try:
            state = load_file(str(path), device="cpu")
        except Exception as e:  # noqa: BLE001 - any reading failure means a corrupt file
            raise TabFMError(
                f"The Mitra weights cannot be read: {str(path)!r} ({first_line(e)})."
            ) from e
        try:
            model = tab2d(
                dim=int(config["dim"]),
                dim_output=int(config["dim_output"]),
                n_layers=int(config["n_layers"]),
                n_heads=int(config["n_heads"]),
                task="CLASSIFICATION",
                use_pretrained_weights=False,
                path_to_weights="",
                device="cpu",  # keeps Tab2D on its scaled-dot-product attention path
            )
            model.load_state_dict(state)
        except (TypeError, ValueError, RuntimeError, AssertionError) as e:
            raise TabFMError(
                f"The Mitra weights do not match their config: {str(path)!r} ({first_line(e)})."
            ) from e
        return cls(model.eval(), config, resolved)

    def save(self, directory: str | Path) -> None:
        """Write ``directory/config.json`` and ``directory/model.safetensors`` (Mitra's format)."""
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        state = self.cpu_state_dict()
        save_file(state, str(directory / WEIGHTS_FILE))
        (directory / CONFIG_FILE).write_text(json.dumps(self.config) + "\n")

    @property
    def max_classes(self) -> int:
        return int(self.config["dim_output"])

    def forward_episode(
        self,
        x_context: torch.Tensor,
        y_context: torch.Tensor,
        x_query: torch.Tensor,
        n_classes: int,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        import torch

        self.check_n_classes(n_classes)
        n_columns = x_context.shape[1]
        signs = torch.randint(0, 2, (n_columns,), generator=generator).float() * 2 - 1
        x = prepare_rows(x_context, x_query, signs.to(x_context.device))  # (Rc + Rq, C')
        logits = _forward(self.model, x, y_context, len(x_context))  # (Rq, dim_output)
        return logits[:, :n_classes]

    def _predict_context(
        self,
        x_context: np.ndarray,
        y_context: np.ndarray,
        x_query: np.ndarray,
        n_estimators: int,
        seed: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        import torch

        from tabfm._device import autocast

        # Mitra reads labels 0..k-1, as MitraClassifier is given them.
        classes, labels = np.unique(y_context, return_inverse=True)
        rng = np.random.default_rng(seed)
        x_support = torch.from_numpy(x_context).to(self.device)
        y_support = torch.from_numpy(labels.astype(np.int64)).to(self.device)
        queries = torch.from_numpy(x_query).to(self.device)
        proba = np.zeros((len(x_query), len(classes)))
        self.model.eval()
        for member in range(n_estimators):
            reflect = rng.random(x_context.shape[1]) < 0.5 if member > 0 else None
            signs = torch.ones(x_context.shape[1], device=self.device)
            if reflect is not None:
                signs[torch.from_numpy(reflect).to(self.device)] = -1.0
            for start in range(0, len(x_query), _QUERY_CHUNK):
                chunk = queries[start : start + _QUERY_CHUNK]
                x = prepare_rows(x_support, chunk, signs)
                with torch.no_grad(), autocast(self.device):
                    logits = _forward(self.model, x, y_support, len(x_support))
                logits = logits[:, : len(classes)].float()
                proba[start : start + len(chunk)] += torch.softmax(logits, -1).cpu().numpy()
        return classes, proba / n_estimators


def _tab2d_class() -> Any:
    """AutoGluon's ``Tab2D`` class, or a one-line error naming the extra to install."""
    require_package("autogluon.tabular", "mitra", "Mitra")
    try:
        from autogluon.tabular.models.mitra._internal.models.tab2d import Tab2D
    except ImportError as e:  # autogluon.tabular without its [mitra] extra (einops, einx)
        raise TabFMError(
            f"The Mitra backend needs autogluon.tabular's Mitra model, which cannot be "
            f"imported ({first_line(e)}): pip install 'causalmix-tuner[mitra]'."
        ) from e
    return Tab2D


def _weights_path(weights: str | Path | None) -> Path:
    """The ``model.safetensors`` to load; its ``config.json`` lies beside it."""
    if weights is not None:
        path = find_checkpoint(weights, (".safetensors",), (WEIGHTS_FILE,), "Mitra")
    else:
        from huggingface_hub import try_to_load_from_cache

        # Reads the local cache only; never contacts the Hub.
        cached = try_to_load_from_cache(HF_REPO, WEIGHTS_FILE)
        if not isinstance(cached, str):
            raise TabFMError(
                f"No Mitra weights given and {WEIGHTS_FILE!r} is not in the Hugging Face cache "
                f"(repo {HF_REPO!r}); pass --weights PATH to a directory holding Mitra's "
                f"{CONFIG_FILE} and {WEIGHTS_FILE}."
            )
        path = Path(cached)
    if not (path.parent / CONFIG_FILE).is_file():
        raise TabFMError(
            f"The Mitra weights need their {CONFIG_FILE} beside {str(path)!r} (both files of "
            f"the Hugging Face repo {HF_REPO!r} go in one directory)."
        )
    return path


def _read_config(path: Path) -> dict[str, Any]:
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise TabFMError(f"The Mitra config cannot be read: {str(path)!r} ({e}).") from e
    if not isinstance(config, dict) or not set(CONFIG_KEYS) <= set(config):
        raise TabFMError(
            f"Not a Mitra config (it needs the keys {list(CONFIG_KEYS)}): {str(path)!r}."
        )
    if str(config["task"]).upper() != "CLASSIFICATION":
        raise TabFMError(
            f"The Mitra checkpoint is a {str(config['task']).lower()} model, not a classifier: "
            f"{str(path)!r} (use the weights of {HF_REPO!r})."
        )
    return config


def prepare_rows(
    x_context: torch.Tensor, x_query: torch.Tensor, signs: torch.Tensor
) -> torch.Tensor:
    """Context and query rows prepared as Mitra's ``Preprocessor`` prepares them, in torch.

    Statistics come from the context rows: NaN is imputed with the column mean (0 for a
    column with no value), columns constant on the context are dropped (all-constant keeps
    the first), and each column is multiplied by its sign (Mitra's random reflection).

    Args:
        x_context: ``(Rc, C)`` encoded context rows.
        x_query: ``(Rq, C)`` encoded query rows.
        signs: ``(C,)`` +-1 per column.

    Returns:
        ``(Rc + Rq, C')`` float32 rows, context first.
    """
    import torch

    x = torch.cat([x_context, x_query]).float()  # (R, C)
    n_context = len(x_context)
    finite = torch.isfinite(x)
    context_finite = finite[:n_context]
    counts = context_finite.sum(0).clamp(min=1)
    means = torch.where(context_finite, x[:n_context], 0.0).sum(0) / counts
    x = torch.where(finite, x, means) * signs
    context = x[:n_context]
    keep = context.amax(0) > context.amin(0)
    if not bool(keep.any()):
        keep[0] = True
    return x[:, keep]


def _forward(
    model: torch.nn.Module, x: torch.Tensor, y_context: torch.Tensor, n_context: int
) -> torch.Tensor:
    """``(Rq, dim_output)`` logits of the rows after the first ``n_context`` of ``x``."""
    import torch

    # Tab2D's layout: (batch, rows, features) support and query, (batch, rows) labels, and
    # padding masks (True = padding) for features, support rows and query rows.
    x_support, x_query = x[None, :n_context], x[None, n_context:]
    device = x.device
    logits = model(
        x_support,
        y_context.long()[None],
        x_query,
        torch.zeros((1, x.shape[1]), dtype=torch.bool, device=device),
        torch.zeros((1, n_context), dtype=torch.bool, device=device),
        torch.zeros((1, x_query.shape[1]), dtype=torch.bool, device=device),
    )  # (1, Rq, dim_output)
    return logits[0]
