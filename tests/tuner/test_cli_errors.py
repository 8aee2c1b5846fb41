"""Bad input through the CLI: exit code 2, one line naming the problem and the value, no
traceback, and the existing study left exactly as it was."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
import pytest

import tuner
from benchmarks.load import TinySetup, write_tiny_setup
from storage import create_storage
from tests.conftest import REPO_ROOT, TEST_DEVICE
from tuner._cli import main

pytestmark = pytest.mark.slow

SECRET = "Sup3r-Secret-pw"


@dataclass(frozen=True)
class World:
    """A SQLite storage holding a tuned study, an empty one, and a model fitted from it."""

    setup: TinySetup
    db: Path
    url: str
    model: Path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    folder = tmp_path_factory.mktemp("cli-errors")
    setup = write_tiny_setup(folder / "tiny")
    db = folder / "studies.db"
    url = f"sqlite:///{db}"
    tuner.tune(
        str(setup.data), study_name="existing", storage=url, space=str(setup.space),
        n_trials=1, n_folds=2, weights=str(setup.weights), device=TEST_DEVICE, artifact_dir=None,
        cache_dir="none",
    )  # fmt: skip
    storage = create_storage(url, heartbeat_interval=None)
    settings = optuna.load_study(study_name="existing", storage=storage).user_attrs["causalmix"]
    optuna.create_study(storage=storage, study_name="no-trials").set_user_attr(
        "causalmix", settings
    )
    storage.engine.dispose()
    tuner.export_best("existing", url, folder / "best.yaml")
    tuner.fit(folder / "best.yaml", str(setup.data), out=folder / "model", device=TEST_DEVICE)
    return World(setup=setup, db=db, url=url, model=folder / "model")


def _snapshot(db: Path) -> dict[str, Any]:
    """Every study and trial row that matters, read with plain sqlite3 (no Optuna cache)."""
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        tables = [
            "studies", "study_user_attributes", "study_system_attributes", "trials",
            "trial_params", "trial_values", "trial_user_attributes",
            "trial_system_attributes", "trial_intermediate_values",
        ]  # fmt: skip
        return {
            table: sorted(map(repr, connection.execute(f"SELECT * FROM {table}").fetchall()))
            for table in tables
        }
    finally:
        connection.close()


@pytest.fixture
def run_cli(
    world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Callable[..., str]:
    """Run ``causalmix ARGS`` in a clean working directory; check the contract; return stderr."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CAUSALMIX_STORAGE_URL", raising=False)

    def run(*argv: str, verb: str, expected: list[str], code: int = 2) -> str:
        before = _snapshot(world.db)
        capsys.readouterr()
        got = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        assert got == code, f"exit code {got}; stderr: {err}"
        lines = err.strip().splitlines()
        assert len(lines) == 1, f"expected one line on stderr, got: {err!r}"
        line = lines[0]
        assert line.startswith(f"causalmix {verb}: error: "), line
        assert "Traceback" not in err and out == ""
        for text in expected:
            assert text in line, f"{text!r} not in {line!r}"
        assert SECRET not in err
        print(line)  # shown with -rP: the messages users see
        assert _snapshot(world.db) == before, "the existing study was changed"
        assert sorted(p.name for p in tmp_path.iterdir()) == [], "files were left behind"
        return line

    return run


def _tune(world: World, data: str | Path, *extra: str) -> list[str]:
    return [
        "tune", "--data", str(data), "--study", "existing", "--storage", world.url,
        "--space", str(world.setup.space), "--weights", str(world.setup.weights),
        "--n-folds", "2", "--device", TEST_DEVICE, "--n-trials", "3", *extra,
    ]  # fmt: skip


