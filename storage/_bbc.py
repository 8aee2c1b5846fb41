"""Bootstrap bias-corrected cross-validation (BBC-CV) over the trials' OOF predictions.

Tsamardinos, Greasidou and Borboudakis, "Bootstrapping the out-of-sample predictions for
efficient and accurate cross-validation", Machine Learning 107 (2018). Picking the best of N
noisy configurations and reporting its cross-validated score overstates it (the winner's
curse). BBC-CV estimates what the whole protocol "tune, then pick the best" delivers, without
training anything again: in each of B bootstrap resamples of the rows, the configuration with
the best in-bag score is picked and scored on the out-of-bag rows.

Here every score is the objective's own: per inner fold the macro one-vs-rest ROC-AUC,
normalized against the zero-shot model on the same rows, averaged over the folds. Resamples are
stratified by fold and class (each fold keeps its size and class counts), and weighted ROC-AUCs
count a row drawn twice twice. The recorded quantity per resample is the picked
configuration's out-of-bag score minus the default reference's on the same out-of-bag rows, so
that the estimate is a paired gain of "tune, then pick" over default fine-tuning.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

__all__ = [
    "BBCResult",
    "ConfirmResult",
    "bbc_gain",
    "confirm_gain",
    "fold_auc",
    "normalized_score",
    "stratified_bootstrap_counts",
    "weighted_auc",
]


def stratified_bootstrap_counts(strata: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """How often each row is drawn in each of ``n_boot`` resamples stratified by ``strata``.

    Returns:
        ``(n_boot, n)`` integer counts; each stratum's counts sum to its size in every row.
    """
    rng = np.random.default_rng(seed)
    strata = np.asarray(strata)
    counts = np.zeros((n_boot, len(strata)), dtype=np.float64)
    for stratum in np.unique(strata):
        members = np.flatnonzero(strata == stratum)
        size = len(members)
        counts[:, members] = rng.multinomial(size, np.full(size, 1.0 / size), size=n_boot)
    return counts


def _fold_class_counts(
    labels: np.ndarray, folds: np.ndarray, n_boot: int, seed: int
) -> np.ndarray:
    """Bootstrap counts stratified by (fold, class): each fold keeps its size and class counts."""
    return stratified_bootstrap_counts(folds * (labels.max() + 1) + labels, n_boot, seed)


def weighted_auc(scores: np.ndarray, positive: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """ROC-AUC of ``scores`` for ``positive`` under each row of ``weights`` (ties count half).

    Args:
        scores: ``(n,)`` scores.
        positive: ``(n,)`` booleans.
        weights: ``(B, n)`` non-negative row weights.

    Returns:
        ``(B,)`` AUCs; NaN where a weighting has no positive or no negative weight.
    """
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    w = weights[:, order]
    pos = positive[order]
    pos_w = np.add.reduceat(w * pos, starts, axis=1)  # (B, G): per tie group
    neg_w = np.add.reduceat(w * ~pos, starts, axis=1)
    below = np.cumsum(neg_w, axis=1) - neg_w
    numerator = (pos_w * (below + 0.5 * neg_w)).sum(axis=1)
    denominator = pos_w.sum(axis=1) * neg_w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / denominator, np.nan)


def fold_auc(
    proba: np.ndarray, labels: np.ndarray, folds: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """Per-fold ROC-AUC as :func:`tabfm.roc_auc` computes it (binary: the second class;
    otherwise the macro one-vs-rest mean over the classes present), under each weighting.

    Returns:
        ``(B, n_folds)`` AUCs.
    """
    fold_ids = np.unique(folds)
    n_classes = proba.shape[1]
    result = np.full((weights.shape[0], len(fold_ids)), np.nan)
    for j, fold in enumerate(fold_ids):
        rows = folds == fold
        w = weights[:, rows]
        y = labels[rows]
        p = proba[rows]
        if n_classes == 2:
            result[:, j] = weighted_auc(p[:, 1], y == 1, w)
            continue
        per_class = [weighted_auc(p[:, c], y == c, w) for c in range(n_classes) if np.any(y == c)]
        if len(per_class) >= 2:
            # A class drawn zero times in a resample has no AUC there: it is left out.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                result[:, j] = np.nanmean(np.vstack(per_class), axis=0)
    return result


def normalized_score(auc: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    """Mean over folds of ``(auc / baseline - 1) * 100`` (folds without a value left out)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        values = (auc / baseline - 1.0) * 100.0
        values = np.where(np.isfinite(values), values, np.nan)
    counts = np.sum(~np.isnan(values), axis=-1)
    total = np.nansum(values, axis=-1)
    return np.where(counts > 0, total / np.maximum(counts, 1), np.nan)


