from __future__ import annotations

import hashlib

import numpy as np
import pytest

from tabfm import TabFMError
from tabfm._prior import (
    PriorStage,
    _fitted_tree_layer,
    _rule_classes,
    curriculum,
    sample_batch,
    sample_task,
)
from tabfm.pretrain import PretrainConfig


def test_batch_shapes_and_every_class_in_context() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        batch = sample_batch(rng, curriculum(1.0), max_cells=8192)
        n_tasks, n_rows, n_features = batch.x.shape
        assert batch.y.shape == (n_tasks, n_rows)
        assert 0 < batch.n_context < n_rows
        assert n_tasks * n_rows * (n_features + 1) <= 8192 or n_tasks == 1
        for task in range(n_tasks):
            labels = batch.y[task]
            assert 2 <= batch.n_classes[task] <= 10
            assert set(labels[batch.n_context :]) <= set(labels[: batch.n_context])
            assert set(labels) == set(range(batch.n_classes[task]))


def test_curriculum_starts_easy_and_ramps_to_the_full_prior() -> None:
    easy, full = curriculum(0.0), curriculum(1.0)
    assert easy.max_classes == 2 and easy.max_features <= 8 and easy.missing_probability == 0
    assert full.max_classes == 10 and full.max_features == 40 and full.max_rows == 512


def test_tasks_are_seeded_and_have_missing_values_when_asked() -> None:
    stage = PriorStage(missing_probability=1.0, categorical_probability=1.0)
    first = sample_task(np.random.default_rng(3), 200, 12, 3, stage)
    second = sample_task(np.random.default_rng(3), 200, 12, 3, stage)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    missing = [
        np.isnan(sample_task(np.random.default_rng(s), 200, 12, 2, stage)[0]).any()
        for s in range(10)
    ]
    assert any(missing)


def test_the_default_prior_spends_no_draw_on_fitted_trees() -> None:
    # The shipped weights were trained on these tasks: a stage with fitted_tree_share=0 must
    # draw exactly what it drew before the option existed (checksum from commit 5c88c47).
    digest = hashlib.sha256()
    for index in range(5):
        batch = sample_batch(np.random.default_rng([0, index]), curriculum(1.0))
        digest.update(np.nan_to_num(batch.x, nan=-999).tobytes())
        digest.update(batch.y.tobytes())
    assert digest.hexdigest() == (
        "e83342cfaa78454300f9ad416e21eea3c67c927d3501e494cca205fc03a774fa"
    )


def test_fitted_tree_layers_are_seeded_piecewise_constant_and_change_only_tree_tasks() -> None:
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(400, 6))
    first = _fitted_tree_layer(np.random.default_rng(1), inputs, 5)
    second = _fitted_tree_layer(np.random.default_rng(1), inputs, 5)
    np.testing.assert_array_equal(first, second)
    assert first.shape == (400, 5)
    # A single tree of depth <= 6 maps the 400 rows to at most 64 distinct outputs (the
    # forests average a few trees, so they have more); some seeds draw a single tree.
    distinct = [
        len(np.unique(_fitted_tree_layer(np.random.default_rng(s), inputs, 5), axis=0))
        for s in range(12)
    ]
    assert min(distinct) <= 64 < max(distinct)
    stage = PriorStage(fitted_tree_share=1.0)
    tasks = [sample_task(np.random.default_rng(s), 300, 8, 2, stage) for s in range(3)]
    again = [sample_task(np.random.default_rng(s), 300, 8, 2, stage) for s in range(3)]
    for (x, y), (x2, y2) in zip(tasks, again, strict=True):
        np.testing.assert_array_equal(x, x2)
        np.testing.assert_array_equal(y, y2)
    differs = [
        not np.array_equal(
            np.nan_to_num(sample_task(np.random.default_rng(s), 300, 8, 2, stage)[0]),
            np.nan_to_num(sample_task(np.random.default_rng(s), 300, 8, 2, PriorStage())[0]),
        )
        for s in range(20)
    ]
    assert any(differs) and not all(differs)  # only tasks whose SCM has tree layers change


