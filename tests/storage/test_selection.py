from __future__ import annotations

import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import FrozenTrial, create_trial

from storage import select_trial


def _trial(number: int, folds: list[float], reference: str | None = None) -> FrozenTrial:
    attrs: dict[str, object] = {
        "fold_normalized_roc_auc": folds,
        "folds_evaluated": list(range(len(folds))),
    }
    if reference is not None:
        attrs["reference"] = reference
    trial = create_trial(
        value=sum(folds) / len(folds),
        params={"x": float(number)},
        distributions={"x": FloatDistribution(0, 100)},
        user_attrs=attrs,
    )
    trial.number = number
    return trial


def test_a_consistent_winner_is_exported_with_its_statistic() -> None:
    trials = [
        _trial(0, [0.1, 0.0, 0.2], "default_ft"),
        _trial(1, [0.0, -0.1, 0.1], "causalmixft"),
        _trial(2, [0.6, 0.5, 0.7]),  # +0.5 on every fold
    ]
    chosen, selection = select_trial(trials)
    assert chosen.number == 2
    assert selection["passed"] is True and selection["reference_trial"] == 0
    assert selection["mean_difference"] == pytest.approx(0.5)
    assert selection["lower_bound"] == pytest.approx(0.5)  # no spread
    assert selection["n_folds"] == 3 and "beats default fine-tuning" in selection["summary"]


def test_a_noisy_winner_falls_back_to_the_best_reference() -> None:
    trials = [
        _trial(0, [0.1, 0.0, 0.2], "default_ft"),
        _trial(1, [0.3, 0.2, 0.4], "causalmixft"),
        _trial(2, [2.0, -0.5, -0.3]),  # best mean (0.4), won on one fold only
    ]
    chosen, selection = select_trial(trials)
    assert chosen.number == 1  # the better reference, not the noisy best
    assert selection["candidate_trial"] == 2 and selection["passed"] is False
    assert selection["lower_bound"] < 0 < selection["mean_difference"]
    assert 0.05 < selection["p_value"] < 1
    assert "not reliably better" in selection["summary"]
    assert "causalmixft (trial 1)" in selection["summary"]


def test_the_bound_uses_the_t_distribution() -> None:
    from scipy import stats

    differences = [0.4, 0.1, 0.3, 0.2]
    trials = [_trial(0, [0.0] * 4, "default_ft"), _trial(1, differences)]
    _, selection = select_trial(trials)
    mean, error = 0.25, stats.sem(differences)
    assert selection["lower_bound"] == pytest.approx(mean - stats.t.ppf(0.95, 3) * error, abs=1e-6)
    expected_p = stats.ttest_1samp(differences, 0.0, alternative="greater").pvalue
    assert selection["p_value"] == pytest.approx(expected_p, abs=1e-6)


def test_without_a_default_reference_the_best_trial_is_exported_and_said_so() -> None:
    trials = [_trial(0, [0.1, 0.2]), _trial(1, [0.5, -0.4])]
    chosen, selection = select_trial(trials)
    assert chosen.number == 0 and selection["applied"] is False
    assert "no default fine-tuning reference" in selection["summary"]


def test_a_reference_that_is_best_is_exported_as_is() -> None:
    trials = [_trial(0, [0.5, 0.6], "default_ft"), _trial(1, [0.1, 0.2])]
    chosen, selection = select_trial(trials)
    assert (
        chosen.number == 0 and selection["summary"] == "the best trial is the default_ft reference"
    )
