"""Learning a tuning portfolio from benchmark runs (``benchmarks/portfolio.py build``).

The input is a folder of benchmarks with one protocol, one per configuration: ``references/``
(``default_ft`` and ``causalmixft``) and one folder per candidate (its ``causalmixft`` runs
are the candidate). Every configuration must have run on the same (dataset, fold) pairs with
the same data, so that the scores are paired. A configuration's score on a dataset is its
mean normalized ROC-AUC (%) over the folds; :func:`search_spaces.greedy_portfolio` chooses
the portfolio after the references, once on every dataset and once without each of them.
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

__all__ = ["build_portfolio_document"]

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
) -> dict[str, Any]:
    """The portfolio file's content, learned from the benchmarks under ``runs``.

    Args:
        runs: The folder of benchmark folders.
        candidates: Candidate name -> parameter values (each has a folder ``runs/NAME``).
        size: Configurations in the portfolio at most.
        reference_dir: The references' folder under ``runs``.
        command: The command that built it, for the record.
        name: The portfolio's name.

    Raises:
        BenchError: For a missing benchmark, differing protocols, or unpaired runs.
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
    means = frame.groupby(["config", "dataset"])["normalized_roc_auc"].mean()
    datasets = sorted({dataset for dataset, _, _ in reference_pairs})
    scores = {c: {d: round(float(means[(c, d)]), 6) for d in datasets} for c in configs}
    chosen = greedy_portfolio(scores, size=size, start=REFERENCES)
    held_out = {
        dataset: greedy_portfolio(
            scores, size=size, start=REFERENCES, datasets=[d for d in datasets if d != dataset]
        )
        for dataset in datasets
    }
    folds = sorted({fold for _, fold, _ in reference_pairs})
    return {
        "name": name,
        "description": (
            "Configurations a new study evaluates after its two references, chosen by greedy "
            "coverage of the per-dataset best mean normalized ROC-AUC over the learning suite."
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
            "fixed_config": first.get("fixed_config"),
            "size": size,
        },
        "scores": scores,
    }
