"""The degenerate-Gaussian (DG) conditional independence test, for mixed continuous and nominal
variables (Andrews, Ramsey & Cooper, 2019, "Learning high-dimensional directed acyclic graphs
with mixed data-types", PMLR 104).

Each nominal variable with ``L`` levels is embedded as ``L - 1`` level indicators (the first
level is the reference; a level absent from the data is dropped), each continuous variable as
itself. ``X`` and ``Y`` are independent given ``Z`` when adding the embedding of ``Y`` to a
linear regression of the embedding of ``X`` on the embedding of ``Z`` does not shrink the
residual covariance:

    LR = n * (log det R(X | Z) - log det R(X | Y, Z))  ~  chi2(|X| * |Y|)

with ``R(A | S) = C_AA - C_AS C_SS^+ C_SA`` from the correlation matrix ``C`` of the embedded
columns, ``|X|`` the number of columns of ``X``'s embedding. For two continuous (or binary)
variables this is the Gaussian likelihood-ratio form of the Fisher-z test. Unlike Fisher-z on
integer class codes, it sees a feature that marks only the middle one of three classes: the
indicator of that class correlates with it, whatever the order of the codes.

Singular sub-matrices (collinear columns in a bootstrap resample) use the pseudo-inverse, and
the log-determinants use eigenvalues clipped at a small floor. With too few rows for the
regression (``n - |Z| - |X| - |Y| - 1 <= 0`` columns of freedom) the p-value is 1.

causalmix registers it with causal-learn's CI-test registry under :data:`DG_TEST_NAME`; the
algorithms pass the nodes' types as ``discrete=`` (a boolean mask over the data's columns).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from causalmix._deadline import check_deadline
from causalmix._fisherz import _partial_correlation, correlation_of

__all__ = ["DG_TEST_NAME", "dg_class", "embed"]

DG_TEST_NAME = "causalmix_dg"

_EIGEN_FLOOR = 1e-10
_MAX_R2 = 1.0 - 1e-15


def embed(data: np.ndarray, discrete: np.ndarray) -> tuple[np.ndarray, list[list[int]]]:
    """The embedded columns and, per variable, the indices of its columns.

    Args:
        data: Continuous values and nominal level codes. # (n_rows, n_vars)
        discrete: Whether each variable is nominal. # (n_vars,)

    Returns:
        ``(columns, blocks)``: the embedding # (n_rows, n_columns), and ``blocks[j]`` the
        columns of variable ``j`` (empty for a constant variable).
    """
    columns: list[np.ndarray] = []
    blocks: list[list[int]] = []
    for j in range(data.shape[1]):
        values = data[:, j]
        if discrete[j]:
            levels = np.unique(values)
            parts = [(values == level).astype(float) for level in levels[1:]]
        else:
            parts = [values.astype(float)] if np.ptp(values) > 0 else []
        blocks.append(list(range(len(columns), len(columns) + len(parts))))
        columns.extend(parts)
    if not columns:
        return np.zeros((len(data), 0)), blocks
    return np.column_stack(columns), blocks


def _log_det(matrix: np.ndarray) -> float:
    eigenvalues = np.linalg.eigvalsh((matrix + matrix.T) / 2.0)
    return float(np.sum(np.log(np.maximum(eigenvalues, _EIGEN_FLOOR))))


def _residual(correlation: np.ndarray, a: list[int], s: list[int]) -> np.ndarray:
    """Residual covariance of columns ``a`` after a linear regression on columns ``s``."""
    c_aa = correlation[np.ix_(a, a)]
    if not s:
        return c_aa
    c_as = correlation[np.ix_(a, s)]
    return c_aa - c_as @ np.linalg.pinv(correlation[np.ix_(s, s)], hermitian=True) @ c_as.T


def dg_p_value(
    correlation: np.ndarray, blocks: list[list[int]], n_rows: int, x: int, y: int, z: list[int]
) -> float:
    """The DG p-value of ``x`` independent of ``y`` given ``z`` (variable indices)."""
    from scipy.special import chdtrc

    a, b = blocks[x], blocks[y]
    s = [column for variable in z for column in blocks[variable]]
    if not a or not b:
        return 1.0  # a constant variable is independent of everything
    if n_rows - len(s) - len(a) - len(b) - 1 <= 0:
        return 1.0
    if len(a) == 1 and len(b) == 1:
        # One column each: the statistic is -n log(1 - r^2) of the partial correlation, which
        # the Fisher-z code computes fast (closed forms for small conditioning sets).
        r = _partial_correlation(correlation, a + b + s)
        statistic = -n_rows * math.log1p(-min(r * r, _MAX_R2))
    else:
        statistic = n_rows * (
            _log_det_given(correlation, a, s) - _log_det_given(correlation, a, b + s)
        )
    return float(chdtrc(len(a) * len(b), max(statistic, 0.0)))


def _log_det_given(correlation: np.ndarray, a: list[int], s: list[int]) -> float:
    """``log det R(a | s)`` as ``log det C[a+s] - log det C[s]`` (LU), or by eigenvalues of the
    residual covariance when a sub-matrix is singular."""
    if not s:
        return _log_det(correlation[np.ix_(a, a)])
    joint = a + s
    sign_joint, log_joint = np.linalg.slogdet(correlation[np.ix_(joint, joint)])
    sign_s, log_s = np.linalg.slogdet(correlation[np.ix_(s, s)])
    if sign_joint > 0 and sign_s > 0 and log_joint - log_s > len(a) * math.log(_EIGEN_FLOOR):
        return float(log_joint - log_s)
    return _log_det(_residual(correlation, a, s))


def dg_class() -> type:
    """The causal-learn ``CIT_Base`` subclass (built on call: causal-learn is imported late)."""
    from causallearn.utils.cit import CIT_Base

    class DegenerateGaussian(CIT_Base):
        def __init__(self, data: np.ndarray, discrete: Any = None, **kwargs: Any) -> None:
            super().__init__(data, **kwargs)
            mask = np.zeros(data.shape[1], bool) if discrete is None else np.asarray(discrete)
            if mask.shape != (data.shape[1],):
                raise ValueError(
                    f"`discrete` must have one entry per column ({data.shape[1]}), "
                    f"but got shape {mask.shape}."
                )
            self.check_cache_method_consistent(DG_TEST_NAME, str(mask.astype(int).tolist()))
            self.assert_input_data_is_valid()
            columns, self.blocks = embed(data, mask)
            self.correlation_matrix = correlation_of(columns) if columns.size else None

        def __call__(self, X: Any, Y: Any, condition_set: Any = None) -> float:
            check_deadline()
            xs, ys, conditions, key = self.get_formatted_XYZ_and_cachekey(X, Y, condition_set)
            if key in self.pvalue_cache:
                return float(self.pvalue_cache[key])
            if self.correlation_matrix is None:
                p_value = 1.0
            else:
                p_value = dg_p_value(
                    self.correlation_matrix,
                    self.blocks,
                    self.sample_size,
                    xs[0],
                    ys[0],
                    list(conditions),
                )
            self.pvalue_cache[key] = p_value
            return p_value

    return DegenerateGaussian
