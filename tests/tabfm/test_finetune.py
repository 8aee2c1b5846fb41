from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from tabfm import (
    FinetuneConfig,
    FineTunedClassifier,
    TabFMBackend,
    TabFMConfig,
    TabFMError,
    TabFMModel,
    finetune,
    sample_episode,
)
from tests.conftest import TEST_DEVICE
from tests.tabfm.conftest import board_table

FAST = {"device": TEST_DEVICE, "context_size": 96, "steps_per_epoch": 4, "episodes_per_step": 1}


def _backend(seed: int = 0) -> TabFMBackend:
    torch.manual_seed(seed)
    config = TabFMConfig(embed_dim=16, n_layers=1, n_heads=2, feature_id_dim=4)
    return TabFMBackend(TabFMModel(config), torch.device(TEST_DEVICE))


def _splits(
    toy_table: tuple[pd.DataFrame, pd.Series],
) -> tuple[tuple[pd.DataFrame, pd.Series], tuple[pd.DataFrame, pd.Series]]:
    X, y = toy_table
    return (X[:200], y[:200]), (X[200:], y[200:])


def test_loss_decreases_on_a_learnable_toy_task() -> None:
    # y = x0 > 0 from one feature: a one-block network learns it in context within 64 steps.
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x0": rng.normal(size=300)})
    y = pd.Series((X["x0"] > 0).astype(int))
    config = FinetuneConfig(
        learning_rate=1e-2,
        epochs=8,
        patience=0,
        warmup_fraction=0.05,
        **{**FAST, "context_size": 64, "steps_per_epoch": 8, "episodes_per_step": 2},
    )
    _, history = finetune(_backend(), (X[:200], y[:200]), None, (X[200:], y[200:]), config)
    losses = [record["train_loss"] for record in history[1:]]
    assert losses[0] > 0.69  # chance level: the random network ignores its context
    assert losses[-1] < losses[0] - 0.15
    assert losses[-1] == min(losses)


def test_never_worse_than_pretrained_with_an_absurd_learning_rate(
    toy_table: tuple[pd.DataFrame, pd.Series],
) -> None:
    train, valid = _splits(toy_table)
    backend = _backend()
    before = {k: v.clone() for k, v in backend.model.state_dict().items()}
    config = FinetuneConfig(learning_rate=50.0, epochs=3, patience=0, **FAST)
    classifier, history = finetune(backend, train, None, valid, config)
    tuned = classifier.backend
    assert isinstance(tuned, TabFMBackend) and tuned is not backend
    best = max(record["valid_roc_auc"] for record in history)
    assert best >= history[0]["valid_roc_auc"]
    chosen = history[-1]["best_epoch"]
    after = tuned.predict_proba(
        classifier.x_context_,
        classifier.y_context_,
        classifier.preprocessor_.transform(valid[0]),
        2,
        n_estimators=config.eval_estimators,
        seed=0,
    )
    from tabfm import roc_auc

    final_auc = roc_auc(valid[1], after, classifier.classes_)
    assert final_auc == pytest.approx(history[chosen]["valid_roc_auc"])
    assert final_auc >= history[0]["valid_roc_auc"]
    if chosen == 0:  # the pre-trained weights are restored exactly
        for name, tensor in tuned.model.state_dict().items():
            assert torch.equal(tensor, before[name])
    for name, tensor in backend.model.state_dict().items():  # the input is left unchanged
        assert torch.equal(tensor, before[name])


def test_on_epoch_exceptions_stop_training_and_propagate(
    toy_table: tuple[pd.DataFrame, pd.Series],
) -> None:
    train, valid = _splits(toy_table)
    seen: list[int] = []

    class Pruned(Exception):
        pass

    def on_epoch(epoch: int, metrics: dict[str, float]) -> None:
        seen.append(epoch)
        assert {"train_loss", "valid_roc_auc", "valid_log_loss", "lr"} <= set(metrics)
        if epoch == 1:
            raise Pruned

    backend = _backend()
    before = {k: v.clone() for k, v in backend.model.state_dict().items()}
    config = FinetuneConfig(epochs=5, learning_rate=1e-2, **FAST)
    with pytest.raises(Pruned):
        finetune(backend, train, None, valid, config, on_epoch)
    assert seen == [0, 1]
    for name, tensor in backend.model.state_dict().items():
        assert torch.equal(tensor, before[name])


