"""Learning a tuning portfolio from benchmark runs (``benchmarks/portfolio.py build``).

The input is a folder of benchmarks with one protocol, one per configuration: ``references/``
(``default_ft`` and ``causalmixft``) and one folder per candidate (its ``causalmixft`` runs
are the candidate). Every configuration must have run on the same (dataset, fold) pairs with
the same data, so that the scores are paired. :func:`search_spaces.greedy_portfolio` chooses
the portfolio after the references from each configuration's per-fold normalized ROC-AUC
(test) and validation ROC-AUC (the pick), once on every dataset and once without each of
them. The document also keeps each configuration's mean normalized ROC-AUC (%) per dataset,
and each learning dataset's data fingerprint.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from bench._config import PROTOCOL_FILE
from bench._errors import BenchError
from search_spaces import REFERENCE_NAMES as REFERENCES  # a study evaluates them first

__all__ = ["build_portfolio_document", "shipped_fingerprints"]

_PAIRING_KEYS = (
    "split",
    "folds",
    "seed",
    "target",
    "max_rows",
    "max_features",
    "valid_fraction",
    "backend",
    "weights",
    "weights_sha256",
)
"""Protocol entries every configuration's benchmark must share (not the fixed config)."""


def _read(directory: Path, methods: Mapping[str, str]) -> tuple[dict[str, Any], pd.DataFrame]:
    """The protocol of a benchmark folder and its runs of ``methods`` (method -> config)."""
    try:
        protocol = json.loads((directory / PROTOCOL_FILE).read_text())
        frame = pd.read_csv(directory / "results.csv")
    except (OSError, ValueError) as e:
        raise BenchError(f"Cannot read the benchmark in {str(directory)!r}: {e}") from None
    frame = frame[frame["method"].isin(list(methods))].copy()
    frame["config"] = frame["method"].map(methods)
    return protocol, frame