@dataclass(frozen=True)
class BBCResult:
    """What :func:`bbc_gain` found.

    Attributes:
        picked: Index of the configuration with the best score on all rows (the one exported
            when ``lower_bound > 0``).
        scores: ``(C,)`` each configuration's score on all rows (the objective's value,
            recomputed from the OOF predictions).
        estimate: The bias-corrected gain: the mean over resamples of the out-of-bag score of
            the in-bag pick minus the reference's (normalized ROC-AUC points).
        lower_bound: The one-sided lower bound of the kind asked for (``bound``).
        percentile_bound: The ``1 - confidence`` quantile of those differences.
        rescaled_bound: ``estimate - z * sd * sqrt(f)``, the out-of-bag SD brought to all rows.
        p_value: The share of resamples whose difference is not above 0.
        deltas: ``(B,)`` the differences.
        pick_share: ``(C,)`` how often each configuration was the in-bag pick.
        n_boot: Resamples used.
    """

    picked: int
    scores: np.ndarray
    estimate: float
    lower_bound: float
    percentile_bound: float
    rescaled_bound: float
    p_value: float
    deltas: np.ndarray
    pick_share: np.ndarray
    n_boot: int


def bbc_gain(
    candidates: list[np.ndarray],
    reference: int,
    zero_shot: np.ndarray,
    labels: np.ndarray,
    folds: np.ndarray,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    bound: str = "percentile",
) -> BBCResult:
    """BBC-CV of "pick the best of ``candidates``" against ``candidates[reference]``.

    Args:
        candidates: ``C`` arrays ``(n, n_classes)`` of OOF probabilities on every row.
        reference: Index of the default reference among ``candidates``.
        zero_shot: ``(n, n_classes)`` the zero-shot model's OOF probabilities (normalization).
        labels: ``(n,)`` class indices.
        folds: ``(n,)`` inner fold ids.
        n_boot: Bootstrap resamples.
        seed: Seed of the resamples.
        confidence: One-sided confidence of the lower bound.
        bound: ``"percentile"``: the ``1 - confidence`` quantile of the out-of-bag differences
            (each from ~37 % of the rows, so far wider than the estimate's own spread);
            ``"rescaled"``: the normal bound ``estimate - z * sd * sqrt(f)``, where ``f`` is
            the mean out-of-bag share of the rows, i.e. the out-of-bag SD brought to all rows.

    Returns:
        A :class:`BBCResult`. Ties between in-bag scores go to the lower index, so list the
        reference first to let ties favour it.
    """
    labels = np.asarray(labels)
    folds = np.asarray(folds)
    counts = _fold_class_counts(labels, folds, n_boot, seed)
    out_of_bag = (counts == 0).astype(np.float64)
    full = np.ones((1, len(labels)))
    base_full = fold_auc(zero_shot, labels, folds, full)
    base_in = fold_auc(zero_shot, labels, folds, counts)
    base_out = fold_auc(zero_shot, labels, folds, out_of_bag)
    scores = np.empty(len(candidates))
    in_bag = np.empty((len(candidates), n_boot))
    out_bag = np.empty((len(candidates), n_boot))
    for c, proba in enumerate(candidates):
        scores[c] = normalized_score(fold_auc(proba, labels, folds, full), base_full)[0]
        in_bag[c] = normalized_score(fold_auc(proba, labels, folds, counts), base_in)
        out_bag[c] = normalized_score(fold_auc(proba, labels, folds, out_of_bag), base_out)
    # argmax takes the first maximum: ties go to the lower index.
    picks = np.argmax(np.where(np.isnan(in_bag), -np.inf, in_bag), axis=0)
    deltas = out_bag[picks, np.arange(n_boot)] - out_bag[reference]
    deltas = deltas[np.isfinite(deltas)]
    picked = int(np.argmax(np.where(np.isnan(scores), -np.inf, scores)))
    nan = float("nan")
    estimate = percentile = rescaled = percentile_p = rescaled_p = nan
    if deltas.size > 1:
        from scipy.stats import norm

        estimate = float(np.mean(deltas))
        percentile = float(np.quantile(deltas, 1.0 - confidence))
        percentile_p = float(np.mean(deltas <= 0.0))
        error = float(np.std(deltas, ddof=1)) * math.sqrt(float(out_of_bag.mean()))
        rescaled = estimate - float(norm.ppf(confidence)) * error
        rescaled_p = float(norm.sf(estimate / error)) if error > 0 else float(estimate <= 0)
    return BBCResult(
        picked=picked,
        scores=scores,
        estimate=estimate,
        lower_bound=percentile if bound == "percentile" else rescaled,
        percentile_bound=percentile,
        rescaled_bound=rescaled,
        p_value=percentile_p if bound == "percentile" else rescaled_p,
        deltas=deltas,
        pick_share=np.bincount(picks, minlength=len(candidates)) / n_boot,
        n_boot=n_boot,
    )


