"""The TabFM network: a prior-fitted in-context classifier (nanoTabPFN / TabPFN v2 style).

A table of ``R`` rows (the first ``Rc`` are the context rows with known labels, the rest are
query rows) and ``C`` numeric features becomes a grid of ``R x (C + 1)`` tokens: one per cell
plus one per row for the label. Every block attends across the tokens of a row (features and
label) and then, per column, across rows, where every row attends only to the context rows.
The label token of each query row is decoded into class logits.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tabfm._config import GROUP_OFFSETS, TabFMConfig

_CLIP = 4.0  # soft bound of scaled values: outliers keep their order but not their magnitude
_N_INPUTS = 3  # per-cell inputs: robust-scaled value, context rank, missing flag


def encode_cells(
    x: torch.Tensor, n_context: int, context_lengths: torch.Tensor | None = None
) -> torch.Tensor:
    """Scale raw numeric cells with statistics of the context rows only.

    Args:
        x: ``(B, R, C)`` raw values, NaN where missing; rows ``[:n_context]`` are context rows.
        n_context: Number of context rows ``Rc`` (at least 1).
        context_lengths: ``(B,)`` context rows of each table when they differ (then
            ``n_context`` is their maximum); table ``b``'s rows from ``context_lengths[b]`` on
            are query rows, left out of its statistics.

    Returns:
        ``(B, R, C, 3)``: the robust-scaled value (median / IQR, softly clipped to +-4), the rank
        of the value among the context values of its column in ``[-1, 1]``, and a missing flag.
        Missing cells get 0 in the first two channels.
    """
    x = x.float()
    missing = torch.isnan(x)
    context = x[:, :n_context]  # (B, Rc, C)
    if context_lengths is not None:
        # A NaN is left out of every statistic below, exactly as a row that is not there.
        outside = _row_mask(context_lengths, n_context)[:, :, None]  # (B, Rc, 1)
        context = context.masked_fill(~outside, float("nan"))
    quantiles = torch.nanquantile(
        context, torch.tensor([0.25, 0.5, 0.75], device=x.device), dim=1
    )  # (3, B, C)
    median = torch.nan_to_num(quantiles[1], nan=0.0)
    spread = torch.nan_to_num(quantiles[2] - quantiles[0], nan=0.0)
    # A column whose IQR is 0 (binary, mostly-constant) is scaled by its std instead.
    mean = torch.nan_to_num(context.nanmean(dim=1), nan=0.0)
    centred = torch.where(torch.isnan(context), 0.0, context - mean[:, None])
    count = (~torch.isnan(context)).sum(dim=1).clamp(min=1)
    std = (centred.square().sum(dim=1) / count).sqrt()
    spread = torch.where(spread > 1e-8, spread / 1.349, std)
    spread = torch.where(spread > 1e-8, spread, torch.ones_like(spread))
    scaled = (x - median[:, None]) / spread[:, None]
    scaled = _CLIP * torch.tanh(scaled / _CLIP)

    # Rank of each value among the context values of its column (NaNs sort last).
    sorted_context = torch.sort(context.transpose(1, 2), dim=-1).values  # (B, C, Rc)
    sorted_context = torch.nan_to_num(sorted_context, nan=float("inf")).contiguous()
    values = torch.where(missing, 0.0, x).transpose(1, 2).contiguous()  # (B, C, R)
    below = torch.searchsorted(sorted_context, values, right=False)
    not_above = torch.searchsorted(sorted_context, values, right=True)
    rank = (below + not_above).float() / (2.0 * count[:, :, None])  # (B, C, R) in [0, 1]
    rank = (2.0 * rank - 1.0).transpose(1, 2)

    scaled = torch.where(missing, 0.0, scaled)
    rank = torch.where(missing, 0.0, rank)
    return torch.stack([scaled, rank, missing.float()], dim=-1)


def _row_mask(lengths: torch.Tensor, rows: int) -> torch.Tensor:
    """``(B, rows)`` True where the row index is below the table's length."""
    return torch.arange(rows, device=lengths.device)[None] < lengths[:, None]


