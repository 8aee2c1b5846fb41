"""`benchmarks/gpu_check.sh` and `benchmarks/gpu_pretrain.sh` run where CI can check them: their
smoke modes on the CPU."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT


def _smoke_part(part: str, log_name: str, out: Path) -> str:
    """Run one part of `gpu_check.sh` in smoke mode; return its log."""
    env = {**os.environ, "GPU_CHECK_SMOKE": "1", "OUT": str(out), "PYTHON": sys.executable}
    done = subprocess.run(
        ["bash", "benchmarks/gpu_check.sh", part],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return (out / log_name).read_text()


@pytest.mark.slow
def test_the_gpu_check_script_runs_its_throughput_part_in_smoke_mode(tmp_path: Path) -> None:
    log = _smoke_part("throughput", "throughput.log", tmp_path)
    assert "| tabfm | cpu | 64 | 64 |" in log and "| tabfm | cpu | 128 | 128 |" in log
    assert (tmp_path / "machine.txt").is_file()
    assert not (tmp_path / "tests.log").exists()  # only the part that was named ran


@pytest.mark.slow
def test_the_gpu_check_script_runs_its_fold_batching_part_in_smoke_mode(tmp_path: Path) -> None:
    log = _smoke_part("batching", "batching.log", tmp_path)
    assert "| one by one | 3 |" in log and "| together | 3 |" in log, log


@pytest.mark.slow
def test_the_gpu_pretraining_script_trains_exports_and_evaluates_in_smoke_mode(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "GPU_PRETRAIN_SMOKE": "1", "OUT": str(tmp_path), "PYTHON": sys.executable}
    done = subprocess.run(
        ["bash", "benchmarks/gpu_pretrain.sh"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "steps in 0.15 minutes" in (tmp_path / "calibration.log").read_text()
    assert {p.name for p in (tmp_path / "weights").iterdir()} == {
        "model.safetensors", "config.json", "RECIPE.md",
    }  # fmt: skip
    recipe = (tmp_path / "weights" / "RECIPE.md").read_text()
    assert "Muon" in recipe and "--optimizer muon --keep-snapshots 10" in recipe
    table = (tmp_path / "zero_shot.txt").read_text()
    assert "| diabetes | 768 | 8 | 2 |" in table and "RandomForest" in table
    assert "| TabFM[new] - TabFM[shipped] | 1 |" in table  # paired against the shipped weights
    assert "feature_grouping=True" in (tmp_path / "train.log").read_text()  # the v3 recipe
