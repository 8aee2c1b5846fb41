from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tabfm import (
    PretrainConfig,
    TabFMClassifier,
    TabFMConfig,
    TabFMError,
    TabFMModel,
    export_weights,
    load_checkpoint,
    pretrain,
)
from tabfm.pretrain import learning_rate_at, main

TINY = TabFMConfig(embed_dim=16, n_layers=1, n_heads=2, feature_id_dim=4)


def _config(steps: int, optimizer: str = "adamw") -> PretrainConfig:
    return PretrainConfig(
        steps=steps,
        optimizer=optimizer,
        max_cells=2048,
        max_rows=96,
        max_features=6,
        eval_every=2,
        device="cpu",
        warmup_steps=1,
        eval_batches=1,
        model=TINY,
    )


def test_smoke_trains_checkpoints_and_resumes(tmp_path: Path) -> None:
    checkpoint = tmp_path / "run.pt"
    lines: list[str] = []
    first = pretrain(_config(4), checkpoint=checkpoint, minutes=10, log=lines.append)
    assert first["step"] == 4 and [r["step"] for r in first["history"]] == [2, 4]
    assert {"prior_loss", "prior_auc", "probe_x0_gt_0", "probe_xor"} <= set(first["history"][0])
    assert np.isfinite(first["history"][-1]["train_loss"])
    # A longer schedule stored in the checkpoint resumes where the slice stopped.
    stopped = pretrain(_config(6), checkpoint=tmp_path / "b.pt", minutes=1e-9, log=lines.append)
    assert stopped["step"] == 0
    resumed = pretrain(_config(6), checkpoint=checkpoint, resume=True, log=lines.append)
    assert resumed["step"] == 4  # the checkpoint's own 4-step schedule was already complete
    state = load_checkpoint(checkpoint)
    assert state["step"] == 4 and len(state["history"]) == 2
    assert any(line.startswith("resumed from") for line in lines)


@pytest.mark.parametrize("optimizer", ["adamw", "muon", "muon_schedulefree"])
def test_resume_continues_the_same_run(tmp_path: Path, optimizer: str) -> None:
    straight = pretrain(_config(4, optimizer), log=lambda _: None)
    checkpoint = tmp_path / "slices.pt"
    pretrain(_config(4, optimizer), checkpoint=checkpoint, log=lambda _: None, stop_at_step=2)
    assert load_checkpoint(checkpoint)["step"] == 2
    sliced = pretrain(_config(4), checkpoint=checkpoint, resume=True, log=lambda _: None)
    assert sliced["step"] == 4
    for name, tensor in straight["model"].state_dict().items():
        torch.testing.assert_close(sliced["model"].state_dict()[name], tensor)


def test_export_writes_loadable_weights_and_a_recipe(tmp_path: Path) -> None:
    checkpoint = tmp_path / "run.pt"
    assert (
        main(
            [
                "--steps",
                "2",
                "--eval-every",
                "2",
                "--max-cells",
                "2048",
                "--max-rows",
                "96",
                "--max-features",
                "6",
                "--fitted-trees",
                "0.5",
                "--embed-dim",
                "16",
                "--layers",
                "1",
                "--device",
                "cpu",
                "--checkpoint",
                str(checkpoint),
                "--export",
                str(tmp_path / "weights"),
            ]
        )
        == 0
    )
    weights = tmp_path / "weights"
    assert {p.name for p in weights.iterdir()} == {"model.safetensors", "config.json", "RECIPE.md"}
    recipe = (weights / "RECIPE.md").read_text()
    assert "steps trained: 2" in recipe and "hardware" in recipe
    assert "50% of tree layers fitted to random targets" in recipe
    # the reproduce line rebuilds this run: every flag that differs from its default
    assert (
        "`python -m tabfm.pretrain --steps 2 --max-cells 2048 --max-rows 96 --max-features 6 "
        "--fitted-trees 0.5 --embed-dim 16 --layers 1 --checkpoint CKPT" in recipe
    ), recipe
    X = np.random.default_rng(0).normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    proba = TabFMClassifier(weights, device="cpu").fit(X[:30], y[:30]).predict_proba(X[30:])
    assert proba.shape == (10, 2)
    assert export_weights(checkpoint, tmp_path / "again").is_dir()


