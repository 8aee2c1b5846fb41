"""The FCI algorithm (causal-learn), returning a PAG."""

from __future__ import annotations

from typing import Any

import numpy as np

from causalmix._discovery_base import BaseDiscovery

__all__ = ["FCIDiscovery"]


class FCIDiscovery(BaseDiscovery):
    """FCI: like PC, but allows latent confounders.

    Its output (a PAG) has directed (``-->``), bidirected (``<->``), partially oriented
    (``o->``) and unoriented (``o-o``) edges.
    """

    name = "fci"

    def _run(self, data: np.ndarray, **ci_kwargs: Any) -> np.ndarray:
        from causallearn.search.ConstraintBased.FCI import fci

        graph, _ = fci(
            data,
            independence_test_method=self.ci_test_name(),
            alpha=self.alpha,
            depth=int(self.depth),
            show_progress=False,
            **ci_kwargs,
        )
        return np.asarray(graph.graph)