class _Attention(nn.Module):
    def __init__(self, embed_dim: int, n_heads: int) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(embed_dim, 3 * embed_dim)
        self.out = nn.Linear(embed_dim, embed_dim)

    def forward(
        self,
        tokens: torch.Tensor,
        n_keys: int | None = None,
        key_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``tokens`` ``(N, L, E)``; only the first ``n_keys`` tokens are keys and values, and
        of those only the ones where ``key_mask`` ``(N, n_keys)`` is True, when given."""
        n, length, embed = tokens.shape
        q, k, v = self.qkv(tokens).view(n, length, 3, self.n_heads, -1).permute(2, 0, 3, 1, 4)
        if n_keys is not None:
            k, v = k[:, :, :n_keys], v[:, :, :n_keys]
        mask = None if key_mask is None else key_mask[:, None, None]  # (N, 1, 1, n_keys)
        attended = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # (N, H, L, E / H)
        return self.out(attended.transpose(1, 2).reshape(n, length, embed))


def _norm(config: TabFMConfig) -> nn.Module:
    if config.norm == "rms":
        return nn.RMSNorm(config.embed_dim)
    return nn.LayerNorm(config.embed_dim)


class _Block(nn.Module):
    def __init__(self, config: TabFMConfig) -> None:
        super().__init__()
        embed = config.embed_dim
        self.norm_features = _norm(config)
        self.attend_features = _Attention(embed, config.n_heads)
        self.norm_rows = _norm(config)
        self.attend_rows = _Attention(embed, config.n_heads)
        self.norm_mlp = _norm(config)
        self.mlp = nn.Sequential(
            nn.Linear(embed, config.mlp_ratio * embed),
            nn.GELU(),
            nn.Linear(config.mlp_ratio * embed, embed),
        )

    def forward(
        self, h: torch.Tensor, n_context: int, key_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        batch, rows, columns, embed = h.shape  # (B, R, C + 1, E)
        across_features = self.norm_features(h).reshape(batch * rows, columns, embed)
        h = h + self.attend_features(across_features).view(batch, rows, columns, embed)
        across_rows = self.norm_rows(h).transpose(1, 2).reshape(batch * columns, rows, embed)
        if key_mask is not None:  # (B, Rc) -> (B * (C + 1), Rc): the same keys in every column
            key_mask = key_mask.repeat_interleave(columns, dim=0)
        attended = self.attend_rows(across_rows, n_keys=n_context, key_mask=key_mask)
        h = h + attended.view(batch, columns, rows, embed).transpose(1, 2)
        return h + self.mlp(self.norm_mlp(h))


class TabFMModel(nn.Module):
    """The in-context classifier network.

    Args:
        config: Architecture sizes.
    """

    def __init__(self, config: TabFMConfig) -> None:
        super().__init__()
        self.config = config
        embed = config.embed_dim
        self.cell_embed = nn.Linear(_N_INPUTS, embed)
        self.feature_id_embed = (
            nn.Linear(config.feature_id_dim, embed, bias=False) if config.feature_id_dim else None
        )
        # Index ``max_classes`` is the "unknown label" token of query rows.
        self.label_embed = nn.Embedding(config.max_classes + 1, embed)
        self.blocks = nn.ModuleList(_Block(config) for _ in range(config.n_layers))
        self.norm_out = _norm(config)
        # Optional v3 elements (absent, so absent from the state dict, when off).
        self.thinking = (
            nn.Parameter(0.02 * torch.randn(config.thinking_rows, embed))
            if config.thinking_rows
            else None
        )
        self.group_embed = (
            nn.Linear(len(GROUP_OFFSETS), embed, bias=False) if config.feature_grouping else None
        )
        self.decoder = nn.Sequential(
            nn.Linear(embed, 2 * embed), nn.GELU(), nn.Linear(2 * embed, config.max_classes)
        )

    def forward(
        self,
        x: torch.Tensor,
        y_context: torch.Tensor,
        n_classes: int | torch.Tensor | None = None,
        feature_seed: int | None = None,
        generator: torch.Generator | None = None,
        *,
        context_lengths: torch.Tensor | None = None,
        feature_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Class logits of the query rows.

        Args:
            x: ``(B, R, C)`` raw numeric features (NaN = missing); the first ``Rc`` rows are the
                context rows.
            y_context: ``(B, Rc)`` integer labels in ``[0, max_classes)`` of the context rows.
            n_classes: Number of classes (an int, or a ``(B,)`` tensor); logits of larger labels
                are set to ``-inf``. ``None`` keeps all ``max_classes`` logits.
            feature_seed: Seed of the random per-feature identity vectors (inference uses a fixed
                one per ensemble member); ignored when ``generator`` is given.
            generator: Source of the identity vectors (training draws fresh ones every step).
            context_lengths: ``(B,)`` context rows per table when tables differ (fine-tuning
                several folds together); ``y_context`` is then padded to their maximum ``Rc``
                and table ``b``'s rows from ``context_lengths[b]`` on are its query rows. Each
                table's logits equal those of a forward pass of that table alone.
            feature_ids: ``(B, C, feature_id_dim)`` identity vectors to use instead of drawing
                them (see :meth:`draw_feature_ids`).

        Returns:
            ``(B, R - Rc, max_classes)`` logits; with ``context_lengths``, ``(B, R - m,
            max_classes)`` for the rows from ``m = min(context_lengths)`` on.
        """
        batch, rows, columns = x.shape
        n_context = y_context.shape[1]
        if not 0 < n_context < rows:
            raise ValueError(f"`0 < n_context < rows` must hold, but got {n_context}, {rows}.")
        key_mask = None
        if context_lengths is not None:
            if context_lengths.shape != (batch,) or not 0 < int(context_lengths.min()):
                raise ValueError(
                    f"context_lengths must be {batch} positive counts, but got {context_lengths}."
                )
            key_mask = _row_mask(context_lengths, n_context)  # (B, Rc)
        encoded = encode_cells(x, n_context, context_lengths)  # (B, R, C, 3)
        cells = self.cell_embed(encoded)  # (B, R, C, E)
        if self.group_embed is not None:
            # Column j also sees the scaled values of columns j + offset (mod C) of its row.
            index = (torch.arange(columns, device=x.device)[:, None]
                     + torch.tensor(GROUP_OFFSETS, device=x.device)) % columns  # fmt: skip
            cells = cells + self.group_embed(encoded[..., 0][:, :, index])  # (B, R, C, 4)
        column_ids = None
        if self.feature_id_embed is not None:
            ids = feature_ids
            if ids is None:
                ids = self.draw_feature_ids(batch, columns, x.device, feature_seed, generator)
            column_ids = self.feature_id_embed(ids)[:, None]  # (B, 1, C, E)
            cells = cells + column_ids
        unknown = torch.full(
            (batch, rows - n_context), self.config.max_classes, device=x.device, dtype=torch.long
        )
        labels = torch.cat([y_context.long(), unknown], dim=1)  # (B, R)
        if context_lengths is not None:
            labels = labels.masked_fill(~_row_mask(context_lengths, rows), self.config.max_classes)
        h = torch.cat([cells, self.label_embed(labels)[:, :, None]], dim=2)  # (B, R, C + 1, E)
        n_keys = n_context
        if self.thinking is not None:
            # Learned rows before the context: one vector per row, the same in every column
            # (plus the column's identity), attended to by every row.
            # (A model that fine-tunes several folds together holds one set per table.)
            rows_3d = self.thinking if self.thinking.dim() == 3 else self.thinking[None]
            thinking = rows_3d[:, :, None].expand(batch, -1, columns + 1, -1)
            if column_ids is not None:
                thinking = thinking + F.pad(column_ids, (0, 0, 0, 1))
            h = torch.cat([thinking.to(h.dtype), h], dim=1)
            n_keys += self.config.thinking_rows
            if key_mask is not None:
                key_mask = F.pad(key_mask, (self.config.thinking_rows, 0), value=True)
        for i, block in enumerate(self.blocks):
            if self.config.residual_decay != 1.0 and i:
                h = h * self.config.residual_decay**i
            h = block(h, n_keys, key_mask)
        first = n_keys
        if context_lengths is not None:
            first = n_keys - n_context + int(context_lengths.min())
        logits = self.decoder(self.norm_out(h[:, first:, -1])).float()  # (B, Rq, K)
        if n_classes is not None:
            limit = torch.as_tensor(n_classes, device=x.device).reshape(-1, 1, 1)
            classes = torch.arange(self.config.max_classes, device=x.device)
            logits = logits.masked_fill(classes >= limit, float("-inf"))
        return logits

    def draw_feature_ids(
        self,
        batch: int,
        columns: int,
        device: torch.device,
        feature_seed: int | None,
        generator: torch.Generator | None,
    ) -> torch.Tensor:
        """``(batch, columns, feature_id_dim)`` random identity vectors: from ``generator``
        when given (its device), else from a fresh generator seeded with ``feature_seed``."""
        shape = (batch, columns, self.config.feature_id_dim)
        if generator is None:
            generator = torch.Generator().manual_seed(0 if feature_seed is None else feature_seed)
            return torch.randn(shape, generator=generator).to(device)
        return torch.randn(shape, generator=generator, device=generator.device).to(device)

    def n_parameters(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters())