def test_seeded_runs_are_identical(toy_table: tuple[pd.DataFrame, pd.Series]) -> None:
    train, valid = _splits(toy_table)
    config = FinetuneConfig(learning_rate=1e-3, epochs=2, seed=7, **FAST)
    first, history_a = finetune(_backend(), train, None, valid, config)
    second, history_b = finetune(_backend(), train, None, valid, config)
    # Measurements, not results: on CUDA the first run's peak memory also holds the one-time
    # workspaces (seen on an H200: 65.91 vs 65.96 MB).
    drop = ("seconds", "steps_per_second", "peak_memory_mb")
    strip = [{k: v for k, v in r.items() if k not in drop} for r in history_a]
    assert strip == [{k: v for k, v in r.items() if k not in drop} for r in history_b]
    np.testing.assert_array_equal(first.predict_proba(valid[0]), second.predict_proba(valid[0]))


def test_synthetic_rows_and_real_only_queries(toy_table: tuple[pd.DataFrame, pd.Series]) -> None:
    train, valid = _splits(toy_table)
    synthetic = (train[0].sample(150, random_state=0, replace=True), train[1][:150])
    config = FinetuneConfig(epochs=1, query_source="mixed", **FAST)
    _, history = finetune(_backend(), train, synthetic, valid, config)
    assert len(history) == 2 and history[1]["steps"] == FAST["steps_per_epoch"]
    rng = np.random.default_rng(0)
    y = np.array([0] * 60 + [1] * 30 + [2] * 10 + [0] * 100)
    is_real = np.arange(len(y)) < 100
    for _ in range(20):
        context, query = sample_episode(rng, y, is_real, 80, 0.25, real_queries=True)
        assert is_real[query].all()
        assert set(y[query]) == {0, 1, 2} and set(y[context]) == {0, 1, 2}
        assert not set(context) & set(query)
        assert len(context) + len(query) <= 80


