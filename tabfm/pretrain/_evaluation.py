"""Evaluation during pretraining: held-out prior tasks, threshold probes, a real-data panel."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from tabfm._device import autocast
from tabfm._prior import curriculum, sample_batch
from tabfm.pretrain._config import PretrainConfig

_EVAL_SEED = 987_654  # held-out prior tasks use seeds no training step uses


def evaluate(
    model: Any,
    device: Any,
    panel: list[Path] | None = None,
    config: PretrainConfig | None = None,
) -> dict[str, float]:
    """Held-out prior loss / ROC-AUC, in-context-learning probes and the real-data panel."""
    metrics = _evaluate_prior(model, device, config or PretrainConfig())
    metrics.update(probe_scores(model, device))
    if panel:
        metrics.update(_evaluate_panel(model, device, panel))
    return metrics


def _evaluate_prior(model: Any, device: Any, config: PretrainConfig) -> dict[str, float]:
    import torch
    import torch.nn.functional as F

    from tabfm._metrics import roc_auc

    losses, aucs = [], []
    model.eval()
    stage = curriculum(1.0, config.max_rows, config.max_features)
    for index in range(config.eval_batches):
        rng = np.random.default_rng([_EVAL_SEED, index])
        batch = sample_batch(rng, stage, max_cells=config.max_cells)
        x = torch.from_numpy(batch.x).to(device)
        y = torch.from_numpy(batch.y).to(device)
        with torch.inference_mode(), autocast(device):
            logits = model(x, y[:, : batch.n_context], torch.from_numpy(batch.n_classes))
        logits = logits.float()
        losses.append(
            float(F.cross_entropy(logits.flatten(0, 1), y[:, batch.n_context :].flatten()))
        )
        for task in range(len(batch.x)):
            k = int(batch.n_classes[task])
            proba = torch.softmax(logits[task, :, :k], -1).cpu().numpy()
            auc = roc_auc(batch.y[task, batch.n_context :], proba, np.arange(k))
            if not math.isnan(auc):
                aucs.append(auc)
    return {"prior_loss": float(np.mean(losses)), "prior_auc": float(np.mean(aucs))}


def prior_task_losses(
    model: Any, device: Any, config: PretrainConfig | None = None, n_batches: int = 64
) -> np.ndarray:
    """Each held-out prior task's cross-entropy on its query rows, task by task.

    The tasks are those of the logged ``prior_loss`` (the same seeds, continued past
    ``eval_batches``), so two models are compared on the same tasks: a paired comparison.
    """
    import torch
    import torch.nn.functional as F

    config = config or PretrainConfig()
    stage = curriculum(1.0, config.max_rows, config.max_features)
    model.eval()
    losses: list[float] = []
    for index in range(n_batches):
        batch = sample_batch(np.random.default_rng([_EVAL_SEED, index]), stage, config.max_cells)
        x = torch.from_numpy(batch.x).to(device)
        y = torch.from_numpy(batch.y).to(device)
        with torch.inference_mode(), autocast(device):
            logits = model(x, y[:, : batch.n_context], torch.from_numpy(batch.n_classes))
        per_row = F.cross_entropy(
            logits.float().transpose(1, 2), y[:, batch.n_context :], reduction="none"
        )  # (tasks, query rows)
        losses.extend(per_row.mean(dim=1).cpu().tolist())
    return np.asarray(losses)


def probe_tasks(seed: int = 0, n_rows: int = 256) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Tasks with known answers; a model that uses its context scores ROC-AUC ~1 on them."""
    rng = np.random.default_rng([seed, 12345])
    x = rng.normal(size=(n_rows, 5)).astype(np.float32)
    weights = rng.normal(size=5)
    return {
        "probe_x0_gt_0": (x, (x[:, 0] > 0).astype(np.int64)),
        "probe_x0_lt_0": (x, (x[:, 0] < 0).astype(np.int64)),
        "probe_linear": (x, (x @ weights > 0).astype(np.int64)),
        "probe_xor": (x, (x[:, 0] * x[:, 1] > 0).astype(np.int64)),
        "probe_3_bands": (x, np.digitize(x[:, 2], [-0.5, 0.5]).astype(np.int64)),
    }


def probe_scores(model: Any, device: Any) -> dict[str, float]:
    """ROC-AUC of the model on each :func:`probe_tasks` task (half context, half query)."""
    from tabfm._classifier import predict_proba_ensemble
    from tabfm._metrics import roc_auc

    scores = {}
    for name, (x, y) in probe_tasks().items():
        half = len(y) // 2
        n_classes = int(y.max()) + 1
        proba = predict_proba_ensemble(
            model, x[:half], y[:half], x[half:], n_classes, n_estimators=1, device=device
        )
        scores[name] = roc_auc(y[half:], proba, np.arange(n_classes))
    return scores


def _evaluate_panel(model: Any, device: Any, panel: list[Path]) -> dict[str, float]:
    import pandas as pd
    from sklearn.model_selection import train_test_split

    from tabfm._classifier import TabFMClassifier
    from tabfm._metrics import roc_auc

    scores = {}
    for path in panel:
        frame = pd.read_csv(path)
        y, X = frame["target"], frame.drop(columns=["target"])
        X_train, X_test, y_train, y_test = train_test_split(
            X,
            y,
            train_size=min(500, len(y) // 2),
            test_size=min(500, len(y) // 2),
            stratify=y,
            random_state=0,
        )
        # Without category shuffles (an inference-time choice added after the recipe card's
        # histories were logged), so that panel values stay comparable across training runs.
        classifier = TabFMClassifier(
            model, n_estimators=2, device=str(device), categorical_max_levels=0
        ).fit(X_train, y_train)
        scores[f"panel_{Path(path).stem}"] = roc_auc(
            y_test, classifier.predict_proba(X_test), classifier.classes_
        )
    scores["panel_mean"] = float(np.mean(list(scores.values())))
    return scores


def _format_record(record: dict[str, float]) -> str:
    parts = [f"step {int(record['step'])}", f"{record['seconds'] / 60:.1f} min"]
    parts += [f"{k}={v:.3f}" for k, v in record.items() if k not in ("step", "seconds")]
    return " ".join(parts)
