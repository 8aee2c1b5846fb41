"""The tuning service's defaults, written once for the Python API and the command line.

This module imports nothing, so that the CLI's parsers can show the defaults without loading
the libraries behind them.
"""

from __future__ import annotations

DEFAULT_SPACE = "default"
"""The search space a study uses unless told otherwise."""

DEFAULT_PORTFOLIO = "default"
"""The portfolio a new study evaluates after its references (``"none"``: none)."""

DEFAULT_N_TRIALS = 20
"""Finished trials a study runs to (a total: resuming continues to it)."""

DEFAULT_N_FOLDS = 3
"""Inner cross-validation folds per trial."""

DEFAULT_ARTIFACT_DIR = "causalmix_artifacts"
"""Where trial artifacts (heatmaps, DAGs, synthetic previews) go."""

PRUNERS = ("auto", "wilcoxon", "median", "forgiving", "hyperband", "none")
"""Pruner names; ``auto`` is Wilcoxon with 5 or more folds, else the median pruner;
``forgiving`` is early-stopping cross-validation (:class:`tuner._pruners.ForgivingPruner`);
``hyperband`` is Optuna's Hyperband over the fine-tuning budget, one epoch the unit."""

DEFAULT_DISCOVERY_TIMEOUT = 1800.0
"""Seconds a trial's structure discovery may take per fold before the trial is pruned. On
MiceProtein (78 nodes, one thread) PC with ``dg`` took 1,345 s over a trial's 3 folds (about
450 s per fold) in one evidence study, and one such trial ran 92 minutes in all in another
(its per-fold discovery time was not stored); FCI with ``dg`` there ran for 90 minutes and was
killed by the kernel at 17.8 GB. ``None`` (``--discovery-timeout 0``): no limit."""

DEFAULT_CONFIRM_SEEDS = 3
"""Fresh fine-tuning seeds with which ``tune`` confirms a pick that passed BBC-CV: with 3 the
seed noise is estimated with 2 degrees of freedom (1 seed cannot estimate it, and with 2 the
t quantile, 6.31, leaves no power: README, "Selection, calibrated")."""
