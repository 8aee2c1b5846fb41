"""Synthetic row generators: the plug-in point that turns real training rows into synthetic ones.

A generator follows the estimator contract: ``__init__`` stores parameters, ``fit(X, y)``
learns from a classification table and ``sample(n, random_state)`` returns ``(X_syn, y_syn)``
with the real table's columns, order and dtypes and only real target labels. Two generators
ship:

- ``"scm"`` (:class:`SCMGenerator`): CausalMixFT's structural causal models
  (:class:`~causalmix.CausalAugmenter`).
- ``"ctgan"`` (:class:`CTGANGenerator`): the conditional tabular GAN of Xu et al. (2019), from
  the optional ``ctgan`` package.

Adding a generator is one :class:`BaseGenerator` subclass and one line in :data:`GENERATORS`.
"""

from __future__ import annotations

import abc
import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from causalmix._errors import CausalMixError

if TYPE_CHECKING:
    from causalmix._augmenter import CausalAugmenter

__all__ = ["GENERATORS", "BaseGenerator", "CTGANGenerator", "SCMGenerator", "make_generator"]


class BaseGenerator(abc.ABC):
    """A synthetic data generator for classification tables.

    Subclasses set :attr:`name` and implement :meth:`_fit` and :meth:`_sample`; this base class
    validates the data, leaves out columns that are entirely missing (there is nothing to
    learn from them; their synthetic values are missing too) and restores the real column
    order and dtypes.

    Attributes:
        columns_: The real feature columns, in order.
        dtypes_: Their dtypes.
        empty_columns_: Columns entirely missing in the fitted rows.
    """

    name: ClassVar[str]

    @abc.abstractmethod
    def _fit(self, X: pd.DataFrame, y: pd.Series) -> None:
        """Learn from validated rows without entirely missing columns."""

    @abc.abstractmethod
    def _sample(self, n: int, random_state: int) -> tuple[pd.DataFrame, pd.Series]:
        """Draw ``n`` rows with the columns passed to :meth:`_fit`."""

    @property
    @abc.abstractmethod
    def _seed(self) -> int:
        """The seed used when :meth:`sample` gets no ``random_state``."""

    def fit(self, X: pd.DataFrame, y: pd.Series) -> BaseGenerator:
        """Learn the distribution of ``(X, y)``.

        Raises:
            CausalMixError: For bad data (see :func:`~causalmix.validate_dataset`) or a bad
                parameter.
        """
        from causalmix._data import validate_dataset

        if y is None:
            raise CausalMixError("The target `y` is required, but got y=None.")
        empty: list[Any] = []
        if isinstance(X, pd.DataFrame) and len(X):
            empty = [c for c in X.columns if X[c].isna().all()]
            if len(empty) == X.shape[1]:
                raise CausalMixError(
                    f"Every feature column holds only missing values (NaN): {empty[:10]}."
                )
            self.columns_ = list(X.columns)
            self.dtypes_ = X.dtypes.to_dict()
            X = X.drop(columns=empty)
        X, y = validate_dataset(X, y)
        if not empty:
            self.columns_ = list(X.columns)
            self.dtypes_ = X.dtypes.to_dict()
        self.empty_columns_ = empty
        self._fit(X, y)
        return self

    def sample(self, n: int, random_state: int | None = None) -> tuple[pd.DataFrame, pd.Series]:
        """Draw ``n`` synthetic rows.

        Args:
            n: Number of rows (>= 0).
            random_state: Seed of this draw (>= 0); ``None`` uses the generator's own.

        Returns:
            ``(X, y)`` with the fitted columns, order and dtypes and a fresh ``RangeIndex``.

        Raises:
            CausalMixError: If the generator is not fitted or an argument is invalid.
        """
        if not hasattr(self, "columns_"):
            raise CausalMixError(
                f"This {type(self).__name__} is not fitted yet; call fit() first."
            )
        _check_int("n", n, minimum=0)
        if random_state is not None:
            _check_int("random_state", random_state, minimum=0)
        seed = self._seed if random_state is None else int(random_state)
        X, y = self._sample(int(n), seed)
        for column in self.empty_columns_:
            X[column] = pd.Series(np.nan, index=X.index).astype(self.dtypes_[column])
        return X[self.columns_].reset_index(drop=True), y.reset_index(drop=True)


