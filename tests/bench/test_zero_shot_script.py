"""The paired comparison of several TabFM weights in ``benchmarks/zero_shot.py``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks._suite import parse_weights
from benchmarks.zero_shot import evaluate_suite, main, paired_rows


def test_parse_weights_names_columns_and_keeps_the_single_directory_form() -> None:
    assert parse_weights(None) == {"TabFM": None}
    assert parse_weights(["runs/w"]) == {"TabFM": "runs/w"}
    assert parse_weights(["v2=runs/a", "runs/b"]) == {"TabFM[v2]": "runs/a", "TabFM[b]": "runs/b"}
    with pytest.raises(ValueError, match="'v2' is given twice"):
        parse_weights(["v2=runs/a", "v2=runs/b"])


def test_paired_rows_are_zero_for_identical_weights_and_signed_otherwise() -> None:
    # c beats a on every dataset
    rows: list[dict[str, object]] = [
        {"a": 0.90, "b": 0.90, "c": 0.91 + 0.001 * i} for i in range(8)
    ]
    same, better = paired_rows(rows, ["a", "b", "c"])
    assert same["median (pp)"] == 0.0
    assert same["Wilcoxon p"] == 1.0
    assert same["wins/ties/losses"] == "0/8/0"
    assert better["median (pp)"] == pytest.approx(1.35)
    assert float(better["Wilcoxon p"]) < 0.01  # type: ignore[arg-type]
    assert better["wins/ties/losses"] == "8/0/0"


def test_datasets_dir_problems_exit_2_with_one_line_naming_the_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty").mkdir()
    pd.DataFrame({"x": [0.0, 1.0], "target": [0, 1]}).to_csv(tmp_path / "mini.csv", index=False)
    cases = [
        (["--datasets-dir", str(tmp_path / "nowhere")], "no such folder: '"),
        (["--datasets-dir", str(tmp_path / "empty")], "no CSV files in '"),
        (["--datasets-dir", str(tmp_path), "--datasets", "mini", "car"], "not in '"),
    ]
    for argv, message in cases:
        with pytest.raises(SystemExit) as exited:
            main([*argv, "--skip-timing"])
        assert exited.value.code == 2
        error = capsys.readouterr().err.strip().splitlines()[-1]
        assert message in error and str(tmp_path) in error


def test_a_table_without_a_target_column_exits_2_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pd.DataFrame({"x": [0.0, 1.0], "label": [0, 1]}).to_csv(tmp_path / "t.csv", index=False)
    assert main(["--datasets-dir", str(tmp_path), "--skip-timing"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "'target' not found" in error[0] and "t.csv" in error[0]


def test_evaluate_suite_reads_the_csv_files_of_datasets_dir(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 3))
    table = pd.DataFrame(x, columns=["a", "b", "c"]).assign(target=(x[:, 0] > 0).astype(int))
    table.to_csv(tmp_path / "mine.csv", index=False)
    fold_scores: list[dict[str, object]] = []
    rows = evaluate_suite(
        None,
        2,
        0,
        1,
        "cpu",
        log=lambda line: None,
        fold_scores=fold_scores,
        datasets_dir=tmp_path,
    )
    assert [row["dataset"] for row in rows] == ["mine"]
    assert [score["dataset"] for score in fold_scores] == ["mine", "mine"]
    assert float(rows[0]["TabFM"]) > 0.9  # type: ignore[arg-type]  # the target is x0 > 0


def test_categorical_max_levels_give_one_column_per_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(0)
    cells = rng.integers(0, 3, size=(90, 3))
    noisy = ((cells[:, 0] + cells[:, 1]) % 3 == 0) ^ (rng.random(90) < 0.2)
    table = pd.DataFrame(cells, columns=["a", "b", "c"]).assign(target=noisy.astype(int))
    table.to_csv(tmp_path / "board.csv", index=False)
    rows = evaluate_suite(
        None, 2, 0, 3, "cpu", log=lambda line: None, datasets_dir=tmp_path,
        weights={"TabFM[x]": None}, categorical_max_levels=(0, 3),
    )  # fmt: skip
    scores = {key: value for key, value in rows[0].items() if "levels=" in key}
    assert len(set(scores.values())) == 2  # the later members see the cells as shuffled codes
    assert list(rows[0])[4:6] == ["TabFM[x] levels=0", "TabFM[x] levels=3"]
    with pytest.raises(SystemExit) as exited:
        main(["--datasets-dir", str(tmp_path), "--categorical-max-levels", "3", "-1"])
    assert exited.value.code == 2
    assert "--categorical-max-levels must be >= 0, but got -1" in capsys.readouterr().err
