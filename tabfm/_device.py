"""Device selection and mixed precision, shared by inference, pretraining and fine-tuning."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tabfm._errors import TabFMError

if TYPE_CHECKING:
    import torch


def is_device_name(device: Any) -> bool:
    """Whether ``device`` is ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` (the one check
    of a device name; whether CUDA is there is :func:`resolve_device`'s question)."""
    return isinstance(device, str) and (
        device in ("auto", "cpu", "cuda") or (device.startswith("cuda:") and device[5:].isdigit())
    )


def resolve_device(device: str) -> torch.device:
    """``"auto"`` is CUDA when available, else CPU; ``"cpu"``, ``"cuda"``, ``"cuda:N"`` as is.

    Raises:
        TabFMError: If the device is unknown or CUDA is requested but unavailable.
    """
    import torch

    if not is_device_name(device):
        raise TabFMError(
            f"`device` must be 'auto', 'cpu', 'cuda' or 'cuda:N', but got device={device!r}."
        )
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise TabFMError(f"CUDA is not available, but got device={device!r}.")
    return torch.device(device)


def autocast(device: torch.device) -> Any:
    """bf16 autocast on CUDA; full precision on CPU."""
    import torch

    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast("cpu", enabled=False)