def build_portfolio_document(
    runs: Path,
    candidates: Mapping[str, Mapping[str, Any]],
    *,
    size: int,
    reference_dir: str = "references",
    command: str = "",
    name: str = "default",
    noise_z: float = 1.0,
    fingerprints: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The portfolio file's content, learned from the benchmarks under ``runs``.

    Args:
        runs: The folder of benchmark folders.
        candidates: Candidate name -> parameter values (each has a folder ``runs/NAME``).
        size: Configurations in the portfolio at most.
        reference_dir: The references' folder under ``runs``.
        command: The command that built it, for the record.
        name: The portfolio's name.
        noise_z: Standard errors a member's mean gain must exceed
            (:func:`search_spaces.greedy_portfolio`).
        fingerprints: Learning dataset -> data fingerprint (default: those of the shipped
            datasets of these names, :func:`shipped_fingerprints`).

    Raises:
        BenchError: For a missing benchmark, differing protocols, unpaired runs, or a learning
            dataset without a fingerprint.
    """
    from search_spaces import greedy_portfolio

    sources: list[tuple[Path, dict[str, str]]] = [
        (runs / reference_dir, {m: m for m in REFERENCES})
    ]
    sources += [(runs / candidate, {"causalmixft": candidate}) for candidate in candidates]
    frames = []
    first: dict[str, Any] | None = None
    for directory, methods in sources:
        protocol, frame = _read(directory, methods)
        shared = {key: protocol.get(key) for key in _PAIRING_KEYS}
        if first is None:
            first = protocol
        elif shared != {key: first.get(key) for key in _PAIRING_KEYS}:
            raise BenchError(
                f"The benchmark in {str(directory)!r} has another protocol than "
                f"{str(runs / reference_dir)!r}: {shared!r}; the scores would not be paired."
            )
        frames.append(frame)
    assert first is not None
    frame = pd.concat(frames, ignore_index=True)
    configs = list(REFERENCES) + list(candidates)
    # Paired: the same (dataset, fold) pairs with the same data for every configuration.
    pairs = frame.groupby("config")[["dataset", "fold", "data_fingerprint"]].apply(
        lambda part: frozenset(map(tuple, part.to_numpy().tolist()))
    )
    missing = [c for c in configs if c not in pairs.index]
    if missing:
        raise BenchError(f"No finished runs of {missing!r} under {str(runs)!r}.")
    reference_pairs = pairs[REFERENCES[0]]
    unpaired = [c for c in configs if pairs[c] != reference_pairs]
    if unpaired:
        raise BenchError(
            f"The runs of {unpaired!r} are not on the same (dataset, fold) pairs as "
            f"{REFERENCES[0]!r} ({len(reference_pairs)} pairs); finish those benchmarks first."
        )
    datasets = sorted({dataset for dataset, _, _ in reference_pairs})
    frame = frame.sort_values(["config", "dataset", "fold"])
    test = _per_fold(frame, "normalized_roc_auc", configs, datasets)
    valid = _per_fold(frame, "valid_roc_auc", configs, datasets)
    scores = {
        c: {d: round(sum(test[c][d]) / len(test[c][d]), 6) for d in datasets} for c in configs
    }
    chosen = greedy_portfolio(test, valid, size=size, start=REFERENCES, noise_z=noise_z)
    held_out = {
        dataset: greedy_portfolio(
            test,
            valid,
            size=size,
            start=REFERENCES,
            datasets=[d for d in datasets if d != dataset],
            noise_z=noise_z,
        )
        for dataset in datasets
    }
    if fingerprints is None:
        fingerprints = shipped_fingerprints(datasets, str(first.get("target", "target")))
    folds = sorted({fold for _, fold, _ in reference_pairs})
    return {
        "name": name,
        "description": (
            "Configurations a new study evaluates after its two references, chosen by greedy "
            "coverage over the learning suite: on each dataset and fold the member with the "
            "best validation ROC-AUC counts with its rank-normalised test score; a member is "
            f"added while its mean gain over datasets exceeds {noise_z:g} standard error(s)."
        ),
        "base": "paper",
        "references": list(REFERENCES),
        "configs": chosen,
        "candidates": {c: dict(candidates[c]) for c in candidates},
        "leave_one_dataset_out": held_out,
        "learned_with": {
            "command": command,
            "date": datetime.date.today().isoformat(),
            "datasets": datasets,
            "folds": len(folds),
            "protocol": {key: first.get(key) for key in _PAIRING_KEYS},
            # What tune compares with the weights in use (search_spaces.Portfolio).
            "weights_sha256": first.get("weights_sha256"),
            # How Portfolio.without recognises a learning dataset under another name.
            "fingerprints": {d: fingerprints[d][:16] for d in datasets},
            "fixed_config": first.get("fixed_config"),
            "size": size,
            "noise_z": noise_z,
        },
        "scores": scores,
    }


def _per_fold(
    frame: pd.DataFrame, column: str, configs: list[str], datasets: list[str]
) -> dict[str, dict[str, list[float]]]:
    """Configuration -> dataset -> ``column`` per fold, in fold order."""
    if frame[column].isna().any():
        bad = frame.loc[frame[column].isna(), ["config", "dataset", "fold"]].iloc[0].tolist()
        raise BenchError(f"A run has no {column} ((config, dataset, fold) = {bad!r}).")
    grouped = frame.groupby(["config", "dataset"])[column].apply(list)
    return {c: {d: [float(v) for v in grouped[(c, d)]] for d in datasets} for c in configs}


def shipped_fingerprints(datasets: list[str], target: str) -> dict[str, str]:
    """The data fingerprint of each shipped dataset of these names, as loaded.

    Raises:
        BenchError: For a name that is not a shipped dataset.
    """
    from bench._suite import resolve_sources
    from causalmix import load_dataset
    from tuner._settings import dataset_fingerprint

    return {
        name: dataset_fingerprint(*load_dataset(source, target))
        for name, source in resolve_sources(datasets, None)
    }
