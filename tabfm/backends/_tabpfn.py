"""The TabPFN backend (``pip install 'causalmix-tuner[tabpfn]'``), built for TabPFN v2.

Any classifier checkpoint that ``tabpfn``'s loader builds works the same way; besides v2,
the v2.5, v2.6 and v3 architectures are exercised by the tests on tiny random models.

Weights are a TabPFN classifier checkpoint: the upstream ``.ckpt`` (a ``torch.save`` dict with
``state_dict`` and ``config``, read by TabPFN's own loader, which calls ``torch.load`` with
PyTorch's default ``weights_only=True`` under torch >= 2.6: no pickled code) or the
``.safetensors`` form TabPFN also reads (tensors plus a JSON header), which is what
:meth:`TabPFNBackend.save` writes. With ``weights=None`` the v2 classifier checkpoint is looked
up in TabPFN's model cache directory (``$TABPFN_MODEL_CACHE_DIR`` or ``~/.cache/tabpfn``);
nothing is ever downloaded.

TabPFN v2 imputes, scales and drops constant columns inside the network, so training
episodes feed it the encoded rows directly (with a fresh feature order each); predictions go
through :class:`tabpfn.TabPFNClassifier` (its preprocessing ensemble, feature / class shifts
and softmax temperature) holding this backend's module.
"""

from __future__ import annotations

import dataclasses
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

DEFAULT_CHECKPOINT = "tabpfn-v2-classifier-finetuned-zk73skhh.ckpt"
KNOWN_CHECKPOINTS = (
    DEFAULT_CHECKPOINT,
    "tabpfn-v2-classifier.ckpt",
    "tabpfn-v2-classifier-v2_default.ckpt",
)
SAVED_SUFFIX = ".safetensors"


class TabPFNBackend(ExternalBackend):
    """TabPFN v2 (Hollmann et al., 2025) as a backend.

    Args:
        model: The ``tabpfn`` architecture module.
        architecture_config: Its architecture config.
        inference_config: The preprocessing / ensembling settings of the checkpoint.
        device: Where it runs.
        checkpoint_stem: File name (without suffix) used when saving.
    """

    name = "tabpfn"

    def __init__(
        self,
        model: torch.nn.Module,
        architecture_config: Any,
        inference_config: Any,
        device: torch.device,
        checkpoint_stem: str = Path(DEFAULT_CHECKPOINT).stem,
    ) -> None:
        self.model = model.to(device)
        self.architecture_config = architecture_config
        self.inference_config = inference_config
        self.device = device
        self.checkpoint_stem = checkpoint_stem

    @classmethod
    def load(cls, weights: str | Path | None = None, device: str = "auto") -> TabPFNBackend:
        """Load a TabPFN classifier checkpoint (``.ckpt`` or ``.safetensors``) from disk.

        Raises:
            TabFMError: If ``tabpfn`` is not installed, or the checkpoint is missing, corrupt
                or not a classifier.
        """
        require_package("tabpfn", "tabpfn", "TabPFN")

        from tabpfn.model_loading import load_model

        from tabfm._device import resolve_device

        resolved = resolve_device(device)
        path = _checkpoint_path(weights)
        try:
            model, _, architecture_config, inference_config = load_model(
                path=path, estimator_type="classifier"
            )
        except Exception as e:  # noqa: BLE001 - the loader raises many types for bad files
            raise TabFMError(
                "The TabPFN checkpoint cannot be loaded as a classifier: "
                f"{str(path)!r} ({first_line(e)})."
            ) from e
        return cls(model, architecture_config, inference_config, resolved, path.stem)

    def save(self, directory: str | Path) -> None:
        """Write ``directory/<checkpoint_stem>.safetensors`` (TabPFN's safetensors format)."""
        from tabpfn.architectures import ARCHITECTURES
        from tabpfn.checkpoint import save_as_safetensors

        # Architectures are the modules of tabpfn.architectures, named after their file.
        parts = type(self.model).__module__.split(".")
        architecture = parts[2] if len(parts) > 2 else ""
        if architecture not in ARCHITECTURES:
            raise TabFMError(
                f"Cannot save a TabPFN model of unknown architecture {type(self.model)!r}."
            )
        state = self.cpu_state_dict()
        checkpoint = {
            "state_dict": state,
            "config": dataclasses.asdict(self.architecture_config),
            "architecture_name": architecture,
            "inference_config": dataclasses.asdict(self.inference_config),
        }
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        save_as_safetensors(checkpoint, directory / f"{self.checkpoint_stem}{SAVED_SUFFIX}")

    @property
    def max_classes(self) -> int:
        return int(self.architecture_config.max_num_classes)

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
        x = torch.cat([x_context, x_query]).float()  # (Rc + Rq, C)
        order = torch.randperm(x.shape[1], generator=generator).to(x.device)
        # TabPFN's layout: (rows, batch, features) in, (query rows, batch, max_classes) out.
        logits = self.model(x[:, order][:, None], y_context.float())
        return logits[:, 0, :n_classes]

    def _predict_context(
        self,
        x_context: np.ndarray,
        y_context: np.ndarray,
        x_query: np.ndarray,
        n_estimators: int,
        seed: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        from tabpfn import ModelSpecs, TabPFNClassifier

        specs = ModelSpecs(self.model, self.architecture_config, self.inference_config)
        classifier = TabPFNClassifier(
            model_path=specs,
            n_estimators=n_estimators,
            device=self.device,
            random_state=seed,
            # Limits guard CPU runs of huge tables; our contexts are capped by max_context.
            ignore_pretraining_limits=True,
        )
        proba = classifier.fit(x_context, y_context).predict_proba(x_query)
        self.model.eval()
        return np.asarray(classifier.classes_), np.asarray(proba, dtype=np.float64)


def _checkpoint_path(weights: str | Path | None) -> Path:
    suffixes = (".ckpt", SAVED_SUFFIX)
    preferred = (*KNOWN_CHECKPOINTS, *(Path(n).stem + SAVED_SUFFIX for n in KNOWN_CHECKPOINTS))
    if weights is not None:
        return find_checkpoint(weights, suffixes, preferred, "TabPFN")
    from tabpfn.model_loading import get_cache_dir

    cache = get_cache_dir()
    for name in KNOWN_CHECKPOINTS:
        if (cache / name).is_file():
            return cache / name
    raise TabFMError(
        f"No TabPFN weights given and no v2 classifier checkpoint ({DEFAULT_CHECKPOINT!r}) in "
        f"TabPFN's cache {str(cache)!r}; pass --weights PATH to a TabPFN .ckpt file."
    )
