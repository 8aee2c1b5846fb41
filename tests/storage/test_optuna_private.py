"""Optuna's private API is used in storage/_optuna_private.py and nowhere else."""

from __future__ import annotations

import re

import optuna
import pytest

from storage._optuna_private import (
    heartbeat_interval,
    orm_models,
    rdb_storage,
    record_heartbeat,
    study_id,
    study_storage,
    trial_id,
)
from tests.conftest import REPO_ROOT

# Reaching into Optuna: its private modules, and private attributes of its objects.
PRIVATE = re.compile(
    r"optuna(\.\w+)*\._\w+|\._(storage|study_id|trial_id|backend|cached_trial_ids)\b"
)


def test_no_other_module_touches_optunas_private_api() -> None:
    offenders = []
    for folder in ("bench", "causalmix", "search_spaces", "storage", "tabfm", "tuner"):
        for path in sorted((REPO_ROOT / folder).rglob("*.py")):
            if path.name == "_optuna_private.py":
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if PRIVATE.search(line.split("#")[0]):
                    offenders.append(f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()}")
    assert offenders == []


@pytest.mark.filterwarnings("ignore:Heartbeat of storage:UserWarning")
def test_the_private_calls_work_on_the_pinned_optuna(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from storage import create_storage

    storage = create_storage(f"sqlite:///{tmp_path / 'a.db'}", heartbeat_interval=60)
    study = optuna.create_study(study_name="s", storage=storage)
    loaded = optuna.load_study(study_name="s", storage=storage)  # behind Optuna's cache
    assert rdb_storage(study_storage(loaded)) is storage
    assert heartbeat_interval(study_storage(loaded)) == 60
    assert study_id(loaded) == study_id(study)
    trial = loaded.ask()
    record_heartbeat(loaded, trial)
    models = orm_models()
    session = storage.scoped_session()
    try:
        beats = session.query(models.TrialHeartbeatModel).filter_by(trial_id=trial_id(trial))
        assert beats.count() == 1
    finally:
        session.close()
    without = create_storage(f"sqlite:///{tmp_path / 'b.db'}", heartbeat_interval=None)
    assert heartbeat_interval(without) is None
    assert rdb_storage(optuna.storages.InMemoryStorage()) is None
    with pytest.raises(AssertionError):
        record_heartbeat(optuna.create_study(), 0)  # in-memory: no heartbeats
    storage.engine.dispose()
    without.engine.dispose()
