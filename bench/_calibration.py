"""Simulated tuning studies with a known truth, to calibrate the export's selection rules.

No fine-tuning: each configuration's OOF scores are drawn from a binormal model over a real
row count. Every model (the zero-shot one, default fine-tuning, each other configuration) sees
the same rows: row ``i`` has a label ``y_i`` and a shared difficulty ``u_i ~ N(0, 1)``, and
a model's score is ``(d + delta + seed_sd_d * zeta) * y_i + u_i + tau * eta_i``:

- ``d`` sets the zero-shot ROC-AUC; ``delta`` a configuration's true gain (0 for a null one),
  solved so that its expected normalized ROC-AUC is the stated gain;
- ``tau * eta`` (``eta`` fresh per model and row) is the model's own row noise: it sets the
  correlation between two models' predictions;
- ``seed_sd_d * zeta`` (``zeta`` fresh per model) is the fine-tuning seed's effect on the whole
  model: a lucky seed is better on every row, so resampling rows cannot see it. It is set from
  the seed-to-seed SD in normalized points.

A study holds default fine-tuning (trial 0) and ``n_configs - 1`` other configurations, on
stratified 3-fold ids. The rules:

- ``fold_t``: the best mean of per-fold normalized ROC-AUCs, tested by a one-sided paired t bound
  over the folds against default fine-tuning (:func:`storage.select_trial`'s ``fold_t``).
- ``bbc-unconfirmed``: BBC-CV over the OOF scores (:func:`storage.bbc_gain`), exported when the
  5 % quantile of the out-of-bag differences is above 0 (what export does for a study without
  confirmation runs, e.g. ``tune --confirm-seeds 0``).
- ``bbc-rescaled``: the same estimate with the normal bound whose SD is the out-of-bag SD
  brought to all rows (tighter), alone: shown to say why it needs the confirmation.
- ``bbc+confirm`` (``tune``'s default): ``bbc-rescaled``, then the picked configuration and
  default fine-tuning are drawn again with ``confirm_seeds`` fresh seeds (new ``zeta`` and
  ``eta``), and the pick is exported only if :func:`storage.confirm_gain`'s bound over rows and
  seeds is above 0 (:mod:`tuner._confirm`, :func:`storage.select_trial`).

An export of a null configuration is a false positive; in a study with one true gain, power is
the share of studies that export that configuration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tuner._defaults import DEFAULT_CONFIRM_SEEDS

__all__ = ["Scenario", "SimulatedOutcome", "simulate_rule_rates"]

RULES = ("fold_t", "bbc-unconfirmed", "bbc-rescaled", "bbc+confirm")

N_FOLDS = 3


@dataclass(frozen=True)
class Scenario:
    """One simulated setting.

    Attributes:
        n_rows: Rows of the study.
        n_configs: Configurations, default fine-tuning included.
        gain: True normalized ROC-AUC gain (points) of the last configuration (0: all null).
        correlation: Correlation between two null models' scores.
        seed_sd: SD of one configuration's normalized ROC-AUC over fine-tuning seeds (points).
        zero_shot_auc: The zero-shot model's expected ROC-AUC.
        prevalence: Share of the positive class.
    """

    n_rows: int
    n_configs: int = 20
    gain: float = 0.0
    correlation: float = 0.97
    seed_sd: float = 0.0
    zero_shot_auc: float = 0.80
    prevalence: float = 0.4


@dataclass(frozen=True)
class SimulatedOutcome:
    """Share of studies in which each rule exported a non-reference configuration, and the one
    with the true gain."""

    scenario: Scenario
    n_studies: int
    exported: dict[str, float]
    exported_true: dict[str, float]


def _auc(separation: float, tau: float) -> float:
    from scipy.stats import norm

    return float(norm.cdf(separation / math.sqrt(2.0 * (1.0 + tau * tau))))


def _separation(auc: float, tau: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(auc) * math.sqrt(2.0 * (1.0 + tau * tau)))


def _parameters(scenario: Scenario) -> tuple[float, float, float, float]:
    """``(tau, d, delta, seed_sd_d)`` of a scenario."""
    # Two null models share y and u: corr = (1 + v) / (1 + tau^2 + v), v = d^2 p (1 - p).
    p = scenario.prevalence
    tau = 0.0
    for _ in range(50):  # fixed point: d depends on tau through the target AUC
        d = _separation(scenario.zero_shot_auc, tau)
        v = d * d * p * (1.0 - p)
        tau = math.sqrt(max((1.0 + v) * (1.0 / scenario.correlation - 1.0), 0.0))
    d = _separation(scenario.zero_shot_auc, tau)
    target = scenario.zero_shot_auc * (1.0 + scenario.gain / 100.0)
    delta = _separation(min(target, 0.9999), tau) - d
    # Normalized points per unit of separation, at d.
    step = 1e-4
    slope = (_auc(d + step, tau) - _auc(d - step, tau)) / (2 * step)
    slope_points = 100.0 * slope / scenario.zero_shot_auc
    return tau, d, delta, scenario.seed_sd / slope_points


def _draw(
    rng: np.random.Generator,
    y: np.ndarray,
    u: np.ndarray,
    separation: float,
    tau: float,
    seed_sd_d: float,
) -> np.ndarray:
    score = (separation + seed_sd_d * rng.normal()) * y + u + tau * rng.normal(size=len(y))
    p1 = 1.0 / (1.0 + np.exp(-score))
    return np.column_stack([1.0 - p1, p1])


def _fold_t_export(
    candidates: list[np.ndarray], zero_shot: np.ndarray, y: np.ndarray, folds: np.ndarray
) -> int | None:
    from scipy import stats

    from storage import fold_auc

    full = np.ones((1, len(y)))
    base = fold_auc(zero_shot, y, folds, full)[0]
    per_fold = np.array(
        [(fold_auc(c, y, folds, full)[0] / base - 1.0) * 100.0 for c in candidates]
    )  # (C, K)
    means = per_fold.mean(axis=1)
    best = int(np.argmax(means))
    if best == 0:
        return None
    differences = per_fold[best] - per_fold[0]
    sd = float(np.std(differences, ddof=1))
    if sd <= 1e-12:
        return None
    bound = differences.mean() - stats.t.ppf(0.95, N_FOLDS - 1) * sd / math.sqrt(N_FOLDS)
    return best if bound > 0 else None


def simulate_rule_rates(
    scenario: Scenario,
    n_studies: int = 200,
    *,
    n_boot: int = 500,
    seed: int = 0,
    rules: tuple[str, ...] = RULES,
    confirm_seeds: int = DEFAULT_CONFIRM_SEEDS,
) -> SimulatedOutcome:
    """Run ``n_studies`` simulated studies of ``scenario`` under each rule (``bbc+confirm``
    with ``confirm_seeds`` fresh seeds, as ``tune --confirm-seeds``).

    Returns:
        The share of studies in which each rule exported a non-reference configuration, and
        the share in which it exported the configuration with the true gain.
    """
    from storage import bbc_gain, confirm_gain

    tau, d, delta, seed_sd_d = _parameters(scenario)
    n = scenario.n_rows
    n_positive = round(scenario.prevalence * n)
    exported = {rule: 0 for rule in rules}
    exported_true = {rule: 0 for rule in rules}
    true_index = scenario.n_configs - 1 if scenario.gain != 0 else None
    for study in range(n_studies):
        rng = np.random.default_rng([seed, study])
        y = rng.permutation(np.r_[np.ones(n_positive), np.zeros(n - n_positive)]).astype(int)
        folds = np.empty(n, dtype=np.int64)
        for label in (0, 1):
            members = rng.permutation(np.flatnonzero(y == label))
            folds[members] = np.arange(len(members)) % N_FOLDS
        u = rng.normal(size=n)
        zero_shot = _draw(rng, y, u, d, tau, 0.0)
        separations = [d] * scenario.n_configs
        if true_index is not None:
            separations[true_index] = d + delta
        candidates = [_draw(rng, y, u, s, tau, seed_sd_d) for s in separations]
        choice: dict[str, int | None] = {}
        if "fold_t" in rules:
            choice["fold_t"] = _fold_t_export(candidates, zero_shot, y, folds)
        if {"bbc-unconfirmed", "bbc-rescaled", "bbc+confirm"} & set(rules):
            result = bbc_gain(candidates, 0, zero_shot, y, folds, n_boot=n_boot, seed=study)
            passed = result.percentile_bound > 0 and result.picked != 0
            choice["bbc-unconfirmed"] = result.picked if passed else None
            picked = result.picked if result.rescaled_bound > 0 and result.picked != 0 else None
            choice["bbc-rescaled"] = picked
            if "bbc+confirm" in rules:
                confirmed = None
                if picked is not None:
                    fresh = [
                        _draw(rng, y, u, separations[picked], tau, seed_sd_d)
                        for _ in range(confirm_seeds)
                    ]
                    fresh_default = [
                        _draw(rng, y, u, d, tau, seed_sd_d) for _ in range(confirm_seeds)
                    ]
                    check = confirm_gain(
                        fresh, fresh_default, zero_shot, y, folds, n_boot=n_boot, seed=study + 1
                    )
                    confirmed = picked if check.lower_bound > 0 else None
                choice["bbc+confirm"] = confirmed
        for rule in rules:
            if choice.get(rule) is not None:
                exported[rule] += 1
                exported_true[rule] += int(choice[rule] == true_index)
    return SimulatedOutcome(
        scenario,
        n_studies,
        {rule: exported[rule] / n_studies for rule in rules},
        {rule: exported_true[rule] / n_studies for rule in rules},
    )
