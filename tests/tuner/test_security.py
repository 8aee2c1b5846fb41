"""Security: the dashboard's exposure, masked passwords, no pickle, safe YAML, artifact names."""

from __future__ import annotations

import json
import os
import pickle
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest

from benchmarks.load import TinySetup, write_tiny_setup
from storage import (
    StorageError,
    check_artifact_name,
    create_storage,
    open_artifact_store,
    upload_trial_artifact,
)
from tests.conftest import REPO_ROOT, TEST_DEVICE
from tuner._cli import main

SECRET = "Pa55-w0rd-never-shown"
SOURCE_PACKAGES = ("tuner", "storage", "tabfm", "causalmix", "search_spaces")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening_addresses(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on ``port`` (from /proc/net/tcp)."""
    addresses = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        hex_address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
            addresses.add(socket.inet_ntoa(bytes.fromhex(hex_address)[::-1]))
    return addresses


def _request(
    url: str, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _start_dashboard(db: Path, artifacts: Path, *extra: str) -> tuple[subprocess.Popen[str], int]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tuner", "dashboard", "--storage", f"sqlite:///{db}",
         "--artifact-dir", str(artifacts), "--port", str(port), *extra],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not _listening_addresses(port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the dashboard did not start: {process.communicate()[0]}")
        time.sleep(0.2)
    return process, port


def _stop(process: subprocess.Popen[str]) -> str:
    process.terminate()
    return process.communicate(timeout=20)[0]


@pytest.fixture
def study_with_artifact(tmp_path: Path) -> tuple[Path, Path, bytes]:
    db, artifacts = tmp_path / "studies.db", tmp_path / "artifacts"
    storage = create_storage(f"sqlite:///{db}", heartbeat_interval=None)
    study = optuna.create_study(storage=storage, study_name="secure", direction="maximize")
    trial = study.ask()
    picture = b"\x89PNG\r\n\x1a\n" + os.urandom(64)
    upload_trial_artifact(open_artifact_store(artifacts), trial, "dag_0.png", picture, "image/png")
    study.tell(trial, 1.0)
    storage.engine.dispose()
    (tmp_path / "secret.txt").write_text("top secret, next to the artifact directory\n")
    return db, artifacts, picture


@pytest.mark.slow
def test_dashboard_is_local_read_only_and_serves_only_its_artifacts(
    study_with_artifact: tuple[Path, Path, bytes],
) -> None:
    db, artifacts, picture = study_with_artifact
    process, port = _start_dashboard(db, artifacts)
    try:
        assert _listening_addresses(port) == {"127.0.0.1"}
        base = f"http://127.0.0.1:{port}"
        status, body = _request(f"{base}/api/studies")
        assert status == 200
        (summary,) = json.loads(body)["study_summaries"]
        study_id = summary["study_id"]
        detail = json.loads(_request(f"{base}/api/studies/{study_id}")[1])
        trial = detail["trials"][0]
        (artifact,) = trial["artifacts"]
        url = f"{base}/artifacts/{study_id}/{trial['trial_id']}/{artifact['artifact_id']}"
        assert _request(url) == (200, picture)

        # Artifact IDs that try to leave the artifact directory are not served.
        for escape in ("..%2Fsecret.txt", "../secret.txt", "%2E%2E%2Fsecret.txt"):
            status, body = _request(f"{base}/artifacts/{study_id}/{trial['trial_id']}/{escape}")
            assert status in (400, 404), (escape, status)
            assert b"top secret" not in body

        # Read-only: a request that would delete the study is refused, and the study stays.
        status, body = _request(f"{base}/api/studies/{study_id}", method="DELETE")
        assert status == 403 and b"--allow-writes" in body
        status, _ = _request(f"{base}/api/studies/{study_id}/note", method="PUT")
        assert status == 403
        assert _request(f"{base}/api/studies/{study_id}")[0] == 200

        # DNS rebinding: a page served under another name cannot talk to the local dashboard.
        status, _ = _request(f"{base}/api/studies", headers={"Host": f"evil.example:{port}"})
        assert status == 403
        assert _request(f"{base}/api/studies", headers={"Host": f"localhost:{port}"})[0] == 200
    finally:
        output = _stop(process)
    assert f"on http://127.0.0.1:{port}/ (read-only" in output
    assert "binds" not in output  # no exposure warning on loopback


@pytest.mark.slow
def test_dashboard_warns_when_it_binds_another_address(
    study_with_artifact: tuple[Path, Path, bytes],
) -> None:
    db, artifacts, _ = study_with_artifact
    process, port = _start_dashboard(db, artifacts, "--host", "0.0.0.0")
    try:
        assert _listening_addresses(port) == {"0.0.0.0"}
    finally:
        output = _stop(process)
    warning = next(line for line in output.splitlines() if "binds" in line)
    assert "binds 0.0.0.0, not 127.0.0.1" in warning and "no authentication" in warning


def test_dashboard_defaults_to_loopback() -> None:
    from tuner._cli import build_parser

    args = build_parser().parse_args(["dashboard"])
    assert args.host == "127.0.0.1" and args.allow_writes is False


# --- passwords --------------------------------------------------------------------------------


def _all_text_in(url: str) -> str:
    """Every value of every table of the study database, as text."""
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = [
                repr(row)
                for table in inspect(connection).get_table_names()
                for row in connection.execute(text(f'SELECT * FROM "{table}"'))
            ]
    finally:
        engine.dispose()
    return "\n".join(rows)


def _command_lines() -> Iterator[str]:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                yield (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="ignore")
            except OSError:
                continue


@pytest.mark.postgres
@pytest.mark.slow
def test_database_password_never_appears(
    postgres_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Logs (at the most verbose level), exports, attributes, errors, command lines."""
    from sqlalchemy.engine import make_url

    setup: TinySetup = write_tiny_setup(tmp_path / "tiny", synthetic_ratio=0.5)
    secret_url = make_url(postgres_url).set(password=SECRET).render_as_string(hide_password=False)
    env = dict(os.environ, CAUSALMIX_STORAGE_URL=secret_url, OMP_NUM_THREADS="1")
    # Files, not pipes: debug logging outgrows a pipe's buffer while nobody reads it.
    out, err = tmp_path / "tune.out", tmp_path / "tune.err"
    process = subprocess.Popen(
        [sys.executable, "-m", "tuner", "-vv", "tune", "--data", str(setup.data), "--study",
         "pw", "--space", str(setup.space), "--weights", str(setup.weights), "--n-trials", "3",
         "--n-folds", "2", "--device", TEST_DEVICE, "--workers", "2", "--artifact-dir",
         str(tmp_path / "artifacts"), "--no-progress"],
        cwd=tmp_path, env=env, stdout=out.open("w"), stderr=err.open("w"),
    )  # fmt: skip
    seen_on_command_lines = []
    deadline = time.monotonic() + 300
    while process.poll() is None and time.monotonic() < deadline:
        seen_on_command_lines += [c for c in _command_lines() if SECRET in c]
        time.sleep(0.2)
    if process.poll() is None:
        process.kill()
    process.wait()
    stdout, stderr = out.read_text(), err.read_text()
    assert process.returncode == 0, stderr[-3000:]
    assert "Created study 'pw' in postgresql+psycopg://postgres:***@" in stderr
    assert seen_on_command_lines == []
    # Export and an error, in this process, with the same URL in the environment.
    monkeypatch.setenv("CAUSALMIX_STORAGE_URL", secret_url)
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    export = tmp_path / "best.yaml"
    assert main(["export", "--study", "pw", "--out", str(export)]) == 0
    exported = capsys.readouterr()
    assert "postgres:***@" in export.read_text()
    artifacts = "".join(
        p.read_bytes().decode(errors="ignore") for p in (tmp_path / "artifacts").rglob("*")
    )
    assert len(list((tmp_path / "artifacts").iterdir())) > 0
    # An unreachable server named with the same password.
    unreachable = make_url(secret_url).set(port=9).render_as_string(hide_password=False)
    code = main(["export", "--study", "pw", "--storage", unreachable, "--out", "x.yaml"])
    error = capsys.readouterr().err
    assert code == 3 and "postgres:***@127.0.0.1:9" in error  # unreachable: operational
    for where, text in {
        "tune output": stdout + stderr,
        "export output": exported.out + exported.err,
        "export file": export.read_text(),
        "artifacts": artifacts,
        "database": _all_text_in(postgres_url),
        "error": error,
    }.items():
        assert SECRET not in text, f"the password appears in the {where}"


def test_worker_errors_mask_the_password() -> None:
    """The one-line error of a lost database, built from a real driver error."""
    from sqlalchemy import create_engine, text

    from storage import describe_connection_error, is_connection_error

    url = f"postgresql+psycopg://tuner:{SECRET}@127.0.0.1:9/causalmix"
    engine = create_engine(url, connect_args={"connect_timeout": 2})
    with pytest.raises(Exception) as caught:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    engine.dispose()
    assert is_connection_error(caught.value)
    message = describe_connection_error(caught.value, url)
    assert "127.0.0.1" in message and SECRET not in message


# --- no pickle, safe YAML ---------------------------------------------------------------------

_UNSAFE_LOADS = [
    (re.compile(r"\bpickle\.loads?\("), "pickle.load"),
    (re.compile(r"\b(?:cloudpickle|dill|joblib)\.load\("), "a pickle-based loader"),
    (re.compile(r"\byaml\.(?:load|unsafe_load|full_load)\("), "a YAML loader that builds objects"),
    (re.compile(r"allow_pickle\s*=\s*True"), "NumPy with allow_pickle=True"),
]
# No exception: fitted mechanisms in the shared cache use skops.io (see causalmix/_mechanisms).
_ACCEPTED: set[tuple[str, str]] = set()


def test_no_pickle_or_unsafe_yaml_in_the_loaders() -> None:
    found = []
    for package in SOURCE_PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            relative = path.relative_to(REPO_ROOT).as_posix()
            source = path.read_text()
            for pattern, what in _UNSAFE_LOADS:
                if pattern.search(source) and (relative, what) not in _ACCEPTED:
                    found.append(f"{relative}: {what}")
            for call in re.finditer(r"\btorch\.load\(([^)]*)\)", source):
                if "weights_only=True" not in call.group(1):
                    found.append(f"{relative}: torch.load without weights_only=True")
    assert found == []


class _Payload:
    """Unpickling this runs ``open(marker, "w")``: proof that a loader executed code."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (self.marker, "w"))


def _one_line_error(capsys: pytest.CaptureFixture[str], code: int, verb: str) -> str:
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert err.startswith(f"causalmix {verb}: error: ") and "Traceback" not in err
    return err


def test_a_pickled_model_file_is_refused_without_running_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = tmp_path / "pwned"
    model = tmp_path / "model"
    (model / "backend").mkdir(parents=True)
    (model / "causalmix_model.json").write_text(json.dumps({"target": "target"}))
    (model / "finetuned.json").write_text("{}")
    for name in ("model.safetensors", "backend/model.safetensors"):
        (model / name).write_bytes(pickle.dumps(_Payload(marker)))
    data = tmp_path / "x.csv"
    data.write_text("a,b\n1,2\n")
    code = main(["predict", "--model", str(model), "--data", str(data), "--out", "p.csv"])
    _one_line_error(capsys, code, "predict")
    assert not marker.exists()


def test_yaml_object_tags_are_refused_without_running_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = tmp_path / "pwned"
    tag = f"!!python/object/apply:builtins.open [{str(marker)!r}, 'w']"
    space = tmp_path / "space.yaml"
    space.write_text(f"params:\n  learning_rate: {tag}\n")
    config = tmp_path / "best.yaml"
    config.write_text(f"format_version: 1\ndataset: {{target: target}}\nconfig: {tag}\n")
    code = main(
        ["tune", "--data", "sklearn:iris", "--study", "s", "--space", str(space), "--storage",
         f"sqlite:///{tmp_path / 's.db'}"]
    )  # fmt: skip
    assert "space.yaml" in _one_line_error(capsys, code, "tune")
    code = main(["fit", "--config", str(config), "--data", "sklearn:iris", "--out", "m"])
    assert "best.yaml" in _one_line_error(capsys, code, "fit")
    assert not marker.exists()


# --- artifact names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["../escape.png", "..", "/etc/passwd", "sub/dag.png", "..\\dag.png", "C:dag.png", "a\x00b"],
)
def test_artifact_names_cannot_escape_the_directory(tmp_path: Path, name: str) -> None:
    storage = create_storage(f"sqlite:///{tmp_path / 'a.db'}", heartbeat_interval=None)
    study = optuna.create_study(storage=storage)
    trial = study.ask()
    store = open_artifact_store(tmp_path / "artifacts" / "inner")
    with pytest.raises(StorageError, match="plain file names"):
        check_artifact_name(name)
    with pytest.raises(StorageError, match="plain file names"):
        upload_trial_artifact(store, trial, name, b"data", "image/png")
    storage.engine.dispose()
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.name not in ("a.db",)]
    assert all(p.name.startswith("a.db") for p in written), written
