"""Model files: the exported best configuration, the final model fitted from it, and
predictions with it."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from tuner._errors import TunerError

if TYPE_CHECKING:
    from tabfm import BaseBackend, FineTunedClassifier

from tuner._study import load_data, load_study

__all__ = ["export_best", "fit", "predict"]

_logger = logging.getLogger("causalmix")


def export_best(
    study_name: str,
    storage: str | None,
    out: str | Path,
    *,
    rule: str = "bbc",
    n_boot: int | None = None,
) -> dict[str, Any]:
    """Write the chosen trial's full configuration (YAML or JSON by suffix) and return it.

    The selection (``rule``: ``bbc`` or ``fold_t``) is also left as the study's note on the
    dashboard's study page.
    """
    from storage import DEFAULT_N_BOOT, write_config
    from storage import export_best as export_document
    from tuner._summary import note_selection

    study, _, _ = load_study(study_name, storage)
    document = export_document(study, rule=rule, n_boot=n_boot or DEFAULT_N_BOOT)
    write_config(document, out)
    note_selection(study, document["selection"])
    return document


def _backend_from(document: dict[str, Any], device: str | None) -> BaseBackend:
    from tabfm import get_backend

    backend = document.get("backend") or {}
    name = backend.get("name", "tabfm") if isinstance(backend, dict) else str(backend)
    weights = backend.get("weights") if isinstance(backend, dict) else None
    levels = backend.get("categorical_max_levels") if isinstance(backend, dict) else None
    return get_backend(
        name, weights=weights, device=device or "auto", categorical_max_levels=levels
    )


def fit(
    config: str | Path | dict[str, Any],
    data: str,
    target: str = "target",
    *,
    out: str | Path | None = None,
    device: str | None = None,
    valid_fraction: float = 0.2,
) -> FineTunedClassifier:
    """Train the final model from an exported config on the full data (and save it to ``out``).

    The seed and configuration come from the export, so the run reproduces the tuned one.
    """
    from storage import read_config

    document = read_config(config) if not isinstance(config, dict) else config
    X, y = load_data(data, target)
    flat: dict[str, Any] = {}
    for group in ("augmentation", "finetune"):
        flat.update(document["config"].get(group, {}))
    seed = int(document.get("seed", 0))
    start = time.perf_counter()
    classifier, run = _train(document, X, y, flat, seed, device, valid_fraction)
    _logger.info(
        "Trained on %d real + %d synthetic rows in %.1f s.",
        len(X), run.n_synthetic, time.perf_counter() - start,
    )  # fmt: skip
    if out is not None:
        info = {
            "target": target,
            "data": data,
            "seed": seed,
            "config": document["config"],
            "n_rows": len(X),
            "n_synthetic_rows": run.n_synthetic,
        }
        _save_model(classifier, out, info)
    return classifier


def _train(
    document: dict[str, Any],
    X: pd.DataFrame,
    y: pd.Series,
    flat: dict[str, Any],
    seed: int,
    device: str | None,
    valid_fraction: float,
) -> Any:
    from tuner._pipeline import train_causalmixft

    backend = _backend_from(document, device)
    return train_causalmixft(
        backend, X, y, flat, seed=seed, valid_fraction=valid_fraction, device=device or "auto"
    )


MODEL_INFO = "causalmix_model.json"


def _save_model(classifier: FineTunedClassifier, out: str | Path, info: dict[str, Any]) -> None:
    import json

    directory = classifier.save(out)
    (Path(directory) / MODEL_INFO).write_text(json.dumps(info, indent=2, default=str) + "\n")


def _read_model_info(model_dir: Path) -> dict[str, Any]:
    import json

    path = model_dir / MODEL_INFO
    if not path.is_file():
        raise TunerError(
            f"Not a model directory written by `causalmix fit`: {str(model_dir)!r} "
            f"(no {MODEL_INFO})."
        )
    try:
        info = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise TunerError(f"The model file is corrupt: {str(path)!r} ({e}).") from e
    if not isinstance(info, dict) or not isinstance(info.get("target"), str):
        raise TunerError(f"The model file is corrupt: {str(path)!r} (no target column).")
    return info


def predict(model_dir: str | Path, data: str, out: str | Path | None = None) -> pd.DataFrame:
    """Predict with a saved model; returns (and writes) the labels and class probabilities.

    The table must have the model's feature columns (the target column may be present and is
    ignored); a missing or unexpected column is an error.
    """
    from causalmix import load_table
    from tabfm import FineTunedClassifier

    model_dir = Path(model_dir)
    info = _read_model_info(model_dir)
    classifier = FineTunedClassifier.load(model_dir)
    frame = load_table(data)
    X = frame.drop(columns=[info["target"]], errors="ignore")
    expected = [str(c) for c in classifier.feature_names_in_]
    missing = [c for c in expected if c not in X.columns]
    extra = [c for c in X.columns if c not in expected]
    if missing or extra:
        raise TunerError(
            f"The columns of {data!r} do not match the model's: missing {missing[:10]}, "
            f"unexpected {extra[:10]}."
        )
    proba = classifier.predict_proba(X[expected])
    result = pd.DataFrame(
        proba, columns=[f"proba_{label}" for label in classifier.classes_], index=frame.index
    )
    result.insert(0, "prediction", classifier.classes_[proba.argmax(axis=1)])
    if out is not None:
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        result.to_csv(out, index=False)
    return result