@dataclass(frozen=True)
class ConfirmResult:
    """What :func:`confirm_gain` found.

    Attributes:
        estimate: Mean over the fresh seeds of the pick's normalized score minus default
            fine-tuning's (all rows).
        lower_bound: The one-sided lower bound (see :func:`confirm_gain`).
        row_se: The row bootstrap's SD of that difference (predictions averaged over seeds).
        seed_sd: SD of the per-seed differences (NaN with one seed).
        n_seeds: Fresh seeds.
    """

    estimate: float
    lower_bound: float
    row_se: float
    seed_sd: float
    n_seeds: int


def confirm_gain(
    picked_runs: list[np.ndarray],
    default_runs: list[np.ndarray],
    zero_shot: np.ndarray,
    labels: np.ndarray,
    folds: np.ndarray,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> ConfirmResult:
    """The gain of a pick over default fine-tuning on runs with fresh fine-tuning seeds.

    Run ``s`` of each (the same seed offset) gives a paired difference ``D_s`` of normalized
    scores on all rows. Two noises blur their mean: the rows (a paired bootstrap of the rows,
    stratified by fold and class, on the seed-averaged predictions: ``row_se``) and the seeds
    (``seed_sd / sqrt(S)``). With ``S >= 2`` seeds the bound is ``mean - t(S - 1) * sqrt(row_se^2
    + seed_sd^2 / S)``, Student's quantile because ``seed_sd`` is estimated from ``S`` values
    (the per-seed differences also carry row noise, so this is conservative). With one seed the
    seed noise cannot be estimated: the bound is the bootstrap's ``1 - confidence`` quantile,
    which covers the rows only.
    """
    from scipy import stats

    labels, folds = np.asarray(labels), np.asarray(folds)
    full = np.ones((1, len(labels)))
    base = fold_auc(zero_shot, labels, folds, full)

    def score(proba: np.ndarray, weights: np.ndarray, baseline: np.ndarray) -> np.ndarray:
        return normalized_score(fold_auc(proba, labels, folds, weights), baseline)

    differences = np.array(
        [
            score(a, full, base)[0] - score(b, full, base)[0]
            for a, b in zip(picked_runs, default_runs)
        ]
    )
    counts = _fold_class_counts(labels, folds, n_boot, seed)
    base_boot = fold_auc(zero_shot, labels, folds, counts)
    deltas = score(np.mean(picked_runs, axis=0), counts, base_boot) - score(
        np.mean(default_runs, axis=0), counts, base_boot
    )
    deltas = deltas[np.isfinite(deltas)]
    n_seeds = len(differences)
    estimate = float(np.mean(differences))
    row_se = float(np.std(deltas, ddof=1)) if deltas.size > 1 else float("nan")
    if n_seeds >= 2:
        seed_sd = float(np.std(differences, ddof=1))
        error = math.sqrt(row_se**2 + seed_sd**2 / n_seeds)
        bound = estimate - float(stats.t.ppf(confidence, n_seeds - 1)) * error
    else:
        seed_sd = float("nan")
        bound = float(np.quantile(deltas, 1.0 - confidence)) if deltas.size else float("nan")
    return ConfirmResult(estimate, bound, row_se, seed_sd, n_seeds)
