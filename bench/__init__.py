"""The reference study's benchmark (``causalmix bench``): zero-shot, default fine-tuning,
CausalMixFT, synthetic-only training, CTGAN and per-dataset tuning, compared on the same folds.

It sits on top of the tuning service (its ``tuned`` method runs studies); nothing below
``tuner`` imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import lazy_loader

from bench._errors import BenchError

if TYPE_CHECKING:
    from bench._calibration import Scenario, SimulatedOutcome, simulate_rule_rates
    from bench._config import BenchConfig
    from bench._portfolio import build_portfolio_document
    from bench._report import comparisons_markdown
    from bench._run import run_bench
    from bench._stats import paired_comparison, paired_differences
    from bench._suite import BenchDataset, subsample

__all__ = [
    "BenchConfig",
    "BenchDataset",
    "BenchError",
    "Scenario",
    "SimulatedOutcome",
    "build_portfolio_document",
    "comparisons_markdown",
    "paired_comparison",
    "paired_differences",
    "run_bench",
    "simulate_rule_rates",
    "subsample",
]

# Each public name is imported from its module on first access (`causalmix --help` stays fast).
__getattr__, _, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "_calibration": ["Scenario", "SimulatedOutcome", "simulate_rule_rates"],
        "_config": ["BenchConfig"],
        "_portfolio": ["build_portfolio_document"],
        "_report": ["comparisons_markdown"],
        "_run": ["run_bench"],
        "_stats": ["paired_comparison", "paired_differences"],
        "_suite": ["BenchDataset", "subsample"],
    },
)


def __dir__() -> list[str]:
    return sorted(__all__)
