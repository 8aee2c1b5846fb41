"""Several copies of one network as one module: every parameter stacked along a new first axis.

Fine-tuning the ``K`` inner folds of a trial together runs one forward and one backward pass
for all of them: the batch axis of the network is the fold axis, and each layer applies fold
``k``'s weights to batch element ``k``. Attention, the cell encoding and every other
weight-free operation already work per batch element, so only the layers with weights are
replaced here. The stacked module's state dict has the original names, each tensor with a
leading ``K`` axis, so fold ``k``'s weights are ``{name: t[k]}`` (:func:`unstack_state`).

Every layer reshapes its input to ``(K, -1, features)``: the network must keep the batch axis
outermost (row-major) in every tensor a layer sees, which ``TabFMModel`` does.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from tabfm._errors import TabFMError


def _stack(tensors: Sequence[torch.Tensor]) -> nn.Parameter:
    return nn.Parameter(torch.stack([t.detach() for t in tensors]).contiguous())


class StackedLinear(nn.Module):
    """``K`` linear layers; batch element ``k`` (the outermost axis) goes through layer ``k``."""

    def __init__(self, layers: Sequence[nn.Linear]) -> None:
        super().__init__()
        self.weight = _stack([layer.weight for layer in layers])  # (K, out, in)
        biases = [layer.bias for layer in layers]
        self.bias = None if biases[0] is None else _stack(biases)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        folds = self.weight.shape[0]
        flat = x.reshape(folds, -1, x.shape[-1])  # (K, N, in)
        weight = self.weight.transpose(1, 2)  # (K, in, out)
        if self.bias is None:
            out = torch.bmm(flat, weight)
        else:
            out = torch.baddbmm(self.bias[:, None], flat, weight)
        return out.reshape(*x.shape[:-1], -1)


class StackedNorm(nn.Module):
    """``K`` LayerNorms or RMSNorms over the last axis, each with its own affine weights."""

    def __init__(self, norms: Sequence[nn.LayerNorm | nn.RMSNorm]) -> None:
        super().__init__()
        first = norms[0]
        self.kind = "rms" if isinstance(first, nn.RMSNorm) else "layer"
        self.shape = tuple(first.normalized_shape)
        self.eps = first.eps
        if len(self.shape) != 1 or first.weight is None:
            raise TabFMError(f"Only affine norms over one axis can be stacked, got {first}.")
        self.weight = _stack([norm.weight for norm in norms])  # (K, E)
        biases = [getattr(norm, "bias", None) for norm in norms]
        self.bias = None if biases[0] is None else _stack(biases)  # type: ignore[arg-type]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "rms":
            normed = F.rms_norm(x, self.shape, eps=self.eps)
        else:
            normed = F.layer_norm(x, self.shape, eps=float(self.eps or 1e-5))
        folds = self.weight.shape[0]
        flat = normed.reshape(folds, -1, self.shape[0]) * self.weight[:, None]
        if self.bias is not None:
            flat = flat + self.bias[:, None]
        return flat.reshape(x.shape)


class StackedEmbedding(nn.Module):
    """``K`` embedding tables; the indices of batch element ``k`` look up table ``k``."""

    def __init__(self, embeddings: Sequence[nn.Embedding]) -> None:
        super().__init__()
        self.weight = _stack([embedding.weight for embedding in embeddings])  # (K, V, E)

    def forward(self, indices: torch.Tensor) -> torch.Tensor:
        folds, vocabulary, embed = self.weight.shape
        offsets = torch.arange(folds, device=indices.device)[:, None] * vocabulary
        flat = indices.reshape(folds, -1) + offsets  # (K, N) into the (K * V, E) table
        return F.embedding(flat, self.weight.reshape(folds * vocabulary, embed)).reshape(
            *indices.shape, embed
        )


def _stacked_layer(twins: list[nn.Module]) -> nn.Module | None:
    first = twins[0]
    if isinstance(first, nn.Linear):
        return StackedLinear(twins)  # type: ignore[arg-type]
    if isinstance(first, (nn.LayerNorm, nn.RMSNorm)):
        return StackedNorm(twins)  # type: ignore[arg-type]
    if isinstance(first, nn.Embedding):
        return StackedEmbedding(twins)  # type: ignore[arg-type]
    return None


def stack_modules(modules: Sequence[nn.Module]) -> nn.Module:
    """One module holding ``modules`` (copies of one architecture) stacked along a new axis.

    Linear, LayerNorm, RMSNorm and Embedding layers become their stacked versions; parameters
    held directly by the root module (the TabFM thinking rows) get a leading ``K`` axis, which
    the root's forward must accept. The inputs are not changed.

    Raises:
        TabFMError: If a layer with weights has no stacked version.
    """
    if not modules:
        raise TabFMError("At least one module is needed to stack.")
    stacked = copy.deepcopy(modules[0])
    for name, module in list(stacked.named_modules()):
        if not name or not any(True for _ in module.parameters(recurse=False)):
            continue
        replacement = _stacked_layer([m.get_submodule(name) for m in modules])
        if replacement is None:
            raise TabFMError(f"Layer {name!r} ({type(module).__name__}) cannot be stacked.")
        parent_name, _, attribute = name.rpartition(".")
        setattr(stacked.get_submodule(parent_name), attribute, replacement)
    for name, _ in list(stacked.named_parameters(recurse=False)):
        setattr(stacked, name, _stack([m.get_parameter(name) for m in modules]))
    return stacked


def unstack_state(stacked: nn.Module, fold: int) -> dict[str, torch.Tensor]:
    """The state dict of copy ``fold``, in the original module's names (views, not copies)."""
    return {name: tensor[fold] for name, tensor in stacked.state_dict().items()}
