"""`benchmarks/gpu_check.sh` runs where CI can check it: its smoke mode on the CPU."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT


@pytest.mark.slow
def test_the_gpu_check_script_runs_its_throughput_part_in_smoke_mode(tmp_path: Path) -> None:
    env = {**os.environ, "GPU_CHECK_SMOKE": "1", "OUT": str(tmp_path), "PYTHON": sys.executable}
    done = subprocess.run(
        ["bash", "benchmarks/gpu_check.sh", "throughput"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    log = (tmp_path / "throughput.log").read_text()
    assert "| tabfm | cpu | 64 | 64 |" in log and "| tabfm | cpu | 128 | 128 |" in log
    assert (tmp_path / "machine.txt").is_file()
    assert not (tmp_path / "tests.log").exists()  # only the part that was named ran
