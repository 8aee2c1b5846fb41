from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tuner._cli import main

FAST = ["--n-bootstrap", "2", "--n-dags", "2"]


def _write_input(tmp_path: Path, datasets_dir: Path) -> Path:
    """credit-approval, 200 rows: the target column sits in the middle of the input."""
    frame = pd.read_csv(datasets_dir / "credit-approval.csv").iloc[:200]
    columns = list(frame.columns)
    columns.insert(3, columns.pop(columns.index("target")))
    path = tmp_path / "credit.csv"
    frame[columns].to_csv(path, index=False)
    return path


def test_writes_real_then_synthetic_rows_as_csv(
    tmp_path: Path, datasets_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data, out = _write_input(tmp_path, datasets_dir), tmp_path / "out" / "mixed.csv"
    caplog.set_level("INFO", logger="causalmix")
    code = main(
        ["augment", "--data", str(data), "--target", "target", "--synthetic-ratio", "0.5"]
        + ["--out", str(out), "--cache-dir", str(tmp_path / "cache"), *FAST]
    )
    assert code == 0
    real, mixed = pd.read_csv(data), pd.read_csv(out)
    assert list(mixed.columns) == list(real.columns)
    assert len(mixed) == 300
    pd.testing.assert_frame_equal(mixed.iloc[:200], real)
    assert set(mixed["target"]) == set(real["target"])
    summary = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Wrote 300")]
    assert len(summary) == 1 and "200 real + 100 synthetic" in summary[0]
    assert "edges" in summary[0] and "Cache hits" in summary[0]


def test_writes_parquet_with_the_input_dtypes(tmp_path: Path, datasets_dir: Path) -> None:
    data, out = _write_input(tmp_path, datasets_dir), tmp_path / "mixed.parquet"
    code = main(
        ["augment", "--data", str(data), "--synthetic-ratio", "1", "--out", str(out), *FAST]
        + ["--discovery", "fci", "--seed", "3"]
    )
    assert code == 0
    real, mixed = pd.read_csv(data), pd.read_parquet(out)
    assert len(mixed) == 400
    assert mixed.dtypes.to_dict() == real.dtypes.to_dict()


def test_ratio_zero_writes_the_real_rows(tmp_path: Path, datasets_dir: Path) -> None:
    data, out = _write_input(tmp_path, datasets_dir), tmp_path / "same.csv"
    assert main(["augment", "--data", str(data), "--synthetic-ratio", "0", "--out", str(out)]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(out), pd.read_csv(data))


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--target", "tagret"], "Target column 'tagret' not found"),
        (["--synthetic-ratio", "-0.5"], "synthetic_ratio=-0.5"),
        (["--alpha", "2"], "alpha=2.0"),
        (["--discovery", "ges"], "--discovery: invalid choice: 'ges'"),
        (["--out", "mixed.xlsx"], "--out='mixed.xlsx'"),
    ],
)
def test_user_errors_are_one_line_and_exit_code_2(
    tmp_path: Path,
    datasets_dir: Path,
    capsys: pytest.CaptureFixture[str],
    arguments: list[str],
    message: str,
) -> None:
    data = _write_input(tmp_path, datasets_dir)
    defaults = {"--target": "target", "--synthetic-ratio": "1", "--out": str(tmp_path / "o.csv")}
    for flag, value in zip(arguments[::2], arguments[1::2]):
        defaults[flag] = value
    argv = ["augment", "--data", str(data), *FAST]
    for flag, value in defaults.items():
        argv += [flag, value]
    code = main(argv)
    error = capsys.readouterr().err.strip()
    assert code == 2
    assert len(error.splitlines()) == 1 and error.startswith("causalmix augment: error:")
    assert message in error
    assert not (tmp_path / "o.csv").exists()
