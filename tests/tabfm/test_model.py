from __future__ import annotations

import numpy as np
import pytest
import torch

from tabfm import TabFMConfig, TabFMError, TabFMModel
from tabfm._model import encode_cells


def test_logits_shape_and_masked_classes(tiny_model: TabFMModel) -> None:
    x = torch.randn(2, 30, 5)
    y = torch.randint(0, 3, (2, 20))
    logits = tiny_model(x, y, n_classes=3)
    assert logits.shape == (2, 10, 10)
    assert torch.isinf(logits[..., 3:]).all() and torch.isfinite(logits[..., :3]).all()


def test_query_rows_do_not_influence_each_other(tiny_model: TabFMModel) -> None:
    x = torch.randn(1, 40, 4)
    y = torch.randint(0, 2, (1, 30))
    full = tiny_model(x, y, n_classes=2)
    changed = x.clone()
    changed[0, 35:] = 100.0  # other query rows change wildly
    partial = tiny_model(changed, y, n_classes=2)
    torch.testing.assert_close(full[0, :5], partial[0, :5])


def test_context_row_order_does_not_matter(tiny_model: TabFMModel) -> None:
    x = torch.randn(1, 50, 4)
    y = torch.randint(0, 2, (1, 40))
    order = torch.randperm(40)
    shuffled = torch.cat([x[:, order], x[:, 40:]], dim=1)
    torch.testing.assert_close(
        tiny_model(x, y, 2), tiny_model(shuffled, y[:, order], 2), atol=1e-5, rtol=1e-4
    )


def test_missing_values_are_flagged_not_propagated(tiny_model: TabFMModel) -> None:
    x = torch.randn(1, 30, 3)
    x[0, ::3, 1] = float("nan")
    cells = encode_cells(x, 20)
    assert torch.isfinite(cells).all()
    assert torch.equal(cells[0, :, 1, 2], torch.isnan(x[0, :, 1]).float())
    assert torch.isfinite(tiny_model(x, torch.randint(0, 2, (1, 20)), 2)[..., :2]).all()


def test_scaling_uses_context_rows_only() -> None:
    x = torch.randn(1, 30, 2)
    changed = x.clone()
    changed[0, 20:] *= 1000.0
    torch.testing.assert_close(encode_cells(x, 20)[:, :20], encode_cells(changed, 20)[:, :20])


def test_bad_configs_raise() -> None:
    with pytest.raises(TabFMError, match="embed_dim % n_heads"):
        TabFMConfig(embed_dim=30, n_heads=4)
    with pytest.raises(TabFMError, match="max_classes"):
        TabFMConfig(max_classes=11)
    with pytest.raises(TabFMError, match="n_layers >= 1"):
        TabFMConfig(n_layers=0)
    with pytest.raises(TabFMError, match="Unknown TabFM config keys"):
        TabFMConfig.from_dict({"embed_dim": 16, "depth": 3})


def test_config_round_trips_through_a_dict() -> None:
    config = TabFMConfig(embed_dim=32, n_layers=2)
    assert TabFMConfig.from_dict(config.to_dict()) == config
    assert np.isclose(
        TabFMModel(config).n_parameters(), sum(p.numel() for p in TabFMModel(config).parameters())
    )
