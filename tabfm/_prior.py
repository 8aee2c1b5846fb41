"""A compact synthetic prior of classification tasks drawn from random SCMs.

Each task is a random layered structural causal model: root causes, then layers whose nodes are
either random MLP units (sparse random weights, a random activation, additive noise) or random
oblivious decision trees of earlier nodes. With ``PriorStage.fitted_tree_share > 0`` a tree layer
may instead be a tree model fitted to random targets, as in TabICL's prior (a scikit-learn decision
tree, extra trees or random forest; TabICL also uses XGBoost, which is not a dependency here):
greedy, non-oblivious splits at data-dependent places. Features and the target are random nodes
of the graph, so features are causes, effects and spouses of the target, plus unrelated nodes. The
target becomes 2-10 classes (random quantile thresholds, or the argmax of several nodes); some
features are discretised into shuffled categorical codes, skewed, rescaled or made missing. With
``PriorStage.rule_target_share > 0`` a task may instead take its target from a logical rule over
its own categorical columns (a random decision tree over level subsets, or for two classes an OR
of conjunctions of ``column == level`` literals), as in tic-tac-toe, car or kr-vs-kp, where the
target is an exact rule of the observed codes rather than a threshold of a latent node. With
``PriorStage.tabicl_share > 0`` a task may instead come from TabICL's own prior
(``tabicl.prior``: its MLP and tree SCMs, tree layers fitted with XGBoost among others), at the
same shape, then given this prior's categorical codes, scales and missing values; that needs the
optional packages ``tabicl`` and ``xgboost``.

Everything is NumPy and takes ~1 ms per task, so on a CPU the model, not the prior, is the
bottleneck (``tabicl.prior`` generates ~20 tasks/s per core and needs xgboost).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tabfm._config import MAX_CLASSES

_ACTIVATIONS = (
    lambda v: v,
    np.tanh,
    lambda v: np.maximum(v, 0.0),
    np.sin,
    np.abs,
    lambda v: np.clip(v, -2.0, 2.0) ** 2,
    lambda v: 1.0 / (1.0 + np.exp(-v)),
    lambda v: np.sign(v),
)


@dataclass(frozen=True)
class PriorStage:
    """Ranges of the tasks drawn at one point of the curriculum.

    Attributes:
        min_rows: Fewest rows (context + query) of a task.
        max_rows: Most rows of a task.
        max_features: Most feature columns.
        max_classes: Most target classes (the number is skewed towards 2).
        missing_probability: Chance that a task has missing values at all.
        categorical_probability: Chance that a task has categorical features at all.
        fitted_tree_share: Chance that a tree layer is a tree model fitted to random targets
            (TabICL's tree SCM) rather than random oblivious trees. At 0 (the default, the
            shipped weights' prior) no random draw is spent on it, so the tasks are unchanged.
        rule_target_share: Chance that a task's target is a logical rule over its categorical
            columns (:func:`_rule_classes`); at 0 (the default) no draw is spent on it.
        tabicl_share: Chance that a task comes from TabICL's prior (:func:`_tabicl_task`); at 0
            (the default) no draw is spent on it.
    """

    min_rows: int = 64
    max_rows: int = 512
    max_features: int = 40
    max_classes: int = MAX_CLASSES
    missing_probability: float = 0.3
    categorical_probability: float = 0.4
    fitted_tree_share: float = 0.0
    rule_target_share: float = 0.0
    tabicl_share: float = 0.0


def curriculum(
    progress: float,
    max_rows: int = 512,
    max_features: int = 40,
    fitted_tree_share: float = 0.0,
    rule_target_share: float = 0.0,
    tabicl_share: float = 0.0,
) -> PriorStage:
    """The prior stage at ``progress`` in ``[0, 1]`` of training.

    Easy tasks first (few features, binary, short tables), ramping to the full prior by 40%:
    a model trained on the full prior from the start learns to ignore its context.
    """
    ramp = min(max(progress / 0.4, 0.0), 1.0)
    return PriorStage(
        min_rows=64,
        max_rows=int(round(min(max_rows, 128 + ramp * (max_rows - 128)))),
        max_features=int(round(min(max_features, 6 + ramp * (max_features - 6)))),
        max_classes=int(round(2 + ramp * (MAX_CLASSES - 2))),
        missing_probability=0.3 * ramp,
        categorical_probability=0.4 * ramp,
        fitted_tree_share=fitted_tree_share,
        rule_target_share=rule_target_share,
        tabicl_share=tabicl_share,
    )


@dataclass(frozen=True)
class PriorBatch:
    """A batch of tasks of equal shape (NumPy arrays).

    Attributes:
        x: ``(B, R, C)`` float32 features, NaN where missing.
        y: ``(B, R)`` int64 labels in ``[0, n_classes)``; every class of a task occurs among its
            first ``n_context`` rows.
        n_context: Number of context rows (the rest are query rows).
        n_classes: ``(B,)`` number of classes of each task.
    """

    x: np.ndarray
    y: np.ndarray
    n_context: int
    n_classes: np.ndarray


def sample_batch(
    rng: np.random.Generator, stage: PriorStage, max_cells: int = 16384
) -> PriorBatch:
    """Draw tasks of one random shape, as many as fit in ``max_cells`` cells.

    Args:
        rng: Source of all randomness.
        stage: Ranges of the tasks.
        max_cells: Budget of ``B * R * (C + 1)`` cells, which keeps the step time even across
            shapes.
    """
    log_rows = rng.uniform(np.log(stage.min_rows), np.log(stage.max_rows))
    n_rows = int(np.exp(log_rows))
    n_features = int(rng.integers(1, stage.max_features + 1))
    n_context = int(n_rows * rng.uniform(0.5, 0.9))
    batch = max(1, max_cells // (n_rows * (n_features + 1)))
    xs, ys, classes = [], [], []
    for _ in range(batch):
        n_classes = _sample_n_classes(rng, stage.max_classes)
        x, y = sample_task(rng, n_rows, n_features, n_classes, stage)
        x, y = _context_first(rng, x, y, n_context)
        xs.append(x)
        ys.append(y)
        classes.append(int(y.max()) + 1)
    return PriorBatch(
        np.stack(xs).astype(np.float32), np.stack(ys), n_context, np.asarray(classes)
    )


def _sample_n_classes(rng: np.random.Generator, max_classes: int) -> int:
    if max_classes <= 2 or rng.random() < 0.5:
        return 2
    return int(rng.integers(3, max_classes + 1))


def sample_task(
    rng: np.random.Generator,
    n_rows: int,
    n_features: int,
    n_classes: int,
    stage: PriorStage | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One task: ``x`` ``(n_rows, n_features)`` (NaN = missing) and ``y`` in ``[0, n_classes)``.

    Every class occurs at least twice (classes that vanish are merged away, so ``y.max() + 1``
    may be smaller than ``n_classes`` on tiny tables).
    """
    stage = stage or PriorStage()
    if stage.tabicl_share > 0 and rng.random() < stage.tabicl_share:
        x, y = _tabicl_task(rng, n_rows, n_features, n_classes)
        return _distort_features(rng, x, stage), _compact_labels(rng, y)
    nodes = _sample_scm_nodes(rng, n_rows, n_features + n_classes + 2, stage.fitted_tree_share)
    n_nodes = nodes.shape[1]
    # The target comes from the later half of the graph, so that features are often causes.
    target_node = int(rng.integers(n_nodes // 2, n_nodes))
    others = np.delete(np.arange(n_nodes), target_node)
    feature_nodes = rng.choice(others, size=n_features, replace=len(others) < n_features)
    x = nodes[:, feature_nodes].copy()
    if stage.rule_target_share > 0 and rng.random() < stage.rule_target_share:
        coded = _code_columns(rng, x)
        y = _compact_labels(rng, _rule_classes(rng, x[:, coded], n_classes))
        return _distort_features(rng, x, stage, coded=coded), y
    if n_classes > 2 and rng.random() < 0.3:
        extra = rng.choice(others, size=n_classes - 1, replace=False)
        scores = np.column_stack([nodes[:, target_node], nodes[:, extra]])
        scores = (scores - scores.mean(0)) / (scores.std(0) + 1e-6)
        y = np.argmax(scores + rng.normal(0, 0.1, scores.shape), axis=1)
    else:
        y = _threshold_classes(rng, nodes[:, target_node], n_classes)
    y = _compact_labels(rng, y)
    x = _distort_features(rng, x, stage)
    return x, y


def _tabicl_task(
    rng: np.random.Generator, n_rows: int, n_features: int, n_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """One task of TabICL's prior (``mix_scm``: its MLP SCM or its tree SCM, hyperparameters
    drawn as TabICL draws them per dataset) of the given shape: ``x`` ``(n_rows, n_features)``
    (columns TabICL drops as constant are zeros) and ``y`` with at most ``n_classes`` labels.

    TabICL draws from the global ``random``, NumPy and torch generators; they are seeded from
    ``rng`` for the call and restored afterwards, so a task is a function of ``rng`` alone.
    """
    import random

    import torch

    from tabfm._errors import TabFMError

    try:
        from tabicl.prior._dataset import SCMPrior
    except ImportError as error:
        raise TabFMError(
            f"TabICL's prior needs the packages tabicl and xgboost ({error}): "
            "pip install 'causalmix-tuner[tabicl,pretrain]'"
        ) from None
    seed = int(rng.integers(0, 2**31 - 1))
    states = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        try:
            prior = SCMPrior(prior_type="mix_scm", n_jobs=1)  # only its batches read max_classes
            hp = {k: v() if callable(v) else v for k, v in prior.hp_sampling().items()}
            params = {
                "regression": False,
                "device": "cpu",
                **prior.fixed_hp,
                "seq_len": n_rows,
                "train_size": max(2, n_rows // 2),
                "max_features": n_features,
                **hp,
                "prior_type": prior.get_prior(),
                "num_features": n_features,
                "num_classes": n_classes,
            }
            x, y, _ = prior.generate_dataset(params)
        finally:
            random.setstate(states[0])
            np.random.set_state(states[1])
    return x.numpy().astype(np.float64), y.numpy().astype(np.int64)


def _sample_scm_nodes(
    rng: np.random.Generator, n_rows: int, min_nodes: int, fitted_tree_share: float = 0.0
) -> np.ndarray:
    """Values ``(n_rows, n_nodes)`` of all nodes of a random layered SCM."""
    n_layers = int(rng.integers(1, 5))
    width = max(int(np.ceil(min_nodes / (n_layers + 1))) + int(rng.integers(0, 4)), 2)
    noise_scale = float(np.exp(rng.uniform(np.log(0.01), np.log(0.5))))
    layer = _root_causes(rng, n_rows, width)
    layers = [layer]
    tree_share = rng.choice([0.0, 0.0, 0.3, 1.0])
    for _ in range(n_layers):
        inputs = np.concatenate(layers[-2:], axis=1)
        if rng.random() < tree_share:
            fitted = fitted_tree_share > 0 and rng.random() < fitted_tree_share
            layer = (_fitted_tree_layer if fitted else _tree_layer)(rng, inputs, width)
        else:
            layer = _mlp_layer(rng, inputs, width)
        layer = layer + rng.normal(0.0, noise_scale, layer.shape)
        layer = (layer - layer.mean(0)) / (layer.std(0) + 1e-6)
        layers.append(layer)
    return np.concatenate(layers, axis=1)


def _root_causes(rng: np.random.Generator, n_rows: int, width: int) -> np.ndarray:
    kind = rng.integers(0, 3)
    if kind == 0:
        return rng.normal(size=(n_rows, width))
    if kind == 1:
        return rng.uniform(-1.7, 1.7, size=(n_rows, width))
    # A mixture of a few clusters: class structure that is not a smooth function.
    centres = rng.normal(0.0, 1.5, size=(int(rng.integers(2, 6)), width))
    return centres[rng.integers(0, len(centres), n_rows)] + rng.normal(size=(n_rows, width))


def _mlp_layer(rng: np.random.Generator, inputs: np.ndarray, width: int) -> np.ndarray:
    n_in = inputs.shape[1]
    weights = rng.normal(size=(n_in, width)) / np.sqrt(max(1.0, n_in * 0.5))
    # Sparse edges make a real DAG rather than a dense mix; every node keeps one parent.
    mask = rng.random((n_in, width)) < rng.uniform(0.2, 0.9)
    mask[rng.integers(0, n_in, width), np.arange(width)] = True
    pre = inputs @ (weights * mask) + rng.normal(0.0, 0.3, width)
    out = np.empty_like(pre)
    choices = rng.integers(0, len(_ACTIVATIONS), width)
    if rng.random() < 0.2:
        choices[:] = 0  # purely linear layers: the simplest tasks, which anchor learning
    for index in np.unique(choices):
        columns = choices == index
        out[:, columns] = _ACTIVATIONS[index](pre[:, columns])
    return out


def _tree_layer(rng: np.random.Generator, inputs: np.ndarray, width: int) -> np.ndarray:
    """Random oblivious trees: each node splits on ``depth`` random parents at random quantiles."""
    n_rows, n_in = inputs.shape
    depth = int(rng.integers(1, 5))
    parents = rng.integers(0, n_in, size=(width, depth))
    quantiles = rng.uniform(0.1, 0.9, size=(width, depth))
    out = np.empty((n_rows, width))
    for node in range(width):
        values = inputs[:, parents[node]]  # (n_rows, depth)
        thresholds = np.array(
            [np.quantile(values[:, level], quantiles[node, level]) for level in range(depth)]
        )
        leaves = ((values > thresholds) * (1 << np.arange(depth))).sum(axis=1)
        out[:, node] = rng.normal(size=1 << depth)[leaves]
    return out


def _fitted_tree_layer(rng: np.random.Generator, inputs: np.ndarray, width: int) -> np.ndarray:
    """A tree model fitted to random targets (TabICL's ``TreeLayer``): ``width`` outputs that
    share one model's greedy, non-oblivious partition of ``inputs``."""
    from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor
    from sklearn.tree import DecisionTreeRegressor

    kind = int(rng.integers(0, 3))
    depth = int(rng.integers(2, 7))
    seed = int(rng.integers(0, 2**31 - 1))
    if kind == 0:
        model: DecisionTreeRegressor | ExtraTreesRegressor | RandomForestRegressor = (
            DecisionTreeRegressor(max_depth=depth, random_state=seed)
        )
    else:
        forest = ExtraTreesRegressor if kind == 1 else RandomForestRegressor
        model = forest(
            n_estimators=int(rng.integers(2, 9)), max_depth=depth, random_state=seed, n_jobs=1
        )
    targets = rng.normal(size=(inputs.shape[0], width))
    out: np.ndarray = model.fit(inputs, targets).predict(inputs)
    return out.reshape(inputs.shape[0], width)


def _threshold_classes(rng: np.random.Generator, target: np.ndarray, n_classes: int) -> np.ndarray:
    if n_classes == 2:
        cut = np.quantile(target, rng.uniform(0.15, 0.85))
        return (target > cut).astype(np.int64)
    cuts = np.sort(rng.uniform(0.05, 0.95, n_classes - 1))
    labels = np.searchsorted(np.quantile(target, cuts), target)
    if rng.random() < 0.3:
        # Non-monotone classes: bands of the target map to shuffled labels.
        labels = rng.permutation(n_classes)[labels]
    return labels.astype(np.int64)


def _compact_labels(rng: np.random.Generator, y: np.ndarray) -> np.ndarray:
    """Merge classes with fewer than 2 rows into a neighbour, then shuffle label names."""
    values, counts = np.unique(y, return_counts=True)
    if len(values) > 2:
        for value in values[counts < 2]:
            y = np.where(y == value, values[np.argmax(counts)], y)
    _, y = np.unique(y, return_inverse=True)
    if y.max() == 0:  # a constant target: split by row order to keep two classes
        y = (np.arange(len(y)) % 2).astype(np.int64)
    return rng.permutation(int(y.max()) + 1)[y].astype(np.int64)


def _code_columns(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    """Turn a random half or more of ``x``'s columns into shuffled codes of 2-6 levels, in
    place; returns their indices."""
    n_features = x.shape[1]
    n_coded = max(1, int(round(n_features * rng.uniform(0.5, 1.0))))
    coded = np.sort(rng.choice(n_features, size=n_coded, replace=False))
    for column in coded:
        x[:, column] = _shuffled_codes(rng, x[:, column], int(rng.integers(2, 7)))
    return coded


def _shuffled_codes(rng: np.random.Generator, values: np.ndarray, cardinality: int) -> np.ndarray:
    """``values`` cut at random quantiles into ``cardinality`` levels, labelled in random
    order."""
    cuts = np.quantile(values, np.sort(rng.uniform(0, 1, cardinality - 1)))
    return rng.permutation(cardinality)[np.searchsorted(cuts, values)]


def _rule_classes(rng: np.random.Generator, codes: np.ndarray, n_classes: int) -> np.ndarray:
    """Classes that are a logical rule of the categorical ``codes`` ``(n_rows, k)``.

    For two classes, half the time an OR of conjunctions of 1-3 ``column == level`` literals,
    terms added until 15 % of the rows are positive (at most 12 terms); otherwise a random
    decision tree of depth 1-4 whose splits send a random subset of a column's levels one way.
    Then up to 10 % of the labels are redrawn at random (label noise).
    """
    n_rows, k = codes.shape
    if n_classes == 2 and rng.random() < 0.5:
        y = np.zeros(n_rows, bool)
        for _ in range(12):
            columns = rng.choice(k, size=min(k, int(rng.integers(1, 4))), replace=False)
            rows = rng.integers(0, n_rows)  # levels of a real row, so the term is satisfiable
            y |= np.all(codes[:, columns] == codes[rows, columns], axis=1)
            if y.mean() >= 0.15:
                break
        labels = y.astype(np.int64)
    else:
        labels = np.zeros(n_rows, np.int64)
        depth = int(rng.integers(1, 5))
        offset = int(rng.integers(0, n_classes))
        leaves = 0

        def grow(rows: np.ndarray, level: int) -> None:
            nonlocal leaves
            column = int(rng.integers(0, k))
            levels = np.unique(codes[rows, column])
            if level == depth or len(rows) < 8 or len(levels) < 2:
                labels[rows] = (offset + leaves) % n_classes
                leaves += 1
                return
            chosen = rng.permutation(levels)[: int(rng.integers(1, len(levels)))]
            left = np.isin(codes[rows, column], chosen)
            grow(rows[left], level + 1)
            grow(rows[~left], level + 1)

        grow(np.arange(n_rows), 0)
    noisy = np.asarray(rng.random(n_rows) < rng.uniform(0.0, 0.1))
    labels[noisy] = rng.integers(0, n_classes, int(noisy.sum()))
    return labels


def _distort_features(
    rng: np.random.Generator,
    x: np.ndarray,
    stage: PriorStage,
    coded: np.ndarray | None = None,
) -> np.ndarray:
    """Categorical codes, skew, scale and missing values (``coded`` columns are codes
    already and stay as they are, apart from the scaling)."""
    n_rows, n_features = x.shape
    if rng.random() < stage.categorical_probability:
        share = rng.uniform(0.1, 0.7)
        for column in np.flatnonzero(rng.random(n_features) < share):
            if coded is not None and column in coded:
                continue
            x[:, column] = _shuffled_codes(rng, x[:, column], int(rng.integers(2, 11)))
    for column in np.flatnonzero(rng.random(n_features) < 0.2):
        if coded is not None and column in coded:
            continue
        x[:, column] = np.exp(np.clip(x[:, column], -5, 5))  # skewed, positive features
    x = x * np.exp(rng.normal(0, 2, n_features)) + rng.normal(0, 3, n_features)
    if rng.random() < stage.missing_probability:
        rates = rng.uniform(0.0, 0.3, n_features) * (rng.random(n_features) < 0.5)
        if rng.random() < 0.5:
            missing = rng.random((n_rows, n_features)) < rates
        else:  # missing not at random: large values go missing
            ranks = x.argsort(0).argsort(0) / n_rows
            missing = (ranks > 1 - 2 * rates) & (rng.random((n_rows, n_features)) < 0.5)
        x = np.where(missing, np.nan, x)
    return x


def _context_first(
    rng: np.random.Generator, x: np.ndarray, y: np.ndarray, n_context: int
) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle rows so that every class has a row among the first ``n_context`` rows."""
    order = rng.permutation(len(y))
    first_of_class = np.unique(y[order], return_index=True)[1]
    front = order[first_of_class]
    rest = np.setdiff1d(order, front, assume_unique=True)
    rest = rest[rng.permutation(len(rest))]
    order = np.concatenate([front, rest])
    head = order[:n_context]
    order[:n_context] = head[rng.permutation(n_context)]
    return x[order], y[order]