def test_pretrain_config_refuses_a_share_outside_zero_to_one() -> None:
    with pytest.raises(TabFMError, match=r"fitted_tree_share=1\.5"):
        PretrainConfig(fitted_tree_share=1.5)


def test_rule_targets_are_a_function_of_the_categorical_columns_up_to_label_noise() -> None:
    stage = PriorStage(rule_target_share=1.0, missing_probability=0.0)
    for seed in range(12):
        x, y = sample_task(np.random.default_rng(seed), 400, 6, 2 + seed % 3, stage)
        x2, y2 = sample_task(np.random.default_rng(seed), 400, 6, 2 + seed % 3, stage)
        np.testing.assert_array_equal(x, x2)
        np.testing.assert_array_equal(y, y2)
        assert np.bincount(y).min() >= 2
        # Columns with at most 6 distinct values are the rule's codes (the others are
        # continuous); rows that agree on all of them share a label but for the noise.
        codes = x[:, [len(np.unique(column)) <= 6 for column in x.T]]
        assert codes.shape[1] >= 3  # at least half of the 6 columns
        _, groups = np.unique(codes, axis=0, return_inverse=True)
        majority = sum(np.bincount(y[groups.ravel() == g]).max() for g in np.unique(groups))
        assert majority / len(y) >= 0.85, (seed, majority / len(y))


def test_a_rule_over_codes_is_learnable_by_a_shallow_tree_and_keeps_every_class() -> None:
    from sklearn.tree import DecisionTreeClassifier

    rng = np.random.default_rng(3)
    codes = rng.integers(0, 4, size=(500, 4)).astype(float)
    for seed in range(10):
        labels = _rule_classes(np.random.default_rng(seed), codes, 2 + seed % 4)
        assert len(np.unique(labels)) >= 2
        tree = DecisionTreeClassifier(random_state=0).fit(codes, labels)
        assert tree.score(codes, labels) >= 0.88  # exact but for <= 10 % redrawn labels


def test_tabicl_prior_tasks_have_the_shape_asked_for_and_follow_the_seed_alone() -> None:
    pytest.importorskip("xgboost", reason="TabICL's prior needs: pip install '.[pretrain]'")
    import random

    stage = PriorStage(tabicl_share=1.0, missing_probability=0.0, categorical_probability=0.0)
    before = random.getstate(), np.random.get_state()[1].copy()
    for n_rows, n_features, n_classes in [(64, 1, 2), (120, 5, 4), (300, 12, 10)]:
        x, y = sample_task(np.random.default_rng(n_rows), n_rows, n_features, n_classes, stage)
        random.random(), np.random.random()  # the global generators do not matter
        x2, y2 = sample_task(np.random.default_rng(n_rows), n_rows, n_features, n_classes, stage)
        assert x.shape == (n_rows, n_features) and np.isfinite(x).all()
        np.testing.assert_array_equal(x, x2)
        np.testing.assert_array_equal(y, y2)
        assert y.max() + 1 <= n_classes and np.bincount(y).min() >= 2
    # TabICL draws from the global generators: they are restored after each task.
    random.setstate(before[0])
    state = random.getstate()
    sample_task(np.random.default_rng(0), 64, 3, 2, stage)
    assert random.getstate() == state


def test_tabicl_prior_without_xgboost_says_what_to_install() -> None:
    import subprocess
    import sys

    # A None entry in sys.modules is how Python spells "this package is not installed".
    code = (
        "import sys; sys.modules['xgboost'] = None\n"
        "import numpy as np\n"
        "from tabfm import TabFMError\n"
        "from tabfm._prior import PriorStage, sample_task\n"
        "try:\n"
        "    sample_task(np.random.default_rng(0), 64, 3, 2, PriorStage(tabicl_share=1.0))\n"
        "except TabFMError as e:\n"
        "    print(e)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    message = result.stdout.strip()
    assert "\n" not in message and "pip install 'causalmix-tuner[tabicl,pretrain]'" in message
    assert "xgboost" in message.split("(")[1]  # names what is missing
