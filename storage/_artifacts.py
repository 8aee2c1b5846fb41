"""Trial artifacts (pictures and previews shown by optuna-dashboard) in a shared directory."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from storage._errors import StorageError

if TYPE_CHECKING:
    from optuna.artifacts import FileSystemArtifactStore
    from optuna.storages import BaseStorage
    from optuna.trial import FrozenTrial, Trial

__all__ = ["check_artifact_name", "open_artifact_store", "upload_trial_artifact"]

_MAX_NAME_LENGTH = 255


def open_artifact_store(path: str | os.PathLike[str]) -> FileSystemArtifactStore:
    """Open (creating it if needed) an artifact directory shared by all workers.

    Workers on several machines must see the same directory (e.g. a network file system), and
    the dashboard must be started with the same path.

    Raises:
        StorageError: If the path exists but is not a directory, or cannot be created or
            written to.
    """
    from optuna.artifacts import FileSystemArtifactStore

    if "://" in str(path):
        raise StorageError(
            f"The artifact directory must be a local path (a shared file system for several "
            f"machines), but got {str(path)!r}."
        )
    folder = Path(path).expanduser()
    if folder.exists() and not folder.is_dir():
        raise StorageError(f"The artifact path {str(folder)!r} exists but is not a directory.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise StorageError(
            f"Cannot create the artifact directory {str(folder)!r}: {e.strerror or e}."
        ) from e
    if not os.access(folder, os.W_OK | os.X_OK):
        raise StorageError(f"The artifact directory {str(folder)!r} is not writable.")
    return FileSystemArtifactStore(folder.resolve())


def check_artifact_name(name: str) -> None:
    """Refuse artifact names that are not a plain file name.

    Raises:
        StorageError: For an empty or over-long name, ``.`` / ``..``, a path separator, an
            absolute or drive path, or a NUL / control character.
    """
    problem = None
    if not isinstance(name, str) or not name:
        problem = "it is empty or not a string"
    elif len(name) > _MAX_NAME_LENGTH:
        problem = f"it is longer than {_MAX_NAME_LENGTH} characters"
    elif name in (".", "..") or name.startswith(".."):
        problem = "it refers to a parent or current directory"
    elif "/" in name or "\\" in name or os.path.isabs(name) or (len(name) > 1 and name[1] == ":"):
        problem = "it is a path, not a plain file name"
    elif any(ord(character) < 32 for character in name):
        problem = "it contains a NUL or control character"
    if problem is not None:
        raise StorageError(
            f"Artifact names must be plain file names such as 'dag_0.png', but {name!r} is "
            f"refused: {problem}."
        )


def upload_trial_artifact(
    store: FileSystemArtifactStore,
    trial: Trial | FrozenTrial,
    name: str,
    data: bytes,
    mimetype: str,
    *,
    storage: BaseStorage | None = None,
) -> str:
    """Attach ``data`` to ``trial`` as an artifact called ``name`` (shown by the dashboard).

    Args:
        store: From :func:`open_artifact_store`.
        trial: A running :class:`optuna.Trial`, or a ``FrozenTrial`` with ``storage``.
        name: A plain file name such as ``"edge_probabilities.png"``.
        data: The file's content.
        mimetype: E.g. ``"image/png"`` or ``"text/csv"``.
        storage: The study's storage; needed only for a ``FrozenTrial``.

    Returns:
        The artifact ID.

    Raises:
        StorageError: For a name that could escape the directory, or data that is not bytes.
    """
    from optuna.artifacts import upload_artifact

    check_artifact_name(name)
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise StorageError(
            f"Artifact data must be bytes, but got a {type(data).__name__} for {name!r}."
        )
    # Optuna uploads files; the file's name becomes the artifact's name in the dashboard.
    with tempfile.TemporaryDirectory(prefix="causalmix-artifact-") as folder:
        file_path = Path(folder) / name
        file_path.write_bytes(bytes(data))
        return upload_artifact(
            artifact_store=store,
            file_path=str(file_path),
            study_or_trial=trial,
            storage=storage,
            mimetype=mimetype,
        )
