from __future__ import annotations

import numpy as np
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import FrozenTrial, create_trial

from storage import OOF_ATTR, StorageError, StudyRows, select_trial
from storage._predictions import decode_array, encode_array


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
        _trial(2, [0.6, 0.6, 0.9]),  # +0.5, +0.6, +0.7
    ]
    chosen, selection = select_trial(trials, rule="fold_t")
    assert chosen.number == 2
    assert selection["passed"] is True and selection["reference_trial"] == 0
    assert selection["mean_difference"] == pytest.approx(0.6)
    assert 0 < selection["lower_bound"] < 0.6
    assert selection["n_folds"] == 3 and "beats default fine-tuning" in selection["summary"]


def test_a_difference_without_spread_does_not_pass_with_p_zero() -> None:
    trials = [_trial(0, [0.1, 0.0, 0.2], "default_ft"), _trial(1, [0.6, 0.5, 0.7])]
    chosen, selection = select_trial(trials, rule="fold_t")
    assert chosen.number == 0 and selection["passed"] is False
    assert selection["lower_bound"] is None and selection["p_value"] is None


def test_a_noisy_winner_falls_back_to_default_fine_tuning() -> None:
    trials = [
        _trial(0, [0.1, 0.0, 0.2], "default_ft"),
        _trial(1, [0.3, 0.2, 0.4], "causalmixft"),
        _trial(2, [2.0, -0.5, -0.3]),  # best mean (0.4), won on one fold only
    ]
    chosen, selection = select_trial(trials, rule="fold_t")
    # Not the untested causalmixft reference: the fallback is default fine-tuning.
    assert chosen.number == 0
    assert selection["candidate_trial"] == 2 and selection["passed"] is False
    assert selection["lower_bound"] < 0 < selection["mean_difference"]
    assert 0.05 < selection["p_value"] < 1
    assert "not reliably better" in selection["summary"]
    assert "default fine-tuning (trial 0)" in selection["summary"]


def test_the_causalmixft_reference_is_tested_like_any_trial() -> None:
    trials = [
        _trial(0, [0.1, 0.0, 0.2], "default_ft"),
        _trial(1, [2.0, -0.5, -0.3], "causalmixft"),  # best, noisy
    ]
    chosen, selection = select_trial(trials, rule="fold_t")
    assert chosen.number == 0 and selection["passed"] is False


def test_the_bound_uses_the_t_distribution() -> None:
    from scipy import stats

    differences = [0.4, 0.1, 0.3, 0.2]
    trials = [_trial(0, [0.0] * 4, "default_ft"), _trial(1, differences)]
    _, selection = select_trial(trials, rule="fold_t")
    mean, error = 0.25, stats.sem(differences)
    assert selection["lower_bound"] == pytest.approx(mean - stats.t.ppf(0.95, 3) * error, abs=1e-6)
    expected_p = stats.ttest_1samp(differences, 0.0, alternative="greater").pvalue
    assert selection["p_value"] == pytest.approx(expected_p, abs=1e-6)


def test_without_a_default_reference_the_best_trial_is_exported_and_said_so() -> None:
    trials = [_trial(0, [0.1, 0.2]), _trial(1, [0.5, -0.4])]
    for rule in ("fold_t", "bbc"):
        chosen, selection = select_trial(trials, rule=rule)
        assert chosen.number == 0 and selection["applied"] is False
        assert selection["summary"].startswith("UNTESTED: no default fine-tuning reference")


def test_a_reference_that_is_best_is_exported_as_is() -> None:
    trials = [_trial(0, [0.5, 0.6], "default_ft"), _trial(1, [0.1, 0.2])]
    chosen, selection = select_trial(trials, rule="fold_t")
    assert chosen.number == 0 and selection["passed"] is None
    assert selection["summary"] == "default fine-tuning (trial 0) scores best; exporting it"


def test_a_trial_cut_short_by_the_pruner_does_not_compete() -> None:
    partial = _trial(2, [3.0, 3.0])  # stored COMPLETE with the mean of 2 of 3 folds
    trials = [_trial(0, [0.1, 0.0, 0.2], "default_ft"), _trial(1, [0.0, 0.1, 0.0]), partial]
    chosen, selection = select_trial(trials, rule="fold_t", n_folds=3)
    assert selection["candidate_trial"] != 2 and chosen.number != 2
    assert selection["left_out_partial_trials"] == 1
    with pytest.raises(StorageError, match="saw all 3 inner folds"):
        select_trial([partial], n_folds=3)


def test_an_unknown_rule_is_refused() -> None:
    with pytest.raises(StorageError, match="Unknown selection rule 'best'"):
        select_trial([_trial(0, [0.1], "default_ft")], rule="best")


# --- BBC-CV over OOF predictions -------------------------------------------------------------

N_ROWS = 450


