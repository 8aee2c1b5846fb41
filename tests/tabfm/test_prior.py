from __future__ import annotations

import numpy as np

from tabfm._prior import PriorStage, curriculum, sample_batch, sample_task


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
