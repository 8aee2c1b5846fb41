from __future__ import annotations

import io
from pathlib import Path

import networkx as nx
import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.artifacts import download_artifact, get_all_artifact_meta
from PIL import Image

from storage import (
    StorageError,
    create_storage,
    csv_preview,
    dag_png,
    edge_probability_png,
    open_artifact_store,
    upload_trial_artifact,
)

NODES = ["age", "bmi", "glucose", "target"]


def _probabilities(nodes: list[str], seed: int = 0) -> pd.DataFrame:
    values = np.random.default_rng(seed).uniform(size=(len(nodes), len(nodes)))
    np.fill_diagonal(values, 0.0)
    return pd.DataFrame(values, index=nodes, columns=nodes)


def _image(png: bytes) -> Image.Image:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def test_upload_trial_artifact_round_trip(tmp_path: Path) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    store = open_artifact_store(tmp_path / "artifacts")
    storage = create_storage(f"sqlite:///{tmp_path / 's.db'}", heartbeat_interval=None)
    try:
        study = optuna.create_study(storage=storage)
        trial = study.ask()
        artifact_id = upload_trial_artifact(store, trial, "preview.csv", b"a,b\n1,2\n", "text/csv")
        # A frozen (running) trial works too when the storage is given.
        (running,) = study.get_trials()
        second = upload_trial_artifact(
            store, running, "dag_0.png", b"\x89PNG", "image/png", storage=storage
        )
        study.tell(trial, 1.0)
        metas = get_all_artifact_meta(study.trials[0], storage=storage)
        assert {(m.artifact_id, m.filename, m.mimetype) for m in metas} == {
            (artifact_id, "preview.csv", "text/csv"),
            (second, "dag_0.png", "image/png"),
        }
        target = tmp_path / "downloaded.csv"
        download_artifact(artifact_store=store, artifact_id=artifact_id, file_path=str(target))
        assert target.read_bytes() == b"a,b\n1,2\n"
        assert (tmp_path / "artifacts" / second).read_bytes() == b"\x89PNG"
    finally:
        storage.engine.dispose()


@pytest.mark.parametrize(
    "name",
    ["..", "../escape.png", "a/b.png", "/etc/passwd", "..\\win.png", "C:evil", "nul\x00.png", ""],
)
def test_upload_refuses_names_that_could_escape(tmp_path: Path, name: str) -> None:
    store = open_artifact_store(tmp_path / "artifacts")
    trial = optuna.create_study().ask()
    with pytest.raises(StorageError, match="must be plain file names") as info:
        upload_trial_artifact(store, trial, name, b"x", "text/plain")
    assert repr(name) in str(info.value)
    assert list((tmp_path / "artifacts").iterdir()) == []
    assert not (tmp_path / "escape.png").exists()


def test_upload_refuses_non_bytes(tmp_path: Path) -> None:
    store = open_artifact_store(tmp_path / "artifacts")
    trial = optuna.create_study().ask()
    with pytest.raises(StorageError, match="must be bytes, but got a str for 'a.txt'"):
        upload_trial_artifact(store, trial, "a.txt", "text", "text/plain")  # type: ignore[arg-type]


def test_artifact_store_on_a_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(StorageError, match="exists but is not a directory") as info:
        open_artifact_store(path)
    assert str(path) in str(info.value)


def test_edge_probability_png_is_an_image() -> None:
    image = _image(edge_probability_png(_probabilities(NODES)))
    assert image.width > 200 and image.height > 200


def test_edge_probability_png_rejects_bad_matrices() -> None:
    P = _probabilities(NODES)
    with pytest.raises(StorageError, match=r"lie in \[0, 1\].*1\.5"):
        edge_probability_png(P.replace(0.0, 1.5))
    with pytest.raises(StorageError, match="square DataFrame.*shape \\(4, 3\\)"):
        edge_probability_png(P.iloc[:, :3])
    with pytest.raises(StorageError, match="index equals its columns"):
        edge_probability_png(P.set_axis(["a", "b", "c", "d"], axis=1))
    with pytest.raises(StorageError, match="must be a pandas DataFrame, but got a ndarray"):
        edge_probability_png(P.to_numpy())


def test_dag_png_highlights_target() -> None:
    dag = nx.DiGraph([("age", "bmi"), ("bmi", "glucose"), ("glucose", "target")])
    P = _probabilities(NODES)
    image = _image(dag_png(dag, P))
    pixels = np.asarray(image.convert("RGB")).reshape(-1, 3).astype(int)
    # The target's box is filled with the highlight colour (#e4572e).
    assert (np.abs(pixels - [0xE4, 0x57, 0x2E]).sum(axis=1) < 30).sum() > 50
    without_target = _image(dag_png(nx.DiGraph([("age", "bmi")]), None))
    other = np.asarray(without_target.convert("RGB")).reshape(-1, 3).astype(int)
    assert (np.abs(other - [0xE4, 0x57, 0x2E]).sum(axis=1) < 30).sum() == 0


def test_dag_png_edge_width_follows_probability() -> None:
    dag = nx.DiGraph([("age", "bmi"), ("bmi", "glucose"), ("glucose", "target")])

    def dark_pixels(probability: float) -> int:
        P = pd.DataFrame(probability, index=NODES, columns=NODES)
        gray = np.asarray(_image(dag_png(dag, P)).convert("L"))
        return int((gray < 120).sum())

    assert dark_pixels(1.0) > 1.5 * dark_pixels(0.05)


def test_dag_png_uses_target_from_graph_attribute() -> None:
    dag = nx.DiGraph([("x1", "label")], target="label")
    pixels = np.asarray(_image(dag_png(dag)).convert("RGB")).reshape(-1, 3).astype(int)
    assert (np.abs(pixels - [0xE4, 0x57, 0x2E]).sum(axis=1) < 30).sum() > 50


def test_dag_png_rejects_undirected_graph() -> None:
    with pytest.raises(StorageError, match="must be a networkx.DiGraph, but got a Graph"):
        dag_png(nx.Graph([("a", "b")]))


def test_csv_preview_keeps_first_rows() -> None:
    frame = pd.DataFrame({"a": range(100), "target": ["x", "y"] * 50})
    preview = csv_preview(frame, n=3)
    assert preview == b"a,target\n0,x\n1,y\n2,x\n"
    assert len(csv_preview(frame).decode().splitlines()) == 51


def test_csv_preview_rejects_bad_n() -> None:
    with pytest.raises(StorageError, match="`n >= 1` must hold, but got n=0"):
        csv_preview(pd.DataFrame({"a": [1]}), n=0)
