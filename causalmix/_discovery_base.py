"""The plug-in point for structure discovery algorithms, and how their edge marks are counted.

An algorithm returns a matrix of **endpoint marks** in causal-learn's ``GeneralGraph``
convention: ``marks[i, j]`` is the mark at node ``i`` on the edge between ``i`` and ``j``
(0: no edge, -1: tail, 1: arrowhead, 2: circle). So ``i --> j`` is ``marks[i, j] == -1`` and
``marks[j, i] == 1``.

:func:`edge_strengths` turns one graph into per-direction strengths ``S[i, j]`` (the evidence
for ``i -> j``); averaging them over bootstrap resamples gives the probabilistic adjacency
matrix. The rule ranks the marks tail < circle < arrowhead; the end with the more arrow-like
mark is the head:

=============  ====================================  =====================
graph edge     meaning                               counted as
=============  ====================================  =====================
``i --> j``    i causes j                            ``S[i, j] = 1``
``i o-> j``    j is not an ancestor of i (FCI)       ``S[i, j] = 1``
``i --o j``    i is an ancestor of j (FCI)           ``S[i, j] = 1``
``i --- j``    either direction (PC's CPDAG)         ``S[i, j] = S[j, i] = 0.5``
``i <-> j``    latent common cause, no direction     ``S[i, j] = S[j, i] = 0.5``
``i o-o j``    undetermined (FCI)                    ``S[i, j] = S[j, i] = 0.5``
=============  ====================================  =====================

So ``S[i, j] + S[j, i]`` is 1 for adjacent nodes and 0 otherwise, and after averaging
``P[i, j] + P[j, i]`` is the bootstrap frequency of the adjacency (the skeleton strength), with
``P[i, j]`` in ``[0, 1]``. A bidirected edge is kept as an adjacency of unknown direction: the
DAGs can only express the dependence it stands for through a directed edge.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from causalmix._dg import DG_TEST_NAME, dg_class
from causalmix._fisherz import FISHERZ_TEST_NAME, fisherz_class
from causalmix._quiet import quiet

__all__ = ["ARROW", "CIRCLE", "INDEPENDENCE_TESTS", "TAIL", "BaseDiscovery", "edge_strengths"]

TAIL = -1
ARROW = 1
CIRCLE = 2

# causalmix's own tests: name -> (the name causal-learn knows it by, a factory of its CIT_Base
# subclass). A new test is one module and one line here; ci_test_name() registers each with
# causal-learn once per process.
_OWN_TESTS: dict[str, tuple[str, Callable[[], type]]] = {
    "fisherz": (FISHERZ_TEST_NAME, fisherz_class),
    "dg": (DG_TEST_NAME, dg_class),
}
_REGISTERED: set[str] = set()

INDEPENDENCE_TESTS = (*_OWN_TESTS, "chisq", "gsq", "kci")
"""Conditional independence tests the algorithms accept (``"auto"`` is resolved before).

``dg`` (degenerate Gaussian, :mod:`causalmix._dg`) is the one valid for mixed continuous and
nominal nodes: it needs the nodes' types, ``discover(data, discrete=mask)``."""

_MARK_RANK = {TAIL: 0, CIRCLE: 1, ARROW: 2}


class BaseDiscovery(abc.ABC):
    """A structure discovery algorithm: data in, endpoint marks out.

    Subclasses set :attr:`name` and implement :meth:`_run` (one causal-learn call); this base
    class handles what every algorithm needs: columns constant in the resample are left out
    (they get no edges), fewer than two usable columns give the empty graph, and the library's
    printing, progress bars and warnings are silenced.

    Args:
        indep_test: One of :data:`INDEPENDENCE_TESTS`. ``"fisherz"`` runs causalmix's
            equivalent Fisher-z test (faster, and robust to singular correlation matrices);
            ``"dg"`` the degenerate-Gaussian test for mixed types.
        alpha: Significance level of the independence tests, in ``(0, 1)``.
        depth: Largest conditioning-set size; -1 for no limit.
    """

    name: ClassVar[str]

    def __init__(self, indep_test: str = "fisherz", alpha: float = 0.05, depth: int = -1) -> None:
        self.indep_test = indep_test
        self.alpha = alpha
        self.depth = depth

    def discover(self, data: np.ndarray, discrete: np.ndarray | None = None) -> np.ndarray:
        """Run the algorithm.

        Args:
            data: The data. # (n_rows, n_nodes)
            discrete: Whether each node holds nominal level codes (read by the ``dg`` test;
                ``None``: every node is continuous). # (n_nodes,)

        Returns:
            The endpoint marks, ``int8``. # (n_nodes, n_nodes)
        """
        n_nodes = data.shape[1]
        marks = np.zeros((n_nodes, n_nodes), dtype=np.int8)
        usable = np.array([np.unique(data[:, j]).size > 1 for j in range(n_nodes)], dtype=bool)
        if usable.sum() < 2:
            return marks
        ci_kwargs: dict[str, Any] = {}
        if self.indep_test == "dg":
            mask = np.zeros(n_nodes, bool) if discrete is None else np.asarray(discrete, bool)
            ci_kwargs["discrete"] = mask[usable]
        with quiet():
            sub_marks = self._run(np.ascontiguousarray(data[:, usable], dtype=float), **ci_kwargs)
        marks[np.ix_(usable, usable)] = np.asarray(sub_marks, dtype=np.int8)
        return marks

    def ci_test_name(self) -> str:
        """The name to hand to causal-learn for :attr:`indep_test`."""
        if self.indep_test not in _OWN_TESTS:
            return self.indep_test
        name, make_class = _OWN_TESTS[self.indep_test]
        if name not in _REGISTERED:
            from causallearn.utils.cit import register_ci_test

            register_ci_test(name, make_class())
            _REGISTERED.add(name)
        return name

    @abc.abstractmethod
    def _run(self, data: np.ndarray, **ci_kwargs: Any) -> np.ndarray:
        """Run causal-learn on data without constant columns; return its graph matrix.

        ``ci_kwargs`` (``discrete=`` for the ``dg`` test, nothing for the others) go to
        causal-learn's independence test through the algorithm's ``**kwargs``.
        """

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(indep_test={self.indep_test!r}, alpha={self.alpha!r}, "
            f"depth={self.depth!r})"
        )


def edge_strengths(marks: np.ndarray) -> np.ndarray:
    """Per-direction edge strengths of one graph (see the module docstring for the rule).

    Args:
        marks: Endpoint marks in causal-learn's convention. # (n_nodes, n_nodes)

    Returns:
        ``S`` with ``S[i, j]`` in ``{0, 0.5, 1}``. # (n_nodes, n_nodes)
    """
    rank = np.zeros(marks.shape, dtype=float)
    for mark, value in _MARK_RANK.items():
        rank[marks == mark] = value
    adjacent = (marks != 0) & (marks.T != 0)
    # S[i, j]: the mark at j (marks[j, i]) must outrank the mark at i (marks[i, j]).
    strengths = np.where(rank.T > rank, 1.0, np.where(rank.T == rank, 0.5, 0.0))
    return np.where(adjacent, strengths, 0.0)
