"""End-to-end tuning on SQLite: tune, resume, export, fit, predict, pruning."""

from __future__ import annotations

import logging
from pathlib import Path

import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

import tuner
from storage import StorageError, create_storage, read_config
from tabfm import TabFMError
from tests.conftest import TEST_DEVICE
from tuner import TunerError

pytestmark = pytest.mark.slow


def _finished(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return [t for t in study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]


def test_tune_export_fit_predict(small_csv: Path, tiny_space: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    study = tuner.tune(
        str(small_csv),
        study_name="e2e",
        storage=url,
        space=str(tiny_space),
        n_trials=2,
        n_folds=2,
        artifact_dir=str(tmp_path / "artifacts"),
        cache_dir=str(tmp_path / "cache"),
        device=TEST_DEVICE,
    )
    finished = _finished(study)
    assert len(finished) == 2
    for trial in finished:
        attrs = trial.user_attrs
        assert set(attrs["timings"]) >= {"finetune", "evaluation"}
        assert len(attrs["fold_roc_auc"]) == 2 and all(0 < a <= 1 for a in attrs["fold_roc_auc"])
        assert attrs["device"].startswith(TEST_DEVICE)
        # One learning curve per fold, epoch 0 first, as long as the epochs the fold ran.
        curves, seconds = attrs["fold_valid_roc_auc_curve"], attrs["fold_epoch_seconds"]
        assert set(curves) == set(seconds) == {"0", "1"}
        for fold, curve in curves.items():
            assert len(curve) == len(seconds[fold]) == attrs["epochs_run"][fold] + 1
            assert all(0 <= a <= 1 for a in curve) and all(s > 0 for s in seconds[fold])
        assert attrs["config"]["synthetic_ratio"] == trial.params["synthetic_ratio"]
        if trial.params["synthetic_ratio"] > 0:
            assert attrs["n_synthetic_rows"] > 0 and attrs["n_edges_mean"] >= 0
    zero_shot = study.user_attrs["causalmix"]["zero_shot_roc_auc"]
    assert len(zero_shot) == 2 and all(0.5 < a <= 1 for a in zero_shot)

    best = tmp_path / "best.yaml"
    document = tuner.export_best("e2e", url, best)
    assert read_config(best)["config"] == document["config"]
    chosen = study.trials[document["selection"]["chosen_trial"]]
    assert document["scores"]["trial_number"] == chosen.number
    assert document["scores"]["best_normalized_roc_auc"] == pytest.approx(chosen.value)
    assert (
        document["dataset"]["fingerprint"] == study.user_attrs["causalmix"]["dataset_fingerprint"]
    )

    model_dir = tmp_path / "model"
    tuner.fit(best, str(small_csv), out=model_dir, device=TEST_DEVICE)
    predictions = tuner.predict(model_dir, str(small_csv), tmp_path / "preds.csv")
    frame = pd.read_csv(small_csv)
    assert len(predictions) == len(frame)
    assert set(predictions["prediction"]) <= set(frame["target"])
    proba = predictions.filter(like="proba_").to_numpy()
    assert proba.shape == (len(frame), 2)
    assert abs(proba.sum(axis=1) - 1).max() < 1e-5
    # The fitted model uses its context: it beats chance on its own training rows.
    assert (predictions["prediction"] == frame["target"]).mean() > 0.6


def test_fit_is_reproducible_from_the_export(
    small_csv: Path, tiny_space: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    tuner.tune(
        str(small_csv), study_name="repro", storage=url, space=str(tiny_space), n_trials=1,
        n_folds=2, artifact_dir=None, cache_dir="none",
    )  # fmt: skip
    tuner.export_best("repro", url, tmp_path / "best.json")
    first = tuner.fit(tmp_path / "best.json", str(small_csv), device=TEST_DEVICE)
    second = tuner.fit(tmp_path / "best.json", str(small_csv), device=TEST_DEVICE)
    X = pd.read_csv(small_csv).drop(columns="target")
    assert (first.predict_proba(X) == second.predict_proba(X)).all()


def test_resume_continues_to_the_requested_count(
    small_csv: Path, tiny_space: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    common = dict(
        storage=url, space=str(tiny_space), n_folds=2, artifact_dir=None, cache_dir="none"
    )
    tuner.tune(str(small_csv), study_name="resume", n_trials=1, **common)  # type: ignore[arg-type]
    # An interrupted trial: a worker died after claiming it (no heartbeat, so it stays
    # RUNNING); Ctrl-C handling records such trials FAIL, which is what we do here.
    study = optuna.load_study(
        study_name="resume", storage=create_storage(url, heartbeat_interval=None)
    )
    interrupted = study.ask()
    study.tell(interrupted, state=TrialState.FAIL)
    study = tuner.tune(str(small_csv), study_name="resume", n_trials=3, **common)  # type: ignore[arg-type]
    assert len(_finished(study)) == 3
    assert [t.number for t in study.trials] == [0, 1, 2, 3]


def test_resume_with_different_settings_is_refused(
    small_csv: Path, tiny_space: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    tuner.tune(
        str(small_csv), study_name="s", storage=url, space=str(tiny_space), n_trials=1,
        n_folds=2, artifact_dir=None, cache_dir="none",
    )  # fmt: skip
    before = optuna.load_study(study_name="s", storage=url).trials
    with pytest.raises(TunerError, match="different n_folds"):
        tuner.tune(
            str(small_csv), study_name="s", storage=url, space=str(tiny_space), n_trials=2,
            n_folds=3,
        )  # fmt: skip
    after = optuna.load_study(study_name="s", storage=url).trials
    assert len(after) == len(before)


def test_a_hopeless_trial_is_pruned(small_csv: Path, tiny_space: Path, tmp_path: Path) -> None:
    """Median pruning against earlier trials that scored far better on every fold."""
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    common = dict(
        storage=url, space=str(tiny_space), n_folds=3, pruner="median", artifact_dir=None,
        cache_dir="none",
    )  # fmt: skip
    tuner.tune(str(small_csv), study_name="prune", n_trials=1, **common)  # type: ignore[arg-type]
    study = optuna.load_study(study_name="prune", storage=url)
    reference = study.trials[0]
    for _ in range(4):  # the median pruner's startup trials, each +50 % on every fold
        study.add_trial(
            optuna.trial.create_trial(
                params=reference.params,
                distributions=reference.distributions,
                value=50.0,
                intermediate_values={0: 50.0, 1: 50.0, 2: 50.0},
            )
        )
    study = tuner.tune(str(small_csv), study_name="prune", n_trials=6, **common)  # type: ignore[arg-type]
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    assert len(pruned) == 1
    assert len(pruned[0].user_attrs["fold_roc_auc"]) == 1  # stopped after its first fold
    assert "timings" in pruned[0].user_attrs


def test_export_without_a_completed_trial(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    optuna.create_study(storage=create_storage(url), study_name="empty").set_user_attr(
        "causalmix", {"format_version": 1, "data": "x", "target": "target", "space": {}}
    )
    with pytest.raises(StorageError, match="no completed trial"):
        tuner.export_best("empty", url, tmp_path / "best.yaml")
    assert not (tmp_path / "best.yaml").exists()


def test_spawned_workers_share_the_cpu_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    import tuner._service as api

    started: list[dict[str, str]] = []

    class FakePopen:
        def __init__(self, command: list[str], env: dict[str, str]) -> None:
            started.append(env)

    monkeypatch.setattr(api.subprocess, "Popen", FakePopen)
    monkeypatch.setattr(api.os, "cpu_count", lambda: 8)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    api._spawn_workers("s", "sqlite:///x.db", 3, 10, None, 0, None, None)
    assert [env["OMP_NUM_THREADS"] for env in started] == ["2", "2", "2"]  # 8 cores / 4 workers

    started.clear()
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # the user's choice wins
    api._spawn_workers("s", "sqlite:///x.db", 1, 10, None, 0, None, None)
    assert started[0]["OMP_NUM_THREADS"] == "3"


def test_tune_with_workers_keeps_its_thread_share_only_while_it_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import torch

    import tuner._service as api

    monkeypatch.setattr(api.os, "cpu_count", lambda: 8)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    with api._cpu_share(4):
        assert torch.get_num_threads() == 2
    assert torch.get_num_threads() == before
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # the user's choice is left alone
    with api._cpu_share(4):
        assert torch.get_num_threads() == before


class _PruneAt(optuna.pruners.BasePruner):
    """Prunes at the given steps (of the trial's reports, counted from 0)."""

    def __init__(self, steps: set[int]) -> None:
        self.steps = steps

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        return len(trial.intermediate_values) - 1 in self.steps


def _objective_of(url: str, name: str) -> tuple[optuna.Study, object]:
    from tuner._study import build_runtime, load_study, make_objective

    study, settings, _ = load_study(name, url)
    runtime = build_runtime(
        settings, study_name=name, storage_url=url, artifact_dir=None, cache_dir="none"
    )
    return study, make_objective(study, settings, runtime)


@pytest.mark.parametrize("pruner", ["median", "wilcoxon"])
def test_pruning_never_after_the_last_fold_and_wilcoxon_keeps_the_partial_mean(
    pruner: str, small_csv: Path, tiny_space: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    tuner.tune(
        str(small_csv), study_name="p", storage=url, space=str(tiny_space), n_trials=1,
        n_folds=3, pruner=pruner, artifact_dir=None, cache_dir="none",
    )  # fmt: skip
    study, objective = _objective_of(url, "p")
    study.pruner = _PruneAt({2})  # asked only after the last fold: nothing to save there
    study.optimize(objective, n_trials=1)  # type: ignore[arg-type]
    last = study.trials[-1]
    assert last.state == TrialState.COMPLETE and len(last.user_attrs["fold_roc_auc"]) == 3
    study.pruner = _PruneAt({0})
    study.optimize(objective, n_trials=1)  # type: ignore[arg-type]
    early = study.trials[-1]
    assert early.user_attrs["pruned_after_folds"] == 1
    if pruner == "wilcoxon":
        # Ended with the mean of the folds it saw, so that the sampler learns from it.
        assert early.state == TrialState.COMPLETE
        # (the user attribute is rounded to 6 decimals)
        assert early.value == pytest.approx(
            early.user_attrs["fold_normalized_roc_auc"][0], abs=1e-6
        )
    else:
        assert early.state == TrialState.PRUNED


def test_the_median_pruner_compares_the_same_folds_at_each_step(
    small_csv: Path, tiny_space: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    study = tuner.tune(
        str(small_csv), study_name="m", storage=url, space=str(tiny_space), n_trials=3,
        n_folds=3, pruner="median", artifact_dir=None, cache_dir="none",
    )  # fmt: skip
    for trial in study.trials:  # step 0 is fold 0 in every trial
        assert trial.intermediate_values[0] == pytest.approx(
            trial.user_attrs["fold_normalized_roc_auc"][0],
            abs=1e-6,  # the attribute is rounded
        )


def test_a_resumed_study_does_not_repeat_its_first_configurations(
    small_csv: Path, tiny_space: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    # No reference or portfolio trials: they would make the first configurations fixed, and
    # this test is about the sampler's.
    common = dict(
        storage=url, space=str(tiny_space), n_folds=2, artifact_dir=None, cache_dir="none",
        valid_fraction=0.3, references=False, portfolio=None,
    )  # fmt: skip
    tuner.tune(str(small_csv), study_name="r", n_trials=2, **common)  # type: ignore[arg-type]
    study = tuner.tune(str(small_csv), study_name="r", n_trials=4, **common)  # type: ignore[arg-type]
    assert tuner.load_study("r", url)[1].valid_fraction == 0.3  # as the bench asks for it
    first, resumed = study.trials[:2], study.trials[2:]
    assert [t.params for t in resumed] != [t.params for t in first]
    assert resumed[0].params["learning_rate"] != first[0].params["learning_rate"]


def test_a_study_resumed_on_another_device_uses_that_devices_baseline(
    small_csv: Path, tiny_space: Path, tmp_path: Path
) -> None:
    from tuner._study import SETTINGS_ATTR

    url = f"sqlite:///{tmp_path / 'studies.db'}"
    common = dict(
        storage=url, space=str(tiny_space), n_folds=2, artifact_dir=None, cache_dir="none",
        device="cpu",
    )  # fmt: skip
    study = tuner.tune(str(small_csv), study_name="d", n_trials=1, **common)  # type: ignore[arg-type]
    settings = tuner.load_study("d", url)[1]
    cpu = settings.zero_shot_by_device["cpu"]
    assert settings.zero_shot_device == "cpu" and settings.zero_shot_roc_auc == cpu
    assert study.trials[0].user_attrs["zero_shot_fold_roc_auc"] == pytest.approx(cpu, abs=1e-6)
    # As if the study had been created on a GPU: its baseline must not be reused on the CPU.
    gpu = [0.5, 0.5]
    stored = dict(
        settings.to_dict(),
        zero_shot_roc_auc=gpu,
        zero_shot_device="cuda:0 (some GPU)",
        zero_shot_by_device={"cuda:0 (some GPU)": gpu},
    )
    optuna.load_study(study_name="d", storage=url).set_user_attr(SETTINGS_ATTR, stored)
    study = tuner.tune(str(small_csv), study_name="d", n_trials=2, **common)  # type: ignore[arg-type]
    resumed = tuner.load_study("d", url)[1]
    assert resumed.zero_shot_by_device == {"cuda:0 (some GPU)": gpu, "cpu": pytest.approx(cpu)}
    assert resumed.zero_shot_roc_auc == gpu  # the study's first device stays on record
    assert study.trials[1].user_attrs["zero_shot_fold_roc_auc"] == pytest.approx(cpu, abs=1e-6)


def test_a_new_study_starts_with_the_references_then_the_portfolio(
    small_csv: Path, tmp_path: Path
) -> None:
    space = tmp_path / "refs.yaml"
    space.write_text(
        """
name: refs
params:
  synthetic_ratio: {type: categorical, choices: [0.0, 1.0]}
  discovery: pc
  indep_test: fisherz
  n_bootstrap: 2
  n_dags: 1
  learning_rate: {type: float, low: 1.0e-5, high: 1.0e-3, log: true}
  epochs: 1
  steps_per_epoch: 2
  episodes_per_step: 1
  context_size: 64
"""
    )
    url = f"sqlite:///{tmp_path / 'refs.db'}"
    common = dict(
        storage=url, space=str(space), n_folds=2, artifact_dir=None,
        cache_dir=str(tmp_path / "cache"), device=TEST_DEVICE,
    )  # fmt: skip
    portfolio = tmp_path / "mine.yaml"
    portfolio.write_text("candidates:\n  fast-lr: {synthetic_ratio: 0.0, learning_rate: 1e-3}\n")
    study = tuner.tune(
        str(small_csv), study_name="refs", n_trials=4, portfolio=str(portfolio), **common
    )
    trials = sorted(study.trials, key=lambda t: t.number)
    assert [t.user_attrs.get("reference") for t in trials] == [
        "default_ft", "causalmixft", None, None,
    ]  # fmt: skip
    assert [t.user_attrs.get("portfolio") for t in trials] == [None, None, "fast-lr", None]
    assert trials[2].params == {"synthetic_ratio": 0.0, "learning_rate": 1e-3}
    assert trials[0].params == {"synthetic_ratio": 0.0, "learning_rate": 1e-4}
    assert trials[1].params["synthetic_ratio"] == 1.0 and trials[1].params["learning_rate"] == 1e-4
    assert trials[1].user_attrs["n_synthetic_rows"] > 0
    assert study.metric_names == ["normalized ROC-AUC (%)"]
    off = tuner.tune(str(small_csv), study_name="off", n_trials=1, references=False, **common)
    assert "reference" not in off.trials[0].user_attrs
    document = tuner.export_best("refs", url, tmp_path / "best.yaml")
    selection = document["selection"]
    assert selection["reference_trial"] == 0 and selection["applied"] is True
    assert selection["chosen_trial"] in (0, 1, 2, 3) and selection["summary"]


def test_every_finished_trial_keeps_its_out_of_fold_predictions(
    small_csv: Path, tiny_space: Path, tmp_path: Path
) -> None:
    import numpy as np

    from storage import load_study_rows, trial_oof
    from tabfm import roc_auc

    url = f"sqlite:///{tmp_path / 'oof.db'}"
    study = tuner.tune(
        str(small_csv), study_name="oof", storage=url, space=str(tiny_space), n_trials=3,
        n_folds=2, artifact_dir=None, cache_dir=str(tmp_path / "cache"), device=TEST_DEVICE,
    )  # fmt: skip
    rows = load_study_rows(study)
    assert rows is not None and rows.n_rows == 240
    assert sorted(np.bincount(rows.folds).tolist()) == [120, 120]
    labels = pd.read_csv(small_csv)["target"].to_numpy()
    classes = sorted(set(labels))
    np.testing.assert_array_equal(rows.labels, [classes.index(v) for v in labels])
    settings = study.user_attrs["causalmix"]
    (zero_shot,) = rows.zero_shot.values()
    for trial in [*_finished(study), None]:
        proba = zero_shot if trial is None else trial_oof(trial)
        assert proba is not None and proba.shape == (240, 2) and not np.isnan(proba).any()
        expected = (
            settings["zero_shot_roc_auc"] if trial is None else trial.user_attrs["fold_roc_auc"]
        )
        # The stored probabilities give back the fold scores the objective reported.
        got = [
            roc_auc(rows.labels[rows.folds == f], proba[rows.folds == f], [0, 1]) for f in (0, 1)
        ]
        np.testing.assert_allclose(got, expected, atol=1e-5)
    # A resumed study reuses them and adds its new trials' predictions.
    again = tuner.tune(
        str(small_csv), study_name="oof", storage=url, space=str(tiny_space), n_trials=4,
        n_folds=2, artifact_dir=None, cache_dir=str(tmp_path / "cache"), device=TEST_DEVICE,
    )  # fmt: skip
    assert all(trial_oof(t) is not None for t in _finished(again))
    document = tuner.export_best("oof", url, tmp_path / "best.yaml")
    selection = document["selection"]
    # The configurations compared are the study's own trials, not its confirmation reruns
    # (which tune adds when a pick passes BBC-CV).
    from storage import CONFIRMATION_ATTR

    compared = [t for t in _finished(again) if not t.user_attrs.get(CONFIRMATION_ATTR)]
    assert len(compared) == 4
    assert selection["rule"] == "bbc" and selection["n_configs"] == len(compared)
    assert selection["n_boot"] == 1000 and "B=1000" in selection["summary"]
    from optuna_dashboard import get_note

    assert "Which trial export chooses" in get_note(again)


def test_the_forgiving_pruner_stops_a_trial_below_the_incumbents_worst_fold() -> None:
    from optuna.distributions import FloatDistribution

    from tuner._pruners import ForgivingPruner

    study = optuna.create_study(direction="maximize")
    pruner = ForgivingPruner(n_folds=3)

    def finished(folds: list[float]) -> None:
        study.add_trial(
            optuna.trial.create_trial(
                params={"x": 0.0}, distributions={"x": FloatDistribution(0, 1)},
                value=sum(folds) / len(folds), user_attrs={"fold_normalized_roc_auc": folds},
            )
        )  # fmt: skip

    def running(means: list[float]) -> optuna.trial.FrozenTrial:
        return optuna.trial.create_trial(
            params={"x": 0.0}, distributions={"x": FloatDistribution(0, 1)},
            intermediate_values=dict(enumerate(means)), state=TrialState.RUNNING,
        )  # fmt: skip

    assert not pruner.prune(study, running([-50.0]))  # no incumbent yet: never prune
    finished([1.0, -2.0, 4.0])  # the incumbent (mean 1.0), worst fold -2.0
    finished([0.5, 0.5])  # pruned earlier (2 folds): never the incumbent
    finished([-9.0, -9.0, -9.0])
    assert not pruner.prune(study, running([]))
    assert not pruner.prune(study, running([-1.0]))  # below the incumbent's mean: forgiven
    assert pruner.prune(study, running([-1.0, -2.5]))  # below its worst fold
    finished([3.0, 2.5, 3.5])  # a better incumbent raises the bar to 2.5
    assert pruner.prune(study, running([2.0]))
    with pytest.raises(ValueError, match="n_folds"):
        ForgivingPruner(n_folds=1)


def test_early_stop_rules_forgive_down_to_the_worst_fold_or_the_mean() -> None:
    incumbent = [1.0, -2.0, 4.0]  # mean 1.0, worst fold -2.0
    assert not tuner.early_stop(-1.0, incumbent, "forgiving")
    assert tuner.early_stop(-2.5, incumbent, "forgiving")
    assert tuner.early_stop(0.5, incumbent, "aggressive")
    assert not tuner.early_stop(1.5, incumbent, "aggressive")
    assert not tuner.early_stop(-9.0, None) and not tuner.early_stop(float("nan"), incumbent)
    with pytest.raises(ValueError, match="Unknown rule 'median'"):
        tuner.early_stop(0.0, incumbent, "median")


def test_the_forgiving_pruner_runs_in_a_study(
    small_csv: Path, tiny_space: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    study = tuner.tune(
        str(small_csv), study_name="f", storage=url, space=str(tiny_space), n_trials=4,
        n_folds=3, pruner="forgiving", artifact_dir=None, cache_dir="none",
    )  # fmt: skip
    from tuner._pruners import ForgivingPruner

    assert isinstance(study.pruner, ForgivingPruner)
    finished = [t for t in study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(finished) >= 4
    for trial in study.trials:  # pruned trials stopped after a fold, never after the last
        if trial.state == TrialState.PRUNED:
            assert trial.user_attrs["pruned_after_folds"] < 3


def test_a_reference_trial_is_never_pruned(
    small_csv: Path, tiny_space: Path, tmp_path: Path
) -> None:
    from storage import REFERENCE_ATTR

    url = f"sqlite:///{tmp_path / 'studies.db'}"
    tuner.tune(
        str(small_csv), study_name="ref", storage=url, space=str(tiny_space), n_trials=1,
        n_folds=3, pruner="median", artifact_dir=None, cache_dir="none",
    )  # fmt: skip
    study, objective = _objective_of(url, "ref")
    study.pruner = _PruneAt({0, 1})
    study.enqueue_trial(study.trials[0].params, user_attrs={REFERENCE_ATTR: "default_ft"})
    study.optimize(objective, n_trials=1)  # type: ignore[arg-type]
    reference = study.trials[-1]
    assert reference.state == TrialState.COMPLETE
    assert len(reference.user_attrs["fold_roc_auc"]) == 3
    study.optimize(objective, n_trials=1)  # type: ignore[arg-type]
    assert study.trials[-1].state == TrialState.PRUNED  # the same pruner stops the others


def test_hyperband_judges_every_epoch_and_a_stopped_trial_keeps_its_finished_folds(
    small_csv: Path, tiny_space: Path, tmp_path: Path
) -> None:
    import numpy as np

    from storage import trial_oof
    from tuner import VALID_CURVE_ATTR

    space = tmp_path / "two-epochs.yaml"  # 2 epochs, no early stop: 2 steps per fold
    space.write_text(
        tiny_space.read_text()
        .replace("epochs: 1", "epochs: 2")
        .replace("patience: 1", "patience: 0")
    )
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    study = tuner.tune(
        str(small_csv), study_name="hb", storage=url, space=str(space), n_trials=1,
        n_folds=3, pruner="hyperband", artifact_dir=None, cache_dir="none",
    )  # fmt: skip
    assert isinstance(study.pruner, optuna.pruners.HyperbandPruner)
    (first,) = study.trials  # default fine-tuning, a reference: it reports, never stops
    assert first.state == TrialState.COMPLETE
    # Step fold * 2 + epoch: the finished folds' test scores and the current fold's best
    # early-stopping gain over its epoch 0, averaged over the folds taken.
    assert sorted(first.intermediate_values) == [1, 2, 3, 4, 5, 6]
    folds = first.user_attrs["fold_normalized_roc_auc"]
    for step, value in first.intermediate_values.items():
        position, epoch = divmod(step - 1, 2)
        curve = first.user_attrs[VALID_CURVE_ATTR][str(position)]
        gain = 100.0 * (max(curve[: epoch + 2]) / curve[0] - 1.0)
        assert value == pytest.approx((sum(folds[:position]) + gain) / (position + 1), abs=1e-4)

    study, objective = _objective_of(url, "hb")
    params = first.params
    study.pruner = _PruneAt({2})  # the third report: epoch 1 of the second fold
    study.enqueue_trial(params)
    study.optimize(objective, n_trials=1)  # type: ignore[arg-type]
    stopped = study.trials[-1]
    assert stopped.state == TrialState.PRUNED
    assert stopped.user_attrs["pruned_after_folds"] == 1
    assert stopped.user_attrs["pruned_at"] == "epoch 1 of fold 2"
    # The finished fold keeps its predictions (and selection leaves the trial out).
    proba = trial_oof(stopped)
    assert proba is not None and np.isnan(proba).any() and not np.isnan(proba).all()
    study.pruner = _PruneAt({5})  # asked only at the last fold's last epoch: nothing to save
    study.enqueue_trial(params)
    study.optimize(objective, n_trials=1)  # type: ignore[arg-type]
    assert study.trials[-1].state == TrialState.COMPLETE
    assert study.trials[-1].user_attrs["fold_normalized_roc_auc"] == folds  # same seeds
    # A confirmation rerun is never compared: it reports nothing, so it cannot enter a rung.
    from storage import CONFIRMATION_ATTR

    study.pruner = _PruneAt({0, 1, 2, 3, 4})
    study.enqueue_trial(params, user_attrs={CONFIRMATION_ATTR: {"seed_offset": 1}})
    study.optimize(objective, n_trials=1)  # type: ignore[arg-type]
    confirmation = study.trials[-1]
    assert confirmation.state == TrialState.COMPLETE and confirmation.intermediate_values == {}


def test_a_fold_batched_study_scores_its_trials_as_one_by_one_and_keeps_their_predictions(
    small_csv: Path, tiny_space: Path, tmp_path: Path
) -> None:
    import numpy as np

    from storage import trial_oof

    url = f"sqlite:///{tmp_path / 'studies.db'}"
    studies = {
        batched: tuner.tune(
            str(small_csv),
            study_name=f"batched-{batched}",
            storage=url,
            space=str(tiny_space),
            n_trials=3,
            n_folds=3,
            pruner="none",
            fold_batching=batched,
            artifact_dir=None,
            cache_dir="none",
            device=TEST_DEVICE,
        )  # fmt: skip
        for batched in (False, True)
    }
    assert studies[True].user_attrs["causalmix"]["fold_batching"] is True
    one_by_one, together = _finished(studies[False]), _finished(studies[True])
    assert len(one_by_one) == len(together) == 3
    for alone, joint in zip(one_by_one, together):
        assert alone.params == joint.params
        assert joint.value == pytest.approx(alone.value, abs=1e-4)
        np.testing.assert_allclose(
            joint.user_attrs["fold_roc_auc"], alone.user_attrs["fold_roc_auc"], atol=1e-5
        )
        np.testing.assert_allclose(trial_oof(joint), trial_oof(alone), atol=1e-5)


@pytest.mark.parametrize(
    ("space", "n_nodes", "warned"),
    [("default", 41, True), ("default", 40, False), ("wide", 78, True), ("fast", 78, False)],
)
def test_a_space_that_can_draw_dg_on_a_wide_table_is_warned_about(
    space: str, n_nodes: int, warned: bool, caplog: pytest.LogCaptureFixture
) -> None:
    from search_spaces import load_space
    from tuner._service import _warn_slow_independence_test

    with caplog.at_level(logging.WARNING, logger="causalmix"):
        _warn_slow_independence_test(load_space(space), n_nodes)
    assert ("can set indep_test='dg'" in caplog.text) is warned, caplog.text
    if warned:
        assert f"the table has {n_nodes} nodes" in caplog.text


def test_a_trial_whose_discovery_runs_past_the_limit_is_pruned_and_the_study_goes_on(
    small_csv: Path, tiny_space: Path, tmp_path: Path
) -> None:
    from causalmix import clear_memo
    from storage import REFERENCE_ATTR

    clear_memo()  # discovery runs of earlier tests on this table would be reused, not rerun
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    study = tuner.tune(
        str(small_csv), study_name="slow", storage=url, space=str(tiny_space), n_trials=2,
        n_folds=3, artifact_dir=None, cache_dir="none", portfolio=None,
        discovery_timeout=1e-9,
    )  # fmt: skip
    default_ft, paper = study.trials[:2]
    assert default_ft.user_attrs[REFERENCE_ATTR] == "default_ft"
    assert default_ft.state == TrialState.COMPLETE  # no synthetic rows: no discovery
    assert paper.user_attrs[REFERENCE_ATTR] == "causalmixft"
    assert paper.state == TrialState.PRUNED
    assert "ran past its time limit of 1e-09 s" in paper.user_attrs["pruned_reason"]
    assert paper.user_attrs["pruned_after_folds"] == 0 and paper.intermediate_values == {}
    assert study.user_attrs["causalmix"]["discovery_timeout"] == 1e-9
    from tuner._summary import summarize

    summary = summarize(study, url, None)
    assert "1 of the pruned trials ran past the discovery time limit (1e-09 s" in summary


def test_categorical_max_levels_goes_from_the_study_to_the_final_model(
    small_csv: Path, tiny_space: Path, tmp_path: Path
) -> None:
    from tabfm import FineTunedClassifier
    from tuner._settings import StudySettings
    from tuner._study import build_runtime

    url = f"sqlite:///{tmp_path / 'studies.db'}"

    def tune(name: str, n_trials: int = 1, levels: int | None = None) -> optuna.Study:
        return tuner.tune(
            str(small_csv), study_name=name, storage=url, space=str(tiny_space), n_folds=2,
            n_trials=n_trials, artifact_dir=None, cache_dir="none", categorical_max_levels=levels,
        )  # fmt: skip

    with pytest.raises(TabFMError, match="categorical_max_levels=-2"):
        tune("bad", levels=-2)
    assert not (tmp_path / "studies.db").exists()
    study = tune("levels", levels=0)
    assert study.user_attrs["causalmix"]["categorical_max_levels"] == 0
    settings = StudySettings.from_dict(study.user_attrs["causalmix"])
    runtime = build_runtime(
        settings, study_name="levels", storage_url=url, artifact_dir=None, cache_dir="none"
    )
    assert runtime.backend.categorical_max_levels == 0  # what every worker's trials use
    with pytest.raises(TunerError, match="different categorical_max_levels"):
        tune("levels", n_trials=2, levels=5)
    tune("levels")  # left out on resume: the study's own
    document = tuner.export_best("levels", url, tmp_path / "best.yaml")
    assert document["backend"]["categorical_max_levels"] == 0
    model = tuner.fit(tmp_path / "best.yaml", str(small_csv), out=tmp_path / "m", device="cpu")
    assert model.backend.categorical_max_levels == 0
    assert FineTunedClassifier.load(tmp_path / "m").backend.categorical_max_levels == 0


def test_a_bad_discovery_timeout_is_refused_before_the_study_is_created(
    small_csv: Path, tiny_space: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    with pytest.raises(TunerError, match=r"`discovery_timeout` must be .* got .*=0\."):
        tuner.tune(str(small_csv), study_name="bad", storage=url, space=str(tiny_space),
                   discovery_timeout=0)  # fmt: skip
    assert not (tmp_path / "studies.db").exists()
