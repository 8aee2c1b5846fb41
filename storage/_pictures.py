"""Pictures and previews attached to trials: edge probabilities, a sampled DAG, synthetic rows.

Figures are drawn on matplotlib's Agg canvas directly (no ``pyplot``), so rendering works in
worker threads and on machines without a display, and leaves no global figure state behind.
"""

from __future__ import annotations

import io
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

from storage._errors import StorageError

if TYPE_CHECKING:
    import networkx as nx
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["csv_preview", "dag_png", "edge_probability_png"]

_TARGET_COLOR = "#e4572e"
_NODE_COLOR = "#cfe2f3"
_MAX_LABEL = 18


def _new_figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _label(node: Hashable) -> str:
    text = str(node)
    return text if len(text) <= _MAX_LABEL else text[: _MAX_LABEL - 1] + "…"


def _check_probabilities(P: Any) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    if not isinstance(P, pd.DataFrame):
        raise StorageError(
            f"Edge probabilities must be a pandas DataFrame, but got a {type(P).__name__}."
        )
    if P.shape[0] == 0 or P.shape[0] != P.shape[1] or list(P.index) != list(P.columns):
        raise StorageError(
            "Edge probabilities must be a non-empty square DataFrame whose index equals its "
            f"columns, but got shape {P.shape}."
        )
    try:
        values = P.to_numpy(dtype=float)
    except (TypeError, ValueError) as e:
        raise StorageError(f"Edge probabilities must be numbers: {e}.") from e
    if not np.isfinite(values).all() or values.min() < 0 or values.max() > 1:
        has_nan = bool(np.isnan(values).any())
        raise StorageError(
            "Edge probabilities must be finite and lie in [0, 1], but got values from "
            f"{np.nanmin(values)!r} to {np.nanmax(values)!r} (NaN: {has_nan})."
        )
    return P


def edge_probability_png(P: pd.DataFrame) -> bytes:
    """Render the probabilistic adjacency matrix as a heatmap PNG.

    Args:
        P: Square frame, ``P.loc[a, b]`` = probability of the edge ``a -> b`` over the
            bootstrap resamples; index and columns list the same nodes (features and target).

    Raises:
        StorageError: If ``P`` is not square, not labelled alike on both axes, or not in [0, 1].
    """
    P = _check_probabilities(P)
    n = P.shape[0]
    size = min(4.0 + 0.14 * n, 14.0)
    figure = _new_figure(size + 1.2, size)
    ax = figure.add_subplot()
    image = ax.imshow(P.to_numpy(dtype=float), cmap="viridis", vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="edge probability")
    every = max(1, n // 40)  # keep tick labels legible on wide datasets
    ticks = list(range(0, n, every))
    labels = [_label(P.index[i]) for i in ticks]
    ax.set_xticks(ticks, labels, rotation=90, fontsize=7)
    ax.set_yticks(ticks, labels, fontsize=7)
    ax.set_xlabel("to")
    ax.set_ylabel("from")
    ax.set_title(f"Edge probabilities ({n} nodes)")
    if n <= 12:
        for i in range(n):
            for j in range(n):
                value = float(P.iat[i, j])
                color = "black" if value > 0.6 else "white"
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7, color=color)
    return _png(figure)


def _layered_positions(dag: nx.DiGraph) -> dict[Hashable, tuple[float, float]]:
    """Causes left, effects right: one column per topological generation."""
    import networkx as nx

    if nx.is_directed_acyclic_graph(dag):
        generations = [sorted(g, key=str) for g in nx.topological_generations(dag)]
    else:  # not a DAG: one column, still drawable
        generations = [sorted(dag.nodes, key=str)]
    positions: dict[Hashable, tuple[float, float]] = {}
    for x, generation in enumerate(generations):
        for rank, node in enumerate(generation):
            positions[node] = (float(x), (len(generation) - 1) / 2.0 - rank)
    return positions


def dag_png(dag: nx.DiGraph, P: pd.DataFrame | None = None, *, target: Hashable = None) -> bytes:
    """Render a sampled DAG as a PNG; edge width and opacity follow the edge probability.

    Args:
        dag: The sampled DAG over features and target.
        P: Edge probabilities (see :func:`edge_probability_png`); ``None`` draws every edge
            alike.
        target: The target node, drawn highlighted; ``None`` uses ``dag.graph["target"]`` or
            else a node called ``"target"``.

    Raises:
        StorageError: If ``dag`` is not a directed graph, or ``P`` is malformed.
    """
    import networkx as nx

    if not isinstance(dag, nx.DiGraph):
        raise StorageError(f"A DAG must be a networkx.DiGraph, but got a {type(dag).__name__}.")
    if P is not None:
        P = _check_probabilities(P)
    if target is None:
        target = dag.graph.get("target", "target")
    positions = _layered_positions(dag)
    n_columns = 1 + max((x for x, _ in positions.values()), default=0.0)
    n_rows = 1 + max((2 * abs(y) for _, y in positions.values()), default=0.0)
    figure = _new_figure(min(3.0 + 2.2 * n_columns, 24.0), min(2.0 + 0.5 * n_rows, 30.0))
    ax = figure.add_subplot()
    for source, destination in dag.edges:
        probability = _probability(P, source, destination)
        ax.annotate(
            "",
            xy=positions[destination],
            xytext=positions[source],
            arrowprops={
                "arrowstyle": "-|>",
                "color": "#333333",
                "alpha": 0.35 + 0.65 * probability,
                "lw": 0.5 + 3.5 * probability,
                "shrinkA": 12,
                "shrinkB": 12,
                "connectionstyle": "arc3,rad=0.08",
            },
        )
    for node, (x, y) in positions.items():
        is_target = node == target
        ax.text(
            x,
            y,
            _label(node),
            ha="center",
            va="center",
            fontsize=8,
            fontweight="bold" if is_target else "normal",
            bbox={
                "boxstyle": "round,pad=0.3",
                "facecolor": _TARGET_COLOR if is_target else _NODE_COLOR,
                "edgecolor": "black" if is_target else "#6d9eeb",
                "linewidth": 2.0 if is_target else 0.8,
            },
        )
    ax.set_xlim(-0.7, n_columns - 0.3)
    half = n_rows / 2.0
    ax.set_ylim(-half, half)
    ax.axis("off")
    title = f"Sampled DAG: {dag.number_of_nodes()} nodes, {dag.number_of_edges()} edges"
    if target in dag:
        title += f" (target {_label(target)!r} highlighted)"
    ax.set_title(title, fontsize=9)
    return _png(figure)


def _probability(P: pd.DataFrame | None, source: Hashable, destination: Hashable) -> float:
    if P is None or source not in P.index or destination not in P.columns:
        return 1.0
    return float(P.at[source, destination])


def csv_preview(frame: pd.DataFrame, n: int = 50) -> bytes:
    """The first ``n`` rows of ``frame`` as UTF-8 CSV (without the index).

    Raises:
        StorageError: If ``frame`` is not a DataFrame or ``n < 1``.
    """
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise StorageError(
            f"A preview needs a pandas DataFrame, but got a {type(frame).__name__}."
        )
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise StorageError(f"`n >= 1` must hold, but got n={n!r}.")
    return frame.head(n).to_csv(index=False).encode("utf-8")