class SCMGenerator(BaseGenerator):
    """CausalMixFT's generator: structural causal models over sampled DAGs.

    Args:
        augmenter: An unfitted :class:`~causalmix.CausalAugmenter` holding the discovery and
            SCM settings (``None``: the defaults). It is copied, never fitted in place.
        random_state: Seed of discovery, DAG sampling and fitting; it replaces the
            augmenter's own ``random_state``.

    Attributes:
        augmenter_: The fitted copy of ``augmenter``.
    """

    name = "scm"

    def __init__(self, augmenter: CausalAugmenter | None = None, random_state: int = 0) -> None:
        self.augmenter = augmenter
        self.random_state = random_state

    @property
    def _seed(self) -> int:
        return int(self.random_state)

    def _fit(self, X: pd.DataFrame, y: pd.Series) -> None:
        from causalmix._augmenter import CausalAugmenter

        _check_int("random_state", self.random_state, minimum=0)
        template = self.augmenter if self.augmenter is not None else CausalAugmenter()
        if not isinstance(template, CausalAugmenter):
            raise CausalMixError(
                "`augmenter` must be a CausalAugmenter or None, but got "
                f"augmenter={type(template).__name__}."
            )
        # A shallow copy: sklearn's clone would deep-copy the cache (an engine, a directory).
        params = dict(template.get_params(), random_state=int(self.random_state))
        self.augmenter_ = CausalAugmenter(**params).fit(X, y)

    def _sample(self, n: int, random_state: int) -> tuple[pd.DataFrame, pd.Series]:
        return self.augmenter_.sample(n, random_state=random_state)


class CTGANGenerator(BaseGenerator):
    """A conditional tabular GAN (CTGAN, Xu et al. 2019) from the optional ``ctgan`` package.

    The table goes through the same codec as the SCMs (missing values imputed from the same
    column and class, discrete columns as level codes, continuous columns standardised), the
    GAN learns it, and synthetic rows are drawn in the real class proportions (rejection
    sampling on the generated class, as SDV does; a class still short after
    :data:`_MAX_REJECTION_ROUNDS` draws is filled by CTGAN's conditional sampling with the
    label fixed), then decoded: continuous values clipped to the real range
    and rounded where the real column is integer-valued (as SDV does by default), each
    column's real missing rate re-inserted. Training and sampling are seeded, run offline and
    leave the caller's global random state unchanged.

    Args:
        epochs: Training epochs (the package default is 300; fewer are much cheaper on CPU).
        batch_size: Rows per training step (even, and a multiple of ``pac``).
        embedding_dim: Size of the generator's noise input.
        generator_dim: Hidden layer widths of the generator.
        discriminator_dim: Hidden layer widths of the discriminator.
        pac: Rows the discriminator judges together (PacGAN).
        discriminator_steps: Discriminator updates per generator update.
        learning_rate: Adam learning rate of both networks.
        device: ``"cpu"`` or ``"cuda"`` (``"auto"``: CUDA if available).
        random_state: Seed of training and of :meth:`sample` without ``random_state``.

    Attributes:
        model_: The fitted :class:`ctgan.CTGAN`.
    """

    name = "ctgan"

    def __init__(
        self,
        epochs: int = 300,
        batch_size: int = 500,
        embedding_dim: int = 128,
        generator_dim: Sequence[int] = (256, 256),
        discriminator_dim: Sequence[int] = (256, 256),
        pac: int = 10,
        discriminator_steps: int = 1,
        learning_rate: float = 2e-4,
        device: str = "cpu",
        random_state: int = 0,
    ) -> None:
        self.epochs = epochs
        self.batch_size = batch_size
        self.embedding_dim = embedding_dim
        self.generator_dim = generator_dim
        self.discriminator_dim = discriminator_dim
        self.pac = pac
        self.discriminator_steps = discriminator_steps
        self.learning_rate = learning_rate
        self.device = device
        self.random_state = random_state

    @property
    def _seed(self) -> int:
        return int(self.random_state)

    def _validate_params(self) -> None:
        for name in ("epochs", "batch_size", "embedding_dim", "pac", "discriminator_steps"):
            _check_int(name, getattr(self, name), minimum=1)
        _check_int("random_state", self.random_state, minimum=0)
        if self.batch_size % 2 or self.batch_size % self.pac:
            raise CausalMixError(
                "`batch_size` must be even and a multiple of `pac`, but got "
                f"batch_size={self.batch_size}, pac={self.pac}."
            )
        for name in ("generator_dim", "discriminator_dim"):
            widths = getattr(self, name)
            if (
                isinstance(widths, (str, bytes))
                or not isinstance(widths, Sequence)
                or not widths
                or not all(isinstance(w, int) and not isinstance(w, bool) for w in widths)
                or min(widths) < 1
            ):
                raise CausalMixError(
                    f"`{name}` must be a non-empty sequence of ints >= 1, but got "
                    f"{name}={widths!r}."
                )
        rate = self.learning_rate
        if not isinstance(rate, numbers.Real) or isinstance(rate, bool) or not rate > 0:
            raise CausalMixError(f"`learning_rate > 0` must hold, but got learning_rate={rate!r}.")
        if self.device not in ("auto", "cpu", "cuda"):
            raise CausalMixError(
                f"Unknown device device={self.device!r}; expected 'auto', 'cpu' or 'cuda'."
            )

    def _fit(self, X: pd.DataFrame, y: pd.Series) -> None:
        from causalmix._augmenter import _target_name
        from causalmix._codec import DISCRETE, TableCodec

        self._validate_params()
        ctgan = _import_ctgan()
        seed = int(self.random_state)
        codec = TableCodec(X, y, _target_name(X, y), seed)
        discrete = [s.node for s in codec.node_specs if s.kind == DISCRETE]
        model = ctgan.CTGAN(
            embedding_dim=int(self.embedding_dim),
            generator_dim=tuple(self.generator_dim),
            discriminator_dim=tuple(self.discriminator_dim),
            generator_lr=float(self.learning_rate),
            discriminator_lr=float(self.learning_rate),
            batch_size=int(self.batch_size),
            discriminator_steps=int(self.discriminator_steps),
            epochs=int(self.epochs),
            pac=int(self.pac),
            enable_gpu=self._use_gpu(),
            verbose=False,
        )
        model.set_random_state(seed)
        with _quiet_ctgan():
            model.fit(codec.frame, discrete_columns=discrete)
        self._codec = codec
        self.model_ = model

    def _use_gpu(self) -> bool:
        if self.device == "cpu":
            return False
        import torch

        return bool(torch.cuda.is_available())

    def _sample(self, n: int, random_state: int) -> tuple[pd.DataFrame, pd.Series]:
        from causalmix._augmenter import apportion

        codec = self._codec
        target = codec.target.node
        frequencies = np.bincount(codec.class_codes, minlength=codec.n_classes)
        missing = apportion(n, frequencies / frequencies.sum())
        parts: list[pd.DataFrame] = []
        with _quiet_ctgan():
            self.model_.set_random_state(int(random_state))
            # Rejection sampling (as SDV does): unconditional draws, kept per generated class
            # until each class has its quota. CTGAN's own conditional sampling feeds one
            # condition to a whole batch, which its batch normalisation then cancels out.
            for _ in range(_MAX_REJECTION_ROUNDS):
                if not missing.any():
                    break
                batch = self.model_.sample(max(2 * int(missing.sum()), _MIN_DRAW))
                codes = pd.to_numeric(batch[target], errors="coerce").to_numpy()
                for code in np.flatnonzero(missing):
                    rows = batch[codes == code].head(int(missing[code]))
                    parts.append(rows)
                    missing[code] -= len(rows)
            for code in np.flatnonzero(missing):
                # A class the generator almost never produces: condition on it and fix the
                # label, so that every class keeps its share.
                part = self.model_.sample(
                    int(missing[code]), condition_column=target, condition_value=str(code)
                )
                part[target] = str(code)
                parts.append(part)
        frame = pd.concat(parts, ignore_index=True) if parts else codec.frame.iloc[:0]
        rng = np.random.default_rng([random_state, 0xC7A])
        frame = frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)
        return codec.decode(frame[codec.nodes], rng)


