"""Replaying pruners over the fine-tuning budget in ``benchmarks/pruning_replay.py``."""

from __future__ import annotations

import math

import pytest

from benchmarks.pruning_replay import (
    Trial,
    _valid_gain,
    replay,
    replay_budget,
    signal_rows,
    still_rows,
)

SECONDS = [[1.0, 2.0, 2.0, 2.0], [1.0, 2.0, 2.0, 2.0]]  # 2 folds, epoch 0 + 3 epochs: 14 s


def _trial(number: int, gain: float, test: float, reference: bool = False) -> Trial:
    # The early-stopping ROC-AUC rises by ``gain`` % at epoch 1 and stays there, on both folds.
    curve: list[float | None] = [0.8, 0.8 * (1 + gain / 100), 0.8, 0.8]
    return Trial(number, [test, test], reference, [curve, curve], SECONDS)


def test_valid_gain_is_the_best_score_so_far_against_epoch_0() -> None:
    curve: list[float | None] = [0.8, 0.84, None, 0.82]
    assert _valid_gain(curve, 0) == 0.0
    assert _valid_gain(curve, 1) == pytest.approx(5.0)
    assert _valid_gain(curve, 3) == pytest.approx(5.0)  # the best so far, not the last
    assert _valid_gain([None, 0.9], 1) == 0.0  # no pre-trained score: no gain


@pytest.mark.parametrize("rule", ["sha-2", "sha-3", "hyperband-3"])
def test_budget_rules_stop_trials_whose_curves_trail_and_count_what_they_save(rule: str) -> None:
    # A flat reference, then trials whose curves rise (and score well) or stay flat (poorly),
    # alternately; a flat reference at the end.
    trials = [_trial(0, 0.0, 0.0, reference=True)]
    trials += [_trial(i, 5.0, 1.0) if i % 2 else _trial(i, 0.0, -0.5) for i in range(1, 15)]
    trials += [_trial(15, 0.0, -0.4, reference=True)]
    result = replay_budget(trials, rule, stride=3)
    assert result.fits == 32 and result.seconds == pytest.approx(16 * 14.0)
    flat = {t.number for t in trials if t.folds[0] < 0 and not t.reference}
    # Only flat curves are stopped (references never), each in fold 0, saving fold 1 (7 of
    # 14 seconds) and, when stopped at epoch 1, fold 0's last two epochs (4 more).
    assert result.stopped <= flat
    assert result.saved == len(result.stopped)
    if rule.startswith("sha"):
        # Every trial meets the first rung after one epoch.
        assert result.stopped == flat
        assert result.seconds_saved == pytest.approx(11.0 * len(flat))
    else:
        # Hyperband starts some trials in a bracket whose first rung is later (epoch 3):
        # fewer stop, some later.
        assert 0 < len(result.stopped) < len(flat)
        assert 7.0 * len(result.stopped) <= result.seconds_saved < 11.0 * len(result.stopped)


def test_budget_replay_needs_the_curves_and_fold_rules_count_seconds() -> None:
    trials = [Trial(0, [1.0, 2.0], False), Trial(1, [0.0, 0.0], False)]
    with pytest.raises(ValueError, match="learning curves"):
        replay_budget(trials, "sha-3", stride=3)
    timed = [_trial(0, 5.0, 1.0), _trial(1, 0.0, -1.0)]
    result = replay(timed, "forgiving")  # trial 1's first fold is below trial 0's worst
    assert result.stopped == {1} and result.saved == 1
    assert result.seconds_saved == pytest.approx(7.0) and result.seconds == pytest.approx(28.0)


def test_signal_rows_rank_what_a_pruner_sees_against_the_trials_means() -> None:
    trials = [_trial(i, g, t) for i, (g, t) in enumerate([(1, 0.1), (3, 0.5), (2, 0.2)])]
    row = signal_rows("s", trials)
    assert row["trials"] == 3
    assert row["rho epoch 1"] == row["rho fold 0's last epoch"] == row["rho fold 0 test"] == 1.0
    # Reversed gains: the early signal ranks the trials backwards.
    reversed_ = [_trial(i, g, t) for i, (g, t) in enumerate([(3, 0.1), (1, 0.5), (2, 0.2)])]
    assert signal_rows("s", reversed_)["rho epoch 1"] == -1.0
    # Every curve flat: no signal to rank by.
    flat = [_trial(i, 0.0, t) for i, t in enumerate([0.1, 0.5, 0.2])]
    assert math.isnan(signal_rows("s", flat)["rho epoch 1"])


def test_the_still_rule_stops_a_trial_only_while_every_fold_kept_the_pretrained_weights() -> None:
    def trial(number: int, folds: list[float], rate: float, reference: bool = False) -> Trial:
        seconds = [[1.0, 2.0]] * len(folds)
        curves: list[list[float | None]] = [[0.8, 0.8]] * len(folds)
        return Trial(number, folds, reference, curves, seconds, {"learning_rate": rate})

    trials = [
        trial(0, [0.0, 0.0, 0.0], 1e-4, reference=True),  # a reference: never stopped
        trial(1, [0.0, 0.0, 0.0], 1e-6),  # stopped after fold 0
        trial(2, [0.0, 0.0, 1.0], 2e-6),  # still on folds 0 and 1: stopped after fold 0
        trial(3, [0.5, 0.0, 0.0], 1e-5),  # moved on fold 0: runs every fold
        trial(4, [-0.5, 0.2, 0.1], 1e-3),
    ]
    result = replay(trials, "still")
    assert result.stopped == {1, 2} and result.saved == 4
    assert result.seconds_saved == pytest.approx(2 * 6.0) and result.seconds == pytest.approx(45.0)
    row = still_rows("s", trials)
    assert (row["trials"], row["still"], row["best is still"]) == (5, 2, False)
    assert row["share of seconds"] == pytest.approx(round(18.0 / 45.0, 3))
    assert row["still: learning rates"] == "1.0e-06 1.0e-04"
    assert row["moved: lowest learning rates"] == "2.0e-06 1.0e-05 1.0e-03"
