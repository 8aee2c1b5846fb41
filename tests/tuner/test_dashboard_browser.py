"""`causalmix dashboard` serves the studies and their artifacts, checked in a real browser."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_service

pytestmark = pytest.mark.browser

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def _make_study(db: Path, artifact_dir: Path) -> None:
    """A study whose trials carry the pictures the tuner uploads, from a real augmenter."""
    import optuna

    from causalmix import CausalAugmenter, load_dataset
    from storage import (
        create_storage,
        csv_preview,
        dag_png,
        edge_probability_png,
        open_artifact_store,
        upload_trial_artifact,
    )

    X, y = load_dataset("sklearn:iris")
    augmenter = CausalAugmenter(n_bootstrap=2, n_dags=1, random_state=0).fit(X, y)
    P = augmenter.edge_probabilities_
    store = open_artifact_store(artifact_dir)
    study = optuna.create_study(
        storage=create_storage(f"sqlite:///{db}", heartbeat_interval=None),
        study_name="browser",
        direction="maximize",
    )
    for ratio in (0.5, 1.0):
        trial = study.ask()
        trial.suggest_float("synthetic_ratio", 0.0, 2.0)
        upload_trial_artifact(
            store, trial, "dag_0.png", dag_png(augmenter.dags_[0], P), "image/png"
        )
        upload_trial_artifact(
            store, trial, "edge_probabilities.png", edge_probability_png(P), "image/png"
        )
        upload_trial_artifact(
            store, trial, "synthetic_preview.csv", csv_preview(augmenter.sample(10)[0]), "text/csv"
        )
        study.tell(trial, ratio)


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[str]:
    db, artifact_dir = tmp_path / "studies.db", tmp_path / "artifacts"
    _make_study(db, artifact_dir)
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tuner",
            "dashboard",
            "--storage",
            f"sqlite:///{db}",
            "--artifact-dir",
            str(artifact_dir),
            "--port",
            str(port),
        ],  # fmt: skip
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _get_json(f"{base}/api/meta")
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read().decode() if process.stdout else ""
                    pytest.fail(f"the dashboard did not start: {output}")
                time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_dashboard_lists_the_study_and_shows_the_dag(dashboard: str, tmp_path: Path) -> None:
    studies = _get_json(f"{dashboard}/api/studies")["study_summaries"]
    assert [s["study_name"] for s in studies] == ["browser"]
    study_id = studies[0]["study_id"]
    detail = _get_json(f"{dashboard}/api/studies/{study_id}")
    assert len(detail["trials"]) == 2
    names = {a["filename"] for a in detail["trials"][0]["artifacts"]}
    assert names == {"dag_0.png", "edge_probabilities.png", "synthetic_preview.csv"}

    chromium = _chromium()
    require_service(chromium is not None, "Chromium is not installed (apt-get install chromium)")
    assert chromium is not None
    page = f"{dashboard}/dashboard/studies/{study_id}/trials"
    common = [chromium, *CHROMIUM_FLAGS, "--virtual-time-budget=20000"]
    dom = subprocess.run(
        [*common, f"--user-data-dir={tmp_path / 'profile-dom'}", "--dump-dom", page],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert 'alt="dag_0.png"' in dom, "the trial page does not render the DAG artifact"
    assert "Trial 0" in dom
    screenshot = Path(os.environ.get("CAUSALMIX_SCREENSHOT_DIR", tmp_path)) / "trial_page.png"
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            *common,
            f"--user-data-dir={tmp_path / 'profile-shot'}",
            "--window-size=1400,1100",
            f"--screenshot={screenshot}",
            page,
        ],  # fmt: skip
        capture_output=True,
        timeout=120,
        check=True,
    )
    from PIL import Image

    with Image.open(screenshot) as image:
        assert image.size == (1400, 1100)
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000) or []
    assert len(colours) > 50, "the screenshot is blank"