_MAX_REJECTION_ROUNDS = 10
_MIN_DRAW = 100


GENERATORS: dict[str, type[BaseGenerator]] = {
    SCMGenerator.name: SCMGenerator,
    CTGANGenerator.name: CTGANGenerator,
}
"""Synthetic data generators by name."""


def make_generator(name: str, **params: Any) -> BaseGenerator:
    """An unfitted generator of the registry.

    Args:
        name: A key of :data:`GENERATORS`.
        **params: Its constructor arguments.

    Raises:
        CausalMixError: For an unknown name or constructor argument.
    """
    if name not in GENERATORS:
        raise CausalMixError(
            f"Unknown generator name={name!r}; expected one of {sorted(GENERATORS)}."
        )
    try:
        return GENERATORS[name](**params)
    except TypeError as e:
        raise CausalMixError(f"Bad parameters for generator {name!r}: {e}.") from e


def _import_ctgan() -> Any:
    try:
        import ctgan
    except ImportError as e:
        raise CausalMixError(
            "The 'ctgan' generator needs the optional `ctgan` package (pip install ctgan), "
            f"which is not importable: {e}."
        ) from e
    return ctgan


class _quiet_ctgan:
    """Silence CTGAN / RDT output and keep their data transforms in this process.

    RDT logs a line per column at INFO level ("Guidance: ...") and warns freely; none of it is
    actionable for our users. The package transforms tables of 500+ rows with
    ``joblib.Parallel(n_jobs=-1)``, one process per core; on shared CPU machines the
    sequential backend is as fast for our table sizes.
    """

    def __enter__(self) -> None:
        import contextlib
        import logging

        import joblib

        from causalmix._quiet import quiet

        self._stack = contextlib.ExitStack()
        self._stack.enter_context(quiet())
        self._stack.enter_context(joblib.parallel_config(backend="sequential"))
        logger = logging.getLogger("rdt")
        level = logger.level
        logger.setLevel(max(level, logging.WARNING))
        self._stack.callback(logger.setLevel, level)

    def __exit__(self, *exc: object) -> None:
        self._stack.close()


def _check_int(name: str, value: Any, minimum: int) -> None:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise CausalMixError(f"`{name} >= {minimum}` must hold, but got {name}={value!r}.")
