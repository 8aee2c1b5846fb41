"""Turning a mixed-type table into model-ready columns, and synthetic columns back into the
table's own types.

Each feature column is classified once:

- **constant**: a single distinct non-missing value. It is not a node of the graph; it is
  restored in the output (with its missing-value rate).
- **discrete**: booleans, strings, categoricals and other non-numeric columns, numeric columns
  with at most two distinct values, and integer-valued numeric columns with at most
  :data:`MAX_DISCRETE_LEVELS` distinct values. Internally a discrete value is the string form
  of its level index (``"0"``, ``"1"``, ...), the form DoWhy treats as categorical.
- **continuous**: every other numeric column. Internally it is standardised (mean 0, std 1);
  in the output it is clipped to the observed range and rounded when every observed value is
  an integer.

The target is always discrete. Missing values are imputed by a seeded hot-deck draw from the
observed values of the same column within the same class (falling back to the whole column),
which keeps the marginals and the class-conditional marginals; the per-column missing rate is
re-inserted (completely at random) in the synthetic rows.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["CONSTANT", "CONTINUOUS", "DISCRETE", "MAX_DISCRETE_LEVELS", "ColumnSpec", "TableCodec"]

CONTINUOUS = "continuous"
DISCRETE = "discrete"
CONSTANT = "constant"

MAX_DISCRETE_LEVELS = 10
"""Integer-valued numeric columns with at most this many levels are modelled as discrete."""

_CHISQ_BINS = 5


@dataclass(frozen=True)
class ColumnSpec:
    """How one column is modelled and how to restore its values and dtype."""

    label: Hashable
    node: str
    kind: str
    dtype: Any
    missing_rate: float = 0.0
    categories: tuple[Any, ...] = ()
    low: float = 0.0
    high: float = 0.0
    mean: float = 0.0
    scale: float = 1.0
    integer: bool = False


class TableCodec:
    """The model view of a classification table ``(X, y)``.

    Attributes:
        features: One :class:`ColumnSpec` per column of ``X``, in order.
        target: The target's spec (always discrete).
        nodes: Graph node names: the non-constant features, then the target (last).
        node_specs: The specs of ``nodes``, in the same order.
        frame: The imputed model frame, one column per node: standardised floats for
            continuous nodes, level strings for discrete ones. # (n_rows, n_nodes)
        matrix: The same values as floats (discrete nodes as level indices). # (n_rows, n_nodes)
        discrete: Whether each node is discrete. # (n_nodes,)
        class_codes: The target's level index per row. # (n_rows,)
    """

    def __init__(self, X: pd.DataFrame, y: pd.Series, target: str, seed: int) -> None:
        class_codes, target_spec = _encode_target(y, target)
        self.target = target_spec
        self.class_codes = class_codes
        rng = np.random.default_rng([seed, 0x1A7E])
        self.features: list[ColumnSpec] = []
        columns: list[np.ndarray] = []
        for label in X.columns:
            spec, values = _encode_column(X[label], label, class_codes, rng)
            self.features.append(spec)
            if spec.kind != CONSTANT:
                columns.append(values)
        self.node_specs = [s for s in self.features if s.kind != CONSTANT] + [target_spec]
        self.nodes = [s.node for s in self.node_specs]
        self.matrix = np.column_stack([*columns, class_codes.astype(float)])
        self.discrete = np.array([s.kind == DISCRETE for s in self.node_specs])
        self.frame = pd.DataFrame(
            {
                spec.node: _level_strings(self.matrix[:, i])
                if spec.kind == DISCRETE
                else self.matrix[:, i]
                for i, spec in enumerate(self.node_specs)
            },
            columns=self.nodes,
        )

    @property
    def n_classes(self) -> int:
        return len(self.target.categories)

    def discovery_matrix(self, indep_test: str) -> np.ndarray:
        """The node matrix as the independence test needs it.

        Contingency-table tests (``chisq``, ``gsq``) cannot take continuous columns: those are
        binned into at most 5 quantile bins. Other tests get level indices and standardised
        values as they are.
        """
        if indep_test not in ("chisq", "gsq"):
            return self.matrix
        matrix = self.matrix.copy()
        for i in np.flatnonzero(~self.discrete):
            edges = np.unique(np.quantile(matrix[:, i], np.linspace(0, 1, _CHISQ_BINS + 1)[1:-1]))
            matrix[:, i] = np.searchsorted(edges, matrix[:, i], side="right")
        return matrix

    def decode(
        self, frame: pd.DataFrame, rng: np.random.Generator
    ) -> tuple[pd.DataFrame, pd.Series]:
        """Turn model-frame rows back into ``(X, y)`` with the original columns and dtypes.

        Missing values are re-inserted at each column's real rate.
        """
        n_rows = len(frame)
        columns = {}
        for spec in self.features:
            if spec.kind == CONSTANT:
                values = np.full(n_rows, spec.categories[0], dtype=object)
            else:
                values = _decode_values(frame[spec.node].to_numpy(), spec)
            missing = rng.random(n_rows) < spec.missing_rate
            columns[spec.label] = _restore_dtype(values, missing, spec.dtype)
        X = pd.DataFrame(columns, index=pd.RangeIndex(n_rows))
        X.columns = pd.Index([spec.label for spec in self.features])
        labels = _decode_values(frame[self.target.node].to_numpy(), self.target)
        y = _restore_dtype(labels, np.zeros(n_rows, dtype=bool), self.target.dtype)
        y.name = self.target.label
        return X, y


def _encode_target(y: pd.Series, target: str) -> tuple[np.ndarray, ColumnSpec]:
    categories = _levels(y)
    codes = _level_indices(y, categories)
    spec = ColumnSpec(
        label=y.name, node=target, kind=DISCRETE, dtype=y.dtype, categories=categories
    )
    return codes, spec


def _encode_column(
    values: pd.Series, label: Hashable, class_codes: np.ndarray, rng: np.random.Generator
) -> tuple[ColumnSpec, np.ndarray]:
    missing = values.isna().to_numpy()
    missing_rate = float(missing.mean())
    observed = values[~missing]
    node = str(label)
    levels = _levels(observed)
    if len(levels) == 1:
        spec = ColumnSpec(label, node, CONSTANT, values.dtype, missing_rate, categories=levels)
        return spec, np.zeros(len(values))
    if _is_discrete(observed, len(levels)):
        spec = ColumnSpec(label, node, DISCRETE, values.dtype, missing_rate, categories=levels)
        encoded = np.full(len(values), np.nan)
        encoded[~missing] = _level_indices(observed, levels)
        return spec, _hot_deck(encoded, class_codes, rng)
    numbers = observed.to_numpy(dtype=float)
    raw = np.full(len(values), np.nan)
    raw[~missing] = numbers
    mean, scale = float(numbers.mean()), float(numbers.std()) or 1.0
    spec = ColumnSpec(
        label,
        node,
        CONTINUOUS,
        values.dtype,
        missing_rate,
        low=float(numbers.min()),
        high=float(numbers.max()),
        mean=mean,
        scale=scale,
        integer=bool(np.all(numbers == np.round(numbers))),
    )
    return spec, (_hot_deck(raw, class_codes, rng) - mean) / scale


def _is_discrete(observed: pd.Series, n_levels: int) -> bool:
    dtype = observed.dtype
    if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        return True
    if n_levels <= 2:
        return True
    numbers = observed.to_numpy(dtype=float)
    return n_levels <= MAX_DISCRETE_LEVELS and bool(np.all(numbers == np.round(numbers)))


def _levels(values: pd.Series) -> tuple[Any, ...]:
    """The distinct non-missing values in a stable order (sorted when they can be sorted)."""
    observed = values.dropna()
    if isinstance(values.dtype, pd.CategoricalDtype):
        present = set(observed.unique())
        return tuple(c for c in values.dtype.categories if c in present)
    unique = list(pd.unique(observed))
    try:
        return tuple(sorted(unique))
    except TypeError:  # mixed types (e.g. numbers and strings in an object column)
        return tuple(unique)


def _level_indices(values: pd.Series, levels: tuple[Any, ...]) -> np.ndarray:
    lookup = {level: i for i, level in enumerate(levels)}
    return np.array([lookup[v] for v in values.to_numpy(dtype=object)], dtype=np.int64)


def _level_strings(indices: np.ndarray) -> np.ndarray:
    return np.array([str(int(i)) for i in indices], dtype=object)


def _hot_deck(values: np.ndarray, class_codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    missing = np.isnan(values)
    if not missing.any():
        return values
    filled = values.copy()
    for code in np.unique(class_codes[missing]):
        rows = missing & (class_codes == code)
        donors = values[~missing & (class_codes == code)]
        if len(donors) == 0:
            donors = values[~missing]
        filled[rows] = rng.choice(donors, size=int(rows.sum()))
    return filled


def _decode_values(internal: np.ndarray, spec: ColumnSpec) -> np.ndarray:
    if spec.kind == DISCRETE:
        indices = np.asarray(internal).astype(float).astype(np.int64)
        indices = np.clip(indices, 0, len(spec.categories) - 1)
        levels = np.empty(len(spec.categories), dtype=object)
        levels[:] = list(spec.categories)
        return levels[indices]
    numbers = np.asarray(internal, dtype=float) * spec.scale + spec.mean
    numbers = np.clip(numbers, spec.low, spec.high)
    return np.round(numbers) if spec.integer else numbers


def _restore_dtype(values: np.ndarray, missing: np.ndarray, dtype: Any) -> pd.Series:
    if isinstance(dtype, pd.CategoricalDtype):
        cells = np.asarray(values, dtype=object)
        cells[missing] = None
        return pd.Series(pd.Categorical(cells, dtype=dtype))
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        numbers = np.asarray(values, dtype=dtype)
        numbers[missing] = np.nan
        return pd.Series(numbers)
    if isinstance(dtype, np.dtype) and dtype.kind in "iub" and not missing.any():
        return pd.Series(np.asarray(values).astype(dtype))
    cells = np.asarray(values, dtype=object)
    cells[missing] = None
    if isinstance(dtype, np.dtype) and dtype.kind in "iub":
        return pd.Series(cells, dtype=object)  # an int/bool column that never had gaps
    return pd.Series(cells).astype(dtype)