def test_save_load_round_trip_gives_identical_predictions(
    toy_table: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    train, valid = _splits(toy_table)
    config = FinetuneConfig(epochs=1, **FAST)
    classifier, _ = finetune(_backend(), train, None, valid, config)
    classifier.save(tmp_path / "ft")
    loaded = FineTunedClassifier.load(tmp_path / "ft", device=TEST_DEVICE)
    np.testing.assert_array_equal(
        classifier.predict_proba(valid[0]), loaded.predict_proba(valid[0])
    )
    assert list(loaded.classes_) == list(classifier.classes_)
    assert loaded.config == config
    refit = loaded.fit(valid[0], valid[1]).predict_proba(train[0][:5])
    assert refit.shape == (5, 2)


def test_a_saved_model_keeps_its_category_shuffles_and_older_saves_load_without(
    toy_table: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    import json

    train, valid = _splits(toy_table)
    classifier, _ = finetune(_backend(), train, None, valid, FinetuneConfig(epochs=1, **FAST))
    classifier.backend.categorical_max_levels = 0
    expected_off = classifier.predict_proba(valid[0])
    classifier.backend.categorical_max_levels = 1  # no column has 2 to 1 levels: no shuffles
    classifier.save(tmp_path / "ft")
    loaded = FineTunedClassifier.load(tmp_path / "ft", device=TEST_DEVICE)
    assert loaded.backend.categorical_max_levels == 1
    np.testing.assert_array_equal(loaded.predict_proba(valid[0]), expected_off)
    # A model saved before the shuffles existed predicts as it did then: without them.
    path = tmp_path / "ft" / "finetuned.json"
    document = json.loads(path.read_text())
    del document["categorical_max_levels"]
    path.write_text(json.dumps(document))
    old = FineTunedClassifier.load(tmp_path / "ft", device=TEST_DEVICE)
    assert old.backend.categorical_max_levels == 0
    np.testing.assert_array_equal(old.predict_proba(valid[0]), expected_off)
    path.write_text(json.dumps(document | {"categorical_max_levels": -2}))
    with pytest.raises(TabFMError, match="finetuned.json.*categorical_max_levels=-2"):
        FineTunedClassifier.load(tmp_path / "ft", device=TEST_DEVICE)


def test_corrupt_or_missing_saved_files_name_the_file(
    toy_table: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    train, valid = _splits(toy_table)
    classifier, _ = finetune(_backend(), train, None, valid, FinetuneConfig(epochs=1, **FAST))
    classifier.save(tmp_path / "ft")
    (tmp_path / "ft" / "context.safetensors").write_bytes(b"oops")
    with pytest.raises(TabFMError, match="context.safetensors"):
        FineTunedClassifier.load(tmp_path / "ft")
    (tmp_path / "ft" / "backend" / "model.safetensors").unlink()
    with pytest.raises(TabFMError, match="model.safetensors"):
        FineTunedClassifier.load(tmp_path / "ft")
    (tmp_path / "ft" / "finetuned.json").write_text("[1, 2")
    with pytest.raises(TabFMError, match="finetuned.json"):
        FineTunedClassifier.load(tmp_path / "ft")
    with pytest.raises(TabFMError, match="missing"):
        FineTunedClassifier.load(tmp_path / "nothing")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"learning_rate": -1e-3}, "`learning_rate > 0` must hold, but got learning_rate=-0.001"),
        ({"query_fraction": 1.0}, "`0 < query_fraction < 1` must hold"),
        ({"query_fraction": 0.0}, "`0 < query_fraction < 1` must hold"),
        ({"device": "tpu"}, "device='tpu'"),
        ({"device": "cuda:x"}, "device='cuda:x'"),
        ({"query_source": "synthetic"}, "query_source"),
        ({"metric": "accuracy"}, "metric"),
        ({"epochs": 0}, "`epochs >= 1`"),
        ({"min_delta": -0.1}, "`min_delta >= 0`"),
        ({"learning_rate": "fast"}, "must be a number"),
        ({"learning_rate": math.nan}, "learning_rate=nan"),
        ({"category_shuffle": 1.5}, "`0 <= category_shuffle <= 1` must hold"),
    ],
)
def test_bad_configs_raise_clear_errors(changes: dict[str, object], message: str) -> None:
    with pytest.raises(TabFMError, match=message.replace("(", r"\(")):
        FinetuneConfig(**changes)  # type: ignore[arg-type]


def test_config_is_json_serialisable() -> None:
    import dataclasses
    import json

    config = FinetuneConfig(learning_rate=1e-4, query_source="mixed")
    assert FinetuneConfig.from_dict(json.loads(json.dumps(dataclasses.asdict(config)))) == config


def test_bad_data_raise(toy_table: tuple[pd.DataFrame, pd.Series]) -> None:
    train, valid = _splits(toy_table)
    config = FinetuneConfig(epochs=1, **FAST)
    with pytest.raises(TabFMError, match="labels absent from train_real"):
        finetune(_backend(), train, None, (valid[0], valid[1].replace("yes", "maybe")), config)
    with pytest.raises(TabFMError, match="at least 2 classes"):
        finetune(_backend(), train, None, (valid[0][:3], pd.Series(["no"] * 3)), config)
    with pytest.raises(TabFMError, match="lacks columns"):
        finetune(_backend(), train, (train[0].rename(columns={"a": "q"}), train[1]), valid, config)


