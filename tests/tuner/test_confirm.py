"""Confirming a BBC-CV pick with fresh fine-tuning seeds (tuner._confirm, storage selection)."""

from __future__ import annotations

import numpy as np
import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from storage import (
    CONFIRMATION_ATTR,
    OOF_ATTR,
    save_study_rows,
    save_trial_oof,
    save_zero_shot_oof,
    select_study_trial,
)
from storage._predictions import encode_array
from tuner._confirm import confirm_pick

N = 600


def _proba(labels: np.ndarray, separation: float, noise_seed: int) -> np.ndarray:
    rng = np.random.default_rng(noise_seed)
    score = separation * labels + rng.normal(size=len(labels))
    p1 = 1.0 / (1.0 + np.exp(-score))
    return np.column_stack([1.0 - p1, p1])


def _study(tmp_path, good: float) -> tuple[optuna.Study, np.ndarray]:  # type: ignore[no-untyped-def]
    labels = np.arange(N) % 2
    folds = (np.arange(N) // 2) % 3
    study = optuna.create_study(
        storage=f"sqlite:///{tmp_path / 'c.db'}", study_name="c", direction="maximize"
    )
    study.set_user_attr("causalmix", {"n_folds": 3, "seed": 0})
    save_study_rows(study, labels, folds)
    save_zero_shot_oof(study, "cpu", _proba(labels, 1.0, 999))
    for number, (separation, reference) in enumerate(
        [(1.0, "default_ft"), (1.0, None), (good, None)]
    ):
        attrs = {"folds_evaluated": [0, 1, 2], "device": "cpu"}
        if reference:
            attrs["reference"] = reference
        study.add_trial(
            create_trial(
                value=float(number),
                params={"x": float(number)},
                distributions={"x": FloatDistribution(0, 10)},
                user_attrs=attrs,
                system_attrs={OOF_ATTR: encode_array(_proba(labels, separation, number))},
            )
        )
    return study, labels


def _objective(labels: np.ndarray, separations: dict[float, float]):  # type: ignore[no-untyped-def]
    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0, 10)
        offset = trial.user_attrs[CONFIRMATION_ATTR]["seed_offset"]
        trial.set_user_attr("folds_evaluated", [0, 1, 2])
        trial.set_user_attr("device", "cpu")
        save_trial_oof(trial, _proba(labels, separations[x], 100 * offset + int(x)))
        return 0.0

    return objective


def test_a_real_gain_is_confirmed_and_exported(tmp_path) -> None:  # type: ignore[no-untyped-def]
    study, labels = _study(tmp_path, good=2.0)
    url = f"sqlite:///{tmp_path / 'c.db'}"
    ran = confirm_pick(study, _objective(labels, {0.0: 1.0, 2.0: 2.0}), 3, storage_url=url)
    assert ran == 6  # the pick and default fine-tuning, seed offsets 1, 2 and 3
    confirmations = [t for t in study.trials if t.user_attrs.get(CONFIRMATION_ATTR)]
    assert (
        sorted(t.user_attrs[CONFIRMATION_ATTR]["of"] for t in confirmations) == [0] * 3 + [2] * 3
    )
    chosen, selection = select_study_trial(study, n_boot=200)
    assert chosen.number == 2 and selection["passed"] is True
    assert selection["confirmation"]["seed_offsets"] == [1, 2, 3]
    assert (
        selection["confirmation"]["lower_bound"] > 0 and selection["confirmation"]["seed_sd"] > 0
    )
    assert "confirmed with 3 fresh seed" in selection["summary"]
    assert selection["n_configs"] == 3  # confirmation trials never compete
    # Running it again has nothing left to do.
    assert confirm_pick(study, _objective(labels, {}), 3, storage_url=url) == 0


def test_seed_luck_is_caught_by_the_fresh_seed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    study, labels = _study(tmp_path, good=2.0)  # the pick looked good with its seed...
    confirm_pick(
        study,
        _objective(labels, {0.0: 1.0, 2.0: 1.0}),
        1,
        storage_url=f"sqlite:///{tmp_path / 'c.db'}",
    )  # no
    chosen, selection = select_study_trial(study, n_boot=200)
    assert selection["bbc_passed"] is True and selection["passed"] is False
    assert chosen.number == 0
    assert "not the fresh-seed confirmation" in selection["summary"]


def test_nothing_is_confirmed_when_bbc_does_not_pass(tmp_path) -> None:  # type: ignore[no-untyped-def]
    study, labels = _study(tmp_path, good=1.0)
    assert (
        confirm_pick(
            study, _objective(labels, {}), 2, storage_url=f"sqlite:///{tmp_path / 'c.db'}"
        )
        == 0
    )
    assert (
        confirm_pick(
            study, _objective(labels, {}), 0, storage_url=f"sqlite:///{tmp_path / 'c.db'}"
        )
        == 0
    )
    assert all(t.state == TrialState.COMPLETE for t in study.trials) and len(study.trials) == 3


def test_the_confirmation_bound_counts_the_seed_noise() -> None:
    from storage import confirm_gain

    labels = np.arange(N) % 2
    folds = (np.arange(N) // 2) % 3
    zero_shot = _proba(labels, 1.0, 999)
    default = [_proba(labels, 1.0, 10 + s) for s in range(3)]
    steady = [_proba(labels, 1.6, 20 + s) for s in range(3)]
    lucky_once = [_proba(labels, sep, 30 + s) for s, sep in enumerate((3.0, 0.7, 0.9))]
    result = confirm_gain(steady, default, zero_shot, labels, folds, n_boot=200)
    assert result.n_seeds == 3 and result.lower_bound > 0
    result = confirm_gain(lucky_once, default, zero_shot, labels, folds, n_boot=200)
    # A positive mean carried by one seed: the seeds' spread keeps the bound below 0, where
    # the rows alone (one seed) would not.
    assert result.estimate > 0 > result.lower_bound and result.seed_sd > result.row_se
    alone = confirm_gain(lucky_once[:1], default[:1], zero_shot, labels, folds, n_boot=200)
    assert alone.lower_bound > 0 and np.isnan(alone.seed_sd)
