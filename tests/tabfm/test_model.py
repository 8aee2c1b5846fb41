from __future__ import annotations

from typing import Any

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


V3_ELEMENTS = {
    "thinking rows": {"thinking_rows": 4},
    "rms pre-norm, residual decay": {"norm": "rms", "residual_decay": 0.95},
    "feature grouping": {"feature_grouping": True},
}


@pytest.mark.parametrize("element", list(V3_ELEMENTS))
def test_each_v3_element_keeps_the_in_context_contract_and_learns(element: str) -> None:
    torch.manual_seed(0)
    config = TabFMConfig(embed_dim=16, n_layers=2, n_heads=2, **V3_ELEMENTS[element])
    model = TabFMModel(config)
    x, y = torch.randn(1, 50, 17), torch.randint(0, 2, (1, 40))
    logits = model(x, y, 2)
    assert logits.shape == (1, 10, 10) and torch.isfinite(logits[..., :2]).all()
    changed = x.clone()
    changed[0, 45:] = 100.0  # other query rows change wildly
    torch.testing.assert_close(model(changed, y, 2)[0, :5], logits[0, :5])
    order = torch.randperm(40)
    shuffled = torch.cat([x[:, order], x[:, 40:]], dim=1)
    torch.testing.assert_close(model(shuffled, y[:, order], 2), logits, atol=1e-5, rtol=1e-4)
    torch.nn.functional.cross_entropy(logits[0, :, :2], torch.randint(0, 2, (10,))).backward()
    new = [p for n, p in model.named_parameters() if n.startswith(("thinking", "group_embed"))]
    assert all(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in new)


@pytest.mark.parametrize("element", list(V3_ELEMENTS))
def test_v3_weights_save_and_load(element: str, tmp_path: Any) -> None:
    from tabfm import load_model, save_weights

    torch.manual_seed(0)
    model = TabFMModel(TabFMConfig(embed_dim=16, n_layers=2, n_heads=2, **V3_ELEMENTS[element]))
    again = load_model(save_weights(model, tmp_path / "w"))
    assert again.config == model.config
    x, y = torch.randn(1, 30, 5), torch.randint(0, 2, (1, 20))
    torch.testing.assert_close(again(x, y, 2), model(x, y, 2))


def test_the_v2_recipe_has_no_v3_parameters_and_bad_v3_settings_raise() -> None:
    names = [n for n, _ in TabFMModel(TabFMConfig(embed_dim=16, n_layers=1)).named_parameters()]
    assert not any(n.startswith(("thinking", "group_embed")) for n in names)
    for bad in ({"thinking_rows": -1}, {"norm": "batch"}, {"residual_decay": 0.0}):
        with pytest.raises(TabFMError):
            TabFMConfig(**bad)  # type: ignore[arg-type]