def test_bad_checkpoints_and_configs_raise(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(TabFMError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "bad.pt").write_bytes(b"garbage")
    with pytest.raises(TabFMError, match="checkpoint is corrupt"):
        load_checkpoint(tmp_path / "bad.pt")
    with pytest.raises(TabFMError, match="learning_rate > 0"):
        PretrainConfig(learning_rate=-1.0)
    with pytest.raises(TabFMError, match=r"tabicl_prior_share <= 1.*tabicl_prior_share=1.5"):
        PretrainConfig(tabicl_prior_share=1.5)
    assert main(["--steps", "0", "--export", str(tmp_path / "w")]) == 2
    assert "--export needs --checkpoint" in capsys.readouterr().err


def test_muon_takes_the_blocks_matrices_and_adamw_the_rest() -> None:
    from tabfm._model import TabFMModel
    from tabfm.pretrain._loop import make_optimizer

    model = TabFMModel(TINY)
    muon, adamw = make_optimizer(model, _config(2, "muon")).optimizers
    assert isinstance(muon, torch.optim.Muon) and isinstance(adamw, torch.optim.AdamW)
    in_muon = {id(p) for group in muon.param_groups for p in group["params"]}
    for name, parameter in model.named_parameters():
        assert (id(parameter) in in_muon) == (name.startswith("blocks.") and parameter.ndim == 2)
    with pytest.raises(TabFMError, match="Unknown optimizer 'sgd'"):
        PretrainConfig(optimizer="sgd")


def test_schedule_free_adamw_takes_the_rest_at_its_own_learning_rate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    import schedulefree

    from tabfm._model import TabFMModel
    from tabfm.pretrain._loop import make_optimizer

    model = TabFMModel(TINY)
    optimizers = make_optimizer(model, _config(2, "muon_schedulefree"))
    muon, rest = optimizers.optimizers
    assert isinstance(muon, torch.optim.Muon)
    assert isinstance(rest, schedulefree.AdamWScheduleFree)
    optimizers.set_lr(0.123)  # the cosine schedule moves Muon only
    assert muon.param_groups[0]["lr"] == 0.123
    assert rest.param_groups[0]["lr"] == _config(2).learning_rate
    # Evaluated, snapshotted and saved at the averaged point: after a few steps the saved
    # weights differ from the training point's.
    checkpoint = tmp_path / "run.pt"
    result = pretrain(_config(4, "muon_schedulefree"), checkpoint=checkpoint, log=lambda _: None)
    state = load_checkpoint(checkpoint)
    assert state["optimizer"][1]["param_groups"][0]["train_mode"] is False
    torch.testing.assert_close(result["model"].state_dict(), state["model"])
    recipe = (export_weights(checkpoint, tmp_path / "w") / "RECIPE.md").read_text()
    assert "--optimizer muon_schedulefree" in recipe and "schedule-free AdamW" in recipe
    monkeypatch.setitem(sys.modules, "schedulefree", None)
    with pytest.raises(TabFMError, match=r"needs the schedulefree package: pip install"):
        make_optimizer(model, _config(2, "muon_schedulefree"))


def test_learning_rate_warms_up_then_decays() -> None:
    config = PretrainConfig(steps=100, warmup_steps=10, learning_rate=1.0, min_lr_fraction=0.1)
    rates = [learning_rate_at(step, config) for step in range(100)]
    assert rates[0] == pytest.approx(0.1) and rates[9] == pytest.approx(1.0)
    assert rates[-1] == pytest.approx(0.1, abs=0.01) and rates[50] < rates[20]


def test_lawa_exports_the_mean_of_the_last_snapshots(tmp_path: Path) -> None:
    import dataclasses

    from tabfm._weights import load_model
    from tabfm.pretrain._checkpoint import checkpoint_model

    checkpoint = tmp_path / "run.pt"
    config = dataclasses.replace(_config(6), keep_snapshots=2)
    pretrain(config, checkpoint=checkpoint, log=lambda _: None)
    state = load_checkpoint(checkpoint)
    assert [s["step"] for s in state["snapshots"]] == [4, 6]
    torch.testing.assert_close(state["snapshots"][-1]["model"], state["model"])
    averaged = checkpoint_model(state, average_last=2).state_dict()
    for name, tensor in averaged.items():
        expected = (state["snapshots"][0]["model"][name] + state["model"][name]) / 2
        torch.testing.assert_close(tensor, expected)
    directory = export_weights(checkpoint, tmp_path / "lawa", average_last=2)
    assert "the mean of the weights at steps 4, 6 (LAWA)" in (directory / "RECIPE.md").read_text()
    shipped = load_model(directory).state_dict()
    torch.testing.assert_close(shipped["decoder.0.weight"], averaged["decoder.0.weight"])
    with pytest.raises(TabFMError, match="needs as many snapshots, but the checkpoint keeps 2"):
        export_weights(checkpoint, tmp_path / "three", average_last=3)


def test_loader_workers_draw_the_same_tasks(tmp_path: Path) -> None:
    here = pretrain(_config(4), log=lambda _: None)
    workers = pretrain(_config(4), log=lambda _: None, loader_workers=2)
    for name, tensor in here["model"].state_dict().items():
        torch.testing.assert_close(workers["model"].state_dict()[name], tensor)
    assert [r["train_loss"] for r in workers["history"]] == [
        r["train_loss"] for r in here["history"]
    ]


def test_the_v3_elements_train_from_the_command_line_and_export(tmp_path: Path) -> None:
    flags = "--steps 2 --eval-every 2 --max-cells 2048 --max-rows 96 --max-features 6 "
    flags += "--embed-dim 16 --layers 2 --device cpu --thinking-rows 3 --norm rms "
    flags += "--residual-decay 0.95 --feature-grouping"
    out = tmp_path / "weights"
    assert (
        main([*flags.split(), "--checkpoint", str(tmp_path / "run.pt"), "--export", str(out)]) == 0
    )
    config = TabFMClassifier(out, device="cpu").fit(np.zeros((4, 2)), [0, 1, 0, 1]).model_.config
    assert (config.thinking_rows, config.norm, config.feature_grouping) == (3, "rms", True)
    assert config.residual_decay == 0.95


def test_tabicl_prior_share_trains_and_is_on_the_recipe_card(tmp_path: Path) -> None:
    pytest.importorskip("xgboost", reason="TabICL's prior needs: pip install '.[pretrain]'")
    flags = "--steps 2 --eval-every 2 --max-cells 2048 --max-rows 96 --max-features 6 "
    flags += "--embed-dim 16 --layers 1 --device cpu --tabicl-prior 0.5"
    out = tmp_path / "weights"
    assert (
        main([*flags.split(), "--checkpoint", str(tmp_path / "run.pt"), "--export", str(out)]) == 0
    )
    assert load_checkpoint(tmp_path / "run.pt")["config"]["tabicl_prior_share"] == 0.5
    recipe = (out / "RECIPE.md").read_text()
    assert "50% of tasks from TabICL's prior" in recipe and "--tabicl-prior 0.5" in recipe


def test_prior_task_losses_are_the_logged_prior_loss_task_by_task() -> None:
    from tabfm import TabFMModel
    from tabfm.pretrain import evaluate, prior_task_losses

    torch.manual_seed(0)
    model, config = TabFMModel(TINY), _config(1)
    losses = prior_task_losses(model, torch.device("cpu"), config, n_batches=1)
    # One batch holds tasks of one shape, so its mean loss is the mean of its tasks' losses.
    assert len(losses) > 1 and np.all(np.isfinite(losses)) and np.all(losses > 0)
    assert losses.mean() == pytest.approx(
        evaluate(model, torch.device("cpu"), None, config)["prior_loss"]
    )
    more = prior_task_losses(model, torch.device("cpu"), config, n_batches=3)
    np.testing.assert_array_equal(more[: len(losses)], losses)  # the same tasks, then more
    assert len(more) > len(losses)


def test_the_panel_reads_integer_codes_as_numbers_as_in_the_logged_histories(
    tiny_model: TabFMModel, tmp_path: Path
) -> None:
    from sklearn.model_selection import train_test_split

    from tabfm._metrics import roc_auc
    from tabfm.pretrain._evaluation import _evaluate_panel
    from tests.tabfm.conftest import board_table

    X, y = board_table(400)
    X.assign(target=y).to_csv(tmp_path / "board.csv", index=False)
    panel = _evaluate_panel(tiny_model, "cpu", [tmp_path / "board.csv"])
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, train_size=200, test_size=200, stratify=y, random_state=0
    )
    scores = {}
    for levels in (0, 3):
        classifier = TabFMClassifier(tiny_model, n_estimators=2, categorical_max_levels=levels)
        proba = classifier.fit(X_train, y_train).predict_proba(X_test)
        scores[levels] = roc_auc(y_test, proba, classifier.classes_)
    assert scores[0] != scores[3]  # the shuffles would change this table's score
    assert panel == {"panel_board": scores[0], "panel_mean": scores[0]}