def _rows(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.r_[np.zeros(N_ROWS // 2), np.ones(N_ROWS - N_ROWS // 2)])
    folds = np.arange(N_ROWS) % 3
    return labels.astype(np.int64), folds


def _proba(labels: np.ndarray, separation: float, noise_seed: int) -> np.ndarray:
    """Binormal scores as probabilities: the AUC grows with ``separation``."""
    rng = np.random.default_rng(noise_seed)
    score = separation * labels + rng.normal(size=len(labels))
    p1 = 1.0 / (1.0 + np.exp(-score))
    return np.column_stack([1.0 - p1, p1])


def _oof_trial(
    number: int,
    proba: np.ndarray,
    labels: np.ndarray,
    folds: np.ndarray,
    reference: str | None = None,
) -> FrozenTrial:
    from tabfm import normalized_roc_auc, roc_auc

    zero_shot = _proba(labels, 1.0, 999)
    normalized = [
        normalized_roc_auc(
            roc_auc(labels[folds == f], proba[folds == f], [0, 1]),
            roc_auc(labels[folds == f], zero_shot[folds == f], [0, 1]),
        )
        for f in range(3)
    ]
    trial = _trial(number, normalized, reference)
    trial.system_attrs = {OOF_ATTR: encode_array(proba)}
    return trial


def _study_rows(labels: np.ndarray, folds: np.ndarray) -> StudyRows:
    return StudyRows(labels, folds, {"cpu": _proba(labels, 1.0, 999)})


def test_identical_predictions_never_pass_and_the_gain_is_exactly_zero() -> None:
    labels, folds = _rows()
    proba = _proba(labels, 1.2, 1)
    trials = [_oof_trial(0, proba, labels, folds, "default_ft")]
    trials += [_oof_trial(n, proba.copy(), labels, folds) for n in range(1, 6)]
    chosen, selection = select_trial(trials, rows=_study_rows(labels, folds), n_boot=200)
    assert chosen.number == 0 and selection["rule"] == "bbc"
    assert selection["estimate"] == 0.0 and selection["lower_bound"] == 0.0
    assert selection["n_configs"] == 6 and selection["n_boot"] == 200


def test_a_clearly_better_configuration_is_exported_with_its_bias_corrected_gain() -> None:
    labels, folds = _rows()
    trials = [_oof_trial(0, _proba(labels, 1.0, 1), labels, folds, "default_ft")]
    trials += [_oof_trial(n, _proba(labels, 1.0, n + 1), labels, folds) for n in range(1, 5)]
    trials.append(_oof_trial(5, _proba(labels, 2.5, 50), labels, folds))
    chosen, selection = select_trial(trials, rows=_study_rows(labels, folds), n_boot=300)
    assert chosen.number == 5 and selection["passed"] is True
    assert 0 < selection["lower_bound"] < selection["estimate"]
    # The bias-corrected estimate does not exceed what the pick shows on all rows by much.
    assert selection["estimate"] <= selection["apparent_gain"] + 1.0
    assert "beats default fine-tuning" in selection["summary"]
    assert "B=300" in selection["summary"] and "6 configurations" in selection["summary"]


def test_the_best_of_many_equal_configurations_is_not_exported() -> None:
    labels, folds = _rows(1)
    trials = [_oof_trial(0, _proba(labels, 1.0, 1), labels, folds, "default_ft")]
    trials += [_oof_trial(n, _proba(labels, 1.0, n + 1), labels, folds) for n in range(1, 20)]
    chosen, selection = select_trial(trials, rows=_study_rows(labels, folds), n_boot=300)
    best = max(trials, key=lambda t: t.value)
    assert best.number != 0 and best.value > trials[0].value  # the winner's curse is there
    assert chosen.number == 0 and selection["passed"] is False
    assert selection["estimate"] < selection["apparent_gain"]
    assert "not reliably better" in selection["summary"]


def test_the_objectives_value_is_recomputed_from_the_oof_predictions() -> None:
    from storage import trial_oof
    from storage._bbc import bbc_gain

    labels, folds = _rows()
    trials = [
        _oof_trial(n, _proba(labels, 1.0 + n / 5, n), labels, folds, None if n else "default_ft")
        for n in range(4)
    ]
    zero_shot = _proba(labels, 1.0, 999)
    result = bbc_gain([trial_oof(t) for t in trials], 0, zero_shot, labels, folds, n_boot=10)
    np.testing.assert_allclose(result.scores, [t.value for t in trials], atol=1e-5)


def test_a_study_without_predictions_falls_back_to_the_fold_rule_and_says_so() -> None:
    trials = [_trial(0, [0.1, 0.0, 0.2], "default_ft"), _trial(1, [0.6, 0.6, 0.9])]
    chosen, selection = select_trial(trials, rows=None)
    assert selection["rule"] == "fold_t" and "no out-of-fold predictions" in selection["note"]
    assert chosen.number == 1


def test_the_prediction_codec_round_trips_within_its_resolution() -> None:
    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(3), size=50)
    proba[[3, 7]] = np.nan
    back = decode_array(encode_array(proba))
    assert np.isnan(back[[3, 7]]).all() and not np.isnan(np.delete(back, [3, 7], axis=0)).any()
    np.testing.assert_allclose(np.delete(back, [3, 7], 0), np.delete(proba, [3, 7], 0), atol=1e-7)
    index = np.array([0, 2, 1, 2])
    np.testing.assert_array_equal(decode_array(encode_array(index, kind="index")), index)
    assert len(encode_array(proba)["data"]) <= 50 * 3 * 4 * 4 / 3 + 4  # 4 bytes a value


def test_weighted_auc_matches_scikit_learn_with_sample_weights() -> None:
    from sklearn.metrics import roc_auc_score

    from storage._bbc import fold_auc, weighted_auc
    from tabfm import roc_auc

    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 200)
    scores = np.round(rng.normal(labels, 1.0), 1)  # with ties
    weights = rng.integers(0, 3, size=(4, 200)).astype(float)
    expected = [roc_auc_score(labels, scores, sample_weight=w) for w in weights]
    np.testing.assert_allclose(weighted_auc(scores, labels == 1, weights), expected, atol=1e-12)
    classes = rng.integers(0, 4, 200)
    proba = rng.dirichlet(np.ones(4), size=200)
    folds = np.arange(200) % 2
    got = fold_auc(proba, classes, folds, np.ones((1, 200)))[0]
    want = [roc_auc(classes[folds == f], proba[folds == f], [0, 1, 2, 3]) for f in (0, 1)]
    np.testing.assert_allclose(got, want, atol=1e-12)
