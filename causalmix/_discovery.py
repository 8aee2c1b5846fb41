"""The discovery registry and the bootstrap that turns repeated discovery into edge
probabilities.

Adding an algorithm (say GES) is one module with a :class:`BaseDiscovery` subclass and one
line in :data:`DISCOVERY_ALGORITHMS`.

Edge cases and their fallbacks:

- **Duplicated columns** (identical up to an affine map, or discrete columns that are a
  relabelling of each other) make the correlation matrix singular and confuse the tests (each
  copy screens the other off from everything). Only the first copy (the target, if it is one
  of them) takes part in discovery; every other copy becomes its child with probability 1.
- **Columns constant in a resample** (rare categories, tiny data) get no edges in that
  resample; fewer than two usable columns give the empty graph.
- **Singular correlation matrices** that remain (collinear columns) fall back to the
  pseudo-inverse in the Fisher-z test; with too few rows for a test, independence is assumed.
- **chisq / gsq with continuous columns**: those are binned into 5 quantile bins for the test.
- **kci** is cubic in the number of rows: its resamples have at most :data:`KCI_MAX_ROWS` rows.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, version

import numpy as np

from causalmix._deadline import check_deadline, deadline
from causalmix._discovery_base import BaseDiscovery, edge_strengths
from causalmix._errors import DiscoveryTimeoutError
from causalmix._fci import FCIDiscovery
from causalmix._pc import PCDiscovery
from causalmix._store import ObjectStore, content_key

__all__ = [
    "DG_MAX_NODES",
    "DISCOVERY_ALGORITHMS",
    "KCI_MAX_ROWS",
    "edge_probabilities",
    "find_aliases",
    "resolve_indep_test",
]

DISCOVERY_ALGORITHMS: dict[str, type[BaseDiscovery]] = {
    PCDiscovery.name: PCDiscovery,
    FCIDiscovery.name: FCIDiscovery,
}
"""Discovery algorithms by name."""

DG_MAX_NODES = 40
"""The widest table (features + target) for which ``indep_test="auto"`` picks ``dg``."""

KCI_MAX_ROWS = 300
"""Row cap of each bootstrap resample under the kernel test (KCI is O(rows^3) per test)."""

_ALIAS_TOLERANCE = 1e-9


def resolve_indep_test(
    indep_test: str, discrete: np.ndarray, n_levels: np.ndarray | None = None
) -> str:
    """Resolve ``"auto"`` by the nodes' types.

    - every node discrete: ``chisq``;
    - some continuous node and some nominal node with more than two levels (a multi-class
      target, say), and at most :data:`DG_MAX_NODES` nodes: ``dg``, since Fisher-z on level
      codes only sees relations that are monotone in the arbitrary code order;
    - otherwise (continuous and binary nodes, or a wider table): ``fisherz``, which is exact
      for continuous and binary nodes. On a wide table a class-rich target is adjacent to
      most features under ``dg``, and PC then tests its edges against conditioning sets drawn
      from dozens of neighbours: MiceProtein (78 nodes, 8 classes) took over 4.5 minutes for
      2 resamples with ``dg`` and 15 s with Fisher-z. Ask for ``dg`` explicitly there (with a
      ``depth`` limit) if the classes matter more than the time.

    Args:
        indep_test: The requested test, or ``"auto"``.
        discrete: Whether each node holds level codes. # (n_nodes,)
        n_levels: The number of levels of each node (read for discrete nodes; ``None``:
            counted as more than two). # (n_nodes,)
    """
    if indep_test != "auto":
        return indep_test
    discrete = np.asarray(discrete, bool)
    if bool(np.all(discrete)):
        return "chisq"
    levels = np.full(len(discrete), 3) if n_levels is None else np.asarray(n_levels)
    nominal = bool(np.any(discrete & (levels > 2)))
    return "dg" if nominal and len(discrete) <= DG_MAX_NODES else "fisherz"


def find_aliases(matrix: np.ndarray, discrete: np.ndarray, first: int) -> dict[int, int]:
    """Map each duplicated column to the column it duplicates.

    Args:
        matrix: Encoded, imputed data. # (n_rows, n_nodes)
        discrete: Whether each column holds level indices. # (n_nodes,)
        first: The column that wins ties (the target): it is never an alias.

    Returns:
        ``{alias: representative}``.
    """
    n_nodes = matrix.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = np.nan_to_num(np.corrcoef(matrix.T), nan=0.0)
    n_levels = [np.unique(matrix[:, j]).size for j in range(n_nodes)]
    order = [first] + [j for j in range(n_nodes) if j != first]
    representatives: list[int] = []
    aliases: dict[int, int] = {}
    for j in order:
        for r in representatives:
            if abs(correlation[r, j]) >= 1.0 - _ALIAS_TOLERANCE or (
                discrete[r]
                and discrete[j]
                and n_levels[r] == n_levels[j]
                and _is_relabelling(matrix[:, r], matrix[:, j], n_levels[r])
            ):
                aliases[j] = r
                break
        else:
            representatives.append(j)
    return aliases


def _is_relabelling(a: np.ndarray, b: np.ndarray, n_levels: int) -> bool:
    pairs = np.unique(np.column_stack([a, b]), axis=0)
    return len(pairs) == n_levels


def edge_probabilities(
    algorithm: BaseDiscovery,
    matrix: np.ndarray,
    aliases: dict[int, int],
    *,
    n_bootstrap: int,
    max_rows: int,
    seed: int,
    store: ObjectStore,
    n_jobs: int | None = None,
    discrete: np.ndarray | None = None,
    timeout: float | None = None,
) -> np.ndarray:
    """Run ``algorithm`` on ``n_bootstrap`` resamples and average the edge strengths.

    Each resample draws ``min(n_rows, max_rows)`` rows with replacement (seeded by ``seed``
    and its index, so a larger ``n_bootstrap`` reuses the cached smaller runs). Each run's
    marks are cached under a key of the data it saw and the algorithm's settings.

    Args:
        algorithm: The configured discovery algorithm.
        matrix: Encoded, imputed data, as the independence test needs it. # (n_rows, n_nodes)
        aliases: Duplicated columns (see :func:`find_aliases`): left out of discovery, each
            made a child of its representative with probability 1.
        n_bootstrap: Number of resamples.
        max_rows: Row cap of a resample.
        seed: Seed of the resampling.
        store: Where runs are cached.
        n_jobs: Parallel processes for the runs not in the cache (joblib semantics).
        discrete: Whether each node holds nominal level codes (the ``dg`` test reads it;
            ``None``: all continuous). # (n_nodes,)
        timeout: Seconds the runs not in the cache may take together (``None``: no limit).
            Each finished run is cached as it finishes, so a retry resumes after them.

    Returns:
        ``P`` with ``P[i, j]`` the strength of ``i -> j``. # (n_nodes, n_nodes)

    Raises:
        DiscoveryTimeoutError: When the runs take longer than ``timeout``.
    """
    kept = np.array([j not in aliases for j in range(matrix.shape[1])])
    reduced = np.ascontiguousarray(matrix[:, kept], dtype=float)
    mask = np.zeros(matrix.shape[1], bool) if discrete is None else np.asarray(discrete, bool)
    mask = mask[kept]
    # Only the dg test reads the node types; other tests' keys stay as they were.
    types = {"discrete": mask.astype(int).tolist()} if algorithm.indep_test == "dg" else {}
    n_rows = min(len(reduced), max_rows)
    if algorithm.indep_test == "kci":
        n_rows = min(n_rows, KCI_MAX_ROWS)
    data_digest = hashlib.sha256(reduced.tobytes()).hexdigest()
    keys = [
        content_key(
            "discovery",
            data=data_digest,
            shape=list(reduced.shape),
            algorithm=algorithm.name,
            indep_test=algorithm.indep_test,
            alpha=float(algorithm.alpha),
            depth=int(algorithm.depth),
            rows=n_rows,
            seed=seed,
            bootstrap=index,
            causallearn=_causallearn_version(),
            **types,
        )
        for index in range(n_bootstrap)
    ]
    n_kept = reduced.shape[1]
    runs = [store.lookup("discovery", key, lambda raw: _decode_marks(raw, n_kept)) for key in keys]
    missing = [index for index, marks in enumerate(runs) if marks is None]
    until = None if timeout is None else time.time() + float(timeout)
    try:
        for index, marks in zip(
            missing,
            _run_bootstraps(algorithm, reduced, mask, n_rows, seed, missing, n_jobs, until),
        ):
            marks.setflags(write=False)
            store.store(keys[index], marks, _encode_marks)
            runs[index] = marks
    except DiscoveryTimeoutError:
        done = sum(marks is not None for marks in runs)
        raise DiscoveryTimeoutError(
            f"Discovery ({algorithm.name} with the {algorithm.indep_test!r} test, "
            f"{reduced.shape[1]} nodes) ran past its time limit of {timeout:g} s with "
            f"{done} of {n_bootstrap} resamples done; a smaller depth, another test or a "
            "longer limit avoids that."
        ) from None
    strengths = np.mean([edge_strengths(marks) for marks in runs if marks is not None], axis=0)
    probabilities = np.zeros((matrix.shape[1], matrix.shape[1]))
    probabilities[np.ix_(kept, kept)] = strengths
    for alias, representative in aliases.items():
        probabilities[representative, alias] = 1.0
    return probabilities


def _run_bootstraps(
    algorithm: BaseDiscovery,
    data: np.ndarray,
    discrete: np.ndarray,
    n_rows: int,
    seed: int,
    indices: list[int],
    n_jobs: int | None,
    until: float | None = None,
) -> Iterator[np.ndarray]:
    """Each resample's marks, in the order of ``indices``, as each finishes."""
    if not indices:
        return
    if n_jobs in (None, 1) or len(indices) == 1:
        for index in indices:
            yield _bootstrap_marks(algorithm, data, discrete, n_rows, seed, index, until)
        return
    from joblib import Parallel, delayed

    yield from Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(_bootstrap_marks)(algorithm, data, discrete, n_rows, seed, index, until)
        for index in indices
    )


def _bootstrap_marks(
    algorithm: BaseDiscovery,
    data: np.ndarray,
    discrete: np.ndarray,
    n_rows: int,
    seed: int,
    index: int,
    until: float | None = None,
) -> np.ndarray:
    rows = np.random.default_rng([seed, index]).integers(0, len(data), size=n_rows)
    with deadline(until):
        check_deadline()
        return algorithm.discover(data[rows], discrete)


def _encode_marks(marks: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, marks=np.asarray(marks, dtype=np.int8))
    return buffer.getvalue()


def _decode_marks(raw: bytes, n_nodes: int) -> np.ndarray:
    with np.load(io.BytesIO(raw), allow_pickle=False) as archive:
        marks = np.array(archive["marks"], dtype=np.int8)
    if marks.shape != (n_nodes, n_nodes):
        raise ValueError(f"cached marks have shape {marks.shape}, expected {(n_nodes, n_nodes)}")
    marks.setflags(write=False)
    return marks


def _causallearn_version() -> str:
    try:
        return version("causal-learn")
    except PackageNotFoundError:  # pragma: no cover - installed from a source tree
        return "unknown"
