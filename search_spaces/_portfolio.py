"""Portfolios: configurations a new study evaluates right after its references.

A portfolio is learned offline from benchmark runs (``benchmarks/portfolio.py``) by greedy
coverage (:func:`greedy_portfolio`), the zero-shot portfolio idea of AutoGluon and TabRepo,
here for augmentation and fine-tuning configurations. It is data: a YAML file,

.. code-block:: yaml

    name: default
    base: paper                     # the configuration the values are set over
    candidates:                     # name -> parameter values
      mix1-lr3e-4: {synthetic_ratio: 1.0, learning_rate: 3.0e-4}
      ft-lr3e-4: {synthetic_ratio: 0.0, learning_rate: 3.0e-4}
    configs: [mix1-lr3e-4]          # the portfolio, in trial order (default: every candidate)
    leave_one_dataset_out:          # what was chosen without each learning dataset
      car: [ft-lr3e-4]

Shipped portfolios are in ``search_spaces/portfolios/`` (:func:`list_portfolios`); a user
passes a name or a path. :meth:`Portfolio.without` gives the portfolio learned without a
dataset, so that a benchmark never claims a portfolio's benefit on a dataset it was learned
on.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from search_spaces._errors import SearchSpaceError

__all__ = [
    "Portfolio",
    "greedy_portfolio",
    "list_portfolios",
    "load_portfolio",
    "write_portfolio",
]

PORTFOLIO_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Portfolio:
    """A named list of configurations, each a set of values over a base configuration.

    Attributes:
        name: The portfolio's name.
        candidates: Every configuration it may use, by name (parameter -> value).
        configs: The portfolio: candidate names, in trial order.
        base: The space (name) whose fixed configuration the values are set over.
        leave_one_dataset_out: Dataset -> the names chosen without that dataset.
        source: Where it was loaded from, for messages.
        document: The whole file (its learning record included), as read.
    """

    name: str
    candidates: dict[str, dict[str, Any]]
    configs: tuple[str, ...]
    base: str = "paper"
    leave_one_dataset_out: dict[str, tuple[str, ...]] = field(default_factory=dict)
    source: str = ""
    document: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        from search_spaces._registry import check_config

        where = self.source or f"portfolio {self.name!r}"
        for name, values in self.candidates.items():
            if not isinstance(values, Mapping):
                raise SearchSpaceError(
                    f"{where}: candidate {name!r} must map parameters to values, but got "
                    f"{values!r}."
                )
            try:
                check_config(values)
            except SearchSpaceError as e:
                raise SearchSpaceError(f"{where}: candidate {name!r}: {e}") from None
        lists = {"configs": self.configs, **self.leave_one_dataset_out}
        for key, names in lists.items():
            unknown = [n for n in names if n not in self.candidates]
            if unknown:
                raise SearchSpaceError(
                    f"{where}: {key} names unknown candidates {unknown!r}; candidates: "
                    f"{', '.join(self.candidates) or 'none'}."
                )

    def without(self, dataset: str) -> Portfolio:
        """The portfolio learned without ``dataset`` (itself if it was not learned on it)."""
        if dataset not in self.leave_one_dataset_out:
            return self
        return Portfolio(
            name=f"{self.name} without {dataset}",
            candidates=self.candidates,
            configs=self.leave_one_dataset_out[dataset],
            base=self.base,
            source=self.source,
            document=self.document,
        )

    @property
    def weights_sha256(self) -> str | None:
        """SHA-256 of the TabFM weights it was learned with (``learned_with.weights_sha256``),
        or ``None`` when its file does not record them."""
        learned = self.document.get("learned_with")
        value = learned.get("weights_sha256") if isinstance(learned, Mapping) else None
        return value if isinstance(value, str) else None

    def full_configs(self) -> list[tuple[str, dict[str, Any]]]:
        """``(name, full flat config)`` of each configuration of the portfolio, in order."""
        from search_spaces._loading import load_space
        from search_spaces._registry import check_config

        base = load_space(self.base).fixed_config()
        return [(name, check_config({**base, **self.candidates[name]})) for name in self.configs]


def list_portfolios() -> list[str]:
    """Names of the portfolios shipped with the package, sorted."""
    from search_spaces._loading import shipped_names

    return shipped_names("portfolios")


def load_portfolio(name_or_path: str | os.PathLike[str]) -> Portfolio:
    """Load and validate a portfolio: a shipped name (:func:`list_portfolios`) or a YAML path.

    Raises:
        SearchSpaceError: For an unknown name, a missing or unreadable file, or an invalid
            portfolio (naming the candidate, the parameter and the value).
    """
    import yaml

    from search_spaces._loading import load_yaml, read_file, read_shipped

    text = os.fspath(name_or_path)
    path = Path(text)
    if not path.suffix and len(path.parts) == 1:
        otherwise = "a path to a .yaml file, or 'none'"
        content = read_shipped("portfolios", text, "portfolio", "portfolios", otherwise)
        source = f"shipped portfolio {text!r}"
    elif path.suffix.lower() not in PORTFOLIO_SUFFIXES:
        raise SearchSpaceError(
            f"A portfolio file must end in .yaml or .yml, but got {text!r}; shipped "
            f"portfolios: {', '.join(list_portfolios())}."
        )
    else:
        content = read_file(path, text, "portfolio file")
        source = f"portfolio file {text!r}"
    try:
        document = load_yaml(content)
    except yaml.YAMLError as e:
        message = " ".join(str(e).split())
        raise SearchSpaceError(f"The {source} is not valid YAML: {message}.") from None
    return _from_document(document, source, default_name=path.stem)


def _from_document(document: Any, source: str, *, default_name: str) -> Portfolio:
    if not isinstance(document, dict) or not isinstance(document.get("candidates"), dict):
        raise SearchSpaceError(
            f"The {source} must be a mapping with `candidates: {{name: {{parameter: value}}}}`."
        )
    candidates = {str(k): v for k, v in document["candidates"].items()}
    configs = document.get("configs", list(candidates))
    held_out = document.get("leave_one_dataset_out") or {}
    if not _is_name_list(configs) or not isinstance(held_out, dict):
        raise SearchSpaceError(
            f"The {source}: `configs` must be a list of candidate names and "
            "`leave_one_dataset_out` a mapping of dataset -> names."
        )
    for dataset, names in held_out.items():
        if not _is_name_list(names):
            raise SearchSpaceError(
                f"The {source}: leave_one_dataset_out[{dataset!r}] must be a list of names, "
                f"but got {names!r}."
            )
    base = document.get("base", "paper")
    from search_spaces._loading import load_space

    if not load_space(base).is_fixed:
        raise SearchSpaceError(
            f"The {source}: `base` must be a space that samples nothing, but got {base!r}."
        )
    return Portfolio(
        name=str(document.get("name", default_name)),
        candidates=candidates,
        configs=tuple(configs),
        base=base,
        leave_one_dataset_out={str(d): tuple(n) for d, n in held_out.items()},
        source=source,
        document=document,
    )


def _is_name_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def write_portfolio(document: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """Validate ``document`` as a portfolio and write it as YAML to ``path``."""
    import yaml

    _from_document(dict(document), f"portfolio for {os.fspath(path)!r}", default_name="")
    text = yaml.safe_dump(dict(document), sort_keys=False, width=100)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text, encoding="utf-8")


def greedy_portfolio(
    scores: Mapping[str, Mapping[str, float]],
    *,
    size: int,
    start: Sequence[str] = (),
    datasets: Sequence[str] | None = None,
) -> list[str]:
    """Choose up to ``size`` configurations by greedy coverage of the per-dataset best.

    Starting from the configurations in ``start`` (which a study evaluates anyway), it adds
    one at a time the candidate that most raises the mean over datasets of the best score
    among those chosen, and stops early when no candidate raises it. Ties go to the
    candidate listed first, so the choice is deterministic.

    Args:
        scores: Configuration -> dataset -> score (higher is better), e.g. the mean
            normalized ROC-AUC over a dataset's folds. Every configuration needs a score on
            every dataset used.
        size: Configurations to add at most.
        start: Configurations already chosen (not returned, not candidates).
        datasets: The datasets to cover (default: every dataset of the first configuration).

    Returns:
        The added configuration names, in the order chosen.

    Raises:
        SearchSpaceError: For a missing score, or a ``start`` name without scores.
    """
    if size < 0:
        raise SearchSpaceError(f"`size >= 0` must hold, but got size={size}.")
    names = list(scores)
    if not names:
        return []
    covered = list(datasets) if datasets is not None else list(scores[names[0]])
    for name in [*start, *names]:
        missing = [d for d in covered if d not in scores.get(name, {})]
        if missing:
            raise SearchSpaceError(f"Configuration {name!r} has no score on {missing!r}.")
    best = {d: max((scores[s][d] for s in start), default=float("-inf")) for d in covered}
    chosen: list[str] = []

    def coverage(values: Mapping[str, float]) -> float:
        return sum(values.values()) / len(values)

    for _ in range(size):
        current = coverage(best) if start or chosen else None
        options = [
            (coverage({d: max(best[d], scores[name][d]) for d in covered}), name)
            for name in names
            if name not in chosen and name not in start
        ]
        if not options:
            break
        value, winner = max(options, key=lambda item: item[0])  # the first of the best on ties
        if current is not None and value <= current:
            break
        chosen.append(winner)
        best = {d: max(best[d], scores[winner][d]) for d in covered}
    return chosen
