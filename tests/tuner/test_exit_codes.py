"""Exit codes: 2 for bad input, 3 for operational failures, each with one line on stderr."""

from __future__ import annotations

import subprocess
import sys

import pytest

import tuner._model
import tuner._service
from storage import StorageUnavailableError
from tuner._cli import EXIT_OPERATIONAL, EXIT_USAGE, main
from tuner._errors import TunerError, WorkerFailedError


def _processes(*codes: int) -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen([sys.executable, "-c", f"raise SystemExit({c})"]) for c in codes]


def test_a_failed_worker_process_is_an_operational_error_when_the_study_is_short(
    caplog: pytest.LogCaptureFixture,
) -> None:
    wait_for = tuner._service._wait_for
    with pytest.raises(WorkerFailedError, match=r"1 of 2 spawned worker.*exit code 7.*short"):
        wait_for(_processes(0, 7), study_complete=lambda: False)
    # The others finished the study's trials (they retried what it left): a warning only.
    wait_for(_processes(0, 7), study_complete=lambda: True)
    assert "1 of 2 spawned worker processes failed" in caplog.text
    wait_for(_processes(0), study_complete=lambda: False)  # all fine: nothing to report


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (StorageUnavailableError("Cannot reach the storage 'x'."), EXIT_OPERATIONAL),
        (WorkerFailedError("1 of 2 spawned worker processes failed."), EXIT_OPERATIONAL),
        (TunerError("Study 'x' already exists with different seed."), EXIT_USAGE),
    ],
)
def test_the_cli_maps_operational_failures_to_their_own_exit_code(
    error: Exception,
    code: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(tuner._model, "export_best", fail)
    assert main(["export", "--study", "s", "--out", "b.yaml"]) == code
    err = capsys.readouterr().err
    assert err == f"causalmix export: error: {error}\n"
