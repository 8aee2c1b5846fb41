"""The paired comparison of several TabFM weights in ``benchmarks/zero_shot.py``."""

from __future__ import annotations

import pytest

from benchmarks._suite import parse_weights
from benchmarks.zero_shot import paired_rows


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
