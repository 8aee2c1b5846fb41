"""Several worker processes on one study in the real PostgreSQL server."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

import tuner

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_three_workers_finish_exactly_n_trials(
    postgres_url: str, small_csv: Path, tiny_space: Path, tmp_path: Path
) -> None:
    study = tuner.tune(
        str(small_csv),
        study_name="workers",
        storage=postgres_url,
        space=str(tiny_space),
        n_trials=6,
        n_folds=2,
        workers=3,
        artifact_dir=str(tmp_path / "artifacts"),
    )
    study = optuna.load_study(study_name="workers", storage=postgres_url)
    # Confirmation trials (run by tune after the 6 when a pick passes BBC-CV) are not among them.
    trials = [t for t in study.get_trials() if not t.user_attrs.get("confirmation")]
    states = [t.state for t in trials]
    assert states.count(TrialState.COMPLETE) + states.count(TrialState.PRUNED) == 6
    assert len(trials) == 6, f"surplus trials: {[(t.number, t.state) for t in trials]}"
    numbers = [t.number for t in trials]
    assert sorted(numbers) == list(range(6))
    from storage import load_study_rows, trial_oof

    rows = load_study_rows(study)
    assert rows is not None and rows.n_rows == 240
    for trial in trials:
        assert trial.value is not None
        assert "fold_roc_auc" in trial.user_attrs and "timings" in trial.user_attrs
        # Every worker kept the trial's OOF predictions in the shared database.
        proba = trial_oof(trial)
        assert proba is not None and proba.shape == (240, 2)
        if trial.state == TrialState.COMPLETE:
            assert not np.isnan(proba).any()
    # The discovery / mechanism cache is shared through the same database.
    from sqlalchemy import create_engine, text

    engine = create_engine(postgres_url)
    try:
        with engine.connect() as connection:
            cached = connection.execute(text("SELECT count(*) FROM causalmix_cache")).scalar()
    finally:
        engine.dispose()
    ratios = {t.params["synthetic_ratio"] for t in trials}
    if any(r > 0 for r in ratios):
        assert cached and cached > 0
