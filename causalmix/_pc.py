"""The PC algorithm (causal-learn), returning a CPDAG."""

from __future__ import annotations

from typing import Any

import numpy as np

from causalmix._discovery_base import BaseDiscovery

__all__ = ["PCDiscovery"]


class PCDiscovery(BaseDiscovery):
    """PC (stable skeleton search, then collider and Meek orientation rules).

    Its output has directed (``-->``) and undirected (``---``) edges, rarely bidirected ones
    (``<->``) when collider orientations conflict.
    """

    name = "pc"

    def _run(self, data: np.ndarray, **ci_kwargs: Any) -> np.ndarray:
        from causallearn.search.ConstraintBased.PC import pc

        graph = pc(
            data,
            alpha=self.alpha,
            indep_test=self.ci_test_name(),
            stable=True,
            show_progress=False,
            max_k=None if self.depth < 0 else self.depth,
            **ci_kwargs,
        )
        return np.asarray(graph.G.graph)