def test_cuda_out_of_memory_halves_the_context_once_per_size(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tabfm._finetune import _with_oom_retry

    tried: list[int] = []

    def run(size: int) -> str:
        tried.append(size)
        if size > 100:
            raise torch.OutOfMemoryError("CUDA out of memory (raised by the test)")
        return "ok"

    with caplog.at_level("WARNING"):
        assert _with_oom_retry(run, 512, torch.device("cuda")) == ("ok", 64)
    assert tried == [512, 256, 128, 64]
    assert "context_size=512" in caplog.text
    with pytest.raises(torch.OutOfMemoryError):  # on CPU there is nothing to halve for
        _with_oom_retry(run, 512, torch.device("cpu"))


@pytest.mark.gpu
def test_finetune_and_predict_on_cuda_with_bf16(
    toy_table: tuple[pd.DataFrame, pd.Series],
) -> None:
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    train, valid = _splits(toy_table)
    config = FinetuneConfig(epochs=1, **{**FAST, "device": "cuda"})
    classifier, history = finetune(TabFMBackend.load(device="cuda"), train, None, valid, config)
    assert history[-1]["peak_memory_mb"] > 0
    proba = classifier.predict_proba(valid[0])
    assert proba.shape == (100, 2) and np.isfinite(proba).all()


def test_the_resolution_rule_needs_more_than_one_step_of_the_validation_auc() -> None:
    from tabfm._finetune import _min_delta

    codes = np.array([0] * 9 + [1] * 18)  # 9 x 18 pairs: one AUC step is 1/162
    absolute = FinetuneConfig(min_delta=1e-3)
    resolution = FinetuneConfig(min_delta=1e-3, min_delta_rule="resolution")
    assert _min_delta(absolute, codes, 2) == 1e-3
    assert _min_delta(resolution, codes, 2) == pytest.approx(1 / 162)
    big = np.arange(2000) % 2  # a large split: the absolute floor wins
    assert _min_delta(resolution, big, 2) == 1e-3
    three = np.array([0] * 5 + [1] * 10 + [2] * 15)
    assert _min_delta(resolution, three, 3) == pytest.approx(1 / (15 * 15) / 3)
    log_loss = FinetuneConfig(min_delta=1e-3, min_delta_rule="resolution", metric="log_loss")
    assert _min_delta(log_loss, codes, 2) == 1e-3  # no AUC steps to count


def test_delong_z_is_zero_for_identical_models_and_matches_the_bootstrap() -> None:
    from sklearn.metrics import roc_auc_score

    from tabfm import delong_z

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    s = rng.normal(y * 1.0)
    t = s + rng.normal(0, 0.5, 300) + 0.3 * y
    a = np.column_stack([1 - 1 / (1 + np.exp(-t)), 1 / (1 + np.exp(-t))])
    b = np.column_stack([1 - 1 / (1 + np.exp(-s)), 1 / (1 + np.exp(-s))])
    assert delong_z(y, a, a) == 0.0
    z = delong_z(y, a, b)
    assert delong_z(y, b, a) == pytest.approx(-z)
    differences = []
    for _ in range(1000):
        rows = rng.integers(0, 300, 300)
        differences.append(roc_auc_score(y[rows], a[rows, 1]) - roc_auc_score(y[rows], b[rows, 1]))
    observed = roc_auc_score(y, a[:, 1]) - roc_auc_score(y, b[:, 1])
    assert z == pytest.approx(observed / np.std(differences), rel=0.1)


def test_the_delong_rule_leaves_the_pretrained_weights_only_with_evidence(
    toy_table: tuple[pd.DataFrame, pd.Series],
) -> None:
    from tabfm._finetune import DELONG_Z

    train, valid = _splits(toy_table)
    backend = _backend()
    for learning_rate in (1e-6, 3e-3):
        config = FinetuneConfig(
            learning_rate=learning_rate, epochs=3, patience=0, min_delta_rule="delong", **FAST
        )
        assert config.eval_estimators == 4  # chosen with the members it deploys
        _, history = finetune(backend, train, None, valid, config)
        assert history[0]["valid_delong_z"] == 0.0
        chosen = history[-1]["best_epoch"]
        if chosen:
            assert history[chosen]["valid_delong_z"] > DELONG_Z
        # No epoch whose gain over the pre-trained weights is within noise is ever chosen.
        for record in history[1:]:
            if record["valid_delong_z"] <= DELONG_Z:
                assert record["best_epoch"] != record["epoch"]
    # A learning rate too small to move the model keeps the pre-trained weights.
    config = FinetuneConfig(
        learning_rate=1e-9, epochs=2, patience=0, min_delta=0.0, min_delta_rule="delong", **FAST
    )
    _, history = finetune(backend, train, None, valid, config)
    assert history[-1]["best_epoch"] == 0


def test_frozen_blocks_stay_at_their_pretrained_weights_and_the_rest_trains() -> None:
    # The learnable toy task of the first test, with the lower of two blocks frozen.
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x0": rng.normal(size=300)})
    y = pd.Series((X["x0"] > 0).astype(int))
    torch.manual_seed(0)
    model = TabFMModel(TabFMConfig(embed_dim=16, n_layers=2, n_heads=2, feature_id_dim=4))
    backend = TabFMBackend(model, torch.device(TEST_DEVICE))
    before = backend.state_dict()
    config = FinetuneConfig(
        learning_rate=1e-2, epochs=4, patience=0, warmup_fraction=0.05, frozen_blocks=1,
        **{**FAST, "context_size": 64, "steps_per_epoch": 8, "episodes_per_step": 2},
    )  # fmt: skip
    classifier, history = finetune(backend, (X[:200], y[:200]), None, (X[200:], y[200:]), config)
    assert history[-1]["best_epoch"] > 0  # it learned, above the frozen block
    after = classifier.backend.state_dict()
    frozen = ("cell_embed", "feature_id_embed", "label_embed", "blocks.0.")
    for name, tensor in before.items():
        moved = not torch.equal(after[name], tensor)
        assert moved != name.startswith(frozen), name
    for parameter in backend.parameters():  # the caller's model is untouched
        assert parameter.requires_grad
    with pytest.raises(TabFMError, match="frozen_blocks <= 2.*frozen_blocks=3"):
        finetune(backend, (X[:200], y[:200]), None, (X[200:], y[200:]),
                 FinetuneConfig(frozen_blocks=3, **FAST))  # fmt: skip


def test_training_episodes_see_category_columns_shuffled_as_the_ensemble_does() -> None:
    from tabfm._finetune import FoldRun

    X, y = board_table(200)
    train, valid = (X[:150], y[:150]), (X[150:], y[150:])
    always = FoldRun(_backend(), train, None, valid, FinetuneConfig(category_shuffle=1.0), None)
    assert sorted(always.levels) == [0, 1, 2]  # the cells, not the continuous column
    context, query = np.arange(0, 100), np.arange(100, 150)
    flip = torch.tensor([1, 0])
    x_context, y_context, x_query, y_query = always.episode(context, query, flip)
    labels = torch.cat([y_context, y_query]).cpu().numpy()
    np.testing.assert_array_equal(labels, 1 - always.pool.y[:150])  # through the label map
    rows = torch.cat([x_context, x_query]).cpu().numpy()
    original = always.pool.x[:150]
    np.testing.assert_array_equal(rows[:, 3], original[:, 3])
    for column in range(3):  # each cell column is a one-to-one recoding of its values
        pairs = set(zip(original[:, column], rows[:, column]))
        assert len(pairs) == 3 and {b for _, b in pairs} == {0.0, 1.0, 2.0}
    never = FoldRun(_backend(), train, None, valid, FinetuneConfig(category_shuffle=0.0), None)
    assert never.levels == {}
    x_context, *_ = never.episode(context, query, flip)
    np.testing.assert_array_equal(x_context.cpu().numpy(), original[:100])


def test_without_the_backends_shuffles_training_equals_category_shuffle_zero(
    toy_table: tuple[pd.DataFrame, pd.Series],
) -> None:
    # The toy table's colour has 3 levels, so its codes are shuffled by default.
    config = FinetuneConfig(epochs=2, patience=0, **FAST)
    (train, valid), plain = _splits(toy_table), _backend()
    plain.categorical_max_levels = 0
    runs = [
        finetune(plain, train, None, valid, config),
        finetune(_backend(), train, None, valid, replace(config, category_shuffle=0.0)),
        finetune(_backend(), train, None, valid, config),
    ]
    losses = [[record["train_loss"] for record in history[1:]] for _, history in runs]
    assert losses[0] == losses[1]
    assert losses[2] != losses[0]