def _table(folder: Path, name: str, frame: pd.DataFrame) -> Path:
    path = folder / name
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for bad input files (outside the working directory, which must stay empty)."""
    return tmp_path_factory.mktemp("inputs")


def _frame(n_rows: int = 40, n_classes: int = 2, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n_rows, 3)).round(3), columns=["a", "b", "c"])
    return frame.assign(target=np.arange(n_rows) % n_classes)


# --- the data ---------------------------------------------------------------------------------


def test_missing_data_file(world: World, run_cli: Callable[..., str], inputs: Path) -> None:
    missing = inputs / "nope.csv"
    run_cli(*_tune(world, missing), verb="tune", expected=["does not exist", str(missing)])


def test_data_file_that_is_not_a_table(
    world: World, run_cli: Callable[..., str], inputs: Path
) -> None:
    picture = inputs / "picture.csv"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    run_cli(*_tune(world, picture), verb="tune", expected=["not a readable table", "picture.csv"])


def test_empty_data_file(world: World, run_cli: Callable[..., str], inputs: Path) -> None:
    empty = inputs / "empty.csv"
    empty.write_text("")
    run_cli(*_tune(world, empty), verb="tune", expected=["is empty", "empty.csv"])


def test_table_with_a_header_and_no_rows(
    world: World, run_cli: Callable[..., str], inputs: Path
) -> None:
    header = inputs / "header.csv"
    header.write_text("a,b,c,target\n")
    run_cli(*_tune(world, header), verb="tune", expected=["has no rows", "0 rows"])


def test_misspelt_target_column(world: World, run_cli: Callable[..., str]) -> None:
    run_cli(
        *_tune(world, world.setup.data, "--target", "tagret"),
        verb="tune",
        expected=["Target column 'tagret' not found", "Did you mean 'target'?"],
    )


def test_missing_target_column(world: World, run_cli: Callable[..., str], inputs: Path) -> None:
    data = _table(inputs, "no_target.csv", _frame().drop(columns="target"))
    run_cli(*_tune(world, data), verb="tune", expected=["Target column 'target' not found"])


def test_single_class_target(world: World, run_cli: Callable[..., str], inputs: Path) -> None:
    data = _table(inputs, "one_class.csv", _frame().assign(target="yes"))
    run_cli(*_tune(world, data), verb="tune", expected=["single class ('yes')"])


def test_more_than_ten_classes(world: World, run_cli: Callable[..., str], inputs: Path) -> None:
    data = _table(inputs, "classes.csv", _frame(n_rows=55, n_classes=11))
    run_cli(*_tune(world, data), verb="tune", expected=["has 11 classes", "at most 10"])


def test_column_of_only_nans(world: World, run_cli: Callable[..., str], inputs: Path) -> None:
    data = _table(inputs, "nans.csv", _frame().assign(b=np.nan))
    run_cli(*_tune(world, data), verb="tune", expected=["Column 'b' holds only missing values"])


def test_infinite_values(world: World, run_cli: Callable[..., str], inputs: Path) -> None:
    frame = _frame()
    frame.loc[[3, 7], "c"] = np.inf
    data = _table(inputs, "inf.csv", frame)
    run_cli(*_tune(world, data), verb="tune", expected=["Column 'c' holds 2 infinite value(s)"])


def test_one_row_dataset(world: World, run_cli: Callable[..., str], inputs: Path) -> None:
    data = _table(inputs, "one_row.csv", _frame().head(1))
    run_cli(*_tune(world, data), verb="tune", expected=["1 labelled row(s)", "at least 10"])


def test_unknown_sklearn_dataset(world: World, run_cli: Callable[..., str]) -> None:
    run_cli(
        *_tune(world, "sklearn:irsi"),
        verb="tune",
        expected=["Unknown scikit-learn dataset: 'sklearn:irsi'", "sklearn:iris"],
    )


def test_different_dataset_for_an_existing_study(
    world: World, run_cli: Callable[..., str], inputs: Path
) -> None:
    data = _table(inputs, "other.csv", _frame(n_rows=60, seed=5))
    run_cli(
        *_tune(world, data),
        verb="tune",
        expected=["'existing' already exists", "different dataset"],
    )


def test_different_settings_for_an_existing_study(
    world: World, run_cli: Callable[..., str]
) -> None:
    argv = _tune(world, world.setup.data)
    argv[argv.index("--n-folds") + 1] = "3"
    run_cli(
        *argv,
        verb="tune",
        expected=[
            "'existing' already exists with different n_folds",
            "(n_folds=2, but got n_folds=3)",
        ],
    )


# --- the search space -------------------------------------------------------------------------


def test_unknown_space_name(world: World, run_cli: Callable[..., str]) -> None:
    argv = _tune(world, world.setup.data)
    argv[argv.index("--space") + 1] = "defualt"
    run_cli(*argv, verb="tune", expected=["'defualt'", "default"])


def _space(world: World, inputs: Path, name: str, text: str) -> list[str]:
    path = inputs / name
    path.write_text(text)
    argv = _tune(world, world.setup.data)
    argv[argv.index("--space") + 1] = str(path)
    return argv


def test_space_file_with_an_unknown_key(
    world: World, run_cli: Callable[..., str], inputs: Path
) -> None:
    argv = _space(world, inputs, "unknown.yaml", "params:\n  learning_rat: 0.001\n")
    run_cli(*argv, verb="tune", expected=["learning_rat"])


def test_space_file_with_a_bad_range(
    world: World, run_cli: Callable[..., str], inputs: Path
) -> None:
    argv = _space(
        world,
        inputs,
        "range.yaml",
        "params:\n  learning_rate: {type: float, low: 0.1, high: 0.001, log: true}\n",
    )
    run_cli(*argv, verb="tune", expected=["learning_rate", "0.1", "0.001"])


def test_space_file_that_is_not_yaml(
    world: World, run_cli: Callable[..., str], inputs: Path
) -> None:
    argv = _space(world, inputs, "broken.yaml", "params: {learning_rate: [1, 2\n  epochs: :\n")
    run_cli(*argv, verb="tune", expected=["broken.yaml", "YAML"])


# --- the portfolio ----------------------------------------------------------------------------


def test_unknown_portfolio_name(world: World, run_cli: Callable[..., str]) -> None:
    argv = _tune(world, world.setup.data, "--portfolio", "defualt")
    run_cli(*argv, verb="tune", expected=["Unknown portfolio 'defualt'", "'default'"])


def test_portfolio_file_with_a_bad_value(
    world: World, run_cli: Callable[..., str], inputs: Path
) -> None:
    path = inputs / "mine.yaml"
    path.write_text("candidates:\n  big: {synthetic_ratio: 11}\n")
    argv = _tune(world, world.setup.data, "--portfolio", str(path))
    run_cli(*argv, verb="tune", expected=["mine.yaml", "candidate 'big'", "synthetic_ratio=11"])


# --- storage and studies ----------------------------------------------------------------------


def test_malformed_storage_url(world: World, run_cli: Callable[..., str]) -> None:
    argv = _tune(world, world.setup.data)
    argv[argv.index("--storage") + 1] = f"postgresql+psycopg://tuner:{SECRET}@db:port/x"
    run_cli(*argv, verb="tune", expected=["Malformed storage URL", "tuner:***@db:port"])


def test_unsupported_storage_url(world: World, run_cli: Callable[..., str]) -> None:
    argv = _tune(world, world.setup.data)
    argv[argv.index("--storage") + 1] = f"mysql://tuner:{SECRET}@db/x"
    run_cli(*argv, verb="tune", expected=["Unsupported storage URL", "'mysql'"])


@pytest.mark.parametrize("url", [f"oracle+x://tuner:{SECRET}@db/x", "postgres://db/x", "foo://x"])
def test_unknown_storage_scheme(world: World, run_cli: Callable[..., str], url: str) -> None:
    argv = _tune(world, world.setup.data)
    argv[argv.index("--storage") + 1] = url
    run_cli(*argv, verb="tune", expected=["Unsupported storage URL", "://"])
    run_cli("export", "--study", "existing", "--storage", url, "--out", "b.yaml",
            verb="export", expected=["Unsupported storage URL"])  # fmt: skip


@pytest.mark.parametrize("verb", ["export", "worker", "dashboard"])
def test_readers_of_a_sqlite_file_that_does_not_exist(
    world: World, run_cli: Callable[..., str], verb: str
) -> None:
    argv = [verb, "--storage", "sqlite:///typo.db"]
    argv += [] if verb == "dashboard" else ["--study", "existing"]
    argv += ["--out", "b.yaml"] if verb == "export" else []
    run_cli(*argv, verb=verb, expected=["typo.db' does not exist"])


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--data", "https://example.com/d.csv", "URLs are never downloaded"),
        ("--artifact-dir", "s3://bucket/runs", "artifact directory must be a local path"),
        ("--cache-dir", "gs://bucket/cache", "cache directory must be a local path"),
    ],
)
def test_a_url_where_a_local_path_is_expected(
    world: World, run_cli: Callable[..., str], option: str, value: str, expected: str
) -> None:
    argv = _tune(world, world.setup.data)
    if option in argv:
        argv[argv.index(option) + 1] = value
    else:
        argv += [option, value]
    run_cli(*argv, verb="tune", expected=[expected, value])


def test_unreachable_database(world: World, run_cli: Callable[..., str]) -> None:
    argv = _tune(world, world.setup.data)
    url = f"postgresql+psycopg://tuner:{SECRET}@127.0.0.1:9/causalmix"  # the discard port
    argv[argv.index("--storage") + 1] = url
    run_cli(
        *argv,
        verb="tune",
        expected=["Cannot reach the storage", "tuner:***@127.0.0.1:9/causalmix", "running"],
        code=3,  # an outage, not bad input: the operational exit code
    )


def test_worker_for_a_study_that_does_not_exist(world: World, run_cli: Callable[..., str]) -> None:
    run_cli(
        "worker", "--study", "exsiting", "--storage", world.url,
        verb="worker", expected=["no study 'exsiting'", "'existing'"],
    )  # fmt: skip


def test_export_of_a_study_that_does_not_exist(
    world: World, run_cli: Callable[..., str], inputs: Path
) -> None:
    run_cli(
        "export", "--study", "nope", "--storage", world.url, "--out", inputs / "best.yaml",
        verb="export", expected=["no study 'nope'"],
    )  # fmt: skip
    assert not (inputs / "best.yaml").exists()


def test_export_without_a_completed_trial(
    world: World, run_cli: Callable[..., str], inputs: Path
) -> None:
    run_cli(
        "export", "--study", "no-trials", "--storage", world.url, "--out", inputs / "b.yaml",
        verb="export", expected=["'no-trials' has no completed trial", "0 trials"],
    )  # fmt: skip
    assert not (inputs / "b.yaml").exists()


def test_export_to_an_unsupported_format(
    world: World, run_cli: Callable[..., str], inputs: Path
) -> None:
    run_cli(
        "export", "--study", "existing", "--storage", world.url, "--out", inputs / "b.txt",
        verb="export", expected=["'.txt'", ".yaml"],
    )  # fmt: skip


def test_bad_environment_setting(
    world: World, run_cli: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAUSALMIX_HEARTBEAT_INTERVAL", "soon")
    run_cli(
        "worker", "--study", "existing", "--storage", world.url,
        verb="worker", expected=["CAUSALMIX_HEARTBEAT_INTERVAL='soon'"],
    )  # fmt: skip


# --- arguments --------------------------------------------------------------------------------


def test_negative_number_of_trials(world: World, run_cli: Callable[..., str]) -> None:
    argv = _tune(world, world.setup.data)
    argv[argv.index("--n-trials") + 1] = "-5"
    run_cli(*argv, verb="tune", expected=["--n-trials", "must be >= 1, got -5"])


def test_negative_categorical_max_levels(world: World, run_cli: Callable[..., str]) -> None:
    argv = [*_tune(world, world.setup.data), "--categorical-max-levels", "-1"]
    run_cli(*argv, verb="tune", expected=["--categorical-max-levels", "-1"])


def test_categorical_max_levels_for_a_backend_that_does_not_shuffle(
    world: World, run_cli: Callable[..., str]
) -> None:
    argv = _tune(world, world.setup.data)
    argv[argv.index("--study") + 1] = "fresh-tabpfn"  # must not be created
    argv += ["--backend", "tabpfn", "--categorical-max-levels", "3"]
    run_cli(
        *argv,
        verb="tune",
        expected=["'tabpfn' does not shuffle categories", "categorical_max_levels=3"],
    )


def test_missing_weights_for_a_new_study(
    world: World, run_cli: Callable[..., str], inputs: Path
) -> None:
    argv = _tune(world, world.setup.data)
    argv[argv.index("--weights") + 1] = str(inputs / "no-weights")
    argv[argv.index("--study") + 1] = "fresh"  # must not be created
    run_cli(*argv, verb="tune", expected=["weights", "no-weights"])


def test_other_weights_for_an_existing_study(
    world: World, run_cli: Callable[..., str], inputs: Path
) -> None:
    other = write_tiny_setup(inputs / "other", seed=1).weights
    argv = _tune(world, world.setup.data)
    argv[argv.index("--weights") + 1] = str(other)
    run_cli(
        *argv,
        verb="tune",
        expected=["already exists with different weights", f"but got weights='{other}')"],
    )


# --- models -----------------------------------------------------------------------------------


def test_predict_with_a_corrupt_model_directory(
    world: World, run_cli: Callable[..., str], inputs: Path
) -> None:
    import shutil

    corrupt = inputs / "corrupt-model"
    shutil.copytree(world.model, corrupt)
    for weights in corrupt.rglob("*.safetensors"):
        weights.write_bytes(b"not a safetensors file")
    run_cli(
        "predict", "--model", corrupt, "--data", world.setup.data, "--out", inputs / "p.csv",
        verb="predict", expected=["corrupt", "corrupt-model"],
    )  # fmt: skip
    assert not (inputs / "p.csv").exists()


def test_predict_with_a_folder_that_is_no_model(
    world: World, run_cli: Callable[..., str], inputs: Path
) -> None:
    run_cli(
        "predict", "--model", inputs, "--data", world.setup.data, "--out", inputs / "p.csv",
        verb="predict", expected=["Not a model directory", str(inputs)],
    )  # fmt: skip


def test_predict_table_with_other_columns(
    world: World, run_cli: Callable[..., str], inputs: Path
) -> None:
    frame = pd.read_csv(world.setup.data).rename(columns={"b": "B"}).assign(extra=1)
    data = _table(inputs, "other_columns.csv", frame)
    run_cli(
        "predict", "--model", world.model, "--data", data, "--out", inputs / "p.csv",
        verb="predict", expected=["missing ['b']", "unexpected ['B', 'extra']"],
    )  # fmt: skip
    assert not (inputs / "p.csv").exists()


def test_the_installed_entry_point_answers_in_one_line(world: World, tmp_path: Path) -> None:
    """The same contract from a real process: ``python -m tuner`` (what ``causalmix`` runs)."""
    result = subprocess.run(
        [sys.executable, "-m", "tuner", "export", "--study", "nope", "--storage", world.url,
         "--out", str(tmp_path / "b.yaml")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"causalmix export: error: There is no study 'nope' in {world.url}; existing studies: "
        "'existing', 'no-trials'."
    ]


def test_dashboard_on_a_port_in_use(
    world: World, run_cli: Callable[..., str], inputs: Path
) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run_cli(
            "dashboard", "--storage", world.url, "--port", port, "--artifact-dir",
            inputs / "artifacts",
            verb="dashboard", expected=[f"127.0.0.1:{port}", "Address already in use"],
        )  # fmt: skip


def test_selection_options_are_checked_at_the_boundary(
    world: World, run_cli: Callable[..., str]
) -> None:
    run_cli(*_tune(world, world.setup.data, "--confirm-seeds", "-1"), verb="tune",
            expected=["--confirm-seeds", "must be >= 0, got -1"])  # fmt: skip
    export = ["export", "--study", "existing", "--storage", world.url, "--out", "b.yaml"]
    run_cli(*export, "--selection", "best", verb="export", expected=["--selection", "'best'"])
    run_cli(*export, "--n-boot", "0", verb="export", expected=["--n-boot", "must be >= 1"])


@pytest.mark.parametrize(
    ("verb", "flag", "value", "expected"),
    [
        ("tune", "--seed", "-1", "must be >= 0, got -1"),  # numpy refused it mid-run before
        ("tune", "--seed", str(2**32), "must be <= 4294967295"),
        ("tune", "--study", "", "a study name must not be empty"),
        ("tune", "--study", " padded ", "without leading or trailing spaces"),
        ("tune", "--study", "x" * 513, "at most 512 characters, got 513"),
        ("tune", "--target", "", "a column name must not be empty"),
        ("tune", "--timeout", "inf", "must be a finite number > 0, got inf"),
        ("tune", "--discovery-timeout", "-5", "must be a finite number >= 0, got -5.0"),
        ("worker", "--seed", "-3", "must be >= 0, got -3"),
        ("export", "--out", "{file}/b.yaml", "is a file, not a folder"),
        ("fit", "--out", "{file}/model", "is a file, not a folder"),
        ("predict", "--out", "{file}/p.csv", "is a file, not a folder"),
        ("augment", "--n-jobs", "0", "must be >= 1, got 0"),
        ("augment", "--seed", "-1", "must be >= 0, got -1"),
        ("dashboard", "--host", "http://x", "expected a host name or IP address"),
        ("storage-proxy", "--host", "", "expected a host name or IP address"),
        ("storage-proxy", "--port", "0", "must be between 1 and 65535, got 0"),
        ("bench", "--seed", "-1", "must be >= 0, got -1"),
        # A file where a folder is expected (tune created the database before, then failed).
        ("tune", "--artifact-dir", "{file}", "exists but is not a folder"),
        ("tune", "--cache-dir", "{file}", "exists but is not a folder"),  # it ran before
        ("worker", "--cache-dir", "{file}", "exists but is not a folder"),
        ("dashboard", "--artifact-dir", "{file}", "exists but is not a folder"),
    ],
)
def test_every_verb_refuses_arguments_a_study_cannot_use(
    world: World, run_cli: Callable[..., str], verb: str, flag: str, value: str, expected: str
) -> None:
    # Refused by the argument parser, before anything is read, opened or created.
    base = {
        "tune": _tune(world, world.setup.data),
        "worker": ["worker", "--study", "existing", "--storage", world.url],
        "export": ["export", "--study", "existing", "--storage", world.url, "--out", "b.yaml"],
        "fit": ["fit", "--config", "c.yaml", "--data", str(world.setup.data), "--out", "m"],
        "predict": ["predict", "--model", str(world.model), "--data", "d.csv", "--out", "p.csv"],
        "augment": ["augment", "--data", str(world.setup.data), "--out", "a.csv"],
        "dashboard": ["dashboard", "--storage", world.url],
        "storage-proxy": ["storage-proxy", "--storage", world.url],
        "bench": ["bench", "--datasets", "diabetes", "--out", "b"],
    }[verb]
    argv = list(base)
    value = value.replace("{file}", str(world.setup.data))
    if flag in argv:
        argv[argv.index(flag) + 1] = value
    else:
        argv += [flag, value]
    run_cli(*argv, verb=verb, expected=[flag, expected])
